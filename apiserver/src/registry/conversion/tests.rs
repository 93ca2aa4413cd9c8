//! The conversion step: stored in the storage version, read in the request's on every path
//! (get, lists from the store and the watch cache, watches, tables, patches, deletions), the
//! webhook's answers checked, and the definition's versions and conversion validated.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use storage::Store;

use super::webhook::{accept, request, response};
use super::*;
use crate::testing::{Cluster, names};

const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const V1: &str = "/apis/example.com/v1/namespaces/default/gizmos";
const BETA: &str = "/apis/example.com/v1beta1/namespaces/default/gizmos";

fn schema() -> Value {
    json!({"openAPIV3Schema": {"type": "object", "properties": {
        "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}})
}

/// Gizmos: v1 (stored) and v1beta1, converted by `conversion`.
fn gizmo_crd(conversion: Value) -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gizmos.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "gizmos", "kind": "Gizmo"},
            "conversion": conversion,
            "versions": [
                {"name": "v1beta1", "served": true, "storage": false, "schema": schema(),
                 "subresources": {"status": {}}},
                {"name": "v1", "served": true, "storage": true, "schema": schema(),
                 "subresources": {"status": {}}}]}})
}

async fn served(cluster: &Cluster) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while cluster.get(BETA).await.status != axum::http::StatusCode::OK {
        assert!(Instant::now() < deadline, "gizmos not served within 5 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn stored_api_version(cluster: &Cluster, name: &str) -> String {
    let key = format!("/registry/example.com/gizmos/default/{name}");
    let (kv, _) = cluster.store.get(&key, None).await.unwrap();
    let obj: Value = serde_json::from_slice(&kv.unwrap().value).unwrap();
    obj["apiVersion"].as_str().unwrap().to_string()
}

#[test]
fn stored_versions_are_told_by_their_first_bytes() {
    let stored = br#"{"apiVersion":"example.com/v1","kind":"Gizmo","metadata":{}}"#;
    assert!(is_in(stored, "example.com/v1"));
    assert!(!is_in(stored, "example.com/v1beta1"));
    assert!(!is_in(
        br#"{"apiVersion":"example.com/v1beta1"}"#,
        "example.com/v1"
    ));
    assert!(!is_in(
        br#"{"kind":"Gizmo","apiVersion":"example.com/v1"}"#,
        "example.com/v1"
    ));
}

#[tokio::test]
async fn none_stores_the_storage_version_and_reads_the_requested_one() {
    let cluster = Cluster::with_default_namespace().await;
    cluster.server.start_custom_resources();
    cluster
        .post(CRDS, gizmo_crd(json!({"strategy": "None"})))
        .await
        .created();
    served(&cluster).await;

    let mut watch_v1 = cluster.watch(&format!("{V1}?watch=true")).await;
    let created = cluster
        .post(
            BETA,
            json!({"apiVersion": "example.com/v1beta1", "kind": "Gizmo",
            "metadata": {"name": "g1"}, "spec": {"colour": "red"}}),
        )
        .await
        .created();
    assert_eq!(created["apiVersion"], "example.com/v1beta1");
    assert_eq!(stored_api_version(&cluster, "g1").await, "example.com/v1");
    let added = watch_v1.expect("ADDED").await;
    assert_eq!(added["apiVersion"], "example.com/v1");
    assert_eq!(added["spec"], json!({"colour": "red"}), "fields untouched");

    let read = cluster.get(&format!("{BETA}/g1")).await.ok();
    assert_eq!(read["apiVersion"], "example.com/v1beta1");
    assert_eq!(
        read["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );
    let read = cluster.get(&format!("{V1}/g1")).await.ok();
    assert_eq!(read["apiVersion"], "example.com/v1");

    for uri in [
        BETA.to_string(),
        format!("{BETA}?resourceVersion=0"),
        format!("{BETA}?limit=5"),
    ] {
        let list = cluster.get(&uri).await.ok();
        assert_eq!(list["apiVersion"], "example.com/v1beta1", "{uri}");
        assert_eq!(names(&list), ["g1"], "{uri}");
        assert_eq!(
            list["items"][0]["apiVersion"], "example.com/v1beta1",
            "{uri}"
        );
    }
    let mut watch_beta = cluster
        .watch(&format!("{BETA}?watch=true&resourceVersion=0"))
        .await;
    let added = watch_beta.expect("ADDED").await;
    assert_eq!(added["apiVersion"], "example.com/v1beta1");

    let patched = cluster
        .patch(
            &format!("{BETA}/g1"),
            "application/merge-patch+json",
            r#"{"spec":{"size":2}}"#,
        )
        .await
        .ok();
    assert_eq!(patched["apiVersion"], "example.com/v1beta1");
    assert_eq!(stored_api_version(&cluster, "g1").await, "example.com/v1");
    let modified = watch_beta.expect("MODIFIED").await;
    assert_eq!(modified["apiVersion"], "example.com/v1beta1");
    assert_eq!(modified["spec"]["size"], 2);
    let modified = watch_v1.expect("MODIFIED").await;
    assert_eq!(modified["apiVersion"], "example.com/v1");

    let status = cluster
        .patch(
            &format!("{BETA}/g1/status"),
            "application/merge-patch+json",
            r#"{"status":{"ok":true}}"#,
        )
        .await
        .ok();
    assert_eq!(status["apiVersion"], "example.com/v1beta1");
    assert_eq!(status["status"]["ok"], true);
    assert_eq!(
        watch_beta.expect("MODIFIED").await["status"]["ok"],
        true,
        "a status write, in the watch's version"
    );
    let table = cluster
        .request("GET", BETA)
        .header("accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
        .send()
        .await
        .ok();
    assert_eq!(table["rows"][0]["cells"][0], "g1");

    let deleted = cluster.delete(&format!("{BETA}/g1")).await.ok();
    assert_eq!(deleted["status"], "Success");
    assert_eq!(
        watch_beta.expect("DELETED").await["apiVersion"],
        "example.com/v1beta1"
    );
}

#[tokio::test]
async fn a_stored_version_stays_in_spec_versions() {
    let cluster = Cluster::with_default_namespace().await;
    let created = cluster
        .post(CRDS, gizmo_crd(json!({"strategy": "None"})))
        .await
        .created();
    assert_eq!(created["status"]["storedVersions"], json!(["v1"]));
    // The storage version moves to v1beta1: both are stored versions from then on.
    let mut crd = created.clone();
    crd["spec"]["versions"][0]["storage"] = json!(true);
    crd["spec"]["versions"][1]["storage"] = json!(false);
    let updated = cluster
        .put(&format!("{CRDS}/gizmos.example.com"), crd)
        .await
        .ok();
    assert_eq!(
        updated["status"]["storedVersions"],
        json!(["v1", "v1beta1"])
    );
    let mut crd = updated.clone();
    crd["spec"]["versions"].as_array_mut().unwrap().remove(1);
    cluster
        .put(&format!("{CRDS}/gizmos.example.com"), crd)
        .await
        .failure(422, "Invalid", r#"CustomResourceDefinition.apiextensions.k8s.io "gizmos.example.com" is invalid: status.storedVersions[0]: Invalid value: "v1": must appear in spec.versions"#);
}

#[tokio::test]
async fn webhook_conversions_are_validated_as_upstream() {
    let cluster = Cluster::with_default_namespace().await;
    let refused = |conversion: Value| {
        let cluster = &cluster;
        async move {
            let answer = cluster.post(CRDS, gizmo_crd(conversion)).await;
            assert_eq!(answer.status.as_u16(), 422, "{}", answer.body);
            answer.body["message"].as_str().unwrap().to_string()
        }
    };
    let message = refused(json!({"strategy": "Webhook"})).await;
    assert!(message.contains("spec.conversion.webhookClientConfig: Required value: required when strategy is set to Webhook"), "{message}");
    assert!(
        message.contains("spec.conversion.conversionReviewVersions: Required value"),
        "{message}"
    );
    let message = refused(json!({"strategy": "Webhook", "webhook": {
        "clientConfig": {"url": "http://127.0.0.1:1/convert"},
        "conversionReviewVersions": ["v2"]}}))
    .await;
    assert!(message.contains("spec.conversion.webhookClientConfig.url: Invalid value: \"http://127.0.0.1:1/convert\": 'https' is the only allowed URL scheme"), "{message}");
    assert!(
        message.contains("must include at least one of v1, v1beta1"),
        "{message}"
    );
    let message = refused(json!({"strategy": "None", "webhook": {
        "conversionReviewVersions": ["v1"]}}))
    .await;
    assert!(message.contains("spec.conversion.conversionReviewVersions: Forbidden: should not be set when strategy is not set to Webhook"), "{message}");
    cluster
        .post(CRDS, gizmo_crd(json!({"strategy": "Webhook", "webhook": {
            "clientConfig": {"service": {"namespace": "default", "name": "convert", "path": "/convert"}},
            "conversionReviewVersions": ["v1"]}})))
        .await
        .created();
}

fn gizmo(version: &str, name: &str) -> Value {
    json!({"apiVersion": format!("example.com/{version}"), "kind": "Gizmo",
        "metadata": {"name": name, "namespace": "default", "uid": "u-1",
            "resourceVersion": "7", "labels": {"a": "b"}},
        "spec": {"colour": "red"}})
}

#[test]
fn the_review_carries_the_objects_and_the_desired_version() {
    let review = request("v1", "id-1", "example.com/v1", &[gizmo("v1beta1", "g")]);
    assert_eq!(review["apiVersion"], "apiextensions.k8s.io/v1");
    assert_eq!(review["kind"], "ConversionReview");
    assert_eq!(review["request"]["uid"], "id-1");
    assert_eq!(review["request"]["desiredAPIVersion"], "example.com/v1");
    assert_eq!(review["request"]["objects"][0]["metadata"]["name"], "g");
}

#[test]
fn answers_are_checked_as_upstream_checks_them() {
    let answer = |v: Value| response("v1", v.to_string().as_bytes(), "id-1");
    let ok = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
        "response": {"uid": "id-1", "result": {"status": "Success"},
            "convertedObjects": [gizmo("v1", "g")]}});
    assert_eq!(answer(ok.clone()).unwrap().len(), 1);
    let mut wrong = ok.clone();
    wrong["apiVersion"] = json!("apiextensions.k8s.io/v1beta1");
    assert_eq!(
        answer(wrong).unwrap_err(),
        "expected webhook response of apiextensions.k8s.io/v1, Kind=ConversionReview, got apiextensions.k8s.io/v1beta1, Kind=ConversionReview"
    );
    let mut wrong = ok.clone();
    wrong["response"]["uid"] = json!("other");
    assert_eq!(
        answer(wrong).unwrap_err(),
        r#"expected response.uid="id-1", got "other""#
    );
    let mut wrong = ok.clone();
    wrong["response"]["result"] = json!({"status": "Failure", "message": "no way"});
    assert_eq!(answer(wrong).unwrap_err(), "no way");
    let mut wrong = ok.clone();
    wrong["response"]["result"] = json!({"status": "Failure"});
    assert_eq!(
        answer(wrong).unwrap_err(),
        "response.result.status was 'Failure', not 'Success'"
    );
    let mut wrong = ok;
    wrong.as_object_mut().unwrap().remove("response");
    assert_eq!(answer(wrong).unwrap_err(), "no response provided");
    assert!(response("v1", b"not json", "id-1").is_err());
    // v1beta1 answers were never checked for kind and uid.
    let old =
        json!({"response": {"uid": "x", "result": {"status": "Success"}, "convertedObjects": []}});
    assert!(response("v1beta1", old.to_string().as_bytes(), "id-1").is_ok());
}

#[test]
fn converted_objects_keep_their_identity_and_metadata() {
    let gvk = "example.com/v1beta1, Kind=Gizmo";
    let original = gizmo("v1beta1", "g");
    let mut converted = gizmo("v1", "g");
    converted["metadata"]["labels"] = json!({"converted": "yes"});
    converted["metadata"]["annotations"] = json!({"note": "x"});
    converted["metadata"]["generation"] = json!(99);
    converted["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    converted["spec"] = json!({"color": "red"});
    let accepted = accept(
        &original,
        converted.clone(),
        "example.com/v1",
        gvk,
        0,
        false,
    )
    .unwrap();
    assert_eq!(accepted["spec"], json!({"color": "red"}));
    assert_eq!(accepted["metadata"]["labels"], json!({"converted": "yes"}));
    assert_eq!(accepted["metadata"]["annotations"], json!({"note": "x"}));
    assert_eq!(
        accepted["metadata"]["resourceVersion"], "7",
        "the original's metadata"
    );
    assert!(accepted["metadata"].get("generation").is_none());

    let mut renamed = converted.clone();
    renamed["metadata"]["name"] = json!("other");
    assert_eq!(
        accept(&original, renamed, "example.com/v1", gvk, 0, false).unwrap_err(),
        "conversion webhook for example.com/v1beta1, Kind=Gizmo returned invalid object: must have the same name: g != other"
    );
    let mut uid = converted.clone();
    uid["metadata"]["uid"] = json!("u-2");
    assert_eq!(
        accept(&original, uid, "example.com/v1", gvk, 2, true).unwrap_err(),
        "conversion webhook for example.com/v1beta1, Kind=Gizmo returned invalid converted object at index 2: must have the same UID: u-1 != u-2"
    );
    assert_eq!(
        accept(
            &original,
            converted.clone(),
            "example.com/v2",
            gvk,
            0,
            false
        )
        .unwrap_err(),
        "conversion webhook for example.com/v1beta1, Kind=Gizmo returned invalid object at index 0: invalid groupVersion (expected example.com/v2, received example.com/v1)"
    );
    let mut bad_label = converted;
    bad_label["metadata"]["labels"] = json!({"a": 1});
    assert_eq!(
        accept(&original, bad_label, "example.com/v1", gvk, 0, false).unwrap_err(),
        "conversion webhook for example.com/v1beta1, Kind=Gizmo returned invalid metadata: metadata.labels[a] must be a string, but is int64 in converted object"
    );
}

static CONVERSIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn counted(obj: &Value, api_version: &str) -> Value {
    CONVERSIONS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let mut converted = obj.clone();
    converted["apiVersion"] = json!(api_version);
    converted
}

#[tokio::test]
async fn a_watch_event_is_converted_once_per_version_whatever_its_watchers() {
    let cluster = Cluster::new();
    let conversion = Arc::new(Conversion::new(
        "example.com",
        "Gizmo",
        "v1",
        &["v1", "v1beta1", "v1alpha1"],
        How::Builtin(counted),
    ));
    let view = |api_version: &str| View {
        conversion: conversion.clone(),
        resolver: Resolver::of(&cluster.server),
        api_version: Arc::from(api_version),
    };
    let event = Arc::new(CacheEvent::for_test(
        "ADDED",
        "/registry/example.com/gizmos/default/g1",
        bytes::Bytes::from_static(br#"{"apiVersion":"example.com/v1","kind":"Gizmo"}"#),
    ));
    let watchers: Vec<View> = (0..5).map(|_| view("example.com/v1beta1")).collect();
    let seen = futures::future::join_all(watchers.iter().map(|w| w.event(event.clone()))).await;
    let seen: Vec<Arc<CacheEvent>> = seen.into_iter().map(Result::unwrap).collect();
    assert_eq!(CONVERSIONS.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(seen.iter().all(|e| Arc::ptr_eq(e, &seen[0])));
    assert!(is_in(&seen[0].object, "example.com/v1beta1"));
    // Another version is converted once more; the stored one not at all.
    view("example.com/v1alpha1")
        .event(event.clone())
        .await
        .unwrap();
    view("example.com/v1alpha1")
        .event(event.clone())
        .await
        .unwrap();
    let same = view("example.com/v1").event(event.clone()).await.unwrap();
    assert!(Arc::ptr_eq(&same, &event));
    assert_eq!(CONVERSIONS.load(std::sync::atomic::Ordering::SeqCst), 2);
}
