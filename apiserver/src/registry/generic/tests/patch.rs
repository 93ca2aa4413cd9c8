//! The generic store's PATCH (JSON, merge, strategic merge, apply), as kube-apiserver answers them.

use super::*;

#[tokio::test]
async fn json_patches_apply_in_order_and_failed_operations_are_invalid() {
    let cluster = Cluster::with_default_namespace().await;
    create_config_map(&cluster, "a", json!({"app": "web"})).await;
    let patched = cluster
        .patch(
            &at(CONFIGMAPS, "a"),
            JSON_PATCH,
            r#"[{"op":"test","path":"/data/k","value":"v"},
                {"op":"add","path":"/data/n","value":"1"},
                {"op":"move","from":"/data/k","path":"/data/m"},
                {"op":"remove","path":"/metadata/labels/app"}]"#,
        )
        .await
        .ok();
    assert_eq!(patched["data"], json!({"m": "v", "n": "1"}));
    assert_eq!(patched["metadata"]["labels"], json!({}));

    let before = cluster.store.current_revision().await.unwrap();
    let status = cluster
        .patch(
            &at(CONFIGMAPS, "a"),
            JSON_PATCH,
            r#"[{"op":"replace","path":"/data/n","value":"2"},
                {"op":"test","path":"/data/m","value":"other"}]"#,
        )
        .await
        .failure(
            422,
            "Invalid",
            "the server rejected our request due to an error in our request",
        );
    assert_eq!(status["details"], json!({}));
    cluster
        .patch(
            &at(CONFIGMAPS, "a"),
            JSON_PATCH,
            r#"[{"op":"remove","path":"/data/missing"}]"#,
        )
        .await
        .failure(
            422,
            "Invalid",
            "the server rejected our request due to an error in our request",
        );
    assert_eq!(cluster.store.current_revision().await.unwrap(), before);
    assert_eq!(
        cluster.get(&at(CONFIGMAPS, "a")).await.ok()["data"]["n"],
        "1"
    );

    let answer = cluster
        .patch(&at(CONFIGMAPS, "a"), JSON_PATCH, r#"{"op":"add"}"#)
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    cluster
        .patch(&at(CONFIGMAPS, "nope"), JSON_PATCH, "[]")
        .await
        .failure(404, "NotFound", "configmaps \"nope\" not found");
    cluster
        .patch(&at(CONFIGMAPS, "a"), "application/json", "{}")
        .await
        .failure(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml",
        );
}

#[tokio::test]
async fn json_patches_of_more_than_ten_thousand_operations_are_too_large() {
    let cluster = Cluster::with_default_namespace().await;
    create_config_map(&cluster, "a", json!({})).await;
    let operations: Vec<Value> = (0..10_001)
        .map(|_| json!({"op": "test", "path": "/data/k", "value": "v"}))
        .collect();
    cluster
        .patch(
            &at(CONFIGMAPS, "a"),
            JSON_PATCH,
            &Value::Array(operations).to_string(),
        )
        .await
        .failure(
            413,
            "RequestEntityTooLarge",
            "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001",
        );
}

#[tokio::test]
async fn merge_patches_merge_objects_replace_lists_and_remove_nulls() {
    let cluster = Cluster::with_default_namespace().await;
    let created = create_deployment(&cluster, "web").await;
    let patched = cluster
        .patch(
            &at(DEPLOYMENTS, "web"),
            MERGE_PATCH,
            r#"{"metadata":{"labels":{"a":"1"}},"spec":{"replicas":2,"revisionHistoryLimit":null,
               "template":{"spec":{"containers":[{"name":"other","image":"busybox:1"}]}}}}"#,
        )
        .await
        .ok();
    assert_eq!(patched["metadata"]["labels"], json!({"a": "1"}));
    assert_eq!(patched["spec"]["replicas"], 2);
    // Removed, then defaulted again as any write is.
    assert_eq!(patched["spec"]["revisionHistoryLimit"], 10);
    let containers = &patched["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers.as_array().unwrap().len(), 1);
    assert_eq!(containers[0]["name"], "other");
    assert_eq!(patched["metadata"]["generation"], 2);
    assert_eq!(patched["metadata"]["uid"], created["metadata"]["uid"]);

    // A patch that changes nothing in the spec leaves the generation.
    let labelled = cluster
        .patch(
            &at(DEPLOYMENTS, "web"),
            MERGE_PATCH,
            r#"{"metadata":{"labels":{"a":null,"b":"2"}}}"#,
        )
        .await
        .ok();
    assert_eq!(labelled["metadata"]["labels"], json!({"b": "2"}));
    assert_eq!(labelled["metadata"]["generation"], 2);
}

#[tokio::test]
async fn strategic_patches_merge_on_keys_and_obey_directives() {
    let cluster = Cluster::with_default_namespace().await;
    let mut body = deployment("web");
    body["spec"]["template"]["spec"]["containers"] = json!([
        {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}]},
        {"name": "sidecar", "image": "side:1"},
        {"name": "extra", "image": "extra:1"}
    ]);
    cluster.post(DEPLOYMENTS, body).await.created();
    let uri = at(DEPLOYMENTS, "web");
    let patched = cluster
        .patch(
            &uri,
            STRATEGIC_PATCH,
            r#"{"spec":{"template":{"spec":{"containers":[
                {"name":"app","image":"app:2","env":[{"name":"B","value":"2"}]},
                {"name":"extra","$patch":"delete"}]}}}}"#,
        )
        .await
        .ok();
    let containers = &patched["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers.as_array().unwrap().len(), 2, "{containers}");
    assert_eq!(containers[0]["image"], "app:2");
    assert_eq!(
        containers[0]["env"],
        json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
    );
    assert_eq!(containers[1]["name"], "sidecar");

    // `$retainKeys` keeps only the keys it names; a null it carries still removes.
    let labels = r#"{"metadata":{"labels":{"keep":"0","other":"x","gone":"y"}}}"#;
    cluster.patch(&uri, STRATEGIC_PATCH, labels).await.ok();
    let retained = cluster
        .patch(
            &uri,
            STRATEGIC_PATCH,
            r#"{"metadata":{"labels":{"$retainKeys":["keep"],"keep":"1","gone":null}}}"#,
        )
        .await
        .ok();
    assert_eq!(retained["metadata"]["labels"], json!({"keep": "1"}));

    let replaced = cluster
        .patch(
            &uri,
            STRATEGIC_PATCH,
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"only","image":"o:1"},{"$patch":"replace"}]}}}}"#,
        )
        .await
        .ok();
    assert_eq!(
        replaced["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Directives in a form upstream cannot read change nothing.
    let before = cluster.store.current_revision().await.unwrap();
    cluster
        .patch(
            &uri,
            STRATEGIC_PATCH,
            r#"{"metadata":{"labels":{"$retainKeys":"keep"}}}"#,
        )
        .await
        .failure(400, "BadRequest", "invalid patch format of retainKeys");
    cluster
        .patch(
            &uri,
            STRATEGIC_PATCH,
            r#"{"metadata":{"labels":{"$retainKeys":["keep"],"other":"x"}}}"#,
        )
        .await
        .failure(400, "BadRequest", "invalid patch format of retainKeys");
    assert_eq!(cluster.store.current_revision().await.unwrap(), before);
}

#[tokio::test]
async fn strategic_patches_drop_nulls_under_fields_the_object_lacks() {
    let cluster = Cluster::with_default_namespace().await;
    create_config_map(&cluster, "a", json!({})).await;
    let patched = cluster
        .patch(
            &at(CONFIGMAPS, "a"),
            STRATEGIC_PATCH,
            r#"{"metadata":{"annotations":{"kept":"1","never":null}},"binaryData":null}"#,
        )
        .await
        .ok();
    assert_eq!(patched["metadata"]["annotations"], json!({"kept": "1"}));
    assert!(patched.get("binaryData").is_none(), "{patched}");
}

#[tokio::test]
async fn apply_needs_a_field_manager_and_conflicts_unless_forced() {
    let cluster = Cluster::with_default_namespace().await;
    let uri = at(CONFIGMAPS, "applied");
    let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  k: one\n";
    let status = cluster.patch(&uri, APPLY_PATCH, manifest).await.failure(
        422,
        "Invalid",
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
    );
    assert_eq!(
        status["details"],
        json!({"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [{
            "reason": "FieldValueRequired",
            "message": "Required value: is required for apply patch",
            "field": "fieldManager"
        }]})
    );
    cluster
        .patch(&format!("{uri}?fieldManager="), APPLY_PATCH, manifest)
        .await
        .failure(
            422,
            "Invalid",
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        );
    cluster
        .patch(&format!("{uri}?force=true"), MERGE_PATCH, "{}")
        .await
        .failure(
            422,
            "Invalid",
            "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch",
        );

    // Apply creates what is missing, owned by its manager.
    let created = cluster
        .patch(&format!("{uri}?fieldManager=alice"), APPLY_PATCH, manifest)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let created = created.body;
    assert_eq!(created["data"], json!({"k": "one"}));
    assert_eq!(created["metadata"]["managedFields"][0]["manager"], "alice");
    assert_eq!(
        created["metadata"]["managedFields"][0]["operation"],
        "Apply"
    );

    let other = manifest.replace("one", "two");
    let status = cluster
        .patch(&format!("{uri}?fieldManager=bob"), APPLY_PATCH, &other)
        .await
        .failure(
            409,
            "Conflict",
            "Apply failed with 1 conflict: conflict with \"alice\" using v1: .data.k",
        );
    assert_eq!(
        status["details"]["causes"],
        json!([{"reason": "FieldManagerConflict", "message": "conflict with \"alice\" using v1", "field": ".data.k"}])
    );
    let forced = cluster
        .patch(
            &format!("{uri}?fieldManager=bob&force=true"),
            APPLY_PATCH,
            &other,
        )
        .await
        .ok();
    assert_eq!(forced["data"], json!({"k": "two"}));
    let managers: Vec<&str> = forced["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["manager"].as_str().unwrap())
        .collect();
    assert_eq!(managers, ["bob"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_patches_are_retried_until_each_lands() {
    let cluster = std::sync::Arc::new(Cluster::with_default_namespace().await);
    create_config_map(&cluster, "a", json!({})).await;
    let writers = 24;
    let tasks: Vec<_> = (0..writers)
        .map(|i| {
            let cluster = cluster.clone();
            tokio::spawn(async move {
                cluster
                    .patch(
                        &at(CONFIGMAPS, "a"),
                        MERGE_PATCH,
                        &json!({"metadata": {"labels": {format!("w{i}"): "x"}}}).to_string(),
                    )
                    .await
            })
        })
        .collect();
    for task in tasks {
        let answer = task.await.unwrap();
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    let a = cluster.get(&at(CONFIGMAPS, "a")).await.ok();
    assert_eq!(
        a["metadata"]["labels"].as_object().unwrap().len(),
        writers,
        "{a}"
    );
}

#[tokio::test]
async fn a_resource_version_in_a_patch_is_a_precondition() {
    let cluster = Cluster::with_default_namespace().await;
    let a = create_config_map(&cluster, "a", json!({})).await;
    let rv = resource_version(&a);
    let patched = cluster
        .patch(
            &at(CONFIGMAPS, "a"),
            MERGE_PATCH,
            &json!({"metadata": {"resourceVersion": rv.to_string()}, "data": {"k": "1"}})
                .to_string(),
        )
        .await
        .ok();
    assert!(resource_version(&patched) > rv);
    cluster
        .patch(
            &at(CONFIGMAPS, "a"),
            MERGE_PATCH,
            &json!({"metadata": {"resourceVersion": rv.to_string()}, "data": {"k": "2"}})
                .to_string(),
        )
        .await
        .failure(
            409,
            "Conflict",
            "Operation cannot be fulfilled on configmaps \"a\": the object has been modified; please apply your changes to the latest version and try again",
        );
    assert_eq!(
        cluster.get(&at(CONFIGMAPS, "a")).await.ok()["data"]["k"],
        "1"
    );
}
