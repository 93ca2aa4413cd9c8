//! Discovery documents, derived from the scheme: legacy (`APIVersions`, `APIGroupList`,
//! `APIResourceList`) and aggregated v2 (`APIGroupDiscoveryList`), which kubectl asks for
//! first and which spares it one request per group version.

use api::scheme::{ResourceDef, Scheme, Scope, Subresource};
use serde_json::{Value, json};

/// Content type of an aggregated discovery response.
pub const AGGREGATED_V2: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether an `Accept` header asks for aggregated discovery v2 (before plain JSON).
pub fn wants_aggregated(accept: Option<&str>) -> bool {
    accept.is_some_and(|accept| {
        accept.split(',').any(|media| {
            let params: Vec<&str> = media.split(';').map(str::trim).collect();
            params.contains(&"g=apidiscovery.k8s.io")
                && params.contains(&"v=v2")
                && params.contains(&"as=APIGroupDiscoveryList")
        })
    })
}

/// `GET /api`, legacy form.
pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_entry(group: &str, versions: &[&str]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": api::scheme::api_version(group, v), "version": v}))
        .collect();
    json!({"name": group, "versions": versions, "preferredVersion": versions.first().cloned().unwrap_or(Value::Null)})
}

/// `GET /apis`, legacy form.
pub fn api_group_list(scheme: &Scheme) -> Value {
    let groups: Vec<Value> = scheme
        .groups()
        .iter()
        .filter(|g| !g.group.is_empty())
        .map(|g| group_entry(g.group, &g.versions))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/{group}`, legacy form.
pub fn api_group(scheme: &Scheme, group: &str) -> Option<Value> {
    let g = scheme
        .groups()
        .into_iter()
        .find(|g| g.group == group && !group.is_empty())?;
    let mut entry = group_entry(g.group, &g.versions);
    entry["kind"] = json!("APIGroup");
    entry["apiVersion"] = json!("v1");
    Some(entry)
}

/// The kind a subresource answers with, as (group, version, kind).
fn subresource_kind<'a>(r: &'a ResourceDef, s: &'a Subresource) -> (&'a str, &'a str, &'a str) {
    match s.kind {
        "" => (r.group, r.version, r.kind),
        kind => (s.group, s.version, kind),
    }
}

/// `GET /api/v1` or `/apis/{group}/{version}`, legacy form.
pub fn api_resource_list(scheme: &Scheme, group: &str, version: &str) -> Option<Value> {
    let mut resources = Vec::new();
    for r in scheme.group_version(group, version) {
        let mut entry = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced(),
            "kind": r.kind,
            "verbs": r.verbs,
        });
        if !r.short_names.is_empty() {
            entry["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            entry["categories"] = json!(r.categories);
        }
        resources.push(entry);
        for s in r.subresources {
            let (g, v, kind) = subresource_kind(r, s);
            let mut sub = json!({
                "name": format!("{}/{}", r.plural, s.name),
                "singularName": "",
                "namespaced": r.namespaced(),
                "kind": kind,
                "verbs": s.verbs,
            });
            if !s.kind.is_empty() {
                sub["group"] = json!(g);
                sub["version"] = json!(v);
            }
            resources.push(sub);
        }
    }
    if resources.is_empty() {
        return None;
    }
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": api::scheme::api_version(group, version),
        "resources": resources,
    }))
}

fn aggregated_resource(r: &ResourceDef) -> Value {
    let subresources: Vec<Value> = r
        .subresources
        .iter()
        .map(|s| {
            let (g, v, kind) = subresource_kind(r, s);
            json!({"subresource": s.name, "responseKind": {"group": g, "version": v, "kind": kind}, "verbs": s.verbs})
        })
        .collect();
    let mut entry = json!({
        "resource": r.plural,
        "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
        "scope": match r.scope { Scope::Namespaced => "Namespaced", Scope::Cluster => "Cluster" },
        "singularResource": r.singular,
        "verbs": r.verbs,
    });
    if !r.short_names.is_empty() {
        entry["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        entry["categories"] = json!(r.categories);
    }
    if !subresources.is_empty() {
        entry["subresources"] = json!(subresources);
    }
    entry
}

/// `GET /api` (core group only) or `GET /apis` (every other group), aggregated v2 form.
pub fn aggregated(scheme: &Scheme, core: bool) -> Value {
    let items: Vec<Value> = scheme
        .groups()
        .iter()
        .filter(|g| g.group.is_empty() == core)
        .map(|g| {
            let versions: Vec<Value> = g
                .versions
                .iter()
                .map(|v| {
                    let resources: Vec<Value> = scheme
                        .group_version(g.group, v)
                        .map(aggregated_resource)
                        .collect();
                    json!({"version": v, "resources": resources, "freshness": "Current"})
                })
                .collect();
            json!({"metadata": {"name": g.group, "creationTimestamp": null}, "versions": versions})
        })
        .collect();
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        let kubectl = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert!(wants_aggregated(Some(kubectl)));
        assert!(!wants_aggregated(Some("application/json, */*")));
        assert!(!wants_aggregated(None));
    }

    #[test]
    fn legacy_documents() {
        let scheme = Scheme::builtin();
        let core = api_resource_list(&scheme, "", "v1").unwrap();
        assert_eq!(core["groupVersion"], "v1");
        let resources = core["resources"].as_array().unwrap();
        let cm = resources
            .iter()
            .find(|r| r["name"] == "configmaps")
            .unwrap();
        assert_eq!(cm["shortNames"], json!(["cm"]));
        assert_eq!(cm["namespaced"], true);
        let scale = resources
            .iter()
            .find(|r| r["name"] == "replicationcontrollers/scale")
            .unwrap();
        assert_eq!(
            (&scale["group"], &scale["version"], &scale["kind"]),
            (&json!("autoscaling"), &json!("v1"), &json!("Scale"))
        );
        let groups = api_group_list(&scheme);
        let apps = groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == "apps")
            .unwrap();
        assert_eq!(apps["preferredVersion"]["groupVersion"], "apps/v1");
        assert!(api_resource_list(&scheme, "nope", "v1").is_none());
        assert_eq!(
            api_group(&scheme, "route.openshift.io").unwrap()["kind"],
            "APIGroup"
        );
    }

    #[test]
    fn aggregated_documents() {
        let scheme = Scheme::builtin();
        let core = aggregated(&scheme, true);
        assert_eq!(core["items"].as_array().unwrap().len(), 1);
        assert_eq!(core["items"][0]["metadata"]["name"], "");
        let apis = aggregated(&scheme, false);
        let dc = apis["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["metadata"]["name"] == "apps.openshift.io")
            .unwrap();
        let r = &dc["versions"][0]["resources"][0];
        assert_eq!(
            (&r["resource"], &r["shortNames"], &r["categories"]),
            (&json!("deploymentconfigs"), &json!(["dc"]), &json!(["all"]))
        );
        assert_eq!(r["subresources"][1]["responseKind"]["kind"], "Scale");
    }
}
