//! A CustomResourceDefinition read as what it serves: one scheme entry (`ResourceDef`, its
//! strings interned) per served version, with the version's schema, in upstream's version
//! priority (GA before beta before alpha, higher first), so discovery prefers the same one.

use std::cmp::Ordering;
use std::sync::Arc;

use api::columns::{Cell, Column};
use api::intern;
use api::scheme::{ALL_VERBS, NameRule, ResourceDef, Scope, Subresource};
use serde_json::Value;

use crate::registry::conversion::webhook::Webhook;
use crate::registry::conversion::{Conversion, How};

const STATUS_VERBS: &[&str] = &["get", "patch", "update"];
const STATUS: Subresource = Subresource {
    name: "status",
    group: "",
    version: "",
    kind: "",
    verbs: STATUS_VERBS,
};
const SCALE: Subresource = Subresource {
    name: "scale",
    group: "autoscaling",
    version: "v1",
    kind: "Scale",
    verbs: STATUS_VERBS,
};

/// One served version of a custom resource.
#[derive(Clone, Debug)]
pub struct Custom {
    pub def: ResourceDef,
    /// The CRD's name (`<plural>.<group>`).
    pub crd: Arc<str>,
    /// The version objects are stored in.
    pub storage_version: &'static str,
    /// The version's `openAPIV3Schema` (none: anything goes).
    pub schema: Option<Arc<Value>>,
    /// The schema's `x-kubernetes-validations`, compiled (none: the schema has none).
    pub rules: Option<Arc<super::schema::rules::Rules>>,
    /// How objects change version (none: the definition has one version).
    pub conversion: Option<Arc<Conversion>>,
}

/// What a CRD serves, by its spec (names as accepted are the caller's concern).
pub fn served(crd: &Value) -> Vec<Custom> {
    let spec = &crd["spec"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let group = text(&spec["group"]);
    let names = &spec["names"];
    let kind = text(&names["kind"]);
    let plural = text(&names["plural"]);
    let singular = match text(&names["singular"]) {
        s if s.is_empty() => kind.to_lowercase(),
        s => s,
    };
    let list = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    let scope = match spec["scope"].as_str() {
        Some("Cluster") => Scope::Cluster,
        _ => Scope::Namespaced,
    };
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    let storage_version = versions
        .iter()
        .find(|v| v["storage"] == Value::Bool(true))
        .map(|v| intern::str(v["name"].as_str().unwrap_or_default()))
        .unwrap_or_default();
    let conversion = conversion(spec, &versions, &group, &kind, storage_version);
    let crd_name: Arc<str> = Arc::from(crd["metadata"]["name"].as_str().unwrap_or_default());
    let mut served: Vec<Custom> = versions
        .iter()
        .filter(|v| v["served"] == Value::Bool(true))
        .map(|v| {
            let subresources = match (
                v["subresources"].get("status").is_some(),
                v["subresources"].get("scale").is_some(),
            ) {
                (true, true) => &[STATUS, SCALE][..],
                (true, false) => &[STATUS][..],
                (false, true) => &[SCALE][..],
                (false, false) => &[][..],
            };
            let fields: Vec<String> = v["selectableFields"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f["jsonPath"].as_str())
                .map(|p| p.trim_start_matches('.').to_string())
                .collect();
            Custom {
                def: ResourceDef {
                    group: intern::str(&group),
                    version: intern::str(v["name"].as_str().unwrap_or_default()),
                    kind: intern::str(&kind),
                    plural: intern::str(&plural),
                    singular: intern::str(&singular),
                    scope,
                    verbs: ALL_VERBS,
                    short_names: intern::list(&list(&names["shortNames"])),
                    categories: intern::list(&list(&names["categories"])),
                    subresources,
                    field_selectors: intern::list(&fields),
                    pod_spec: None,
                    merge_lists: &[],
                    columns: columns(&v["additionalPrinterColumns"]),
                    names: NameRule::Subdomain,
                    stored: true,
                },
                crd: crd_name.clone(),
                storage_version,
                schema: v["schema"]
                    .get("openAPIV3Schema")
                    .map(|s| Arc::new(s.clone())),
                rules: v["schema"]
                    .get("openAPIV3Schema")
                    .and_then(super::schema::rules::compile)
                    .map(Arc::new),
                conversion: conversion.clone(),
            }
        })
        .collect();
    served.sort_by(|a, b| version_priority(a.def.version, b.def.version));
    served
}

/// How a definition's objects change version: `spec.conversion`, for definitions of more than
/// one version.
fn conversion(
    spec: &Value,
    versions: &[Value],
    group: &str,
    kind: &str,
    storage_version: &'static str,
) -> Option<Arc<Conversion>> {
    if versions.len() < 2 {
        return None;
    }
    let how = match spec["conversion"]["strategy"].as_str() {
        Some("Webhook") => How::Webhook(Webhook::of(&spec["conversion"]["webhook"])),
        _ => How::None,
    };
    let names: Vec<&str> = versions
        .iter()
        .map(|v| v["name"].as_str().unwrap_or_default())
        .collect();
    Some(Arc::new(Conversion::new(
        group,
        intern::str(kind),
        storage_version,
        &names,
        how,
    )))
}

/// The printer columns of a version: Name, then the additional columns (JSONPath of a
/// field), or Name and Age when it has none, as upstream's table convertor.
fn columns(additional: &Value) -> &'static [Column] {
    let Some(list) = additional.as_array().filter(|l| !l.is_empty()) else {
        return &[];
    };
    let mut columns = vec![api::columns::NAME];
    for c in list {
        let text = |name: &str| c[name].as_str().unwrap_or_default();
        let path = intern::str(text("jsonPath").trim_start_matches('.'));
        let kind = intern::str(text("type"));
        let cell = match kind {
            "date" => Cell::AgeOf(path),
            _ => Cell::PathOrNone(path),
        };
        columns.push(Column {
            name: intern::str(text("name")),
            kind,
            format: intern::str(text("format")),
            description: intern::str(text("description")),
            priority: c["priority"].as_u64().unwrap_or(0).min(u8::MAX.into()) as u8,
            cell,
        });
    }
    intern::columns(columns)
}

/// A Kubernetes version name's parts: major, stability (GA 2, beta 1, alpha 0), minor.
fn parsed(version: &str) -> Option<(u64, u8, u64)> {
    let rest = version.strip_prefix('v')?;
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let major: u64 = rest[..digits].parse().ok()?;
    let (stability, minor) = match &rest[digits..] {
        "" => (2, 0),
        tail => {
            let (level, n) = match tail.strip_prefix("beta") {
                Some(n) => (1, n),
                None => (0, tail.strip_prefix("alpha")?),
            };
            (level, n.parse().ok()?)
        }
    };
    Some((major, stability, minor))
}

/// Upstream's version priority: GA, beta, alpha, each highest first; other names last,
/// alphabetically.
pub fn version_priority(a: &str, b: &str) -> Ordering {
    match (parsed(a), parsed(b)) {
        (Some((ma, sa, na)), Some((mb, sb, nb))) => sb.cmp(&sa).then(mb.cmp(&ma)).then(nb.cmp(&na)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_sort_as_upstream() {
        let mut v = vec![
            "v1alpha1", "foo", "v1", "v2beta1", "v2", "v1beta2", "v1beta1",
        ];
        v.sort_by(|a, b| version_priority(a, b));
        assert_eq!(
            v,
            [
                "v2", "v1", "v2beta1", "v1beta2", "v1beta1", "v1alpha1", "foo"
            ]
        );
    }

    #[test]
    fn a_definition_serves_its_versions() {
        let crd = json!({"metadata": {"name": "widgets.example.com"}, "spec": {
        "group": "example.com", "scope": "Namespaced",
        "names": {"kind": "Widget", "plural": "widgets", "shortNames": ["wd"], "categories": ["all"]},
        "versions": [
            {"name": "v1beta1", "served": true, "storage": false},
            {"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
             "selectableFields": [{"jsonPath": ".spec.color"}],
             "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
             "schema": {"openAPIV3Schema": {"type": "object"}}},
            {"name": "v0", "served": false, "storage": false},
        ]}});
        let served = served(&crd);
        assert_eq!(served.len(), 2);
        let v1 = &served[0];
        assert_eq!(
            (v1.def.version, v1.def.singular, v1.storage_version),
            ("v1", "widget", "v1")
        );
        assert_eq!(v1.def.short_names, &["wd"]);
        assert_eq!(v1.def.subresources.len(), 1);
        assert!(v1.def.supports_field("spec.color"));
        assert_eq!(
            v1.def.printer_columns()[1].cell,
            Cell::PathOrNone("spec.size")
        );
        assert!(v1.schema.is_some());
        assert_eq!(served[1].def.version, "v1beta1");
        assert_eq!(served[1].def.printer_columns(), api::columns::DEFAULT);
    }
}
