//! The OpenShift kinds' schemas: openshift/api's definitions of the kinds served and of the
//! types they reference (`api/openapi/`, with its provenance), already in OpenAPI v3 form, and
//! beside them Oxshift's own kinds' (`api/openapi/oxshift.json`, written in the same form). The
//! `io.k8s.*` definitions they refer to are k8s-openapi's, which the Kubernetes kinds share.

use std::collections::HashMap;
use std::sync::LazyLock;

use schemars::SchemaGenerator;
use serde_json::{Map, Value};

use crate::list_merge::ListMerge;

const REF_PREFIX: &str = "#/components/schemas/";

/// Every definition of the files, by name (a malformed file adds none, which a test rules
/// out).
static DEFINITIONS: LazyLock<Map<String, Value>> = LazyLock::new(|| {
    let mut definitions = file_definitions(include_str!("../../openapi/openshift-4.19.json"));
    definitions.extend(file_definitions(include_str!("../../openapi/oxshift.json")));
    definitions
});

/// The `definitions` of a file.
fn file_definitions(text: &str) -> Map<String, Value> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(mut file)) => match file.remove("definitions") {
            Some(Value::Object(definitions)) => definitions,
            _ => Map::new(),
        },
        _ => Map::new(),
    }
}

/// The merge lists of every definition, derived once.
static MERGE_LISTS: LazyLock<HashMap<&'static str, Vec<(String, ListMerge)>>> =
    LazyLock::new(|| {
        DEFINITIONS
            .keys()
            .map(|name| {
                let mut lists = Vec::new();
                collect_lists(name, "", &mut Vec::new(), &mut lists);
                (name.as_str(), lists)
            })
            .collect()
    });

/// Whether `name` is a definition of the files.
pub(super) fn has(name: &str) -> bool {
    DEFINITIONS.contains_key(name)
}

/// Adds the definition `name` and everything it references to `generator`; `false` if the file
/// has no such definition.
pub(super) fn register(generator: &mut SchemaGenerator, name: &str) -> bool {
    if !has(name) {
        return false;
    }
    let mut pending = vec![name.to_string()];
    while let Some(name) = pending.pop() {
        if generator.definitions().contains_key(&name) {
            continue;
        }
        match DEFINITIONS.get(&name) {
            Some(schema) => {
                references(schema, &mut pending);
                generator.definitions_mut().insert(name, schema.clone());
            }
            None => {
                super::register_kubernetes(generator, &name);
            }
        }
    }
    true
}

/// The lists strategic merge patch merges in the definition `name`, by dotted path.
pub(super) fn merge_lists(name: &str) -> &'static [(String, ListMerge)] {
    MERGE_LISTS.get(name).map_or(&[], Vec::as_slice)
}

/// The names every `$ref` in `schema` points to.
fn references(schema: &Value, out: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value.as_str()) {
                    ("$ref", Some(r)) => {
                        if let Some(name) = r.strip_prefix(REF_PREFIX) {
                            out.push(name.to_string());
                        }
                    }
                    _ => references(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

/// The definition a property (or a list's items) refers to: `$ref`, or `allOf: [{$ref}]`.
fn referenced(property: &'static Value) -> Option<&'static str> {
    property
        .get("$ref")
        .or_else(|| property.pointer("/allOf/0/$ref"))?
        .as_str()?
        .strip_prefix(REF_PREFIX)
}

/// How strategic merge patch merges a list property: as upstream's, from its patch strategy
/// (the Go types' `patchStrategy`/`patchMergeKey` tags). `x-kubernetes-list-type` alone only
/// concerns server-side apply, whose merge upstream's strategic merge patch does not follow.
fn list_merge(property: &'static Value) -> Option<ListMerge> {
    let strategy = property.get("x-kubernetes-patch-strategy")?.as_str()?;
    if property["type"] != "array" || !strategy.split(',').any(|s| s == "merge") {
        return None;
    }
    match property["x-kubernetes-patch-merge-key"].as_str() {
        Some(key) => Some(ListMerge::Key(key)),
        None if property
            .pointer("/items/type")
            .is_some_and(|t| t != "object") =>
        {
            Some(ListMerge::Set)
        }
        None => None,
    }
}

/// Collects the merge lists under the definition `name`, whose object sits at `prefix`,
/// following references into OpenShift definitions only (the Kubernetes types embedded, such
/// as a pod template, get theirs from the scheme) and never into one it is already inside.
fn collect_lists(
    name: &'static str,
    prefix: &str,
    within: &mut Vec<&'static str>,
    out: &mut Vec<(String, ListMerge)>,
) {
    let Some(properties) = DEFINITIONS
        .get(name)
        .and_then(|d| d.get("properties"))
        .and_then(Value::as_object)
    else {
        return;
    };
    within.push(name);
    for (field, property) in properties {
        let path = match prefix {
            "" => field.clone(),
            p => format!("{p}.{field}"),
        };
        if let Some(merge) = list_merge(property) {
            out.push((path.clone(), merge));
        }
        let next = referenced(property).or_else(|| referenced(property.get("items")?));
        if let Some(next) = next.filter(|n| has(n) && !within.contains(n)) {
            collect_lists(next, &path, within, out);
        }
    }
    within.pop();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_files_parse_and_hold_openshift_and_oxshift_definitions_only() {
        assert!(DEFINITIONS.len() > 100);
        assert!(DEFINITIONS.keys().all(|n| {
            n.starts_with("com.github.openshift.api.") || n.starts_with("io.oxshift.")
        }));
        assert!(has("com.github.openshift.api.route.v1.Route"));
        assert!(has("io.oxshift.config.v1.ImageTrustPolicy"));
    }

    #[test]
    fn every_reference_is_in_the_file_or_from_k8s_openapi() {
        let mut names = Vec::new();
        for schema in DEFINITIONS.values() {
            references(schema, &mut names);
        }
        let mut generator = super::super::generator();
        for name in names.iter().filter(|n| !has(n)) {
            assert!(
                super::super::register_kubernetes(&mut generator, name),
                "{name} is neither an OpenShift definition nor a k8s-openapi type"
            );
        }
    }

    #[test]
    fn definitions_come_out_of_the_generator_as_upstream_wrote_them() {
        let mut generator = super::super::generator();
        for name in DEFINITIONS.keys() {
            assert!(register(&mut generator, name));
        }
        let out = super::super::definitions(&mut generator);
        for (name, schema) in DEFINITIONS.iter() {
            assert_eq!(&out[name], schema, "{name}");
        }
    }

    #[test]
    fn merge_lists_follow_the_patch_strategies() {
        let dc = merge_lists("com.github.openshift.api.apps.v1.DeploymentConfig");
        let find = |lists: &[(String, ListMerge)], path: &str| {
            lists.iter().find(|(p, _)| p == path).map(|(_, m)| *m)
        };
        assert_eq!(find(dc, "status.conditions"), Some(ListMerge::Key("type")));
        // Upstream's triggers carry no patch strategy: replaced whole.
        assert_eq!(find(dc, "spec.triggers"), None);
        let bc = merge_lists("com.github.openshift.api.build.v1.BuildConfig");
        assert_eq!(
            find(bc, "spec.strategy.sourceStrategy.volumes.mounts"),
            Some(ListMerge::Key("destinationPath"))
        );
        let is = merge_lists("com.github.openshift.api.image.v1.ImageStream");
        assert_eq!(find(is, "spec.tags"), Some(ListMerge::Key("name")));
        assert_eq!(find(is, "status.tags"), Some(ListMerge::Key("tag")));
        let client = merge_lists("com.github.openshift.api.oauth.v1.OAuthClient");
        assert_eq!(find(client, "redirectURIs"), Some(ListMerge::Set));
        // A list map without a patch strategy (server-side apply's keys only) is replaced.
        let route = merge_lists("com.github.openshift.api.route.v1.Route");
        assert_eq!(find(route, "status.ingress.conditions"), None);
        assert!(merge_lists("io.k8s.api.core.v1.Pod").is_empty());
    }
}
