//! Which routes a router serves, as upstream's `RouterSelection`: label selectors on routes
//! and on their namespaces (a route outside them is not this router's and gets no status
//! from it), and the host admission of the routes it selects: denied and allowed domains
//! and the wildcard policy (`RouteNotAdmitted` otherwise, with upstream's messages).

use crate::model::Route;

/// A router's shard and admission settings.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Routes' label selector (`ROUTE_LABELS`), applied by the API server to the watch.
    pub route_labels: Option<String>,
    /// Namespaces' label selector (`NAMESPACE_LABELS`): routes of other namespaces ignored.
    pub namespace_labels: Option<String>,
    /// Hosts under these domains are refused.
    pub denied_domains: Vec<String>,
    /// When not empty, only hosts under these domains are served.
    pub allowed_domains: Vec<String>,
    /// `ROUTER_ALLOW_WILDCARD_ROUTES`: `wildcardPolicy: Subdomain` routes served.
    pub allow_wildcard_routes: bool,
}

/// A comma-separated list of domains, trimmed, empty entries dropped.
pub fn domain_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(|d| d.trim().to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .collect()
}

/// Whether `host` is one of `domains` or under one of them.
fn host_in_domain_list(host: &str, domains: &[String]) -> bool {
    let mut rest = host;
    loop {
        if domains.iter().any(|d| d == rest) {
            return true;
        }
        match rest.find('.') {
            Some(i) if i > 0 => rest = &rest[i + 1..],
            _ => return false,
        }
    }
}

/// Whether the route is wildcard (`Subdomain`).
pub fn is_wildcard(route: &Route) -> bool {
    route.spec.wildcard_policy == "Subdomain"
}

/// The router's admission of a selected route served at `host`: `Err(message)` for
/// `RouteNotAdmitted`.
pub fn admit(selection: &Selection, route: &Route, host: &str) -> Result<(), String> {
    if host_in_domain_list(host, &selection.denied_domains) {
        return Err("host in list of denied domains".into());
    }
    if !selection.allowed_domains.is_empty()
        && !host_in_domain_list(host, &selection.allowed_domains)
    {
        return Err("host not in the allowed list of domains".into());
    }
    match route.spec.wildcard_policy.as_str() {
        "" | "None" => Ok(()),
        "Subdomain" if selection.allow_wildcard_routes => Ok(()),
        "Subdomain" => Err("wildcard routes are not allowed".into()),
        other => Err(format!("unknown wildcard policy {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RouteSpec;

    fn route(policy: &str) -> Route {
        Route {
            namespace: "ns".into(),
            name: "r".into(),
            uid: "u".into(),
            created: String::new(),
            annotations: Default::default(),
            spec: RouteSpec {
                wildcard_policy: policy.into(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn domains_are_denied_then_allowed() {
        let s = Selection {
            denied_domains: domain_list(" bad.example , "),
            allowed_domains: domain_list("example,apps.local"),
            ..Default::default()
        };
        assert_eq!(
            admit(&s, &route("None"), "a.bad.example"),
            Err("host in list of denied domains".into())
        );
        assert_eq!(admit(&s, &route("None"), "a.good.example"), Ok(()));
        assert_eq!(admit(&s, &route(""), "apps.local"), Ok(()));
        assert_eq!(
            admit(&s, &route("None"), "a.other.local"),
            Err("host not in the allowed list of domains".into())
        );
        assert_eq!(admit(&Selection::default(), &route("None"), "x.y"), Ok(()));
    }

    #[test]
    fn wildcard_routes_need_the_router_to_allow_them() {
        let s = Selection::default();
        assert_eq!(
            admit(&s, &route("Subdomain"), "w.apps.local"),
            Err("wildcard routes are not allowed".into())
        );
        assert_eq!(
            admit(&s, &route("Sometimes"), "w.apps.local"),
            Err("unknown wildcard policy Sometimes".into())
        );
        let allowing = Selection {
            allow_wildcard_routes: true,
            ..Default::default()
        };
        assert_eq!(
            admit(&allowing, &route("Subdomain"), "w.apps.local"),
            Ok(())
        );
    }
}
