//! The OpenAPI v3 documents as served: one per group version, and the `/openapi/v3` index
//! that points to them.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use api::scheme::Scheme;
use serde_json::{Map, Value, json};

use super::components::component_schemas;
use super::paths::{gv_path, resource_paths};

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
