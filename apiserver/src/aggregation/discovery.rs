//! Aggregated group versions in discovery: `/apis` and `/apis/<group>` list them from their
//! APIServices (as upstream's aggregator does, whether available or not), aggregated
//! discovery v2 lists their resources from the `APIResourceList` their servers last
//! answered (`Stale` while unavailable). `/apis/<group>/<version>` itself is proxied.

use serde_json::{Value, json};

use super::{External, Table};

/// The aggregated groups with their versions, highest version priority first.
fn groups(table: &Table) -> Vec<(String, Vec<&External>)> {
    let mut groups: Vec<(String, Vec<&External>)> = Vec::new();
    for external in table.values() {
        let group = external.spec.group.clone();
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, versions)) => versions.push(external),
            None => groups.push((group, vec![external])),
        }
    }
    for (_, versions) in &mut groups {
        versions.sort_by_key(|e| std::cmp::Reverse(e.spec.version_priority));
    }
    groups.sort_by_key(|(_, versions)| -versions[0].spec.group_priority);
    groups
}

fn group_entry(group: &str, versions: &[&External]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|e| json!({"groupVersion": format!("{group}/{}", e.spec.version), "version": e.spec.version}))
        .collect();
    json!({"name": group, "versions": versions, "preferredVersion": versions.first().cloned().unwrap_or(Value::Null)})
}

/// Adds the aggregated groups to a legacy `APIGroupList` (groups served here keep theirs).
pub fn merge_group_list(doc: &mut Value, table: &Table) {
    let Some(list) = doc["groups"].as_array_mut() else {
        return;
    };
    for (group, versions) in groups(table) {
        if !list.iter().any(|g| g["name"] == group.as_str()) {
            list.push(group_entry(&group, &versions));
        }
    }
}

/// `/apis/<group>` of an aggregated group.
pub fn group(table: &Table, name: &str) -> Option<Value> {
    let (group, versions) = groups(table).into_iter().find(|(g, _)| g == name)?;
    let mut entry = group_entry(&group, &versions);
    entry["kind"] = json!("APIGroup");
    entry["apiVersion"] = json!("v1");
    Some(entry)
}

/// An `APIResourceList` as the resources of an `APIVersionDiscovery`.
pub fn resources_of(list: &Value, group: &str, version: &str) -> Vec<Value> {
    let items: Vec<&Value> = list["resources"].as_array().into_iter().flatten().collect();
    let kind_of = |r: &Value| {
        json!({
            "group": r["group"].as_str().unwrap_or(group),
            "version": r["version"].as_str().unwrap_or(version),
            "kind": r["kind"],
        })
    };
    items
        .iter()
        .filter(|r| !r["name"].as_str().unwrap_or_default().contains('/'))
        .map(|r| {
            let name = r["name"].as_str().unwrap_or_default();
            let mut entry = json!({
                "resource": name,
                "responseKind": kind_of(r),
                "scope": if r["namespaced"] == true { "Namespaced" } else { "Cluster" },
                "singularResource": r["singularName"],
                "verbs": r["verbs"],
            });
            for field in ["shortNames", "categories"] {
                if r[field].as_array().is_some_and(|a| !a.is_empty()) {
                    entry[field] = r[field].clone();
                }
            }
            let subresources: Vec<Value> = items
                .iter()
                .filter_map(|s| {
                    let sub = s["name"].as_str()?.strip_prefix(name)?.strip_prefix('/')?;
                    Some(json!({"subresource": sub, "responseKind": kind_of(s), "verbs": s["verbs"]}))
                })
                .collect();
            if !subresources.is_empty() {
                entry["subresources"] = json!(subresources);
            }
            entry
        })
        .collect()
}

/// Adds the aggregated groups to an `APIGroupDiscoveryList` (of `/apis`).
pub fn merge_aggregated(doc: &mut Value, table: &Table) {
    let Some(items) = doc["items"].as_array_mut() else {
        return;
    };
    for (group, versions) in groups(table) {
        let versions: Vec<Value> = versions
            .iter()
            .filter_map(|e| {
                let list = e.discovery.as_ref()?;
                let freshness = if e.available { "Current" } else { "Stale" };
                Some(json!({"version": e.spec.version,
                    "resources": resources_of(list, &group, &e.spec.version),
                    "freshness": freshness}))
            })
            .collect();
        if versions.is_empty()
            || items
                .iter()
                .any(|g| g["metadata"]["name"] == group.as_str())
        {
            continue;
        }
        items.push(
            json!({"metadata": {"name": group, "creationTimestamp": null}, "versions": versions}),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::aggregation::apiservice::{ServiceRef, Spec};

    fn external(version: &str, priority: i64, available: bool) -> External {
        let list = json!({"kind": "APIResourceList", "groupVersion": format!("wardle.example.com/{version}"),
        "resources": [
            {"name": "flunders", "singularName": "flunder", "namespaced": true, "kind": "Flunder",
             "verbs": ["get", "list"], "shortNames": ["fl"]},
            {"name": "flunders/status", "singularName": "", "namespaced": true, "kind": "Flunder",
             "verbs": ["get"]},
        ]});
        let service = ServiceRef {
            namespace: "ns".into(),
            name: "api".into(),
            port: 443,
        };
        External {
            spec: Spec {
                name: format!("{version}.wardle.example.com"),
                group: "wardle.example.com".into(),
                version: version.into(),
                service: Some(service.clone()),
                ca_bundle: Vec::new(),
                insecure: false,
                group_priority: 100,
                version_priority: priority,
            },
            service,
            available,
            discovery: Some(list),
            openapi: None,
            transport: Err("none".into()),
        }
    }

    fn table() -> Table {
        let mut table = Table::new();
        for (v, p, up) in [("v1alpha1", 5, false), ("v1", 15, true)] {
            table.insert(
                ("wardle.example.com".into(), v.into()),
                Arc::new(external(v, p, up)),
            );
        }
        table
    }

    #[test]
    fn legacy_lists_preferred_version_first() {
        let mut doc = json!({"kind": "APIGroupList", "groups": [{"name": "apps"}]});
        merge_group_list(&mut doc, &table());
        let wardle = &doc["groups"][1];
        assert_eq!(
            wardle["preferredVersion"]["groupVersion"],
            "wardle.example.com/v1"
        );
        assert_eq!(wardle["versions"][1]["version"], "v1alpha1");
        assert_eq!(
            group(&table(), "wardle.example.com").unwrap()["kind"],
            "APIGroup"
        );
        assert!(group(&table(), "apps").is_none());
    }

    #[test]
    fn aggregated_from_resource_lists() {
        let mut doc = json!({"kind": "APIGroupDiscoveryList", "items": []});
        merge_aggregated(&mut doc, &table());
        let versions = &doc["items"][0]["versions"];
        assert_eq!(versions[0]["freshness"], "Current");
        assert_eq!(versions[1]["freshness"], "Stale");
        let flunders = &versions[0]["resources"][0];
        assert_eq!(flunders["resource"], "flunders");
        assert_eq!(flunders["scope"], "Namespaced");
        assert_eq!(flunders["shortNames"], json!(["fl"]));
        assert_eq!(flunders["subresources"][0]["subresource"], "status");
        assert_eq!(flunders["responseKind"]["group"], "wardle.example.com");
    }
}
