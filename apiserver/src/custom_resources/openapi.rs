//! The OpenAPI v3 documents of the custom resources' group versions (`kubectl explain`):
//! the paths and operations the built-in kinds get, and each kind's schema from its
//! version's `openAPIV3Schema`, with the object's `apiVersion`, `kind` and `metadata`; and
//! `/openapi/v2` with them added (clients that still read the Swagger document).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Served;
use crate::openapi;

/// Every custom group version's document, serialized, by index key (`apis/<group>/<v>`).
pub fn documents(served: &Served) -> BTreeMap<String, String> {
    let mut docs = BTreeMap::new();
    for custom in served.customs() {
        let def = &custom.def;
        let key = openapi::gv_path(def.group, def.version);
        if docs.contains_key(&key) {
            continue;
        }
        let Some(mut doc) = openapi::group_version_document(&served.scheme, def.group, def.version)
        else {
            continue;
        };
        for c in served
            .customs()
            .iter()
            .filter(|c| c.def.group == def.group && c.def.version == def.version)
        {
            let Some(schema) = c.schema.as_deref() else {
                continue;
            };
            let name = openapi::schema_name(&c.def);
            let mut kind = schema.clone();
            let base = &doc["components"]["schemas"][&name];
            for field in ["apiVersion", "kind", "metadata"] {
                kind["properties"][field] = base["properties"][field].clone();
            }
            kind["x-kubernetes-group-version-kind"] =
                json!([{"group": c.def.group, "version": c.def.version, "kind": c.def.kind}]);
            doc["components"]["schemas"][&name] = kind;
        }
        docs.insert(key, doc.to_string());
    }
    docs
}

/// The `/openapi/v3` index of the built-in documents (`builtin`, as served) with the custom
/// ones added.
pub fn index(builtin: &str, custom: &BTreeMap<String, String>) -> String {
    let mut index: Value = serde_json::from_str(builtin).unwrap_or_else(|_| json!({"paths": {}}));
    if let Value::Object(paths) = openapi::index(custom)["paths"].take() {
        for (key, entry) in paths {
            index["paths"][key] = entry;
        }
    }
    index.to_string()
}

/// `/openapi/v2`: the built-in document (`builtin`, as served) with the custom group
/// versions' paths and definitions (from their v3 `documents`) added; the definitions both
/// have (ObjectMeta, Status) stay the built-in ones.
pub fn swagger(builtin: &str, documents: &BTreeMap<String, String>) -> String {
    let mut doc: Value =
        serde_json::from_str(builtin).unwrap_or_else(|_| json!({"paths": {}, "definitions": {}}));
    let custom: Value = serde_json::from_str(&openapi::swagger(documents)).unwrap_or_default();
    for (field, replace) in [("paths", true), ("definitions", false)] {
        let Value::Object(entries) = &custom[field] else {
            continue;
        };
        for (name, entry) in entries {
            if replace || doc[field].get(name).is_none() {
                doc[field][name] = entry.clone();
            }
        }
    }
    doc.to_string()
}
