//! From what the watches hold to a route table and the router's decision on each route:
//! host admission (`admission.rs`), claims (`claims.rs`), the extended validation of certificates, and each admitted route's
//! servers (ready endpoints of its services on its target port, weighted as upstream; for
//! reencrypt, how each service is reached over TLS).

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
use crate::model::{Route, RouteRecord, Tls};
use crate::stats::{Registry, RouteStats};
use crate::table::{Backend, Balance, Endpoint, Entry, Insecure, Table, Termination, Upstream};
use crate::weights;

/// The router's decision on one route, with the host it serves it at.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub host: String,
    pub decision: Decision,
}

impl Outcome {
    /// Whether what was built for the route is kept: it is served, or its certificates
    /// failed validation (not parsed again until the route changes).
    pub(crate) fn keeps_build(&self) -> bool {
        match &self.decision {
            Decision::Admitted => true,
            Decision::Rejected { reason, .. } => reason == "ExtendedValidationFailed",
        }
    }
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
    /// The service CA's bundle, what reencrypt routes without a destination CA trust.
    pub service_ca: Option<&'a certs::ServiceCa>,
}

/// What was built for each admitted route, kept from one build to the next: a route whose
/// spec, annotations, services and endpoint slices are unchanged keeps its entry (nothing
/// parsed again, its balance position and its endpoints' passive health kept), so that a
/// change costs the work of the routes it touches.
#[derive(Default)]
pub struct Cache {
    built: HashMap<String, Cached>,
    /// The routes' and servers' counters, found for each entry built.
    stats: Arc<Registry>,
}

struct Cached {
    fingerprint: u64,
    built: Result<(Arc<Entry>, Certificate), String>,
}

impl Cache {
    /// A cache whose entries count into `stats`.
    pub fn counting_into(stats: Arc<Registry>) -> Cache {
        Cache {
            built: HashMap::new(),
            stats,
        }
    }

    fn entry(
        &mut self,
        record: &RouteRecord,
        inputs: &Inputs<'_>,
        limiters: &mut Limiters,
    ) -> Result<(Arc<Entry>, Certificate), String> {
        let fingerprint = fingerprint(record, inputs);
        let key = record.route.key();
        if let Some(cached) = self.built.get(&key)
            && cached.fingerprint == fingerprint
        {
            return cached.built.clone();
        }
        let built =
            entry(&record.route, inputs, limiters, &self.stats).map(|(e, c)| (Arc::new(e), c));
        self.built.insert(
            key,
            Cached {
                fingerprint,
                built: built.clone(),
            },
        );
        built
    }

    /// Forgets what was built for a route.
    pub(crate) fn forget(&mut self, key: &str) {
        self.built.remove(key);
    }
}

/// What a route's entry is built from: the route, and the revisions of its backends' services
/// and endpoint slices.
fn fingerprint(record: &RouteRecord, inputs: &Inputs<'_>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    record.digest.hash(&mut hasher);
    if trusts_service_ca(&record.route) {
        inputs.service_ca.map(|ca| ca.fingerprint).hash(&mut hasher);
    }
    fn revision(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> (&str, &str) {
        (
            meta.name.as_deref().unwrap_or_default(),
            meta.resource_version.as_deref().unwrap_or_default(),
        )
    }
    let mut key = String::new();
    for (service, _) in record.route.backends() {
        key.clear();
        key.push_str(&record.route.namespace);
        key.push('/');
        key.push_str(service);
        inputs
            .services
            .get(&key)
            .map(|s| revision(&s.metadata))
            .hash(&mut hasher);
        match inputs.slices.get(&key).map(Vec::as_slice) {
            None | Some([]) => 0.hash(&mut hasher),
            Some([one]) => revision(&one.metadata).hash(&mut hasher),
            Some(many) => {
                let mut revisions: Vec<_> = many.iter().map(|s| revision(&s.metadata)).collect();
                revisions.sort_unstable();
                revisions.hash(&mut hasher);
            }
        }
    }
    hasher.finish()
}

pub fn build(
    inputs: &Inputs<'_>,
    limiters: &mut Limiters,
    cache: &mut Cache,
) -> (Table, HashMap<String, Outcome>) {
    let mut decisions = decide(inputs.routes.iter(), inputs);
    let mut table = Table::default();
    let mut outcomes = HashMap::new();
    for record in &inputs.routes {
        let key = record.route.key();
        let decision = decisions.remove(&key).unwrap_or(Decision::Admitted);
        let outcome = place(record, decision, inputs, limiters, cache, &mut table);
        table.routes += usize::from(outcome.decision == Decision::Admitted);
        outcomes.insert(key, outcome);
    }
    for (_, entries) in table.hosts.iter_mut() {
        order_paths(entries);
    }
    // What was built for routes no longer admitted (or gone) is forgotten, limiters too.
    cache
        .built
        .retain(|key, _| outcomes.get(key).is_some_and(Outcome::keeps_build));
    limiters.retain(|key| {
        cache
            .built
            .get(key)
            .is_some_and(|c| matches!(&c.built, Ok((e, _)) if e.limiter.is_some()))
    });
    (table, outcomes)
}

/// The host admitter's and the claims' decisions on `records` (those not named are
/// admitted): a route the admitter refuses (domains, wildcard policy) claims nothing.
pub(crate) fn decide<'r>(
    records: impl Iterator<Item = &'r Arc<RouteRecord>> + Clone,
    inputs: &Inputs<'_>,
) -> HashMap<String, Decision> {
    let host_of = |r: &Route| host_of(r, inputs.apps_domain);
    let mut refused: HashMap<String, String> = HashMap::new();
    for record in records.clone() {
        let host = host_of(&record.route);
        if let (false, Err(message)) = (
            host.is_empty(),
            admission::admit(inputs.selection, &record.route, &host),
        ) {
            refused.insert(record.route.key(), message);
        }
    }
    let mut decisions = claims::decide(
        records
            .map(|r| &r.route)
            .filter(|r| refused.is_empty() || !refused.contains_key(&r.key())),
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
    decisions
}

/// A route with the claims' `decision` on it: admitted, its entry (built, or kept from
/// `cache`) goes into `table` at its host (not yet in path order: `order_paths`).
pub(crate) fn place(
    record: &RouteRecord,
    mut decision: Decision,
    inputs: &Inputs<'_>,
    limiters: &mut Limiters,
    cache: &mut Cache,
    table: &mut Table,
) -> Outcome {
    let route = &record.route;
    let host = host_of(route, inputs.apps_domain);
    let served_at = serving_key(route, &host);
    if decision == Decision::Admitted {
        match cache.entry(record, inputs, limiters) {
            Ok((entry, certificate)) => {
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
            }
            Err(message) => {
                decision = Decision::Rejected {
                    reason: "ExtendedValidationFailed".into(),
                    message,
                }
            }
        }
    }
    Outcome { host, decision }
}

/// A host's routes, longest path first.
pub(crate) fn order_paths(entries: &mut [Arc<Entry>]) {
    entries.sort_by_key(|e| std::cmp::Reverse(e.path.len()));
}

/// A reencrypt route without a destination CA: its backends are verified against the service
/// CA, for their service's name.
fn trusts_service_ca(route: &Route) -> bool {
    route.spec.tls.as_ref().is_some_and(|tls| {
        tls.termination == "reencrypt" && tls.destination_ca_certificate.is_empty()
    })
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
pub(crate) fn serving_key(route: &Route, host: &str) -> String {
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
    stats: &Registry,
) -> Result<(Entry, Certificate), String> {
    let policy = Policy::parse(&route.annotations);
    let no_tls = Tls::default();
    let tls = route.spec.tls.as_deref().unwrap_or(&no_tls);
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
    let upstream = match termination {
        Termination::Reencrypt => {
            Some(upstream_of(route, &tls.destination_ca_certificate, inputs)?)
        }
        _ => None,
    };
    let stats = stats.route(&route.namespace, &route.name, termination);
    let backend = backend(
        route,
        termination,
        policy.balance,
        inputs,
        upstream.as_ref(),
        &stats,
    );
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
        namespace: route.namespace.clone(),
        name: route.name.clone(),
        path: route.spec.path.clone(),
        termination,
        insecure,
        backend,
        cookie_name,
        secure_cookie: matches!(termination, Termination::Edge | Termination::Reencrypt)
            && insecure != Insecure::Allow,
        limiter: policy
            .limits
            .map(|limits| limiters.for_route(&route.key(), limits)),
        policy,
        stats,
    };
    Ok((entry, certificate))
}

/// How a reencrypt route reaches its services: all through the client of its destination CA,
/// else each through one verifying the service CA and that service's name (`ByService`),
/// else (no service CA known) unverified, as upstream's router without a default
/// destination CA.
enum ReencryptTo {
    All(Arc<Upstream>),
    ByService,
}

fn upstream_of(
    route: &Route,
    destination_ca: &str,
    inputs: &Inputs<'_>,
) -> Result<ReencryptTo, String> {
    if destination_ca.is_empty() && inputs.service_ca.is_some() && trusts_service_ca(route) {
        return Ok(ReencryptTo::ByService);
    }
    Ok(ReencryptTo::All(Arc::new(Upstream {
        tls: certs::upstream_client(destination_ca)?,
        trust: trust_of(&[destination_ca]),
    })))
}

/// The client of one service of a route trusting the service CA: verified for
/// `<service>.<namespace>.svc`, as upstream's `verifyhost` of the service's hostname. A name
/// that cannot be one (never, for a valid service) reaches no endpoint.
fn service_upstream(
    ca: &certs::ServiceCa,
    namespace: &str,
    service: &str,
) -> Option<Arc<Upstream>> {
    let hostname = format!("{service}.{namespace}.svc");
    let tls = ca.client_for(&hostname).ok()?;
    Some(Arc::new(Upstream {
        tls,
        trust: trust_of(&[&ca.fingerprint.to_string(), &hostname]),
    }))
}

fn backend(
    route: &Route,
    termination: Termination,
    annotated: Option<Balance>,
    inputs: &Inputs<'_>,
    reencrypt: Option<&ReencryptTo>,
    stats: &RouteStats,
) -> Backend {
    let services = route.backends();
    let mut groups = Vec::new();
    for (service, weight) in &services {
        let upstream = match (reencrypt, inputs.service_ca) {
            (None, _) => None,
            (Some(ReencryptTo::All(upstream)), _) => Some(upstream.clone()),
            (Some(ReencryptTo::ByService), Some(ca)) => {
                match service_upstream(ca, &route.namespace, service) {
                    Some(upstream) => Some(upstream),
                    None => {
                        groups.push((*weight, Vec::new(), None));
                        continue;
                    }
                }
            }
            (Some(ReencryptTo::ByService), None) => None,
        };
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
        groups.push((*weight, endpoints, upstream));
    }
    let counts: Vec<(u32, usize)> = groups.iter().map(|(w, e, _)| (*w, e.len())).collect();
    let per_endpoint = weights::per_endpoint(&counts);
    let mut endpoints = Vec::with_capacity(counts.iter().map(|(_, n)| n).sum());
    for ((_, group, upstream), weight) in groups.into_iter().zip(per_endpoint) {
        for (addr, id) in group {
            endpoints.push(Endpoint {
                addr,
                weight,
                stats: stats.server(&id),
                cookie: md5_hex(&id),
                active: AtomicUsize::new(0),
                down_until: AtomicU64::new(0),
                upstream: upstream.clone(),
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

/// A non-zero fingerprint of what a backend is verified against (the same for the same text).
fn trust_of(parts: &[&str]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut hasher);
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
    use serde_json::json;

    fn record(name: &str, created: &str) -> Arc<RouteRecord> {
        let object: kube::core::DynamicObject = serde_json::from_value(json!({
            "apiVersion": "route.openshift.io/v1", "kind": "Route",
            "metadata": {"name": name, "namespace": "ns", "uid": name, "resourceVersion": "1",
                "creationTimestamp": created},
            "spec": {"host": format!("{name}.apps.example"), "to": {"kind": "Service", "name": "web"}}
        }))
        .unwrap();
        Arc::new(RouteRecord::from_object(object).unwrap())
    }

    fn slice(revision: &str, port: i32) -> Arc<EndpointSlice> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": "web-1", "namespace": "ns", "resourceVersion": revision,
                    "labels": {"kubernetes.io/service-name": "web"}},
                "addressType": "IPv4",
                "endpoints": [{"addresses": ["127.0.0.1"]}],
                "ports": [{"name": "http", "port": port}]
            }))
            .unwrap(),
        )
    }

    fn inputs<'a>(
        routes: Vec<Arc<RouteRecord>>,
        slice: Arc<EndpointSlice>,
        selection: &'a Selection,
    ) -> Inputs<'a> {
        Inputs {
            routes,
            services: HashMap::new(),
            slices: HashMap::from([("ns/web".to_string(), vec![slice])]),
            apps_domain: "apps.example",
            selection,
            service_ca: None,
        }
    }

    fn served<'t>(table: &'t Table, name: &str) -> &'t Arc<Entry> {
        table.lookup(&format!("{name}.apps.example"), "/").unwrap()
    }

    #[test]
    fn unchanged_routes_keep_their_entries_between_builds() {
        let selection = Selection::default();
        let (mut limiters, mut cache) = (Limiters::default(), Cache::default());
        let a = record("a", "2026-01-01T00:00:00Z");
        let b = record("b", "2026-01-01T00:00:01Z");
        let first = inputs(vec![a.clone()], slice("1", 8080), &selection);
        let (one, _) = build(&first, &mut limiters, &mut cache);
        // A new route: the other keeps its entry.
        let second = inputs(vec![a.clone(), b.clone()], slice("1", 8080), &selection);
        let (two, outcomes) = build(&second, &mut limiters, &mut cache);
        assert!(Arc::ptr_eq(served(&one, "a"), served(&two, "a")));
        assert_eq!(outcomes["ns/b"].decision, Decision::Admitted);
        assert_eq!(two.routes, 2);
        // The endpoints changed: both are built again, with the new port.
        let third = inputs(vec![a.clone(), b.clone()], slice("2", 9090), &selection);
        let (three, _) = build(&third, &mut limiters, &mut cache);
        assert!(!Arc::ptr_eq(served(&two, "a"), served(&three, "a")));
        assert_eq!(served(&three, "b").backend.endpoints[0].addr.port(), 9090);
        // A route gone is forgotten.
        let fourth = inputs(vec![b], slice("2", 9090), &selection);
        let (four, _) = build(&fourth, &mut limiters, &mut cache);
        assert!(four.lookup("a.apps.example", "/").is_none());
        assert_eq!(cache.built.len(), 1);
    }

    /// A reencrypt route as the API serves it: its `destinationCACertificate` is what the
    /// backend's certificate is verified against, so a route trusting another CA never
    /// reaches the backend.
    #[tokio::test]
    async fn reencrypt_routes_reach_only_backends_their_destination_ca_signed() {
        use crate::pool::tests::{ca, tls_backend};
        let (signer_pem, signer) = ca();
        let (other_pem, _) = ca();
        let backend = tls_backend(&signer).await;
        let route = |name: &str, destination_ca: &str| {
            let object: kube::core::DynamicObject = serde_json::from_value(json!({
                "apiVersion": "route.openshift.io/v1", "kind": "Route",
                "metadata": {"name": name, "namespace": "ns", "uid": name, "resourceVersion": "1",
                    "creationTimestamp": "2026-01-01T00:00:00Z"},
                "spec": {"host": format!("{name}.apps.example"),
                    "to": {"kind": "Service", "name": "web"},
                    "tls": {"termination": "reencrypt", "destinationCACertificate": destination_ca}}
            }))
            .unwrap();
            Arc::new(RouteRecord::from_object(object).unwrap())
        };
        let selection = Selection::default();
        let routes = vec![route("good", &signer_pem), route("bad", &other_pem)];
        let (table, _) = build(
            &inputs(routes, slice("1", i32::from(backend.port())), &selection),
            &mut Limiters::default(),
            &mut Cache::default(),
        );
        let pool = crate::pool::Pool::default();
        let connect = |name: &str| {
            let entry = served(&table, name).clone();
            let pool = &pool;
            async move { reach(pool, &entry).await }
        };
        assert!(connect("good").await.is_ok());
        // Refused as a certificate not accepted (what the router counts as such).
        assert!(matches!(
            connect("bad").await,
            Err(crate::pool::ConnectError::Untrusted(_))
        ));
    }

    /// A connection to the first endpoint of an entry, as the proxy makes it.
    async fn reach(
        pool: &crate::pool::Pool,
        entry: &Entry,
    ) -> Result<hyper::client::conn::http1::SendRequest<crate::body::Body>, crate::pool::ConnectError>
    {
        let endpoint = &entry.backend.endpoints[0];
        let upstream = endpoint.upstream.as_ref().unwrap();
        pool.get(endpoint.addr, Some(&upstream.tls), upstream.trust)
            .await
    }

    fn reencrypt_route(name: &str) -> Arc<RouteRecord> {
        let object: kube::core::DynamicObject = serde_json::from_value(json!({
            "apiVersion": "route.openshift.io/v1", "kind": "Route",
            "metadata": {"name": name, "namespace": "ns", "uid": name, "resourceVersion": "1",
                "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"host": format!("{name}.apps.example"),
                "to": {"kind": "Service", "name": "web"},
                "tls": {"termination": "reencrypt"}}
        }))
        .unwrap();
        Arc::new(RouteRecord::from_object(object).unwrap())
    }

    /// Without a destination CA, a reencrypt route's backend must prove the service's name
    /// `web.ns.svc` with a certificate of the service CA's bundle (either signer of a
    /// rotation); a bundle that changes builds the entry again.
    #[tokio::test]
    async fn reencrypt_routes_without_a_destination_ca_verify_the_service_ca_and_name() {
        use crate::pool::tests::{ca, tls_backend_for};
        let (old_pem, old) = ca();
        let (new_pem, new) = ca();
        let (_, stranger) = ca();
        let service_name = "web.ns.svc";
        let backends = [
            (
                "old signer",
                tls_backend_for(&old, service_name).await,
                true,
            ),
            (
                "new signer",
                tls_backend_for(&new, service_name).await,
                true,
            ),
            (
                "other name",
                tls_backend_for(&new, "other.ns.svc").await,
                false,
            ),
            (
                "other CA",
                tls_backend_for(&stranger, service_name).await,
                false,
            ),
        ];
        let bundle = certs::ServiceCa::parse(&format!("{old_pem}{new_pem}")).unwrap();
        let selection = Selection::default();
        let pool = crate::pool::Pool::default();
        for (what, addr, wanted) in backends {
            let mut inputs = inputs(
                vec![reencrypt_route("svc")],
                slice("1", i32::from(addr.port())),
                &selection,
            );
            inputs.service_ca = Some(&bundle);
            let (table, _) = build(&inputs, &mut Limiters::default(), &mut Cache::default());
            let reached = reach(&pool, served(&table, "svc")).await;
            assert_eq!(reached.is_ok(), wanted, "a backend of the {what}");
        }
        // Without a bundle known, upstream's `verify none`.
        let stranger_backend = tls_backend_for(&stranger, "anything").await;
        let first = inputs(
            vec![reencrypt_route("svc")],
            slice("1", i32::from(stranger_backend.port())),
            &selection,
        );
        let (mut limiters, mut cache) = (Limiters::default(), Cache::default());
        let (unverified, _) = build(&first, &mut limiters, &mut cache);
        assert!(reach(&pool, served(&unverified, "svc")).await.is_ok());
        // The bundle arriving builds the entry again; the same bundle keeps it.
        let mut second = first;
        second.service_ca = Some(&bundle);
        let (verified, _) = build(&second, &mut limiters, &mut cache);
        assert!(!Arc::ptr_eq(
            served(&unverified, "svc"),
            served(&verified, "svc")
        ));
        assert!(reach(&pool, served(&verified, "svc")).await.is_err());
        let (again, _) = build(&second, &mut limiters, &mut cache);
        assert!(Arc::ptr_eq(served(&verified, "svc"), served(&again, "svc")));
        // A bundle without a certificate is no bundle.
        assert!(certs::ServiceCa::parse("junk").is_none());
    }

    /// The cost of a change with 10,000 routes served: a first build, then one new route.
    /// `cargo test --release -p router build_time -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn build_time_with_ten_thousand_routes() {
        let selection = Selection::default();
        let (mut limiters, mut cache) = (Limiters::default(), Cache::default());
        let mut routes: Vec<_> = (0..10_000)
            .map(|i| record(&format!("r{i}"), "2026-01-01T00:00:00Z"))
            .collect();
        let start = std::time::Instant::now();
        build(
            &inputs(routes.clone(), slice("1", 8080), &selection),
            &mut limiters,
            &mut cache,
        );
        let cold = start.elapsed();
        routes.push(record("new", "2026-01-02T00:00:00Z"));
        let start = std::time::Instant::now();
        let (table, _) = build(
            &inputs(routes, slice("1", 8080), &selection),
            &mut limiters,
            &mut cache,
        );
        let warm = start.elapsed();
        assert_eq!(table.routes, 10_001);
        println!(
            "10,000 routes: every entry built {:.1} ms; one new route {:.1} ms ({:.1}x)",
            cold.as_secs_f64() * 1e3,
            warm.as_secs_f64() * 1e3,
            cold.as_secs_f64() / warm.as_secs_f64()
        );
    }

    #[test]
    fn cookie_names_as_upstream() {
        // The name the HAProxy reference configuration gives route bench/r1.
        assert_eq!(md5_hex(" bench:r1"), "f41d2b8823f1e37efcd0970e3301b978");
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
