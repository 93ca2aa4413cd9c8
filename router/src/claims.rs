//! Which routes may serve their host, as upstream's router decides (namespace ownership
//! strict): the oldest route holding a host (by creation time, then uid) makes its namespace
//! the owner; routes of other namespaces are refused, and within the namespace a host and path
//! are served by the oldest route that has them. A wildcard route holds `*.<domain>` (its
//! host without the first label); across namespaces, the older of a wildcard and an exact
//! host under its domain blocks the other.

use std::collections::HashMap;

use crate::model::Route;

/// A router's decision on one route.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
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
    // Per domain: the admitted exact routes under it, and its admitted wildcard route.
    let mut exact: HashMap<String, Vec<(String, String, String)>> = HashMap::new();
    let mut wildcards: HashMap<String, (String, String)> = HashMap::new();
    let mut decisions = HashMap::new();
    for route in order {
        let host = host_of(route);
        let blocked = blocking(&host, route, &exact, &wildcards);
        let decision = if host.is_empty() {
            rejected(
                "NoHostValue",
                "no host value was defined for the route".into(),
            )
        } else {
            let (namespace, paths) = owners
                .entry(host.clone())
                .or_insert_with(|| (route.namespace.clone(), HashMap::new()));
            if let Some(message) = blocked {
                rejected("HostAlreadyClaimed", message)
            } else if *namespace != route.namespace {
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
                let (ns, name) = (route.namespace.clone(), route.name.clone());
                match host.strip_prefix("*.") {
                    Some(domain) => drop(wildcards.entry(domain.to_string()).or_insert((ns, name))),
                    None => exact
                        .entry(domain_of(&host).to_string())
                        .or_default()
                        .push((ns, name, host.clone())),
                }
                Decision::Admitted
            }
        };
        decisions.insert(route.key(), decision);
    }
    decisions
}

/// The domain a host's wildcard would claim: the host without its first label.
fn domain_of(host: &str) -> &str {
    host.split_once('.').map_or("", |(_, d)| d)
}

/// Why an older route of another namespace blocks `host` (`*.<domain>` for a wildcard
/// route): an exact host under a wildcard's domain blocks the wildcard, and a wildcard blocks
/// exact hosts under its domain.
fn blocking(
    host: &str,
    route: &Route,
    exact: &HashMap<String, Vec<(String, String, String)>>,
    wildcards: &HashMap<String, (String, String)>,
) -> Option<String> {
    match host.strip_prefix("*.") {
        Some(domain) => {
            let (ns, name, held) = exact
                .get(domain)?
                .iter()
                .find(|(ns, _, _)| *ns != route.namespace)?;
            Some(format!(
                "route {ns}/{name} has host {held}, blocking *.{domain}"
            ))
        }
        None => {
            let domain = domain_of(host);
            let (ns, name) = wildcards
                .get(domain)
                .filter(|(ns, _)| *ns != route.namespace)?;
            Some(format!(
                "wildcard route {ns}/{name} has host *.{domain}, blocking {host}"
            ))
        }
    }
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

    #[test]
    fn wildcards_and_exact_hosts_of_other_namespaces_block_each_other() {
        let key = |r: &Route| match r.spec.wildcard_policy.as_str() {
            "Subdomain" => format!("*.{}", domain_of(&r.spec.host)),
            _ => r.spec.host.clone(),
        };
        let mut wild = route("a", "wild", "2024-01-01T00:00:00Z", "w.apps.example", "");
        wild.spec.wildcard_policy = "Subdomain".into();
        let mut late = route("c", "late", "2024-01-05T00:00:00Z", "z.other.example", "");
        late.spec.wildcard_policy = "Subdomain".into();
        let routes = [
            wild,
            route("a", "same", "2024-01-02T00:00:00Z", "x.apps.example", ""),
            route("b", "blocked", "2024-01-03T00:00:00Z", "y.apps.example", ""),
            route("b", "exact", "2024-01-04T00:00:00Z", "e.other.example", ""),
            late,
        ];
        let d = decide(&routes, key);
        assert_eq!(d["a/wild"], Decision::Admitted);
        assert_eq!(d["a/same"], Decision::Admitted);
        assert_eq!(
            d["b/blocked"],
            rejected(
                "HostAlreadyClaimed",
                "wildcard route a/wild has host *.apps.example, blocking y.apps.example".into()
            )
        );
        assert_eq!(d["b/exact"], Decision::Admitted);
        assert_eq!(
            d["c/late"],
            rejected(
                "HostAlreadyClaimed",
                "route b/exact has host e.other.example, blocking *.other.example".into()
            )
        );
    }
}
