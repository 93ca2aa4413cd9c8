//! The built-in kinds served in two versions, over HTTP: HorizontalPodAutoscalers written in
//! `autoscaling/v1` stored in v2 and read in either; Events of `events.k8s.io/v1` stored as
//! core Events, selected by their own field names and refused by upstream's rules.

use serde_json::json;

use crate::testing::{Cluster, names};

const HPA_V1: &str = "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers";
const HPA_V2: &str = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers";
const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/default/events";
const CORE_EVENTS: &str = "/api/v1/namespaces/default/events";
const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

#[tokio::test]
async fn autoscalers_written_in_v1_are_stored_in_v2_and_read_in_either() {
    let cluster = Cluster::with_default_namespace().await;
    let mut watch_v1 = cluster.watch(&format!("{HPA_V1}?watch=true")).await;
    let created = cluster
        .post(
            HPA_V1,
            json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "web"},
                "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                    "name": "web"}, "maxReplicas": 4}}),
        )
        .await
        .created();
    // v2's defaults, as upstream shows them after storing: 80% CPU, one replica.
    assert_eq!(created["apiVersion"], "autoscaling/v1");
    assert_eq!(created["spec"]["targetCPUUtilizationPercentage"], 80);
    assert_eq!(created["spec"]["minReplicas"], 1);
    let (kv, _) = storage::Store::get(
        cluster.store.as_ref(),
        "/registry/autoscaling/horizontalpodautoscalers/default/web",
        None,
    )
    .await
    .unwrap();
    let stored: serde_json::Value = serde_json::from_slice(&kv.unwrap().value).unwrap();
    assert_eq!(stored["apiVersion"], "autoscaling/v2");
    assert_eq!(
        stored["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        80
    );
    assert_eq!(
        watch_v1.expect("ADDED").await["apiVersion"],
        "autoscaling/v1"
    );

    // A v2 writer's memory metric survives a v1 writer's update.
    let v2 = cluster.get(&format!("{HPA_V2}/web")).await.ok();
    let mut with_memory = v2.clone();
    with_memory["spec"]["metrics"] = json!([
        {"type": "Resource", "resource": {"name": "memory",
            "target": {"type": "AverageValue", "averageValue": "500Mi"}}},
        {"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 70}}}]);
    cluster
        .put(&format!("{HPA_V2}/web"), with_memory)
        .await
        .ok();
    let patched = cluster
        .patch(
            &format!("{HPA_V1}/web"),
            "application/merge-patch+json",
            r#"{"spec":{"maxReplicas":6}}"#,
        )
        .await
        .ok();
    assert_eq!(patched["spec"]["targetCPUUtilizationPercentage"], 70);
    assert!(
        patched["metadata"]["annotations"]["autoscaling.alpha.kubernetes.io/metrics"]
            .as_str()
            .unwrap()
            .contains("500Mi")
    );
    let v2 = cluster.get(&format!("{HPA_V2}/web")).await.ok();
    assert_eq!(v2["spec"]["maxReplicas"], 6);
    assert_eq!(v2["spec"]["metrics"].as_array().unwrap().len(), 2);
    assert!(v2["metadata"].get("annotations").is_none());
    let modified = watch_v1.expect("MODIFIED").await;
    assert_eq!(modified["apiVersion"], "autoscaling/v1");

    // Tables print what upstream's printer sees, whatever the version asked for.
    let table = cluster
        .request("GET", HPA_V1)
        .header("accept", TABLE)
        .send()
        .await
        .ok();
    assert_eq!(
        table["rows"][0]["cells"][2],
        "memory: <unknown>/500Mi, cpu: <unknown>/70%"
    );
    assert_eq!(names(&cluster.get(HPA_V1).await.ok()), ["web"]);

    // Validation as upstream's of the internal version.
    cluster
        .post(
            HPA_V1,
            json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "bad"},
                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                    "minReplicas": 3, "maxReplicas": 2}}),
        )
        .await
        .failure(422, "Invalid", "HorizontalPodAutoscaler.autoscaling \"bad\" is invalid: spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`");
}

#[tokio::test]
async fn events_of_both_groups_are_one_resource() {
    let cluster = Cluster::with_default_namespace().await;
    let mut watch = cluster.watch(&format!("{EVENTS}?watch=true")).await;
    cluster
        .post(
            CORE_EVENTS,
            json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.1"},
                "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
                "reason": "Started", "message": "Started container", "type": "Normal",
                "source": {"component": "kubelet"}, "count": 1,
                "firstTimestamp": "2026-01-01T00:00:00Z",
                "lastTimestamp": "2026-01-01T00:00:00Z"}),
        )
        .await
        .created();
    let added = watch.expect("ADDED").await;
    assert_eq!(added["apiVersion"], "events.k8s.io/v1");
    assert_eq!(added["regarding"]["name"], "web");
    assert_eq!(added["note"], "Started container");
    assert_eq!(added["deprecatedCount"], 1);

    let created = cluster
        .post(
            EVENTS,
            json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
                "metadata": {"name": "scaled.1"},
                "eventTime": "2026-01-01T00:00:00.000000Z",
                "reportingController": "example.com/scaler", "reportingInstance": "scaler-1",
                "action": "Scale", "reason": "Scaled", "type": "Normal",
                "regarding": {"kind": "Deployment", "name": "api", "namespace": "default"},
                "note": "scaled to 3"}),
        )
        .await
        .created();
    assert_eq!(created["apiVersion"], "events.k8s.io/v1");
    let core = cluster.get(&format!("{CORE_EVENTS}/scaled.1")).await.ok();
    assert_eq!(core["involvedObject"]["name"], "api");
    assert_eq!(core["reportingComponent"], "example.com/scaler");
    assert_eq!(core["message"], "scaled to 3");

    let selected = cluster
        .get(&format!("{EVENTS}?fieldSelector=regarding.name%3Dapi"))
        .await
        .ok();
    assert_eq!(names(&selected), ["scaled.1"]);
    let selected = cluster
        .get(&format!(
            "{CORE_EVENTS}?fieldSelector=involvedObject.name%3Dweb"
        ))
        .await
        .ok();
    assert_eq!(names(&selected), ["web.1"]);
    let table = cluster
        .request("GET", EVENTS)
        .header("accept", TABLE)
        .send()
        .await
        .ok();
    let objects: Vec<&str> = table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["cells"][3].as_str().unwrap())
        .collect();
    assert_eq!(objects, ["deployment/api", "pod/web"]);

    cluster
        .post(
            EVENTS,
            json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
                "metadata": {"name": "bad"}, "reason": "Scaled", "type": "Normal",
                "regarding": {"kind": "Deployment", "name": "api", "namespace": "default"},
                "reportingController": "example.com/scaler", "reportingInstance": "scaler-1",
                "deprecatedCount": 2}),
        )
        .await
        .failure(422, "Invalid", "Event.events.k8s.io \"bad\" is invalid: [eventTime: Required value, count: Invalid value: \"\": needs to be unset]");
}
