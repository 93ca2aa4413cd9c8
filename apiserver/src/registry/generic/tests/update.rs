//! The generic store's UPDATE and the status and scale subresources, as kube-apiserver answers them.

use super::*;

#[tokio::test]
async fn update_with_a_stale_resource_version_conflicts() {
    let cluster = Cluster::with_default_namespace().await;
    let a = create_config_map(&cluster, "a", json!({})).await;
    let mut first = a.clone();
    first["data"]["k"] = json!("first");
    let updated = cluster.put(&at(CONFIGMAPS, "a"), first).await.ok();
    assert!(resource_version(&updated) > resource_version(&a));

    let mut stale = a.clone();
    stale["data"]["k"] = json!("second");
    let status = cluster.put(&at(CONFIGMAPS, "a"), stale.clone()).await.failure(
        409,
        "Conflict",
        "Operation cannot be fulfilled on configmaps \"a\": the object has been modified; please apply your changes to the latest version and try again",
    );
    assert_eq!(
        status["details"],
        json!({"name": "a", "kind": "configmaps"})
    );
    // Without a resourceVersion the update is unconditional.
    stale["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    let last = cluster.put(&at(CONFIGMAPS, "a"), stale).await.ok();
    assert_eq!(last["data"]["k"], "second");
    assert_eq!(last["metadata"]["uid"], a["metadata"]["uid"]);

    cluster
        .put(&at(CONFIGMAPS, "nope"), config_map("nope", json!({})))
        .await
        .failure(404, "NotFound", "configmaps \"nope\" not found");
    cluster
        .put(&at(CONFIGMAPS, "other"), config_map("a", json!({})))
        .await
        .failure(
            400,
            "BadRequest",
            "the name of the object (a) does not match the name on the URL (other)",
        );
}

#[tokio::test]
async fn update_keeps_the_status_and_bumps_the_generation_on_spec_changes() {
    let cluster = Cluster::with_default_namespace().await;
    create_deployment(&cluster, "web").await;
    let mut with_status = cluster.get(&at(DEPLOYMENTS, "web")).await.ok();
    with_status["status"] = json!({"replicas": 1, "observedGeneration": 1});
    let with_status = cluster
        .put(&at(DEPLOYMENTS, "web/status"), with_status)
        .await
        .ok();

    // Metadata only: the generation stays.
    let mut labelled = with_status.clone();
    labelled["metadata"]["labels"] = json!({"team": "a"});
    labelled["status"] = json!({"replicas": 99});
    let labelled = cluster.put(&at(DEPLOYMENTS, "web"), labelled).await.ok();
    assert_eq!(labelled["metadata"]["generation"], 1);
    assert_eq!(labelled["metadata"]["labels"], json!({"team": "a"}));
    assert_eq!(labelled["status"], with_status["status"]);

    // The spec: the generation moves on; the status still stays.
    let mut scaled = labelled.clone();
    scaled["spec"]["replicas"] = json!(3);
    let scaled = cluster.put(&at(DEPLOYMENTS, "web"), scaled).await.ok();
    assert_eq!(scaled["metadata"]["generation"], 2);
    assert_eq!(scaled["status"], with_status["status"]);
    // System fields cannot be rewritten.
    let mut forged = scaled.clone();
    forged["metadata"]["uid"] = json!("forged");
    forged["metadata"]["creationTimestamp"] = json!("2001-01-01T00:00:00Z");
    let kept = cluster.put(&at(DEPLOYMENTS, "web"), forged).await.ok();
    assert_eq!(kept["metadata"]["uid"], scaled["metadata"]["uid"]);
    assert_eq!(
        kept["metadata"]["creationTimestamp"],
        scaled["metadata"]["creationTimestamp"]
    );
}

#[tokio::test]
async fn the_status_subresource_changes_the_status_only() {
    let cluster = Cluster::with_default_namespace().await;
    let created = create_deployment(&cluster, "web").await;
    let mut body = created.clone();
    body["spec"]["replicas"] = json!(5);
    body["metadata"]["labels"] = json!({"sneaky": "yes"});
    body["status"] = json!({"replicas": 2, "readyReplicas": 1});
    let updated = cluster.put(&at(DEPLOYMENTS, "web/status"), body).await.ok();
    assert_eq!(
        updated["status"],
        json!({"replicas": 2, "readyReplicas": 1})
    );
    assert_eq!(updated["spec"], created["spec"]);
    assert!(updated["metadata"].get("labels").is_none(), "{updated}");
    assert_eq!(updated["metadata"]["generation"], 1);
    assert_eq!(
        cluster.get(&at(DEPLOYMENTS, "web/status")).await.ok(),
        updated
    );
    // Kinds without the subresource do not serve it.
    create_config_map(&cluster, "a", json!({})).await;
    cluster.get(&at(CONFIGMAPS, "a/status")).await.failure(
        404,
        "NotFound",
        "the server could not find the requested resource",
    );
}

#[tokio::test]
async fn the_scale_subresource_reads_and_writes_replicas() {
    let cluster = Cluster::with_default_namespace().await;
    let created = create_deployment(&cluster, "web").await;
    let scale = cluster.get(&at(DEPLOYMENTS, "web/scale")).await.ok();
    assert_eq!(
        scale,
        json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": "web", "namespace": "default",
                "uid": created["metadata"]["uid"],
                "resourceVersion": created["metadata"]["resourceVersion"],
                "creationTimestamp": created["metadata"]["creationTimestamp"]},
            "spec": {"replicas": 1},
            "status": {"replicas": 0, "selector": "app=web"}})
    );

    let mut more = scale.clone();
    more["spec"]["replicas"] = json!(4);
    let scaled = cluster.put(&at(DEPLOYMENTS, "web/scale"), more).await.ok();
    assert_eq!(scaled["spec"]["replicas"], 4);
    let web = cluster.get(&at(DEPLOYMENTS, "web")).await.ok();
    assert_eq!(web["spec"]["replicas"], 4);
    assert_eq!(web["metadata"]["generation"], 2);
    assert_eq!(
        scaled["metadata"]["resourceVersion"],
        web["metadata"]["resourceVersion"]
    );

    // A Scale with an old resourceVersion conflicts, as any update.
    let mut stale = scale.clone();
    stale["spec"]["replicas"] = json!(2);
    cluster
        .put(&at(DEPLOYMENTS, "web/scale"), stale)
        .await
        .failure(
            409,
            "Conflict",
            "Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified; please apply your changes to the latest version and try again",
        );

    let mut negative = scaled.clone();
    negative["spec"]["replicas"] = json!(-1);
    cluster
        .put(&at(DEPLOYMENTS, "web/scale"), negative)
        .await
        .failure(
            422,
            "Invalid",
            "Scale.autoscaling \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        );
    let mut typed_wrong = scaled.clone();
    typed_wrong["spec"]["replicas"] = json!("five");
    cluster
        .put(&at(DEPLOYMENTS, "web/scale"), typed_wrong)
        .await
        .failure(
            400,
            "BadRequest",
            "Scale in version \"v1\" cannot be handled as a Scale: json: cannot unmarshal string into Go struct field ScaleSpec.spec.replicas of type int32",
        );
    // A patch of the Scale.
    let patched = cluster
        .patch(
            &at(DEPLOYMENTS, "web/scale"),
            MERGE_PATCH,
            r#"{"spec":{"replicas":0}}"#,
        )
        .await
        .ok();
    assert_eq!(patched["spec"]["replicas"], 0);
    assert_eq!(
        cluster.get(&at(DEPLOYMENTS, "web")).await.ok()["spec"]["replicas"],
        0
    );
}
