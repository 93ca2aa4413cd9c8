//! The generic store's GET and LIST, as kube-apiserver answers them.

use super::*;

#[tokio::test]
async fn get_of_a_missing_object_is_not_found() {
    let cluster = Cluster::with_default_namespace().await;
    let status = cluster.get(&at(CONFIGMAPS, "nope")).await.failure(
        404,
        "NotFound",
        "configmaps \"nope\" not found",
    );
    assert_eq!(
        status["details"],
        json!({"name": "nope", "kind": "configmaps"})
    );
    cluster.get(&at(DEPLOYMENTS, "nope")).await.failure(
        404,
        "NotFound",
        "deployments.apps \"nope\" not found",
    );
}

#[tokio::test]
async fn list_pages_through_one_revision() {
    let cluster = Cluster::with_default_namespace().await;
    for n in ["a", "b", "c", "d", "e"] {
        create_config_map(&cluster, n, json!({})).await;
    }
    let first = cluster.get(&format!("{CONFIGMAPS}?limit=2")).await.ok();
    assert_eq!(first["kind"], "ConfigMapList");
    assert_eq!(names(&first), ["a", "b"]);
    let revision = resource_version(&first);
    // Changes after the first page do not show in the next ones.
    cluster.delete(&at(CONFIGMAPS, "c")).await.ok();
    create_config_map(&cluster, "bb", json!({})).await;

    let token = first["metadata"]["continue"].as_str().unwrap();
    let second = cluster
        .get(&format!("{CONFIGMAPS}?limit=2&continue={token}"))
        .await
        .ok();
    assert_eq!(names(&second), ["c", "d"]);
    assert_eq!(resource_version(&second), revision);
    let token = second["metadata"]["continue"].as_str().unwrap();
    let last = cluster
        .get(&format!("{CONFIGMAPS}?limit=2&continue={token}"))
        .await
        .ok();
    assert_eq!(names(&last), ["e"]);
    assert_eq!(resource_version(&last), revision);
    assert!(last["metadata"].get("continue").is_none(), "{last}");

    // A continue token names its revision: no resourceVersion besides it.
    cluster
        .get(&format!(
            "{CONFIGMAPS}?limit=2&continue={token}&resourceVersion=3"
        ))
        .await
        .failure(
            400,
            "BadRequest",
            "specifying resource version is not allowed when using continue",
        );
}

#[tokio::test]
async fn list_selects_by_labels_and_fields() {
    let cluster = Cluster::with_default_namespace().await;
    create_config_map(&cluster, "a", json!({"app": "web", "tier": "front"})).await;
    create_config_map(&cluster, "b", json!({"app": "db"})).await;
    create_config_map(&cluster, "c", json!({"app": "web"})).await;
    create_config_map(&cluster, "d", json!({})).await;
    let cluster = &cluster;
    let list = |query: &str| {
        let uri = format!("{CONFIGMAPS}?{query}");
        async move { cluster.get(&uri).await.ok() }
    };
    assert_eq!(names(&list("labelSelector=app%3Dweb").await), ["a", "c"]);
    assert_eq!(names(&list("labelSelector=app%21%3Dweb").await), ["b", "d"]);
    assert_eq!(
        names(&list("labelSelector=app+in+(web,db),!tier").await),
        ["b", "c"]
    );
    assert_eq!(names(&list("fieldSelector=metadata.name%3Dc").await), ["c"]);
    assert_eq!(
        names(&list("labelSelector=app%3Dweb&fieldSelector=metadata.name%21%3Da").await),
        ["c"]
    );
    // Pages fill with matches however many objects are skipped to find them.
    let page = list("labelSelector=app%3Dweb&limit=1").await;
    assert_eq!(names(&page), ["a"]);
    let token = page["metadata"]["continue"].as_str().unwrap().to_string();
    let next = list(&format!("labelSelector=app%3Dweb&limit=1&continue={token}")).await;
    assert_eq!(names(&next), ["c"]);

    let status = cluster
        .get(&format!("{CONFIGMAPS}?fieldSelector=data.k%3Dv"))
        .await;
    assert_eq!(status.status, StatusCode::BAD_REQUEST, "{}", status.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_at_resource_version_zero_is_served_from_the_watch_cache() {
    let cluster = Cluster::with_default_namespace().await;
    create_config_map(&cluster, "a", json!({})).await;
    let prefix = "/registry/core/configmaps/";
    let first = cluster
        .get(&format!("{CONFIGMAPS}?resourceVersion=0"))
        .await
        .ok();
    assert_eq!(names(&first), ["a"]);
    let lists = cluster.store.lists(prefix);
    let created = create_config_map(&cluster, "b", json!({})).await;
    // The cache catches up with the write at once, and is read without the store.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let list = loop {
        let list = cluster
            .get(&format!("{CONFIGMAPS}?resourceVersion=0"))
            .await
            .ok();
        if names(&list).len() == 2 || tokio::time::Instant::now() > deadline {
            break list;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(names(&list), ["a", "b"]);
    assert!(resource_version(&list) >= resource_version(&created));
    assert_eq!(cluster.store.lists(prefix), lists);
}

#[tokio::test]
async fn list_with_an_exact_resource_version_reads_that_revision() {
    let cluster = Cluster::with_default_namespace().await;
    let a = create_config_map(&cluster, "a", json!({"v": "1"})).await;
    let then = resource_version(&a);
    let mut changed = a.clone();
    changed["metadata"]["labels"]["v"] = json!("2");
    cluster.put(&at(CONFIGMAPS, "a"), changed).await.ok();
    create_config_map(&cluster, "b", json!({})).await;

    let old = cluster
        .get(&format!(
            "{CONFIGMAPS}?resourceVersion={then}&resourceVersionMatch=Exact"
        ))
        .await
        .ok();
    assert_eq!(resource_version(&old), then);
    assert_eq!(names(&old), ["a"]);
    assert_eq!(old["items"][0], a);

    cluster
        .get(&format!("{CONFIGMAPS}?resourceVersionMatch=Exact"))
        .await
        .failure(
            422,
            "Invalid",
            "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
        );
}

#[tokio::test(start_paused = true)]
async fn list_not_older_than_a_future_revision_waits_then_times_out() {
    let cluster = Cluster::with_default_namespace().await;
    let current = cluster.store.current_revision().await.unwrap();
    let future = current + 10;
    let started = tokio::time::Instant::now();
    let answer = cluster
        .get(&format!("{CONFIGMAPS}?resourceVersion={future}"))
        .await;
    assert!(started.elapsed() >= Duration::from_secs(3));
    assert_eq!(answer.header(header::RETRY_AFTER), Some("1"));
    let status = answer.failure(
        504,
        "Timeout",
        &format!("Timeout: Too large resource version: {future}, current: {current}"),
    );
    assert_eq!(
        status["details"],
        json!({"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
            "retryAfterSeconds": 1})
    );
    // A revision the store has reached is answered at once.
    let list = cluster
        .get(&format!("{CONFIGMAPS}?resourceVersion={current}"))
        .await
        .ok();
    assert!(resource_version(&list) >= current);
}

#[tokio::test]
async fn continue_tokens_that_are_invalid_or_compacted_away_are_refused() {
    let cluster = Cluster::with_default_namespace().await;
    for n in ["a", "b", "c"] {
        create_config_map(&cluster, n, json!({})).await;
    }
    cluster
        .get(&format!("{CONFIGMAPS}?limit=1&continue=bm90LWEtdG9rZW4"))
        .await
        .failure(400, "BadRequest", "continue key is not valid");

    let first = cluster.get(&format!("{CONFIGMAPS}?limit=1")).await.ok();
    let token = first["metadata"]["continue"].as_str().unwrap().to_string();
    let mut b = cluster.get(&at(CONFIGMAPS, "b")).await.ok();
    b["data"]["k"] = json!("changed");
    cluster.put(&at(CONFIGMAPS, "b"), b).await.ok();
    let now = cluster.store.current_revision().await.unwrap();
    cluster.store.compact(now).await.unwrap();
    let status = cluster
        .get(&format!("{CONFIGMAPS}?limit=1&continue={token}"))
        .await
        .failure(
            410,
            "Expired",
            "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
        );
    // The token the message offers: the rest of the list, as it is now.
    let rest = status["metadata"]["continue"].as_str().unwrap();
    let remainder = cluster
        .get(&format!("{CONFIGMAPS}?limit=5&continue={rest}"))
        .await
        .ok();
    assert_eq!(names(&remainder), ["b", "c"]);
    assert_eq!(remainder["items"][0]["data"]["k"], "changed");
    assert!(resource_version(&remainder) >= now);

    // A list at a compacted revision.
    cluster
        .get(&format!(
            "{CONFIGMAPS}?resourceVersion=2&resourceVersionMatch=Exact"
        ))
        .await
        .failure(
            410,
            "Expired",
            "The resourceVersion for the provided list is too old.",
        );
}
