//! The documents as a whole: paths, schemas and references across them, in v3 and v2.

use api::scheme::Scheme;
use serde_json::{Value, json};

use super::*;

#[test]
fn patch_operations_announce_field_validation() {
    let scheme = Scheme::builtin();
    let doc = group_version_document(&scheme, "", "v1").unwrap();
    let item = &doc["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"];
    let patch = &item["patch"];
    assert_eq!(
        patch["x-kubernetes-group-version-kind"],
        json!({"group": "", "version": "v1", "kind": "ConfigMap"})
    );
    assert!(
        patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "fieldValidation")
    );
    assert_eq!(item["get"]["x-kubernetes-action"], "get");
    assert!(
        doc["paths"]["/api/v1/namespaces/{name}"].is_object(),
        "cluster-scoped paths have no namespace"
    );
    let schema = &doc["components"]["schemas"]["io.k8s.api.core.v1.ConfigMap"];
    assert_eq!(
        schema["x-kubernetes-group-version-kind"][0]["kind"],
        "ConfigMap"
    );
    let dc = group_version_document(&scheme, "apps.openshift.io", "v1").unwrap();
    assert!(
        dc["components"]["schemas"]["com.github.openshift.api.apps.v1.DeploymentConfig"]
            .is_object()
    );
    assert!(group_version_document(&scheme, "nope", "v1").is_none());
}

#[test]
fn index_lists_every_group_version_with_a_hash() {
    let index = index(&serialized(&documents(&Scheme::builtin())));
    let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap();
    assert!(url.starts_with("/openapi/v3/apis/apps/v1?hash="), "{url}");
    assert_eq!(parse_gv_path("apis/apps/v1"), Some(("apps", "v1")));
    assert_eq!(parse_gv_path("api/v1"), Some(("", "v1")));
    assert_eq!(parse_gv_path("apis/apps"), None);
}

#[test]
fn kubernetes_kinds_have_field_schemas_with_patch_metadata() {
    let doc = group_version_document(&Scheme::builtin(), "apps", "v1").unwrap();
    let schemas = &doc["components"]["schemas"];
    let deployment = &schemas["io.k8s.api.apps.v1.Deployment"];
    assert_eq!(
        deployment["x-kubernetes-group-version-kind"][0]["kind"],
        "Deployment"
    );
    let container = &schemas["io.k8s.api.core.v1.Container"]["properties"];
    assert_eq!(container["env"]["x-kubernetes-patch-merge-key"], "name");
    assert_eq!(
        container["ports"]["x-kubernetes-patch-merge-key"],
        "containerPort"
    );
    let meta = &schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"];
    assert_eq!(meta["finalizers"]["x-kubernetes-patch-strategy"], "merge");
}

fn patch_types(doc: &Value, path: &str) -> Vec<String> {
    let content = doc["paths"][path]["patch"]["requestBody"]["content"].as_object();
    content
        .into_iter()
        .flat_map(|c| c.keys().cloned())
        .collect()
}

#[test]
fn openshift_kinds_have_upstream_field_schemas() {
    let scheme = Scheme::builtin();
    let doc = group_version_document(&scheme, "route.openshift.io", "v1").unwrap();
    let schemas = &doc["components"]["schemas"];
    let route = &schemas["com.github.openshift.api.route.v1.Route"];
    assert_eq!(
        route["x-kubernetes-group-version-kind"],
        json!([{"group": "route.openshift.io", "version": "v1", "kind": "Route"}])
    );
    assert!(route.get("x-kubernetes-preserve-unknown-fields").is_none());
    assert_eq!(
        route["properties"]["spec"]["allOf"][0]["$ref"],
        "#/components/schemas/com.github.openshift.api.route.v1.RouteSpec"
    );
    let spec = &schemas["com.github.openshift.api.route.v1.RouteSpec"]["properties"];
    for field in ["host", "path", "to", "alternateBackends", "port", "tls"] {
        assert!(spec[field].is_object(), "RouteSpec.{field}");
    }
    assert!(
        patch_types(
            &doc,
            "/apis/route.openshift.io/v1/namespaces/{namespace}/routes/{name}"
        )
        .contains(&"application/strategic-merge-patch+json".to_string())
    );

    let doc = group_version_document(&scheme, "apps.openshift.io", "v1").unwrap();
    let schemas = &doc["components"]["schemas"];
    let spec = &schemas["com.github.openshift.api.apps.v1.DeploymentConfigSpec"]["properties"];
    assert_eq!(spec["replicas"]["type"], "integer");
    assert_eq!(spec["replicas"]["format"], "int32");
    // Upstream's triggers have no patch strategy; the pod template's lists have theirs.
    assert!(
        spec["triggers"]
            .get("x-kubernetes-patch-merge-key")
            .is_none()
    );
    let container = &schemas["io.k8s.api.core.v1.Container"]["properties"];
    assert_eq!(container["env"]["x-kubernetes-patch-merge-key"], "name");
    let pod_spec = &schemas["io.k8s.api.core.v1.PodSpec"]["properties"];
    assert_eq!(
        pod_spec["containers"]["x-kubernetes-patch-merge-key"],
        "name"
    );
    let status = &schemas["com.github.openshift.api.apps.v1.DeploymentConfigStatus"];
    assert_eq!(
        status["properties"]["conditions"]["x-kubernetes-patch-merge-key"],
        "type"
    );

    // Template objects stay whatever they are (RawExtension), parameters are typed.
    let doc = group_version_document(&scheme, "template.openshift.io", "v1").unwrap();
    let template = &doc["components"]["schemas"]["com.github.openshift.api.template.v1.Template"];
    assert_eq!(
        template["properties"]["objects"]["items"]["$ref"],
        "#/components/schemas/io.k8s.apimachinery.pkg.runtime.RawExtension"
    );
    assert_eq!(template["properties"]["parameters"]["type"], "array");
}

#[test]
fn every_served_kind_has_a_typed_schema_and_every_reference_resolves() {
    let scheme = Scheme::builtin();
    for (key, doc) in documents(&scheme) {
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        for r in refs {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or(&r);
            assert!(
                schemas.contains_key(name),
                "{key}: {r} is not in the document"
            );
        }
        let (group, version) = parse_gv_path(&key).unwrap();
        for def in scheme.group_version(group, version) {
            let schema = &schemas[&schema_name(def)];
            assert!(
                schema.get("x-kubernetes-preserve-unknown-fields").is_none()
                    && schema["properties"]["metadata"].is_object(),
                "{key} {}: {schema}",
                def.kind
            );
            assert_eq!(
                schema["x-kubernetes-group-version-kind"][0]["kind"], def.kind,
                "{key}"
            );
        }
    }
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v.as_str()) {
                    ("$ref", Some(r)) => out.push(r.to_string()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[test]
fn strategic_merge_of_a_deployment_config_follows_upstream_keys() {
    let scheme = Scheme::builtin();
    let dc = scheme
        .lookup("apps.openshift.io", "v1", "deploymentconfigs")
        .unwrap();
    let mut object = json!({"spec": {
        "triggers": [{"type": "ConfigChange"}, {"type": "ImageChange"}],
        "template": {"spec": {"containers": [
            {"name": "web", "image": "ruby"},
            {"name": "side", "image": "busybox"},
        ]}},
    }});
    let patch = json!({"spec": {
        "triggers": [{"type": "ConfigChange"}],
        "template": {"spec": {"containers": [{"name": "web", "image": "ruby:3"}]}},
    }});
    crate::registry::generic::strategic::apply(dc, &mut object, &patch).unwrap();
    assert_eq!(
        object["spec"]["template"]["spec"]["containers"],
        json!([{"name": "web", "image": "ruby:3"}, {"name": "side", "image": "busybox"}])
    );
    assert_eq!(
        object["spec"]["triggers"],
        json!([{"type": "ConfigChange"}])
    );
}

#[test]
fn swagger_v2_has_body_parameters_and_definitions() {
    let v2: Value =
        serde_json::from_str(&swagger(&serialized(&documents(&Scheme::builtin())))).unwrap();
    assert_eq!(v2["swagger"], "2.0");
    let create = &v2["paths"]["/api/v1/namespaces/{namespace}/configmaps"]["post"];
    let body = create["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["in"] == "body")
        .unwrap();
    assert_eq!(
        body["schema"]["$ref"],
        "#/definitions/io.k8s.api.core.v1.ConfigMap"
    );
    assert_eq!(
        create["responses"]["200"]["schema"]["$ref"],
        "#/definitions/io.k8s.api.core.v1.ConfigMap"
    );
    assert!(v2["definitions"]["io.k8s.api.core.v1.ConfigMap"].is_object());
    let route = &v2["definitions"]["com.github.openshift.api.route.v1.Route"];
    assert_eq!(
        route["properties"]["spec"]["allOf"][0]["$ref"],
        "#/definitions/com.github.openshift.api.route.v1.RouteSpec"
    );
    assert!(!v2.to_string().contains("#/components/"));
    // Every definition encodes, and the protobuf form carries the OpenShift ones.
    let proto = super::protobuf::encode(&v2);
    let text = String::from_utf8_lossy(&proto);
    assert!(text.contains("com.github.openshift.api.apps.v1.DeploymentConfigSpec"));
}
