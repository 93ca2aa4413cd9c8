//! A route's defaults, as upstream's v1 defaulting: a wildcard policy of `None`, a backend of
//! kind Service with weight 100, TLS termination in lower case (`edge` when empty and there is
//! no destination CA), and `None` as each status ingress entry's wildcard policy.

use serde_json::{Value, json};

use crate::registry::core::defaults::{default, items};

pub fn apply(obj: &mut Value) {
    if let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) {
        default(spec, "wildcardPolicy", json!("None"));
        if spec["wildcardPolicy"] == "" {
            spec["wildcardPolicy"] = json!("None");
        }
        if let Some(to) = spec.get_mut("to").filter(|t| t.is_object()) {
            backend(to);
        }
        for alternate in items(spec, "alternateBackends") {
            backend(alternate);
        }
        if let Some(tls) = spec.get_mut("tls").filter(|t| t.is_object()) {
            termination(tls);
        }
    }
    if let Some(status) = obj.get_mut("status").filter(|s| s.is_object()) {
        for ingress in items(status, "ingress") {
            default(ingress, "wildcardPolicy", json!("None"));
        }
    }
}

fn backend(to: &mut Value) {
    if to["kind"].as_str().is_none_or(str::is_empty) {
        to["kind"] = json!("Service");
    }
    if to.get("weight").is_none_or(Value::is_null) {
        to["weight"] = json!(100);
    }
}

fn termination(tls: &mut Value) {
    let termination = tls["termination"].as_str().unwrap_or_default();
    let dest_ca = tls["destinationCACertificate"]
        .as_str()
        .is_some_and(|c| !c.is_empty());
    let normalised = match termination {
        "" if !dest_ca => "edge",
        "Edge" => "edge",
        "Passthrough" => "passthrough",
        "Reencrypt" => "reencrypt",
        _ => return,
    };
    tls["termination"] = json!(normalised);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_route_gets_upstreams_defaults() {
        let mut route = json!({"spec": {"to": {"name": "web"}, "tls": {"termination": "Passthrough"},
            "alternateBackends": [{"name": "b", "weight": 0}]}});
        apply(&mut route);
        assert_eq!(route["spec"]["wildcardPolicy"], "None");
        assert_eq!(
            route["spec"]["to"],
            json!({"kind": "Service", "name": "web", "weight": 100})
        );
        assert_eq!(route["spec"]["alternateBackends"][0]["weight"], 0);
        assert_eq!(route["spec"]["tls"]["termination"], "passthrough");

        let mut empty_tls = json!({"spec": {"to": {"name": "web"}, "tls": {}}});
        apply(&mut empty_tls);
        assert_eq!(empty_tls["spec"]["tls"]["termination"], "edge");
    }
}
