//! Which routes may serve their host, as upstream's router decides (namespace ownership
//! strict): the oldest route holding a host (by creation time, then uid) makes its namespace
//! the owner; routes of other namespaces are refused, and within the namespace a host and path
//! are served by the oldest route that has them.

use std::collections::HashMap;

use crate::model::Route;

/// A router's decision on one route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Admitted,
    Rejected { reason: String, message: String },
}

fn rejected(reason: &str, message: String) -> Decision {
    Decision::Rejected {
        reason: reason.into(),
        message,
    }
}

/// The decisions on `routes` (any order), by route key; `host_of` gives each route's host.
pub fn decide<'a>(
    routes: impl IntoIterator<Item = &'a Route>,
    host_of: impl Fn(&Route) -> String,
) -> HashMap<String, Decision> {
    let mut order: Vec<&Route> = routes.into_iter().collect();
    order.sort_by(|a, b| (&a.created, &a.uid).cmp(&(&b.created, &b.uid)));
    // Per host: the owning namespace, and per path the route that holds it.
    let mut owners: HashMap<String, (String, HashMap<String, String>)> = HashMap::new();
    let mut decisions = HashMap::new();
    for route in order {
        let host = host_of(route);
        let decision = if host.is_empty() {
            rejected(
                "NoHostValue",
                "no host value was defined for the route".into(),
            )
        } else {
            let (namespace, paths) = owners
                .entry(host.clone())
                .or_insert_with(|| (route.namespace.clone(), HashMap::new()));
            if *namespace != route.namespace {
                rejected(
                    "HostAlreadyClaimed",
                    format!(
                        "a route in another namespace holds {host} and is older than {}",
                        route.name
                    ),
                )
            } else if let Some(owner) = paths.get(&route.spec.path) {
                rejected(
                    "HostAlreadyClaimed",
                    format!("route {owner} already exposes {host} and is older"),
                )
            } else {
                paths.insert(route.spec.path.clone(), route.name.clone());
                Decision::Admitted
            }
        };
        decisions.insert(route.key(), decision);
    }
    decisions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RouteSpec;

    fn route(ns: &str, name: &str, created: &str, host: &str, path: &str) -> Route {
        Route {
            namespace: ns.into(),
            name: name.into(),
            uid: name.into(),
            created: created.into(),
            annotations: Default::default(),
            spec: RouteSpec {
                host: host.into(),
                path: path.into(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn the_oldest_namespace_owns_a_host() {
        let routes = [
            route("b", "thief", "2024-01-02T00:00:00Z", "h.example", ""),
            route("a", "first", "2024-01-01T00:00:00Z", "h.example", ""),
            route("a", "second", "2024-01-03T00:00:00Z", "h.example", ""),
            route("a", "path", "2024-01-03T00:00:00Z", "h.example", "/x"),
            route("a", "nohost", "2024-01-03T00:00:00Z", "", ""),
        ];
        let d = decide(&routes, |r| r.spec.host.clone());
        assert_eq!(d["a/first"], Decision::Admitted);
        assert_eq!(d["a/path"], Decision::Admitted);
        assert_eq!(
            d["b/thief"],
            rejected(
                "HostAlreadyClaimed",
                "a route in another namespace holds h.example and is older than thief".into()
            )
        );
        assert_eq!(
            d["a/second"],
            rejected(
                "HostAlreadyClaimed",
                "route first already exposes h.example and is older".into()
            )
        );
        assert_eq!(
            d["a/nohost"],
            rejected(
                "NoHostValue",
                "no host value was defined for the route".into()
            )
        );
    }
}
