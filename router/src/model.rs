//! A route as the router reads it: the fields of `route.openshift.io/v1` it serves, decoded
//! leniently (a field of the wrong type reads as its default rather than hiding the route).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RouteSpec {
    pub host: String,
    pub subdomain: String,
    pub path: String,
    pub to: Target,
    pub alternate_backends: Vec<Target>,
    pub port: Option<Port>,
    /// Boxed: most routes have none, and 10,000 routes are held.
    pub tls: Option<Box<Tls>>,
    pub wildcard_policy: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Target {
    pub kind: String,
    pub name: String,
    pub weight: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Port {
    /// A port name or number (`intstr`).
    pub target_port: Value,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Tls {
    pub termination: String,
    pub certificate: String,
    pub key: String,
    pub ca_certificate: String,
    /// Not `destinationCaCertificate`, as camel case would make it.
    #[serde(rename = "destinationCACertificate")]
    pub destination_ca_certificate: String,
    pub insecure_edge_termination_policy: String,
}

/// One route: identity, age (for claims), annotations and spec.
#[derive(Clone, Debug)]
pub struct Route {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// RFC 3339, so that the text orders as the time.
    pub created: String,
    pub annotations: BTreeMap<String, String>,
    pub spec: RouteSpec,
}

impl Route {
    /// The route in an object of the API (`None` without a name or namespace).
    pub fn from_object(obj: &kube::core::DynamicObject) -> Option<Route> {
        let meta = &obj.metadata;
        Some(Route {
            namespace: meta.namespace.clone()?,
            name: meta.name.clone()?,
            uid: meta.uid.clone().unwrap_or_default(),
            created: meta
                .creation_timestamp
                .as_ref()
                .map(|t| t.0.to_string())
                .unwrap_or_default(),
            annotations: meta.annotations.clone().unwrap_or_default(),
            spec: serde_json::from_value(obj.data["spec"].clone()).unwrap_or_default(),
        })
    }

    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Every backend (`to`, then the alternates) with its weight (none: 1, as the router reads
    /// it; clamped to 0–256).
    pub fn backends(&self) -> Vec<(&str, u32)> {
        std::iter::once(&self.spec.to)
            .chain(&self.spec.alternate_backends)
            .filter(|t| !t.name.is_empty())
            .map(|t| (t.name.as_str(), t.weight.unwrap_or(1).clamp(0, 256) as u32))
            .collect()
    }
}

/// A route as the router keeps it between changes: what it serves, and what its status
/// writer needs (its revision and the routers' status entries).
#[derive(Clone, Debug)]
pub struct RouteRecord {
    pub route: Route,
    pub resource_version: String,
    /// `status.ingress`, every router's entries, as compact JSON: read only by the status
    /// writer, and seldom (as values, 10,000 routes' entries would weigh some 15 MB).
    ingress: Box<str>,
    /// A digest of what the route's entry is built from (its spec and annotations; not its
    /// status, which the routers write themselves).
    pub digest: u64,
}

impl RouteRecord {
    pub fn from_object(obj: kube::core::DynamicObject) -> Option<RouteRecord> {
        let route = Route::from_object(&obj)?;
        let digest = {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            obj.data["spec"].to_string().hash(&mut hasher);
            route.annotations.hash(&mut hasher);
            hasher.finish()
        };
        Some(RouteRecord {
            route,
            digest,
            resource_version: obj.metadata.resource_version.clone().unwrap_or_default(),
            ingress: obj.data["status"]["ingress"]
                .as_array()
                .and_then(|entries| serde_json::to_string(entries).ok())
                .unwrap_or_default()
                .into(),
        })
    }

    /// `status.ingress`, every router's entries.
    pub fn ingress(&self) -> Vec<Value> {
        serde_json::from_str(&self.ingress).unwrap_or_default()
    }
}

/// The API resource of routes (`route.openshift.io/v1`), for the watch and the status writes.
pub fn route_resource() -> kube::api::ApiResource {
    kube::api::ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk("route.openshift.io", "v1", "Route"),
        "routes",
    )
}

/// How a route's connections are served: plain HTTP or TLS terminated at the router, at the
/// router and again to the backend, or passed through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Termination {
    /// Plain HTTP.
    None,
    Edge,
    Passthrough,
    Reencrypt,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(status: Value) -> RouteRecord {
        let object: kube::core::DynamicObject = serde_json::from_value(json!({
            "apiVersion": "route.openshift.io/v1", "kind": "Route",
            "metadata": {"name": "web", "namespace": "ns", "resourceVersion": "7"},
            "spec": {"host": "web.apps.example", "tls": {"termination": "edge"}},
            "status": status
        }))
        .unwrap();
        RouteRecord::from_object(object).unwrap()
    }

    #[test]
    fn the_status_entries_of_every_router_are_kept_as_they_came() {
        let entries = json!([
            {"host": "web.apps.example", "routerName": "b", "conditions": [{"type": "Admitted", "status": "True"}]},
            {"routerName": "a", "host": "web.apps.example", "wildcardPolicy": "None"}
        ]);
        let record = record(json!({"ingress": entries}));
        assert_eq!(Value::Array(record.ingress()), entries);
        // Key order too, as the writer sends them back.
        assert_eq!(
            serde_json::to_string(&record.ingress()).unwrap(),
            serde_json::to_string(&entries).unwrap()
        );
        assert!(self::record(json!({})).ingress().is_empty());
        assert!(self::record(json!({"ingress": "odd"})).ingress().is_empty());
        assert_eq!(
            record.route.spec.tls.map(|t| t.termination),
            Some("edge".into())
        );
    }
}
