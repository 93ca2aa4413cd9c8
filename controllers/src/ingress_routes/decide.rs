//! The routes an Ingress stands for, as openshift-controller-manager's ingress-to-route
//! controller computes them, without I/O: one per rule host and path with a service
//! backend (no Exact paths), the service port's name as target port (none for an unnamed
//! port; no route while the service or port is missing), TLS from the Ingress's secret for
//! the host (no route while that secret is missing or not a valid `kubernetes.io/tls`), or
//! from `route.openshift.io/termination`, or an empty TLS entry; and which existing routes
//! already match.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Secret, Service};
use k8s_openapi::api::networking::v1::{HTTPIngressPath, Ingress, IngressRule, IngressTLS};
use serde_json::{Value, json};

/// The IngressClass controller whose ingresses become routes.
pub const CLASS_CONTROLLER: &str = "openshift.io/ingress-to-route";
const TERMINATION: &str = "route.openshift.io/termination";
const OWNER_VERSIONS: [&str; 3] = [
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "extensions.k8s.io/v1beta1",
];

/// The class an Ingress names (its `kubernetes.io/ingress.class` annotation first).
pub fn class_of(ingress: &Ingress) -> Option<String> {
    ingress
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("kubernetes.io/ingress.class").cloned())
        .or_else(|| ingress.spec.as_ref()?.ingress_class_name.clone())
}

/// The name of the Ingress a route is owned by (a controller reference), if any.
pub fn owning_ingress(route: &Value) -> Option<&str> {
    route["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| {
            r["kind"] == "Ingress"
                && r["controller"] == true
                && OWNER_VERSIONS.contains(&r["apiVersion"].as_str().unwrap_or_default())
        })?["name"]
        .as_str()
}

/// One route the Ingress stands for: its rule's host, path and backend service.
pub struct Wanted<'a> {
    pub rule: &'a IngressRule,
    pub path: &'a HTTPIngressPath,
}

/// Every (rule, path) that makes a route.
pub fn wanted(ingress: &Ingress) -> Vec<Wanted<'_>> {
    let rules = ingress.spec.as_ref().and_then(|s| s.rules.as_ref());
    let mut all = Vec::new();
    for rule in rules.into_iter().flatten() {
        let (Some(host), Some(http)) = (&rule.host, &rule.http) else {
            continue;
        };
        if host.is_empty() {
            continue;
        }
        for path in &http.paths {
            let named = path
                .backend
                .service
                .as_ref()
                .is_some_and(|s| !s.name.is_empty());
            if named && path.path_type != "Exact" {
                all.push(Wanted { rule, path });
            }
        }
    }
    all
}

impl Wanted<'_> {
    pub fn host(&self) -> &str {
        self.rule.host.as_deref().unwrap_or_default()
    }

    pub fn path(&self) -> &str {
        self.path.path.as_deref().unwrap_or_default()
    }

    pub fn service(&self) -> &str {
        self.path
            .backend
            .service
            .as_ref()
            .map_or("", |s| s.name.as_str())
    }
}

/// The route's target port for the backend: `Ok(None)` for an unnamed service port (every
/// port), `Err` while the service or the port is missing.
pub fn target_port(wanted: &Wanted<'_>, service: Option<&Service>) -> Result<Option<String>, ()> {
    let backend = wanted.path.backend.service.as_ref().ok_or(())?;
    let ports = service
        .ok_or(())?
        .spec
        .as_ref()
        .and_then(|s| s.ports.clone())
        .unwrap_or_default();
    let port = backend.port.as_ref();
    let by_name = port.and_then(|p| p.name.clone()).filter(|n| !n.is_empty());
    let found = match by_name {
        Some(name) => ports.iter().find(|p| p.name.as_deref() == Some(&name)),
        None => {
            let number = port.and_then(|p| p.number).unwrap_or(0);
            ports.iter().find(|p| p.port == number)
        }
    }
    .ok_or(())?;
    Ok(found.name.clone().filter(|n| !n.is_empty()))
}

/// The secret named for the host in the Ingress's TLS entries, if any.
pub fn secret_name<'a>(ingress: &'a Ingress, host: &str) -> Option<&'a str> {
    let tls = ingress.spec.as_ref()?.tls.as_ref()?;
    tls.iter()
        .find(|t| t.hosts.iter().flatten().any(|h| h == host))
        .map(|t| t.secret_name.as_deref().unwrap_or_default())
}

/// The certificate and key of a valid `kubernetes.io/tls` secret.
pub fn tls_pair(secret: &Secret) -> Option<(String, String)> {
    if secret.type_.as_deref() != Some("kubernetes.io/tls") {
        return None;
    }
    let data = secret.data.as_ref()?;
    let text = |key: &str| Some(String::from_utf8_lossy(&data.get(key)?.0).into_owned());
    Some((text("tls.crt")?, text("tls.key")?))
}

fn termination(ingress: &Ingress) -> Option<&str> {
    let value = ingress.metadata.annotations.as_ref()?.get(TERMINATION)?;
    ["edge", "passthrough", "reencrypt"]
        .into_iter()
        .find(|t| t == value)
}

/// The route's `spec.tls`: none unless the termination is annotated, the host has a secret,
/// or the Ingress has an empty TLS entry; then redirecting plain HTTP, with the secret's
/// certificate and key unless passthrough.
pub fn tls_config(ingress: &Ingress, pair: Option<&(String, String)>) -> Option<Value> {
    let empty_entry = ingress
        .spec
        .as_ref()
        .and_then(|s| s.tls.as_ref())
        .is_some_and(|t| t.iter().any(|e| *e == IngressTLS::default()));
    let annotated = termination(ingress);
    if annotated.is_none() && pair.is_none() && !empty_entry {
        return None;
    }
    let termination = annotated.unwrap_or("edge");
    let mut tls = json!({"termination": termination, "insecureEdgeTerminationPolicy": "Redirect"});
    if let (false, Some((cert, key))) = (termination == "passthrough", pair) {
        tls["certificate"] = json!(cert);
        tls["key"] = json!(key);
    }
    Some(tls)
}

/// The spec of the route for `wanted`.
pub fn spec(wanted: &Wanted<'_>, port: Option<&str>, tls: Option<Value>) -> Value {
    let mut spec = json!({
        "host": wanted.host(),
        "path": wanted.path(),
        "to": {"kind": "Service", "name": wanted.service()},
    });
    if let Some(port) = port {
        spec["port"] = json!({"targetPort": port});
    }
    if let Some(tls) = tls {
        spec["tls"] = tls;
    }
    spec
}

/// Whether an existing route already is what the Ingress wants (its plain-HTTP policy may
/// have been changed by its users).
pub fn matches(route: &Value, ingress: &Ingress, wanted_spec: &Value) -> bool {
    let spec = &route["spec"];
    let annotations = ingress.metadata.annotations.clone().unwrap_or_default();
    let route_annotations: BTreeMap<String, String> =
        serde_json::from_value(route["metadata"]["annotations"].clone()).unwrap_or_default();
    let same = spec["host"] == wanted_spec["host"]
        && spec["path"].as_str().unwrap_or_default() == wanted_spec["path"]
        && spec["to"]["name"] == wanted_spec["to"]["name"]
        && spec["wildcardPolicy"].as_str().unwrap_or("None") == "None"
        && spec["alternateBackends"]
            .as_array()
            .is_none_or(|a| a.is_empty())
        && route_annotations == annotations
        && route["metadata"]["ownerReferences"][0]["apiVersion"] == "networking.k8s.io/v1"
        && spec["port"]["targetPort"] == wanted_spec["port"]["targetPort"];
    if !same {
        return false;
    }
    let mut tls = wanted_spec["tls"].clone();
    if let (Some(t), Some(policy)) = (
        tls.as_object_mut(),
        spec["tls"].get("insecureEdgeTerminationPolicy"),
    ) {
        t.insert("insecureEdgeTerminationPolicy".into(), policy.clone());
    }
    without_empty(&tls) == without_empty(&spec["tls"])
}

/// A TLS object without its empty strings (the API server drops or keeps them alike).
fn without_empty(v: &Value) -> Value {
    match v.as_object() {
        Some(o) => Value::Object(
            o.iter()
                .filter(|(_, v)| v.as_str() != Some(""))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        None => Value::Null,
    }
}

/// What of the existing route is kept in an update: its weight, and under TLS its CA
/// certificates and plain-HTTP policy.
pub fn preserve(spec: &mut Value, existing: &Value) {
    if let Some(weight) = existing["to"].get("weight") {
        spec["to"]["weight"] = weight.clone();
    }
    if spec["tls"].is_object() && existing["tls"].is_object() {
        for field in [
            "caCertificate",
            "destinationCACertificate",
            "insecureEdgeTerminationPolicy",
        ] {
            match existing["tls"].get(field) {
                Some(v) => spec["tls"][field] = v.clone(),
                None => drop(spec["tls"].as_object_mut().and_then(|t| t.remove(field))),
            }
        }
    }
}

/// A route name from the Ingress's (`<ingress>-<5 random characters>`, the base cut to 58
/// characters), with upstream's alphabet.
pub fn route_name(ingress: &str, random: impl FnMut(usize) -> usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut random = random;
    let mut base = format!("{ingress}-");
    base.truncate(58);
    let suffix: String = (0..5)
        .map(|_| ALPHABET[random(ALPHABET.len())] as char)
        .collect();
    format!("{base}{suffix}")
}

/// The canonical host names of the routers that admitted `route`.
pub fn admitted_by(route: &Value) -> Vec<String> {
    route["status"]["ingress"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| {
            i["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .find(|c| c["type"] == "Admitted")
                    .is_some_and(|c| c["status"] == "True")
            })
        })
        .filter_map(|i| i["routerCanonicalHostname"].as_str().map(str::to_string))
        .filter(|h| !h.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ingress(value: Value) -> Ingress {
        serde_json::from_value(value).unwrap()
    }

    fn service(ports: Value) -> Service {
        serde_json::from_value(json!({"metadata": {"name": "web"}, "spec": {"ports": ports}}))
            .unwrap()
    }

    fn sample() -> Ingress {
        ingress(json!({
            "metadata": {"name": "shop", "namespace": "ns", "annotations": {"a": "b"}},
            "spec": {
                "tls": [{"hosts": ["secure.example"], "secretName": "cert"}],
                "rules": [
                    {"host": "www.example", "http": {"paths": [
                        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}},
                        {"path": "/exact", "pathType": "Exact", "backend": {"service": {"name": "web", "port": {"number": 80}}}},
                        {"path": "/api", "pathType": "ImplementationSpecific", "backend": {"service": {"name": "api", "port": {"name": "http"}}}},
                    ]}},
                    {"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}},
                    {"host": "secure.example", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}},
                ]
            }
        }))
    }

    #[test]
    fn one_route_per_host_and_path_but_exact_ones() {
        let ing = sample();
        let all: Vec<(String, String, String)> = wanted(&ing)
            .iter()
            .map(|w| (w.host().into(), w.path().into(), w.service().into()))
            .collect();
        assert_eq!(
            all,
            [
                ("www.example".into(), "/".into(), "web".into()),
                ("www.example".into(), "/api".into(), "api".into()),
                ("secure.example".into(), "/".into(), "web".into()),
            ]
        );
    }

    #[test]
    fn target_ports_are_service_port_names() {
        let ing = sample();
        let w = wanted(&ing);
        let named = service(json!([{"name": "http", "port": 80}]));
        let unnamed = service(json!([{"port": 80}]));
        assert_eq!(target_port(&w[0], Some(&named)), Ok(Some("http".into())));
        assert_eq!(target_port(&w[0], Some(&unnamed)), Ok(None));
        assert_eq!(target_port(&w[0], None), Err(()));
        assert_eq!(
            target_port(&w[0], Some(&service(json!([{"name": "x", "port": 81}])))),
            Err(())
        );
        assert_eq!(target_port(&w[1], Some(&named)), Ok(Some("http".into())));
    }

    #[test]
    fn tls_from_the_secret_annotation_or_empty_entry() {
        let ing = sample();
        assert_eq!(secret_name(&ing, "secure.example"), Some("cert"));
        assert_eq!(secret_name(&ing, "www.example"), None);
        let pair = ("CERT".to_string(), "KEY".to_string());
        assert_eq!(
            tls_config(&ing, Some(&pair)),
            Some(
                json!({"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect",
                "certificate": "CERT", "key": "KEY"})
            )
        );
        assert_eq!(tls_config(&ing, None), None);
        let mut pass = ing.clone();
        pass.metadata.annotations = Some(BTreeMap::from([(
            TERMINATION.to_string(),
            "passthrough".to_string(),
        )]));
        assert_eq!(
            tls_config(&pass, Some(&pair)),
            Some(
                json!({"termination": "passthrough", "insecureEdgeTerminationPolicy": "Redirect"})
            )
        );
        let empty = ingress(json!({"metadata": {"name": "e"}, "spec": {"tls": [{}]}}));
        assert_eq!(
            tls_config(&empty, None),
            Some(json!({"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}))
        );
        let secret: Secret = serde_json::from_value(json!({"type": "kubernetes.io/tls",
            "data": {"tls.crt": "Q0VSVA==", "tls.key": "S0VZ"}}))
        .unwrap();
        assert_eq!(tls_pair(&secret), Some(pair));
        let opaque: Secret = serde_json::from_value(json!({"type": "Opaque",
            "data": {"tls.crt": "Q0VSVA==", "tls.key": "S0VZ"}}))
        .unwrap();
        assert_eq!(tls_pair(&opaque), None);
    }

    #[test]
    fn existing_routes_match_until_the_ingress_changes() {
        let ing = sample();
        let w = wanted(&ing);
        let want = spec(&w[0], Some("http"), None);
        let route = json!({
            "metadata": {"annotations": {"a": "b"}, "ownerReferences": [
                {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "shop", "controller": true}]},
            "spec": {"host": "www.example", "path": "/", "to": {"kind": "Service", "name": "web", "weight": 100},
                "port": {"targetPort": "http"}, "wildcardPolicy": "None"}
        });
        assert_eq!(owning_ingress(&route), Some("shop"));
        assert!(matches(&route, &ing, &want));
        assert!(!matches(&route, &ing, &spec(&w[0], Some("other"), None)));
        let mut annotated = route.clone();
        annotated["metadata"]["annotations"]["c"] = json!("d");
        assert!(!matches(&annotated, &ing, &want));
        let mut updated = spec(&w[0], Some("http"), None);
        preserve(&mut updated, &route["spec"]);
        assert_eq!(updated["to"]["weight"], 100);
    }

    #[test]
    fn names_and_admitting_routers() {
        let mut n = 0;
        let name = route_name("shop", |len| {
            n += 1;
            n % len
        });
        assert_eq!(name, "shop-cdfgh");
        assert_eq!(route_name(&"x".repeat(70), |_| 0).len(), 63);
        let route = json!({"status": {"ingress": [
            {"routerCanonicalHostname": "router-default.apps", "conditions": [{"type": "Admitted", "status": "True"}]},
            {"routerCanonicalHostname": "router-b.apps", "conditions": [{"type": "Admitted", "status": "False"}]}]}});
        assert_eq!(admitted_by(&route), ["router-default.apps"]);
    }
}
