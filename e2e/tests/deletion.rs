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
    // The namespace reports what holds it, in upstream's words.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let conditions = c.kubectl_ok(&[
            "get",
            "namespace",
            "dev",
            "-o",
            r#"jsonpath={range .status.conditions[*]}{.type}={.status}: {.message}{"\n"}{end}"#,
        ]);
        if conditions.contains("NamespaceFinalizersRemaining=True: Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances")
            && conditions.contains("NamespaceContentRemaining=True: Some resources are remaining: configmaps. has 1 resource instances")
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{conditions}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
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

/// Creates a ConfigMap `name` in `ns`, owned by the objects `owners` ((name, uid, block)).
fn owned(c: &Cluster, ns: &str, name: &str, owners: &[(&str, &str, bool)], finalizers: &[&str]) {
    let refs: Vec<serde_json::Value> = owners
        .iter()
        .map(|(n, uid, block)| {
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "name": n, "uid": uid,
                "blockOwnerDeletion": block})
        })
        .collect();
    let obj = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, "ownerReferences": refs, "finalizers": finalizers}});
    c.kubectl_ok(&[
        "create",
        "-f",
        &c.file(&format!("{ns}-{name}.json"), &obj.to_string()),
    ]);
}

fn uid(c: &Cluster, ns: &str, name: &str) -> String {
    c.kubectl_ok(&[
        "get",
        "configmap",
        name,
        "-n",
        ns,
        "-o",
        "jsonpath={.metadata.uid}",
    ])
}

fn gone(c: &Cluster, ns: &str, names: &[&str]) {
    let mut args = vec!["wait", "--for=delete", "-n", ns, "--timeout=20s"];
    let targets: Vec<String> = names.iter().map(|n| format!("configmap/{n}")).collect();
    args.extend(targets.iter().map(String::as_str));
    c.kubectl_ok(&args);
}

#[test]
fn garbage_collection_background_orphan_and_foreground() {
    let c = Cluster::start(Backend::Embedded);
    c.kubectl_ok(&["create", "namespace", "other"]);
    for owner in ["bg", "orphaner", "fg"] {
        c.kubectl_ok(&["create", "configmap", owner]);
    }
    let (bg, orphaner, fg) = (
        uid(&c, "default", "bg"),
        uid(&c, "default", "orphaner"),
        uid(&c, "default", "fg"),
    );
    owned(&c, "default", "bg-1", &[("bg", &bg, false)], &[]);
    owned(&c, "default", "bg-2", &[("bg", &bg, false)], &[]);
    // An owner in another namespace does not count: this one is collected at once.
    owned(&c, "other", "elsewhere", &[("bg", &bg, false)], &[]);
    // Neither does an owner that never existed.
    owned(
        &c,
        "default",
        "dangling",
        &[("ghost", "0a0a0a0a-0000-0000-0000-000000000000", false)],
        &[],
    );
    gone(&c, "other", &["elsewhere"]);
    gone(&c, "default", &["dangling"]);

    // Background (kubectl's default): the owner goes at once, its dependents after.
    c.kubectl_ok(&["delete", "configmap", "bg"]);
    gone(&c, "default", &["bg-1", "bg-2"]);

    // Orphan: the dependents stay, released.
    owned(&c, "default", "kept", &[("orphaner", &orphaner, true)], &[]);
    c.kubectl_ok(&["delete", "configmap", "orphaner", "--cascade=orphan"]);
    gone(&c, "default", &["orphaner"]);
    assert_eq!(
        c.kubectl_ok(&[
            "get",
            "configmap",
            "kept",
            "-o",
            "jsonpath={.metadata.ownerReferences}"
        ]),
        ""
    );

    // Foreground: the owner waits for the dependents that block it.
    owned(
        &c,
        "default",
        "blocker",
        &[("fg", &fg, true)],
        &["example.com/hold"],
    );
    owned(&c, "default", "follower", &[("fg", &fg, false)], &[]);
    c.kubectl_ok(&[
        "delete",
        "configmap",
        "fg",
        "--cascade=foreground",
        "--wait=false",
    ]);
    gone(&c, "default", &["follower"]);
    assert_eq!(
        c.kubectl_ok(&[
            "get",
            "configmap",
            "fg",
            "-o",
            "jsonpath={.metadata.finalizers}"
        ]),
        r#"["foregroundDeletion"]"#
    );
    c.kubectl_ok(&[
        "patch",
        "configmap",
        "blocker",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    gone(&c, "default", &["blocker", "fg"]);
}

#[test]
fn pods_on_a_node_are_deleted_gracefully() {
    let c = Cluster::start(Backend::Embedded);
    let pod = |name: &str, node: &str| {
        format!(
            r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "{name}"}},
                "spec": {{"nodeName": "{node}", "terminationGracePeriodSeconds": 45,
                          "containers": [{{"name": "app", "image": "busybox"}}]}}}}"#
        )
    };
    c.kubectl_ok(&["create", "-f", &c.file("web.json", &pod("web", "node-a"))]);
    let grace = || {
        c.kubectl_ok(&[
            "get",
            "pod",
            "web",
            "-o",
            "jsonpath={.metadata.deletionGracePeriodSeconds} {.metadata.deletionTimestamp}",
        ])
    };
    assert_eq!(
        c.kubectl_ok(&["delete", "pod", "web", "--wait=false"]),
        "pod \"web\" deleted\n"
    );
    let marked = grace();
    assert!(marked.starts_with("45 20"), "{marked}");
    // A longer grace period changes nothing; a shorter one moves the deadline back.
    c.kubectl_ok(&["delete", "pod", "web", "--wait=false", "--grace-period=100"]);
    assert_eq!(grace(), marked);
    c.kubectl_ok(&["delete", "pod", "web", "--wait=false", "--grace-period=5"]);
    let shortened = grace();
    assert!(shortened.starts_with("5 20"), "{shortened}");
    let deadline = |s: &str| {
        s.split(' ')
            .nth(1)
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
    };
    assert_eq!((deadline(&marked) - deadline(&shortened)).get_seconds(), 40);
    // Forced: gone at once.
    let out = c.kubectl(&["delete", "pod", "web", "--force", "--grace-period=0"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "pod \"web\" force deleted\n"
    );
    assert!(
        c.kubectl_err(&["get", "pod", "web"])
            .contains(r#"pods "web" not found"#)
    );
    // A pod no node runs goes at once.
    let mut loose = pod("loose", "");
    loose = loose.replace(r#""nodeName": "", "#, "");
    c.kubectl_ok(&["create", "-f", &c.file("loose.json", &loose)]);
    c.kubectl_ok(&["delete", "pod", "loose"]);
    assert!(
        c.kubectl_err(&["get", "pod", "loose"])
            .contains(r#"pods "loose" not found"#)
    );
}
