//! Custom resources end to end in-process: a definition established and served, its objects
//! defaulted, pruned and validated, patched, and removed with the definition.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{Value, json};
use storage::Store;

use crate::testing::Cluster;

const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const WIDGETS: &str = "/apis/example.com/v1/namespaces/default/widgets";

fn widget_crd() -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"]},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "size": {"type": "integer", "default": 3, "maximum": 10},
                        "color": {"type": "string", "enum": ["red", "green"]}}},
                    "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}}}}}]}})
}

/// Waits until `check` holds, failing after a few seconds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within 5 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn established(cluster: &Cluster) {
    eventually("established", || async {
        let crd = cluster
            .get(&format!("{CRDS}/widgets.example.com"))
            .await
            .body;
        crd["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Established" && c["status"] == "True")
        })
    })
    .await;
}

#[tokio::test]
async fn a_definition_serves_validated_objects_until_deleted() {
    let cluster = Cluster::with_default_namespace().await;
    cluster.server.start_custom_resources();
    cluster.post(CRDS, widget_crd()).await.created();
    established(&cluster).await;
    let crd = cluster
        .get(&format!("{CRDS}/widgets.example.com"))
        .await
        .ok();
    assert_eq!(crd["status"]["acceptedNames"]["listKind"], "WidgetList");
    assert_eq!(crd["status"]["storedVersions"], json!(["v1"]));

    let created = cluster
        .post(
            WIDGETS,
            json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w1"}, "spec": {"color": "red", "junk": 1}, "extra": true}),
        )
        .await
        .created();
    assert_eq!(
        created["spec"],
        json!({"color": "red", "size": 3}),
        "defaulted and pruned"
    );
    assert!(created.get("extra").is_none());
    cluster
        .post(WIDGETS, json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w2"}, "spec": {"size": "big"}}))
        .await
        .failure(422, "Invalid", r#"Widget.example.com "w2" is invalid: spec.size: Invalid value: "string": spec.size in body must be of type integer: "string""#);
    cluster
        .patch(&format!("{WIDGETS}/w1"), "application/strategic-merge-patch+json", r#"{"spec":{"size":4}}"#)
        .await
        .failure(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
    let patched = cluster
        .patch(
            &format!("{WIDGETS}/w1"),
            "application/merge-patch+json",
            r#"{"spec":{"size":4}}"#,
        )
        .await
        .ok();
    assert_eq!(patched["spec"]["size"], 4);
    cluster
        .patch(&format!("{WIDGETS}/w1"), "application/json-patch+json", r#"[{"op":"replace","path":"/spec/size","value":11}]"#)
        .await
        .failure(422, "Invalid", r#"Widget.example.com "w1" is invalid: spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10"#);
    let status = cluster
        .patch(
            &format!("{WIDGETS}/w1/status"),
            "application/merge-patch+json",
            r#"{"status":{"ready":true}}"#,
        )
        .await
        .ok();
    assert_eq!(status["status"]["ready"], true);
    let list = cluster.get(WIDGETS).await.ok();
    assert_eq!(list["kind"], "WidgetList");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    let table = cluster
        .request("GET", &format!("{WIDGETS}/w1"))
        .header("accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
        .send()
        .await
        .ok();
    let headers: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(headers, ["Name", "Size"]);
    assert_eq!(table["rows"][0]["cells"], json!(["w1", "4"]));

    let deleted = cluster
        .delete(&format!("{CRDS}/widgets.example.com"))
        .await
        .ok();
    assert_eq!(
        deleted["metadata"]["finalizers"],
        json!(["customresourcecleanup.apiextensions.k8s.io"])
    );
    eventually("the definition is gone", || async {
        cluster
            .get(&format!("{CRDS}/widgets.example.com"))
            .await
            .status
            == StatusCode::NOT_FOUND
    })
    .await;
    eventually("the resource is no longer served", || async {
        cluster.get(WIDGETS).await.status == StatusCode::NOT_FOUND
    })
    .await;
    let left = cluster
        .store
        .list("/registry/example.com/widgets/", Default::default())
        .await;
    assert!(left.unwrap().kvs.is_empty(), "instances deleted");
}

#[tokio::test]
async fn invalid_definitions_are_refused_with_upstreams_words() {
    let cluster = Cluster::with_default_namespace().await;
    let mut crd = widget_crd();
    crd["spec"]["versions"][0]["storage"] = json!(false);
    let refused = cluster.post(CRDS, crd).await;
    assert_eq!(refused.status.as_u16(), 422);
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("spec.versions: Invalid value:"),
        "{}",
        refused.body
    );
}
