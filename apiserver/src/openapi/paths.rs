//! The paths of a resource and their operations, as upstream lists them: collection and item,
//! `x-kubernetes-action`, `x-kubernetes-group-version-kind` and upstream's query parameters;
//! PATCH carries `fieldValidation`, which tells kubectl to leave validation to the server.

use api::scheme::ResourceDef;
use serde_json::{Map, Value, json};

use super::components::{gvk, schema_name};

/// `api/v1` or `apis/<group>/<version>`: the key of a group version in the index.
pub fn gv_path(group: &str, version: &str) -> String {
    match group {
        "" => format!("api/{version}"),
        g => format!("apis/{g}/{version}"),
    }
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
pub(super) fn resource_paths(def: &ResourceDef, paths: &mut Map<String, Value>) {
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
