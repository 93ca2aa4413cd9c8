//! The generic store's DELETE and DELETECOLLECTION, as kube-apiserver answers them.

use super::*;

#[tokio::test]
async fn delete_answers_a_success_status_and_removes_the_object() {
    let cluster = Cluster::with_default_namespace().await;
    let a = create_config_map(&cluster, "a", json!({})).await;
    let status = cluster.delete(&at(CONFIGMAPS, "a")).await.ok();
    assert_eq!(
        status,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": "a", "kind": "configmaps", "uid": a["metadata"]["uid"]}, "code": 200})
    );
    cluster
        .get(&at(CONFIGMAPS, "a"))
        .await
        .failure(404, "NotFound", "configmaps \"a\" not found");
    cluster.delete(&at(CONFIGMAPS, "a")).await.failure(
        404,
        "NotFound",
        "configmaps \"a\" not found",
    );
}

#[tokio::test]
async fn delete_preconditions_that_do_not_hold_conflict() {
    let cluster = Cluster::with_default_namespace().await;
    let a = create_config_map(&cluster, "a", json!({})).await;
    let uid = a["metadata"]["uid"].as_str().unwrap();
    let rv = resource_version(&a);
    let delete_with = |preconditions: Value| {
        let body =
            json!({"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": preconditions});
        cluster
            .request("DELETE", &at(CONFIGMAPS, "a"))
            .json(&body)
            .send()
    };
    let status = delete_with(json!({"uid": "0000"})).await.failure(
        409,
        "Conflict",
        &format!(
            "Operation cannot be fulfilled on ConfigMap \"a\": the UID in the precondition (0000) does not match the UID in record ({uid}). The object might have been deleted and then recreated"
        ),
    );
    assert_eq!(status["details"], json!({"name": "a", "kind": "ConfigMap"}));
    delete_with(json!({"resourceVersion": "1"})).await.failure(
        409,
        "Conflict",
        &format!(
            "Operation cannot be fulfilled on ConfigMap \"a\": the ResourceVersion in the precondition (1) does not match the ResourceVersion in record ({rv}). The object might have been modified"
        ),
    );
    cluster.get(&at(CONFIGMAPS, "a")).await.ok();
    delete_with(json!({"uid": uid, "resourceVersion": rv.to_string()}))
        .await
        .ok();
    cluster
        .get(&at(CONFIGMAPS, "a"))
        .await
        .failure(404, "NotFound", "configmaps \"a\" not found");

    // Kinds of a group are named with it.
    let web = create_deployment(&cluster, "web").await;
    let body = json!({"preconditions": {"uid": "0000"}});
    cluster
        .request("DELETE", &at(DEPLOYMENTS, "web"))
        .json(&body)
        .send()
        .await
        .failure(
            409,
            "Conflict",
            &format!(
                "Operation cannot be fulfilled on Deployment.apps \"web\": the UID in the precondition (0000) does not match the UID in record ({}). The object might have been deleted and then recreated",
                web["metadata"]["uid"].as_str().unwrap()
            ),
        );
}

#[tokio::test]
async fn finalizers_hold_an_object_until_the_last_is_removed() {
    let cluster = Cluster::with_default_namespace().await;
    let mut body = config_map("a", json!({}));
    body["metadata"]["finalizers"] = json!(["example.com/one", "example.com/two"]);
    let created = cluster.post(CONFIGMAPS, body).await.created();

    let marked = cluster.delete(&at(CONFIGMAPS, "a")).await.ok();
    assert!(
        marked["metadata"]["deletionTimestamp"].is_string(),
        "{marked}"
    );
    assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 0);
    assert!(resource_version(&marked) > resource_version(&created));
    assert_eq!(cluster.get(&at(CONFIGMAPS, "a")).await.ok(), marked);
    // Deleting again changes nothing.
    let again = cluster.delete(&at(CONFIGMAPS, "a")).await.ok();
    assert_eq!(again, marked);

    // No finalizer may be added meanwhile.
    let mut more = marked.clone();
    more["metadata"]["finalizers"] =
        json!(["example.com/one", "example.com/two", "example.com/three"]);
    cluster.put(&at(CONFIGMAPS, "a"), more).await.failure(
        422,
        "Invalid",
        "ConfigMap \"a\" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"example.com/three\"}",
    );

    let one_left = cluster
        .patch(
            &at(CONFIGMAPS, "a"),
            JSON_PATCH,
            r#"[{"op":"remove","path":"/metadata/finalizers/0"}]"#,
        )
        .await
        .ok();
    assert_eq!(
        one_left["metadata"]["finalizers"],
        json!(["example.com/two"])
    );
    cluster.get(&at(CONFIGMAPS, "a")).await.ok();

    let last = cluster
        .patch(
            &at(CONFIGMAPS, "a"),
            MERGE_PATCH,
            r#"{"metadata":{"finalizers":null}}"#,
        )
        .await
        .ok();
    assert!(last["metadata"].get("finalizers").is_none(), "{last}");
    cluster
        .get(&at(CONFIGMAPS, "a"))
        .await
        .failure(404, "NotFound", "configmaps \"a\" not found");
}

#[tokio::test]
async fn orphan_and_foreground_propagation_add_their_finalizers() {
    let cluster = Cluster::with_default_namespace().await;
    create_deployment(&cluster, "orphaned").await;
    let marked = cluster
        .delete(&format!(
            "{}?propagationPolicy=Orphan",
            at(DEPLOYMENTS, "orphaned")
        ))
        .await
        .ok();
    assert_eq!(marked["metadata"]["finalizers"], json!(["orphan"]));
    assert!(marked["metadata"]["deletionTimestamp"].is_string());

    create_deployment(&cluster, "foreground").await;
    let body =
        json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"});
    let marked = cluster
        .request("DELETE", &at(DEPLOYMENTS, "foreground"))
        .json(&body)
        .send()
        .await
        .ok();
    assert_eq!(
        marked["metadata"]["finalizers"],
        json!(["foregroundDeletion"])
    );

    // Background, the default, deletes at once.
    create_deployment(&cluster, "background").await;
    let status = cluster
        .delete(&format!(
            "{}?propagationPolicy=Background",
            at(DEPLOYMENTS, "background")
        ))
        .await
        .ok();
    assert_eq!(status["status"], "Success");
}

#[tokio::test]
async fn an_invalid_propagation_policy_is_refused_before_anything_is_deleted() {
    let cluster = Cluster::with_default_namespace().await;
    create_config_map(&cluster, "a", json!({})).await;
    let status = cluster
        .delete(&format!("{}?propagationPolicy=Sideways", at(CONFIGMAPS, "a")))
        .await
        .failure(
            422,
            "Invalid",
            "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"Sideways\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"",
        );
    assert_eq!(status["details"]["kind"], "DeleteOptions");
    cluster.get(&at(CONFIGMAPS, "a")).await.ok();
    cluster
        .delete(&format!(
            "{CONFIGMAPS}?propagationPolicy=Sideways"
        ))
        .await
        .failure(
            422,
            "Invalid",
            "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"Sideways\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"",
        );
    cluster.get(&at(CONFIGMAPS, "a")).await.ok();
}

#[tokio::test]
async fn dry_run_delete_changes_nothing() {
    let cluster = Cluster::with_default_namespace().await;
    let a = create_config_map(&cluster, "a", json!({})).await;
    let before = cluster.store.current_revision().await.unwrap();
    let status = cluster
        .delete(&format!("{}?dryRun=All", at(CONFIGMAPS, "a")))
        .await
        .ok();
    assert_eq!(status["status"], "Success");
    let mut body = config_map("b", json!({}));
    body["metadata"]["finalizers"] = json!(["example.com/hold"]);
    cluster.post(CONFIGMAPS, body).await.created();
    let before_b = cluster.store.current_revision().await.unwrap();
    let body = json!({"dryRun": ["All"]});
    let marked = cluster
        .request("DELETE", &at(CONFIGMAPS, "b"))
        .json(&body)
        .send()
        .await
        .ok();
    assert!(marked["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(cluster.store.current_revision().await.unwrap(), before_b);
    assert!(before < before_b);
    assert_eq!(cluster.get(&at(CONFIGMAPS, "a")).await.ok(), a);
    let b = cluster.get(&at(CONFIGMAPS, "b")).await.ok();
    assert!(b["metadata"].get("deletionTimestamp").is_none());
}

#[tokio::test]
async fn delete_collection_deletes_the_selected_objects_only() {
    let cluster = Cluster::with_default_namespace().await;
    create_config_map(&cluster, "a", json!({"app": "web"})).await;
    create_config_map(&cluster, "b", json!({"app": "db"})).await;
    create_config_map(&cluster, "c", json!({"app": "web"})).await;
    cluster.namespace("other").await;
    cluster
        .post(
            "/api/v1/namespaces/other/configmaps",
            config_map("d", json!({"app": "web"})),
        )
        .await
        .created();

    let deleted = cluster
        .delete(&format!("{CONFIGMAPS}?labelSelector=app%3Dweb"))
        .await
        .ok();
    assert_eq!(deleted["kind"], "ConfigMapList");
    assert_eq!(names(&deleted), ["a", "c"]);
    let left = cluster.get(CONFIGMAPS).await.ok();
    assert_eq!(names(&left), ["b"]);
    let other = cluster
        .get("/api/v1/namespaces/other/configmaps")
        .await
        .ok();
    assert_eq!(names(&other), ["d"]);

    // A dry run lists what it would delete.
    let would = cluster
        .delete(&format!("{CONFIGMAPS}?dryRun=All"))
        .await
        .ok();
    assert_eq!(names(&would), ["b"]);
    assert_eq!(names(&cluster.get(CONFIGMAPS).await.ok()), ["b"]);
}

#[tokio::test]
async fn a_pod_on_a_node_stays_until_its_node_deletes_it_without_grace() {
    let cluster = Cluster::with_default_namespace().await;
    let pods = "/api/v1/namespaces/default/pods";
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
        "spec": {"nodeName": "node-a", "containers": [{"name": "app", "image": "busybox"}]}});
    let pod = cluster.post(pods, pod).await.created();
    let uid = pod["metadata"]["uid"].as_str().unwrap().to_string();
    let web = format!("{pods}/web");
    // The default grace period of the pod's spec.
    let marked = cluster.delete(&web).await.ok();
    assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 30);
    assert!(marked["metadata"]["deletionTimestamp"].is_string());
    // The node's status updates leave it there.
    let mut status = cluster.get(&web).await.ok();
    status["status"]["phase"] = json!("Running");
    cluster.put(&format!("{web}/status"), status).await.ok();
    cluster.get(&web).await.ok();
    // The node's final delete: no grace, guarded by the UID.
    let final_delete = |uid: &str| {
        let body = json!({"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
            "preconditions": {"uid": uid}});
        cluster.request("DELETE", &web).json(&body).send()
    };
    final_delete("0000").await.failure(
        409,
        "Conflict",
        &format!("Operation cannot be fulfilled on Pod \"web\": the UID in the precondition (0000) does not match the UID in record ({uid}). The object might have been deleted and then recreated"),
    );
    final_delete(&uid).await.ok();
    cluster
        .get(&web)
        .await
        .failure(404, "NotFound", "pods \"web\" not found");
}
