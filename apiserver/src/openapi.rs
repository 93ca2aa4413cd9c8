//! OpenAPI v3, generated from the scheme: the `/openapi/v3` index and one document per group
//! version, with every resource's paths and operations (`x-kubernetes-action`,
//! `x-kubernetes-group-version-kind`, upstream's query parameters; PATCH carries
//! `fieldValidation`, which tells kubectl to leave validation to the server).
//!
//! The kinds carry upstream's field-level schemas (`api::schemas`: k8s-openapi's for the
//! Kubernetes kinds, openshift/api's for the OpenShift ones), annotated with the scheme's
//! strategic-merge lists (`x-kubernetes-patch-merge-key`); kinds without a typed schema are
//! open objects (`x-kubernetes-preserve-unknown-fields`). `/openapi/v2` is the same
//! content as one Swagger 2.0 document (its definitions also in protobuf, `openapi_protobuf.rs`,
//! for kubectl's validation of `List` files).

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use api::scheme::{ListMerge, ResourceDef, Scheme};
use serde_json::{Map, Value, json};

/// `api/v1` or `apis/<group>/<version>`: the key of a group version in the index.
pub fn gv_path(group: &str, version: &str) -> String {
    match group {
        "" => format!("api/{version}"),
        g => format!("apis/{g}/{version}"),
    }
}

/// The schema name of a kind, in upstream's style (`io.k8s.api.apps.v1.Deployment`,
/// `com.github.openshift.api.route.v1.Route`).
pub fn schema_name(def: &ResourceDef) -> String {
    api::schemas::schema_name(def.group, def.version, def.kind)
}

fn gvk(def: &ResourceDef) -> Value {
    json!({"group": def.group, "version": def.version, "kind": def.kind})
}

fn query(name: &str, kind: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "description": description, "schema": {"type": kind, "uniqueItems": true}})
}

fn path_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": {"type": "string", "uniqueItems": true}})
}

fn write_params() -> Vec<Value> {
    vec![
        query(
            "dryRun",
            "string",
            "When present, indicates that modifications should not be persisted.",
        ),
        query(
            "fieldManager",
            "string",
            "A name associated with the actor or entity that is making these changes.",
        ),
        query(
            "fieldValidation",
            "string",
            "How the server should handle unknown or duplicate fields: Ignore, Warn or Strict.",
        ),
    ]
}

fn list_params() -> Vec<Value> {
    vec![
        query(
            "allowWatchBookmarks",
            "boolean",
            "Requests watch events with type BOOKMARK.",
        ),
        query(
            "continue",
            "string",
            "The continue option of a paginated list.",
        ),
        query(
            "fieldSelector",
            "string",
            "A selector to restrict the list of returned objects by their fields.",
        ),
        query(
            "labelSelector",
            "string",
            "A selector to restrict the list of returned objects by their labels.",
        ),
        query(
            "limit",
            "integer",
            "The maximum number of responses to return for a list call.",
        ),
        query(
            "resourceVersion",
            "string",
            "Constrains which resource versions a request may be served from.",
        ),
        query(
            "resourceVersionMatch",
            "string",
            "How resourceVersion is applied to list calls.",
        ),
        query(
            "timeoutSeconds",
            "integer",
            "Timeout for the list/watch call.",
        ),
        query(
            "watch",
            "boolean",
            "Watch for changes to the described resources.",
        ),
    ]
}

fn object_ref(def: &ResourceDef) -> Value {
    json!({"$ref": format!("#/components/schemas/{}", schema_name(def))})
}

fn operation(
    def: &ResourceDef,
    action: &str,
    id: &str,
    parameters: Vec<Value>,
    body: Option<&[&str]>,
    response: Value,
) -> Value {
    let mut op = json!({
        "operationId": id,
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk(def),
        "parameters": parameters,
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": response}}}},
    });
    if let Some(types) = body {
        let content: Map<String, Value> = types
            .iter()
            .map(|t| (t.to_string(), json!({"schema": object_ref(def)})))
            .collect();
        op["requestBody"] = json!({"content": content, "required": true});
    }
    op
}

/// The paths of one resource (collection and item).
fn resource_paths(def: &ResourceDef, paths: &mut Map<String, Value>) {
    let base = format!("/{}", gv_path(def.group, def.version));
    let (collection, scope_params) = match def.namespaced() {
        true => (
            format!("{base}/namespaces/{{namespace}}/{}", def.plural),
            vec![path_param(
                "namespace",
                "object name and auth scope, such as for teams and projects",
            )],
        ),
        false => (format!("{base}/{}", def.plural), vec![]),
    };
    let id = |verb: &str| format!("{verb}{}{}", def.group.replace('.', ""), def.kind);
    let list = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
    if !def.stored {
        // A review: created and answered, nothing else. The PATCH operation is listed anyway
        // (answered 405): kubectl decides from it that the server validates fields, and
        // otherwise validates on its own from the protobuf form of /openapi/v2.
        paths.insert(
            collection,
            json!({
                "parameters": scope_params,
                "post": operation(def, "post", &id("create"), write_params(), Some(&["application/json"]), object_ref(def)),
                "patch": operation(def, "patch", &id("patch"), write_params(), Some(&["application/merge-patch+json"]), object_ref(def)),
            }),
        );
        return;
    }
    let mut item_params = scope_params.clone();
    item_params.insert(0, path_param("name", &format!("name of the {}", def.kind)));
    paths.insert(
        collection.clone(),
        json!({
            "parameters": scope_params,
            "get": operation(def, "list", &id("list"), list_params(), None, list.clone()),
            "post": operation(def, "post", &id("create"), write_params(), Some(&["application/json"]), object_ref(def)),
            "delete": operation(def, "deletecollection", &id("deletecollection"), list_params(), None, list),
        }),
    );
    let mut patch_params = write_params();
    patch_params.push(query(
        "force",
        "boolean",
        "Force is going to \"force\" Apply requests.",
    ));
    // Strategic merge needs a field schema to be anything but a merge patch: kinds without
    // one advertise merge patches only, and kubectl then merges them as it merges custom
    // resources (instead of warning that it cannot find their fields).
    let patch_types: &[&str] = match api::schemas::has_schema(def.group, def.version, def.kind) {
        true => &[
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/strategic-merge-patch+json",
        ],
        false => &[
            "application/json-patch+json",
            "application/merge-patch+json",
        ],
    };
    paths.insert(
        format!("{collection}/{{name}}"),
        json!({
            "parameters": item_params,
            "get": operation(def, "get", &id("read"), vec![], None, object_ref(def)),
            "put": operation(def, "put", &id("replace"), write_params(), Some(&["application/json"]), object_ref(def)),
            "patch": operation(def, "patch", &id("patch"), patch_params, Some(patch_types), object_ref(def)),
            "delete": operation(def, "delete", &id("delete"), write_params(), None, json!({"type": "object"})),
        }),
    );
}

fn kind_schema(def: &ResourceDef) -> Value {
    json!({
        "description": format!("{} ({}).", def.kind, def.api_version()),
        "type": "object",
        "properties": {
            "apiVersion": {"description": "APIVersion defines the versioned schema of this representation of an object.", "type": "string"},
            "kind": {"description": "Kind is a string value representing the REST resource this object represents.", "type": "string"},
            "metadata": {"description": "Standard object's metadata.", "allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]},
            "spec": {"description": "The desired state.", "type": "object", "x-kubernetes-preserve-unknown-fields": true},
            "status": {"description": "The observed state.", "type": "object", "x-kubernetes-preserve-unknown-fields": true},
        },
        "x-kubernetes-preserve-unknown-fields": true,
        "x-kubernetes-group-version-kind": [gvk(def)],
    })
}

/// The document of one group version, or `None` if the scheme has no such group version.
pub fn group_version_document(scheme: &Scheme, group: &str, version: &str) -> Option<Value> {
    let mut paths = Map::new();
    for def in scheme.group_version(group, version) {
        resource_paths(def, &mut paths);
    }
    if paths.is_empty() {
        return None;
    }
    let schemas = component_schemas(scheme, group, version);
    let (major, minor) = crate::KUBERNETES_VERSION;
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": format!("v{major}.{minor}.0")},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

/// The schemas of a group version's kinds and of everything they refer to.
pub fn component_schemas(scheme: &Scheme, group: &str, version: &str) -> Map<String, Value> {
    let mut schemas = Map::new();
    let mut generator = api::schemas::generator();
    let mut typed = Vec::new();
    for def in scheme.group_version(group, version) {
        match api::schemas::register(&mut generator, def.group, def.version, def.kind) {
            true => typed.push(def),
            false => {
                api::schemas::register_object_meta(&mut generator);
                schemas.insert(schema_name(def), kind_schema(def));
            }
        }
    }
    for (name, schema) in api::schemas::definitions(&mut generator) {
        schemas.entry(name).or_insert(schema);
    }
    for def in typed {
        let name = schema_name(def);
        if let Some(schema) = schemas.get_mut(&name) {
            schema["x-kubernetes-group-version-kind"] = json!([gvk(def)]);
        }
        for (path, merge) in def.merge_lists() {
            annotate_merge_list(&mut schemas, &name, &path, merge);
        }
    }
    schemas
}

/// The definition a property refers to: `$ref`, or upstream's described form `allOf: [{$ref}]`.
fn referenced(property: &Value) -> Option<String> {
    let reference = property
        .get("$ref")
        .or_else(|| property.pointer("/allOf/0/$ref"))?
        .as_str()?;
    Some(reference.strip_prefix("#/components/schemas/")?.to_string())
}

/// Marks the list at `path` (dotted, from the definition `root`) with its patch strategy, on
/// the property of the definition that holds it (shared definitions are shared by every kind
/// that embeds them, as upstream's).
fn annotate_merge_list(schemas: &mut Map<String, Value>, root: &str, path: &str, merge: ListMerge) {
    let segments: Vec<&str> = path.split('.').collect();
    let mut current = root.to_string();
    for (i, segment) in segments.iter().enumerate() {
        let Some(property) = schemas
            .get_mut(&current)
            .and_then(|s| s.get_mut("properties"))
            .and_then(|p| p.get_mut(*segment))
        else {
            return;
        };
        if i + 1 == segments.len() {
            property["x-kubernetes-patch-strategy"] = json!("merge");
            if let ListMerge::Key(key) = merge {
                property["x-kubernetes-patch-merge-key"] = json!(key);
            }
            return;
        }
        let next = referenced(property).or_else(|| referenced(property.get("items")?));
        match next {
            Some(next) => current = next,
            None => return,
        }
    }
}

/// `/openapi/v2`: every group version's paths and schemas as one Swagger 2.0 document.
pub fn swagger(documents: &BTreeMap<String, String>) -> String {
    let mut paths = Map::new();
    let mut definitions = Map::new();
    for doc in documents.values() {
        // References move from components/schemas to definitions.
        let doc = doc.replace("#/components/schemas/", "#/definitions/");
        let Ok(doc) = serde_json::from_str::<Value>(&doc) else {
            continue;
        };
        if let Some(schemas) = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
        {
            definitions.extend(schemas.clone());
        }
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            paths.insert(path.clone(), swagger_path_item(item));
        }
    }
    let (major, minor) = crate::KUBERNETES_VERSION;
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": format!("v{major}.{minor}.0")},
        "paths": paths,
        "definitions": definitions,
    })
    .to_string()
}

/// A v3 path item in v2's form: parameters typed directly, bodies as `in: body` parameters,
/// responses with a `schema`.
fn swagger_path_item(item: &Value) -> Value {
    let parameter = |p: &Value| {
        let mut p = p.clone();
        if let Some(schema) = p.as_object_mut().and_then(|m| m.remove("schema"))
            && let Some(kind) = schema.get("type")
        {
            p["type"] = kind.clone();
        }
        p
    };
    let mut out = Map::new();
    for (key, value) in item.as_object().into_iter().flatten() {
        if key == "parameters" {
            let params: Vec<Value> = value
                .as_array()
                .into_iter()
                .flatten()
                .map(parameter)
                .collect();
            out.insert(key.clone(), json!(params));
            continue;
        }
        let mut op = value.clone();
        let mut params: Vec<Value> = value["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(parameter)
            .collect();
        if let Some(body) = value.get("requestBody") {
            let content = body["content"].as_object();
            let consumes: Vec<&String> = content.into_iter().flat_map(|c| c.keys()).collect();
            let schema = content
                .and_then(|c| c.values().next())
                .map(|m| m["schema"].clone())
                .unwrap_or_else(|| json!({"type": "object"}));
            params.push(json!({"name": "body", "in": "body", "required": true, "schema": schema}));
            op["consumes"] = json!(consumes);
        }
        if let Some(map) = op.as_object_mut() {
            map.remove("requestBody");
        }
        op["parameters"] = json!(params);
        op["produces"] = json!(["application/json", "application/yaml"]);
        let schema = value
            .pointer("/responses/200/content/application~1json/schema")
            .cloned();
        op["responses"] = json!({"200": {"description": "OK", "schema": schema.unwrap_or(json!({"type": "object"}))}});
        out.insert(key.clone(), op);
    }
    Value::Object(out)
}

/// Every group version's document, serialized, by index key (`api/v1`, `apis/apps/v1`).
pub fn documents(scheme: &Scheme) -> BTreeMap<String, Value> {
    let mut docs = BTreeMap::new();
    for g in scheme.groups() {
        for v in &g.versions {
            if let Some(doc) = group_version_document(scheme, g.group, v) {
                docs.insert(gv_path(g.group, v), doc);
            }
        }
    }
    docs
}

/// The documents as served (JSON text).
pub fn serialized(documents: &BTreeMap<String, Value>) -> BTreeMap<String, String> {
    documents
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect()
}

/// `GET /openapi/v3`: every group version with the URL of its document, whose `?hash=` (a
/// stable hash of the document) lets clients cache it.
pub fn index(documents: &BTreeMap<String, String>) -> Value {
    let paths: Map<String, Value> = documents
        .iter()
        .map(|(key, doc)| {
            let mut h = DefaultHasher::new();
            doc.hash(&mut h);
            let url = format!("/openapi/v3/{key}?hash={:016X}", h.finish());
            (key.clone(), json!({"serverRelativeURL": url}))
        })
        .collect();
    json!({"paths": paths})
}

/// The group version an index key (`api/v1`, `apis/apps/v1`) names.
pub fn parse_gv_path(path: &str) -> Option<(&str, &str)> {
    match path
        .trim_matches('/')
        .split('/')
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["api", version] => Some(("", version)),
        ["apis", group, version] => Some((group, version)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
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
        let template =
            &doc["components"]["schemas"]["com.github.openshift.api.template.v1.Template"];
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
        let proto = crate::openapi_protobuf::encode(&v2);
        let text = String::from_utf8_lossy(&proto);
        assert!(text.contains("com.github.openshift.api.apps.v1.DeploymentConfigSpec"));
    }
}
