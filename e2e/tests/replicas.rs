//! Several `oxshift apiserver` replicas on one etcd serve the same data: writes through one are
//! read, listed and watched through the other, and optimistic concurrency holds across them.

#![cfg(feature = "etcd")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e::{Backend, Cluster};

#[test]
fn replicas_on_one_etcd_serve_consistent_data() {
    let c = Cluster::start(Backend::Etcd);
    let replica = c.start_replica();
    let b = replica.server();
    let on_b = |args: &[&str]| {
        let mut all = vec!["--server", b.as_str()];
        all.extend_from_slice(args);
        c.kubectl_ok(&all)
    };

    // A watch through B sees what is written through A. kubectl lists, prints, then watches
    // from the list's resourceVersion: a write made once the list is printed can only
    // arrive as a live event.
    c.kubectl_ok(&["create", "configmap", "listed"]);
    let watch = c.kubectl_watch(&["--server", &b, "get", "cm", "--watch", "-o", "name"]);
    // The namespace's published CA bundle is listed too.
    let mut listed = watch.next();
    if listed == "configmap/kube-root-ca.crt" {
        listed = watch.next();
    }
    assert_eq!(listed, "configmap/listed");
    c.kubectl_ok(&["create", "configmap", "shared", "--from-literal=k=a"]);
    assert_eq!(watch.next(), "configmap/shared");

    // Read through B, at once (no stale read after A's acknowledged write).
    assert_eq!(
        on_b(&["get", "cm", "shared", "-o", "jsonpath={.data.k}"]),
        "a"
    );
    // An update through B with the resourceVersion A served wins once; A's copy is then stale.
    let rv = c.kubectl_ok(&[
        "get",
        "cm",
        "shared",
        "-o",
        "jsonpath={.metadata.resourceVersion}",
    ]);
    let patch = format!(r#"{{"metadata":{{"resourceVersion":"{rv}"}},"data":{{"k":"b"}}}}"#);
    on_b(&["patch", "cm", "shared", "--type=merge", "-p", &patch]);
    let err = c.kubectl_err(&["patch", "cm", "shared", "--type=merge", "-p", &patch]);
    assert!(err.contains("the object has been modified"), "{err}");
    // Both list the same objects at comparable resourceVersions.
    let names_a = c.kubectl_ok(&["get", "cm", "-o", "name"]);
    let names_b = on_b(&["get", "cm", "-o", "name"]);
    assert_eq!(names_a, names_b);
}
