//! Deletion as kubectl sees it: dry runs, finalizers that hold an object back, and namespaces
//! that terminate (their content deleted by the namespace controller) before they go.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e::{Backend, Cluster};

#[test]
fn dry_runs_persist_nothing() {
    let c = Cluster::start(Backend::Embedded);
    assert_eq!(
        c.kubectl_ok(&[
            "create",
            "configmap",
            "a",
            "--from-literal=k=v",
            "--dry-run=server",
            "-o",
            "jsonpath={.data.k}"
        ]),
        "v"
    );
    assert!(
        c.kubectl_err(&["get", "configmap", "a"])
            .contains(r#"configmaps "a" not found"#)
    );
    c.kubectl_ok(&["create", "configmap", "b", "--from-literal=k=v"]);
    // A dry-run create of an existing object still conflicts.
    assert_eq!(
        c.kubectl_err(&["create", "configmap", "b", "--dry-run=server"]),
        "error: failed to create configmap: configmaps \"b\" already exists\n"
    );
    assert_eq!(
        c.kubectl_ok(&["delete", "configmap", "b", "--dry-run=server"]),
        "configmap \"b\" deleted (server dry run)\n"
    );
    c.kubectl_ok(&["label", "configmap", "b", "x=y", "--dry-run=server"]);
    c.kubectl_ok(&[
        "patch",
        "configmap",
        "b",
        "--dry-run=server",
        "-p",
        r#"{"data":{"k":"w"}}"#,
    ]);
    assert_eq!(
        c.kubectl_ok(&[
            "get",
            "configmap",
            "b",
            "-o",
            "jsonpath={.data.k} {.metadata.labels}"
        ]),
        "v "
    );
}

#[test]
fn finalizers_hold_objects_and_namespaces_terminate() {
    let c = Cluster::start(Backend::Embedded);
    c.kubectl_ok(&["create", "namespace", "dev"]);
    c.kubectl_ok(&["create", "configmap", "plain", "-n", "dev"]);
    c.kubectl_ok(&[
        "create",
        "secret",
        "generic",
        "s",
        "-n",
        "dev",
        "--from-literal=a=b",
    ]);
    c.kubectl_ok(&[
        "create",
        "-f",
        &c.file(
            "held.json",
            r#"{"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "held", "namespace": "dev", "finalizers": ["example.com/hold"]}}"#,
        ),
    ]);

    // Deleting a held object only marks it.
    c.kubectl_ok(&["delete", "configmap", "held", "-n", "dev", "--wait=false"]);
    let marked = c.kubectl_ok(&[
        "get",
        "configmap",
        "held",
        "-n",
        "dev",
        "-o",
        "jsonpath={.metadata.deletionTimestamp} {.metadata.finalizers}",
    ]);
    assert!(
        marked.ends_with(r#" ["example.com/hold"]"#) && marked.len() > 25,
        "{marked}"
    );
    let err = c.kubectl_err(&[
        "patch",
        "configmap",
        "held",
        "-n",
        "dev",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":["example.com/hold","example.com/more"]}}"#,
    ]);
    assert!(
        err.contains("no new finalizers can be added if the object is being deleted"),
        "{err}"
    );

    // The namespace terminates: nothing new may be created in it; its content goes.
    c.kubectl_ok(&["delete", "namespace", "dev", "--wait=false"]);
    assert_eq!(
        c.kubectl_ok(&["get", "namespace", "dev", "-o", "jsonpath={.status.phase}"]),
        "Terminating"
    );
    assert_eq!(
        c.kubectl_err(&["create", "configmap", "late", "-n", "dev"]),
        "error: failed to create configmap: configmaps \"late\" is forbidden: unable to create new content in namespace dev because it is being terminated\n"
    );
    c.kubectl_ok(&[
        "wait",
        "--for=delete",
        "configmap/plain",
        "secret/s",
        "-n",
        "dev",
        "--timeout=20s",
    ]);
    // The held object keeps the namespace until its finalizer is removed.
    assert_eq!(
        c.kubectl_ok(&["get", "namespace", "dev", "-o", "jsonpath={.status.phase}"]),
        "Terminating"
    );
    c.kubectl_ok(&[
        "patch",
        "configmap",
        "held",
        "-n",
        "dev",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    c.kubectl_ok(&["wait", "--for=delete", "namespace/dev", "--timeout=20s"]);
    assert_eq!(
        c.kubectl_err(&["create", "configmap", "x", "-n", "dev"]),
        "error: failed to create configmap: namespaces \"dev\" not found\n"
    );
}
