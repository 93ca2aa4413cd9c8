//! From what the watches hold to a route table and the router's decision on each route:
//! host admission (`admission.rs`), claims (`claims.rs`), the extended validation of certificates, and each admitted route's
//! servers (ready endpoints of its services on its target port, weighted as upstream).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize};

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use md5::{Digest, Md5};
use serde_json::Value;

use crate::admission::{self, Selection};
use crate::annotations::Policy;
use crate::certs;
use crate::claims::{self, Decision};
use crate::limits::Limiters;
use crate::model::{Route, RouteRecord};
use crate::table::{Backend, Balance, Endpoint, Entry, Insecure, Table, Termination};
use crate::weights;

/// The router's decision on one route, with the host it serves it at.
pub struct Outcome {
    pub host: String,
    pub decision: Decision,
}

/// What the table is built from.
pub struct Inputs<'a> {
    pub routes: Vec<Arc<RouteRecord>>,
    /// Services by `namespace/name`.
    pub services: HashMap<String, Arc<Service>>,
    /// Endpoint slices by `namespace/service`.
    pub slices: HashMap<String, Vec<Arc<EndpointSlice>>>,
    pub apps_domain: &'a str,
    pub selection: &'a Selection,
}

pub fn build(inputs: &Inputs<'_>, limiters: &mut Limiters) -> (Table, HashMap<String, Outcome>) {
    let host_of = |r: &Route| host_of(r, inputs.apps_domain);
    // The host admitter first (domains, wildcard policy): a route it refuses claims nothing.
    let mut refused: HashMap<String, String> = HashMap::new();
    for record in &inputs.routes {
        let host = host_of(&record.route);
        if let (false, Err(message)) = (
            host.is_empty(),
            admission::admit(inputs.selection, &record.route, &host),
        ) {
            refused.insert(record.route.key(), message);
        }
    }
    let mut decisions = claims::decide(
        inputs
            .routes
            .iter()
            .map(|r| &r.route)
            .filter(|r| !refused.contains_key(&r.key())),
        |r| serving_key(r, &host_of(r)),
    );
    for (key, message) in refused {
        decisions.insert(
            key,
            Decision::Rejected {
                reason: "RouteNotAdmitted".into(),
                message,
            },
        );
    }
    let mut table = Table {
        built: Some(std::time::Instant::now()),
        ..Default::default()
    };
    let mut outcomes = HashMap::new();
    for record in &inputs.routes {
        let route = &record.route;
        let key = route.key();
        let host = host_of(route);
        let served_at = serving_key(route, &host);
        let mut decision = decisions.remove(&key).unwrap_or(Decision::Admitted);
        if decision == Decision::Admitted {
            match entry(route, inputs, limiters) {
                Ok((entry, certificate)) => {
                    let entry = Arc::new(entry);
                    if let Some(certificate) = certificate {
                        table.certificates.insert(served_at.clone(), certificate);
                    }
                    match entry.termination {
                        Termination::Passthrough => {
                            table.passthrough.insert(served_at.clone(), entry.clone());
                            if entry.insecure == Insecure::Redirect {
                                table.hosts.entry(served_at).or_default().push(entry);
                            }
                        }
                        _ => table.hosts.entry(served_at).or_default().push(entry),
                    }
                    table.routes += 1;
                }
                Err(message) => {
                    decision = Decision::Rejected {
                        reason: "ExtendedValidationFailed".into(),
                        message,
                    }
                }
            }
        }
        outcomes.insert(key, Outcome { host, decision });
    }
    for entries in table.hosts.values_mut() {
        entries.sort_by_key(|e| std::cmp::Reverse(e.path.len()));
    }
    let limited: std::collections::HashSet<String> = inputs
        .routes
        .iter()
        .filter(|r| Policy::parse(&r.route.annotations).limits.is_some())
        .map(|r| r.route.key())
        .collect();
    limiters.retain(|key| limited.contains(key));
    (table, outcomes)
}

/// The host a route is served at: its own, or `<subdomain>.<apps domain>`.
pub fn host_of(route: &Route, apps_domain: &str) -> String {
    match (route.spec.host.as_str(), route.spec.subdomain.as_str()) {
        ("", "") => String::new(),
        ("", sub) => format!("{sub}.{apps_domain}"),
        (host, _) => host.to_ascii_lowercase(),
    }
}

/// Where a route is served in the table: its host, or `*.<domain>` for a wildcard route
/// (its host without the first label), as upstream's wildcard map entries.
fn serving_key(route: &Route, host: &str) -> String {
    match (admission::is_wildcard(route), host.split_once('.')) {
        (true, Some((_, domain))) => format!("*.{domain}"),
        _ => host.to_string(),
    }
}

type Certificate = Option<Arc<rustls::sign::CertifiedKey>>;

fn entry(
    route: &Route,
    inputs: &Inputs<'_>,
    limiters: &mut Limiters,
) -> Result<(Entry, Certificate), String> {
    let policy = Policy::parse(&route.annotations);
    let tls = route.spec.tls.clone().unwrap_or_default();
    let termination = match tls.termination.as_str() {
        "" if route.spec.tls.is_none() => Termination::None,
        "" | "edge" => Termination::Edge,
        "passthrough" => Termination::Passthrough,
        "reencrypt" => Termination::Reencrypt,
        other => {
            return Err(format!(
                "spec.tls.termination: Unsupported value: {other:?}"
            ));
        }
    };
    let insecure = match tls.insecure_edge_termination_policy.as_str() {
        "Allow" => Insecure::Allow,
        "Redirect" => Insecure::Redirect,
        _ => Insecure::None,
    };
    let certificate = match termination {
        Termination::Edge | Termination::Reencrypt if !tls.certificate.is_empty() => Some(
            certs::route_certificate(&tls.certificate, &tls.key, &tls.ca_certificate)?,
        ),
        _ => None,
    };
    let upstream_tls = match termination {
        Termination::Reencrypt => Some(certs::upstream_client(&tls.destination_ca_certificate)?),
        _ => None,
    };
    let backend = backend(route, termination, policy.balance, inputs);
    let cookie_name = match (termination, policy.disable_cookies) {
        (Termination::Passthrough, _) | (_, true) => None,
        _ => Some(
            route
                .annotations
                .get("router.openshift.io/cookie_name")
                .filter(|n| {
                    !n.is_empty()
                        && n.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                })
                .cloned()
                .unwrap_or_else(|| md5_hex(&format!(" {}:{}", route.namespace, route.name))),
        ),
    };
    let entry = Entry {
        path: route.spec.path.clone(),
        termination,
        insecure,
        backend,
        cookie_name,
        secure_cookie: matches!(termination, Termination::Edge | Termination::Reencrypt)
            && insecure != Insecure::Allow,
        upstream_trust: match upstream_tls {
            Some(_) => trust_of(&tls.destination_ca_certificate),
            None => 0,
        },
        upstream_tls,
        limiter: policy
            .limits
            .map(|limits| limiters.for_route(&route.key(), limits)),
        policy,
    };
    Ok((entry, certificate))
}

fn backend(
    route: &Route,
    termination: Termination,
    annotated: Option<Balance>,
    inputs: &Inputs<'_>,
) -> Backend {
    let services = route.backends();
    let mut groups = Vec::new();
    for (service, weight) in &services {
        let key = format!("{}/{service}", route.namespace);
        let target = resolve_target(
            route.spec.port.as_ref().map(|p| &p.target_port),
            inputs.services.get(&key).map(|s| &**s),
        );
        let endpoints = endpoints_of(
            service,
            inputs.slices.get(&key).map_or(&[][..], Vec::as_slice),
            target.as_ref(),
        );
        groups.push((*weight, endpoints));
    }
    let counts: Vec<(u32, usize)> = groups.iter().map(|(w, e)| (*w, e.len())).collect();
    let per_endpoint = weights::per_endpoint(&counts);
    let mut endpoints = Vec::new();
    for ((_, group), weight) in groups.into_iter().zip(per_endpoint) {
        for (addr, id) in group {
            endpoints.push(Endpoint {
                addr,
                weight,
                cookie: md5_hex(&id),
                active: AtomicUsize::new(0),
                down_until: AtomicU64::new(0),
            });
        }
    }
    let schedule = weights::schedule(&endpoints.iter().map(|e| e.weight).collect::<Vec<_>>());
    let weighted_services = services.iter().filter(|(_, w)| *w > 0).count();
    let balance = match (annotated, weighted_services > 1, termination) {
        (Some(b), _, _) => b,
        (None, true, _) => Balance::RoundRobin,
        (None, false, Termination::Passthrough) => Balance::Source,
        (None, false, _) => Balance::Random,
    };
    Backend {
        endpoints,
        schedule,
        next: AtomicUsize::new(0),
        balance,
    }
}

/// A target port that is one of the service's port numbers, as the endpoints name it (the
/// port's name, else its target port).
fn resolve_target(target: Option<&Value>, service: Option<&Service>) -> Option<Value> {
    let target = target?;
    let (Value::Number(n), Some(service)) = (target, service) else {
        return Some(target.clone());
    };
    let ports = service.spec.as_ref().and_then(|s| s.ports.as_ref());
    let Some(port) = ports
        .into_iter()
        .flatten()
        .find(|p| Some(i64::from(p.port)) == n.as_i64())
    else {
        return Some(target.clone());
    };
    Some(match (&port.name, &port.target_port) {
        (Some(name), _) if !name.is_empty() => Value::String(name.clone()),
        (_, Some(IntOrString::Int(i))) => Value::from(*i),
        (_, Some(IntOrString::String(s))) => Value::String(s.clone()),
        _ => target.clone(),
    })
}

/// The ready endpoints of `service` on the route's target port (every port without one),
/// each with its id as upstream names servers (`pod:<pod>:<svc>:<port name>:<ip>:<port>`).
fn endpoints_of(
    service: &str,
    slices: &[Arc<EndpointSlice>],
    target: Option<&Value>,
) -> Vec<(SocketAddr, String)> {
    let mut found = Vec::new();
    for slice in slices {
        for port in slice.ports.iter().flatten() {
            let (name, number) = (
                port.name.clone().unwrap_or_default(),
                port.port.unwrap_or(0),
            );
            let wanted = match target {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => *s == name || s.parse::<i32>().ok() == Some(number),
                Some(Value::Number(n)) => n.as_i64() == Some(i64::from(number)),
                Some(_) => false,
            };
            if !wanted || number <= 0 {
                continue;
            }
            for endpoint in slice.endpoints.iter().flatten() {
                let ready = endpoint
                    .conditions
                    .as_ref()
                    .and_then(|c| c.ready)
                    .unwrap_or(true);
                if !ready {
                    continue;
                }
                let pod = endpoint
                    .target_ref
                    .as_ref()
                    .filter(|r| r.kind.as_deref() == Some("Pod"))
                    .and_then(|r| r.name.clone());
                for address in &endpoint.addresses {
                    let Ok(ip) = address.parse::<IpAddr>() else {
                        continue;
                    };
                    let id = match &pod {
                        Some(pod) => format!("pod:{pod}:{service}:{name}:{ip}:{number}"),
                        None => format!("ept:{service}:{name}:{ip}:{number}"),
                    };
                    found.push((SocketAddr::new(ip, number as u16), id));
                }
            }
        }
    }
    found.sort();
    found.dedup_by(|a, b| a.0 == b.0);
    found
}

/// A non-zero fingerprint of a destination CA (the same for the same PEM text).
fn trust_of(destination_ca: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    destination_ca.hash(&mut hasher);
    hasher.finish().max(1)
}

pub fn md5_hex(text: &str) -> String {
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_names_as_upstream() {
        // The name the HAProxy reference configuration gives route bench/r1.
        assert_eq!(md5_hex(" bench:r1"), "f41d2b8823f1e37efcd0970e3301b978");
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
