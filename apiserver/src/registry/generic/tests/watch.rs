//! The generic store's WATCH, and what every stored object looks like, as kube-apiserver answers them.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_from_a_resource_version_sends_only_later_events() {
    let cluster = Cluster::with_default_namespace().await;
    let a = create_config_map(&cluster, "a", json!({})).await;
    let from = resource_version(&a);
    let mut changed = a.clone();
    changed["data"]["k"] = json!("2");
    let changed = cluster.put(&at(CONFIGMAPS, "a"), changed).await.ok();
    let b = create_config_map(&cluster, "b", json!({})).await;

    let mut watch = cluster
        .watch(&format!("{CONFIGMAPS}?watch=true&resourceVersion={from}"))
        .await;
    assert_eq!(watch.expect("MODIFIED").await, changed);
    assert_eq!(watch.expect("ADDED").await, b);
    cluster.delete(&at(CONFIGMAPS, "a")).await.ok();
    let gone = watch.expect("DELETED").await;
    assert_eq!(name(&gone), "a");
    assert!(resource_version(&gone) > resource_version(&b));
    // Other namespaces are not this watch's.
    cluster.namespace("other").await;
    cluster
        .post(
            "/api/v1/namespaces/other/configmaps",
            config_map("x", json!({})),
        )
        .await
        .created();
    watch.quiet().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_with_a_label_selector_sees_objects_enter_and_leave_it() {
    let cluster = Cluster::with_default_namespace().await;
    let a = create_config_map(&cluster, "a", json!({"app": "web"})).await;
    let mut watch = cluster
        .watch(&format!(
            "{CONFIGMAPS}?watch=true&labelSelector=app%3Dweb&resourceVersion={}",
            resource_version(&a)
        ))
        .await;
    create_config_map(&cluster, "b", json!({"app": "db"})).await;

    let relabel = |name: &'static str, app: &'static str| {
        let patch = json!({"metadata": {"labels": {"app": app}}}).to_string();
        let cluster = &cluster;
        async move {
            cluster
                .patch(&at(CONFIGMAPS, name), MERGE_PATCH, &patch)
                .await
                .ok()
        }
    };
    // Leaving the selection is a deletion, with the object as it now is.
    let left = relabel("a", "db").await;
    assert_eq!(watch.expect("DELETED").await, left);
    let entered = relabel("b", "web").await;
    assert_eq!(watch.expect("ADDED").await, entered);
    let patch = r#"{"data":{"k":"changed"}}"#;
    let modified = cluster
        .patch(&at(CONFIGMAPS, "b"), MERGE_PATCH, patch)
        .await
        .ok();
    assert_eq!(watch.expect("MODIFIED").await, modified);
    // Changes of objects outside the selection are not sent.
    cluster
        .patch(&at(CONFIGMAPS, "a"), MERGE_PATCH, patch)
        .await
        .ok();
    cluster.delete(&at(CONFIGMAPS, "a")).await.ok();
    watch.quiet().await;
    cluster.delete(&at(CONFIGMAPS, "b")).await.ok();
    assert_eq!(name(&watch.expect("DELETED").await), "b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_list_sends_the_initial_state_then_a_bookmark() {
    let cluster = Cluster::with_default_namespace().await;
    let a = create_config_map(&cluster, "a", json!({})).await;
    let b = create_config_map(&cluster, "b", json!({})).await;

    cluster
        .get(&format!("{CONFIGMAPS}?watch=true&sendInitialEvents=true"))
        .await
        .failure(
            422,
            "Invalid",
            "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        );

    let mut watch = cluster
        .watch(&format!(
            "{CONFIGMAPS}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
        ))
        .await;
    assert_eq!(watch.expect("ADDED").await, a);
    assert_eq!(watch.expect("ADDED").await, b);
    let bookmark = watch.expect("BOOKMARK").await;
    assert_eq!(
        bookmark,
        json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {
            "resourceVersion": b["metadata"]["resourceVersion"],
            "annotations": {"k8s.io/initial-events-end": "true"}}})
    );
    let c = create_config_map(&cluster, "c", json!({})).await;
    assert_eq!(watch.expect("ADDED").await, c);

    // Without bookmarks the initial state comes without its end marked.
    let mut watch = cluster
        .watch(&format!(
            "{CONFIGMAPS}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
        ))
        .await;
    for want in [&a, &b, &c] {
        assert_eq!(&watch.expect("ADDED").await, want);
    }
    watch.quiet().await;

    // `sendInitialEvents=false`: the changes only.
    let mut watch = cluster
        .watch(&format!(
            "{CONFIGMAPS}?watch=true&sendInitialEvents=false&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
        ))
        .await;
    watch.quiet().await;
    let d = create_config_map(&cluster, "d", json!({})).await;
    assert_eq!(watch.expect("ADDED").await, d);
}

#[tokio::test]
async fn stored_objects_never_carry_their_resource_version() {
    let cluster = Cluster::with_default_namespace().await;
    let a = create_config_map(&cluster, "a", json!({})).await;
    let stored = cluster
        .store
        .get("/registry/core/configmaps/default/a", None)
        .await
        .unwrap()
        .0
        .unwrap();
    let raw: Value = serde_json::from_slice(&stored.value).unwrap();
    assert!(raw["metadata"].get("resourceVersion").is_none(), "{raw}");
    assert_eq!(stored.mod_revision, resource_version(&a));
    assert!(
        stored
            .value
            .starts_with(br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":"#)
    );
}
