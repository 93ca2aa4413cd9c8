//! The schemas of a group version's kinds (`components/schemas`): upstream's field-level
//! schemas (`api::schemas`) annotated with the scheme's strategic-merge lists
//! (`x-kubernetes-patch-merge-key`), and open objects for kinds without a typed schema.

use api::scheme::{ListMerge, ResourceDef, Scheme};
use serde_json::{Map, Value, json};

/// The schema name of a kind, in upstream's style (`io.k8s.api.apps.v1.Deployment`,
/// `com.github.openshift.api.route.v1.Route`).
pub fn schema_name(def: &ResourceDef) -> String {
    api::schemas::schema_name(def.group, def.version, def.kind)
}

/// The `x-kubernetes-group-version-kind` of a kind.
pub(super) fn gvk(def: &ResourceDef) -> Value {
    json!({"group": def.group, "version": def.version, "kind": def.kind})
}

/// The schema of a kind without a typed one: an open object with its metadata.
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
