use serde_json::{Value, json};

use super::*;

/// The walk of `obj` as a `kind` of `group`/`version`.
fn walked(group: &str, version: &str, kind: &str, mut obj: Value) -> (Walked, Value) {
    let scheme = api::Scheme::builtin();
    let def = scheme
        .group_version(group, version)
        .into_iter()
        .find(|d| d.kind == kind)
        .expect("kind in the scheme");
    let components = crate::openapi::component_schemas(&scheme, group, version);
    let name = crate::openapi::schema_name(def);
    let walked = walk(&components, &name, &components[&name], &mut obj);
    (walked, obj)
}

fn type_error(group: &str, kind: &str, obj: Value) -> String {
    walked(group, "v1", kind, obj)
        .0
        .type_error
        .unwrap_or_else(|| panic!("no type error for {kind}"))
        .message
}

fn deployment(spec: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": spec})
}

#[test]
fn wrong_types_are_reported_as_gos_decoder_words_them() {
    assert_eq!(
        type_error(
            "",
            "ConfigMap",
            json!({"metadata": {"name": "di"}, "data": {"a": 5}})
        ),
        "json: cannot unmarshal number into Go struct field ConfigMap.data of type string"
    );
    assert_eq!(
        type_error("apps", "Deployment", deployment(json!({"replicas": "abc"}))),
        "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
    );
    assert_eq!(
        type_error("apps", "Deployment", deployment(json!({"replicas": 1.5}))),
        "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32"
    );
    let huge: Value = serde_json::from_str(r#"{"replicas": 9223372036854775808}"#).unwrap();
    assert_eq!(
        type_error("apps", "Deployment", deployment(huge)),
        "json: cannot unmarshal number 9223372036854775808 into Go struct field DeploymentSpec.spec.replicas of type int32"
    );
    assert_eq!(
        type_error("apps", "Deployment", deployment(json!("x"))),
        "json: cannot unmarshal string into Go struct field Deployment.spec of type v1.DeploymentSpec"
    );
    assert_eq!(
        type_error(
            "",
            "Pod",
            json!({"metadata": {"name": "p"}, "spec": {"containers": "x"}})
        ),
        "json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container"
    );
    assert_eq!(
        type_error(
            "",
            "ConfigMap",
            json!({"metadata": {"name": "c", "labels": {"a": 5}}})
        ),
        "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"
    );
    assert_eq!(
        type_error(
            "",
            "ServiceAccount",
            json!({"metadata": {"name": "s"}, "automountServiceAccountToken": "yes"})
        ),
        "json: cannot unmarshal string into Go struct field ServiceAccount.automountServiceAccountToken of type bool"
    );
}

#[test]
fn nested_fields_name_their_innermost_struct_and_whole_path() {
    let pod = json!({"metadata": {"name": "p"}, "spec": {"template": {"spec": {"containers": [
        {"name": "a", "image": "i", "ports": [{"containerPort": "80"}]}]}}}});
    assert_eq!(
        type_error("apps", "Deployment", pod),
        "json: cannot unmarshal string into Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort of type int32"
    );
}

#[test]
fn the_first_error_in_document_order_wins_and_unknown_fields_still_go() {
    let (walked, obj) = walked(
        "apps",
        "v1",
        "Deployment",
        deployment(json!({"bogus": 1, "replicas": "a", "paused": "b"})),
    );
    assert_eq!(
        walked.type_error.map(|e| e.message).as_deref(),
        Some(
            "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
        )
    );
    assert_eq!(walked.unknown, ["spec.bogus"]);
    assert!(obj["spec"].get("bogus").is_none());
}

#[test]
fn values_with_go_parsers_of_their_own() {
    let pod = |resources: Value| {
        json!({"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "a", "image": "i", "resources": resources}]}})
    };
    assert_eq!(
        type_error("", "Pod", pod(json!({"limits": {"cpu": "lots"}}))),
        api::quantity::QUANTITY_FORMAT
    );
    assert!(
        walked(
            "",
            "v1",
            "Pod",
            pod(json!({"limits": {"cpu": 2, "memory": "1Gi"}}))
        )
        .0
        .type_error
        .is_none()
    );
    let secret = |data: Value| json!({"metadata": {"name": "s"}, "data": data});
    assert_eq!(
        type_error("", "Secret", secret(json!({"k": "not base64!"}))),
        "illegal base64 data at input byte 3"
    );
    assert!(
        walked("", "v1", "Secret", secret(json!({"k": "aGk="})))
            .0
            .type_error
            .is_none()
    );
    let service = |target: Value| json!({"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80, "targetPort": target}]}});
    assert!(
        walked("", "v1", "Service", service(json!("http")))
            .0
            .type_error
            .is_none()
    );
    assert!(
        walked("", "v1", "Service", service(json!(8080)))
            .0
            .type_error
            .is_none()
    );
    assert_eq!(
        type_error("", "Service", service(json!(1.5))),
        "json: cannot unmarshal number 1.5 into Go value of type int32"
    );
    let stamped = |t: Value| json!({"metadata": {"name": "c", "creationTimestamp": t}});
    assert!(type_error("", "ConfigMap", stamped(json!("yesterday"))).starts_with("parsing time"));
    assert!(
        walked(
            "",
            "v1",
            "ConfigMap",
            stamped(json!("2024-01-02T03:04:05Z"))
        )
        .0
        .type_error
        .is_none()
    );
}

#[test]
fn nulls_are_zero_values() {
    let (walked, _) = walked(
        "apps",
        "v1",
        "Deployment",
        deployment(json!({"replicas": null, "template": null})),
    );
    assert!(walked.type_error.is_none());
}

#[test]
fn go_type_names() {
    assert_eq!(
        qualified_name("io.k8s.api.core.v1.Container"),
        "v1.Container"
    );
    assert_eq!(short_name("io.k8s.api.core.v1.PodSpec"), "PodSpec");
}
