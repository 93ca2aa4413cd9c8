//! What a custom resource's structural schema (a version's `openAPIV3Schema`) does to an
//! object on every write, in upstream's order: defaults filled in (`defaults.rs`), unknown
//! fields pruned (`prune.rs`), then the value checked (`validate.rs`, upstream's messages) and its CEL rules run
//! (`rules/`).
//! Schemas are read as the JSON the CRD holds; `apiVersion`, `kind` and `metadata` of the
//! object (and of embedded resources) are the server's, never pruned or checked here.

pub mod defaults;
pub mod prune;
pub mod rules;
pub mod validate;

use serde_json::Value;

/// The schema of a property of an object schema.
fn property<'a>(schema: &'a Value, name: &str) -> Option<&'a Value> {
    schema.get("properties")?.get(name)
}

/// The schema of the values of a map (`additionalProperties` as a schema).
fn additional(schema: &Value) -> Option<&Value> {
    schema.get("additionalProperties").filter(|s| s.is_object())
}

fn flag(schema: &Value, name: &str) -> bool {
    schema.get(name).and_then(Value::as_bool).unwrap_or(false)
}

/// Whether the fields of an object at `schema` that it does not name are kept.
fn preserves_unknown(schema: &Value) -> bool {
    flag(schema, "x-kubernetes-preserve-unknown-fields")
        || schema.get("additionalProperties") == Some(&Value::Bool(true))
}

/// Whether the object at `schema` is an embedded resource (its `apiVersion`, `kind` and
/// `metadata` kept as they are).
fn embedded(schema: &Value) -> bool {
    flag(schema, "x-kubernetes-embedded-resource")
}

/// The fields of every object, and of embedded resources, that schemas do not govern.
const RESOURCE_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];
