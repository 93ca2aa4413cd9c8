use serde_json::{Value, json};

use super::*;
use crate::error::ApiError;
use api::scheme::ResourceDef;

/// Validates as the registry does, with the kind's strategy.
fn validate(def: &ResourceDef, obj: &Value, old: Option<&Value>) -> Result<(), ApiError> {
    let strategy = crate::registry::Registry::new(&api::Scheme::builtin()).strategy_of(def);
    crate::registry::generic::validate::validate(def, strategy, obj, old)
}

fn def(group: &str, plural: &str) -> ResourceDef {
    *api::Scheme::builtin()
        .lookup(group, "v1", plural)
        .expect("resource in the scheme")
}

/// The causes (field, message) of validating `obj` as a new `plural` of `group`.
fn causes(group: &str, plural: &str, obj: Value) -> Vec<(String, String)> {
    match validate(&def(group, plural), &obj, None) {
        Ok(()) => Vec::new(),
        Err(ApiError::Invalid { causes, .. }) => {
            causes.into_iter().map(|c| (c.field, c.message)).collect()
        }
        Err(other) => panic!("not Invalid: {other:?}"),
    }
}

fn deployment(replicas: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "d"}},
            "template": {"metadata": {"labels": {"app": "d"}},
                "spec": {"restartPolicy": "Always", "containers": [{"name": "c", "image": "i"}]}}}})
}

#[test]
fn negative_replicas() {
    assert!(causes("apps", "deployments", deployment(1)).is_empty());
    let err = validate(&def("apps", "deployments"), &deployment(-5), None).unwrap_err();
    assert_eq!(
        err.status().message,
        "Deployment.apps \"d\" is invalid: spec.replicas: Invalid value: -5: must be greater than or equal to 0"
    );
}

#[test]
fn label_syntax_as_upstream() {
    let cm = json!({"metadata": {"name": "c", "labels": {"a b/c d": "!!"}}});
    let found = causes("", "configmaps", cm);
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found.iter().all(|(f, _)| f == "metadata.labels"));
    assert!(
        found[0]
            .1
            .starts_with("Invalid value: \"a b/c d\": prefix part a lowercase RFC 1123 subdomain")
    );
    assert!(
        found[1]
            .1
            .starts_with("Invalid value: \"a b/c d\": name part must consist")
    );
    assert!(
        found[2]
            .1
            .starts_with("Invalid value: \"!!\": a valid label must be")
    );
}

#[test]
fn annotations_are_limited_in_size() {
    let big = "x".repeat(meta::ANNOTATIONS_MAX_BYTES);
    let cm = json!({"metadata": {"name": "c", "annotations": {"a": big}}});
    assert_eq!(
        causes("", "configmaps", cm),
        [(
            "metadata.annotations".to_string(),
            "Too long: may not be more than 262144 bytes".to_string()
        )]
    );
}

#[test]
fn selectors_must_select_their_template() {
    let mut d = deployment(1);
    d["spec"]["template"]["metadata"]["labels"]["app"] = json!("other");
    let found = causes("apps", "deployments", d);
    assert_eq!(
        found,
        [(
            "spec.template.metadata.labels".to_string(),
            "Invalid value: map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`".to_string()
        )]
    );
    let mut d = deployment(1);
    d["spec"]["selector"] = json!({"matchLabels": {"app": "other"}});
    let old = deployment(1);
    let err = validate(&def("apps", "deployments"), &d, Some(&old)).unwrap_err();
    assert!(
        err.status()
            .message
            .contains("spec.selector: Invalid value")
    );
    assert!(err.status().message.contains("field is immutable"));
}

#[test]
fn pod_specs_need_named_containers_with_images() {
    let pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "a", "image": "i", "ports": [{"containerPort": 0}]},
        {"name": "a", "image": ""}]}});
    let found = causes("", "pods", pod);
    assert_eq!(
        found,
        [
            (
                "spec.containers[0].ports[0].containerPort".to_string(),
                "Invalid value: 0: must be between 1 and 65535, inclusive".to_string()
            ),
            (
                "spec.containers[1].name".to_string(),
                "Duplicate value: \"a\"".to_string()
            ),
            (
                "spec.containers[1].image".to_string(),
                "Required value".to_string()
            ),
        ]
    );
    let empty = json!({"metadata": {"name": "p"}, "spec": {"containers": []}});
    assert_eq!(
        causes("", "pods", empty),
        [("spec.containers".to_string(), "Required value".to_string())]
    );
}

#[test]
fn a_blank_image_waits_in_templates_not_in_pods() {
    let mut d = deployment(1);
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!(" ");
    assert_eq!(causes("apps", "deployments", d), []);
    let pod =
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": " "}]}});
    assert_eq!(
        causes("", "pods", pod),
        [(
            "spec.containers[0].image".to_string(),
            "Invalid value: \" \": must not have leading or trailing whitespace".to_string()
        )]
    );
}

#[test]
fn config_keys_and_typed_secrets() {
    let cm = json!({"metadata": {"name": "c"}, "data": {"a b": "x", "ok": "y"}});
    let found = causes("", "configmaps", cm);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, "data[a b]");
    let tls = json!({"metadata": {"name": "s"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}});
    assert_eq!(
        causes("", "secrets", tls),
        [("data[tls.key]".to_string(), "Required value".to_string())]
    );
}

#[test]
fn services_need_ports_in_range() {
    let svc = json!({"metadata": {"name": "s"}, "spec": {"type": "ClusterIP", "ports": [{"port": 70000}]}});
    assert_eq!(
        causes("", "services", svc),
        [(
            "spec.ports[0].port".to_string(),
            "Invalid value: 70000: must be between 1 and 65535, inclusive".to_string()
        )]
    );
    let none = json!({"metadata": {"name": "s"}, "spec": {"type": "ClusterIP"}});
    assert_eq!(
        causes("", "services", none),
        [("spec.ports".to_string(), "Required value".to_string())]
    );
}

#[test]
fn jobs_choose_a_restart_policy() {
    let job = json!({"metadata": {"name": "j"}, "spec": {"backoffLimit": -1, "template": {"spec": {
        "containers": [{"name": "c", "image": "i"}]}}}});
    let found = causes("batch", "jobs", job);
    assert_eq!(found[0].0, "spec.backoffLimit");
    assert_eq!(
        found[1],
        (
            "spec.template.spec.restartPolicy".to_string(),
            "Required value: valid values: \"OnFailure\", \"Never\"".to_string()
        )
    );
}

#[test]
fn finalizers_and_owner_references() {
    let cm = json!({"metadata": {"name": "c", "finalizers": ["example.com/x", "custom"],
        "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": ""}]}});
    let found = causes("", "configmaps", cm);
    assert_eq!(
        found,
        [
            (
                "metadata.finalizers[1]".to_string(),
                "Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified".to_string()
            ),
            (
                "metadata.ownerReferences.uid".to_string(),
                "Invalid value: \"\": uid must not be empty".to_string()
            ),
        ]
    );
}
