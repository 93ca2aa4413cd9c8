//! Ingresses, ingress classes and network policies: a policy's default types and port
//! protocols, an ingress's basic rules (something to route to, typed absolute paths, one
//! backend each), and a class's controller (required, never changed).

use api::scheme::ResourceDef;
use serde_json::{Value, json};

use crate::registry::core::defaults::{default, items};
use crate::registry::strategy::Strategy;
use crate::registry::validation::{Bad, FieldErrors, index};

pub struct NetworkPolicies;

impl Strategy for NetworkPolicies {
    fn prepare(&self, obj: &mut Value) {
        let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) else {
            return;
        };
        for direction in ["ingress", "egress"] {
            for rule in items(spec, direction) {
                for port in items(rule, "ports") {
                    default(port, "protocol", json!("TCP"));
                }
            }
        }
        if spec["policyTypes"].as_array().is_none_or(Vec::is_empty) {
            let egress = spec["egress"].as_array().is_some_and(|e| !e.is_empty());
            spec["policyTypes"] = match egress {
                true => json!(["Ingress", "Egress"]),
                false => json!(["Ingress"]),
            };
        }
    }

    fn validate(&self, _: &ResourceDef, obj: &Value, _: Option<&Value>, errors: &mut FieldErrors) {
        let types = obj["spec"]["policyTypes"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        for (i, t) in types.iter().enumerate() {
            let t = t.as_str().unwrap_or_default();
            if !["Ingress", "Egress"].contains(&t) {
                errors.not_supported(
                    &index("spec.policyTypes", i),
                    Bad::Str(t),
                    &["Ingress", "Egress"],
                );
            }
        }
        if types.len() > 2 {
            errors.invalid(
                "spec.policyTypes",
                Bad::Go(format!("{types:?}")),
                "may not specify more than two policyTypes",
            );
        }
    }
}

pub struct IngressClasses;

impl Strategy for IngressClasses {
    fn validate(
        &self,
        _: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        let controller = &obj["spec"]["controller"];
        if controller.as_str().unwrap_or_default().is_empty() {
            errors.required("spec.controller", "");
        }
        if let Some(old) = old
            && old["spec"]["controller"] != *controller
        {
            errors.invalid(
                "spec.controller",
                crate::registry::validation::bad(controller),
                "field is immutable",
            );
        }
    }
}

pub struct Ingresses;

impl Strategy for Ingresses {
    fn validate(&self, _: &ResourceDef, obj: &Value, _: Option<&Value>, errors: &mut FieldErrors) {
        let spec = &obj["spec"];
        let rules = spec["rules"].as_array().map_or(&[][..], Vec::as_slice);
        if rules.is_empty() && !spec["defaultBackend"].is_object() {
            errors.invalid(
                "spec",
                Bad::Go("[]networking.IngressRule(nil)".into()),
                "either `defaultBackend` or `rules` must be specified",
            );
        }
        if spec["defaultBackend"].is_object() {
            backend(&spec["defaultBackend"], "spec.defaultBackend", errors);
        }
        for (i, rule) in rules.iter().enumerate() {
            let paths = rule["http"]["paths"]
                .as_array()
                .map_or(&[][..], Vec::as_slice);
            for (j, path) in paths.iter().enumerate() {
                let at = format!("{}.http.paths[{j}]", index("spec.rules", i));
                http_path(path, &at, errors);
            }
        }
    }
}

fn http_path(path: &Value, at: &str, errors: &mut FieldErrors) {
    let kinds = ["Exact", "ImplementationSpecific", "Prefix"];
    match path["pathType"].as_str() {
        None | Some("") => errors.required(&format!("{at}.pathType"), "pathType must be specified"),
        Some(kind) if !kinds.contains(&kind) => {
            errors.not_supported(&format!("{at}.pathType"), Bad::Str(kind), &kinds)
        }
        Some("ImplementationSpecific") => {}
        Some(_) => {
            let p = path["path"].as_str().unwrap_or_default();
            if !p.starts_with('/') {
                errors.invalid(
                    &format!("{at}.path"),
                    Bad::Str(p),
                    "must be an absolute path",
                );
            }
        }
    }
    backend(&path["backend"], &format!("{at}.backend"), errors);
}

/// An ingress backend: a service (a name and a port name or number) or a resource.
fn backend(backend: &Value, at: &str, errors: &mut FieldErrors) {
    let service = &backend["service"];
    match (service.is_object(), backend["resource"].is_object()) {
        (true, true) => errors.invalid(
            at,
            Bad::Str(""),
            "cannot set both resource and service backends",
        ),
        (false, true) => {}
        (false, false) => {
            errors.invalid(at, Bad::Str(""), "resource or service backend is required")
        }
        (true, false) => {
            if service["name"].as_str().unwrap_or_default().is_empty() {
                errors.required(&format!("{at}.service.name"), "");
            }
            let name = service["port"]["name"].as_str().unwrap_or_default();
            let number = service["port"]["number"].as_i64().unwrap_or(0);
            match (name.is_empty(), number) {
                (false, n) if n != 0 => {
                    errors.invalid(at, Bad::Str(""), "cannot set both port name & port number")
                }
                (true, 0) => errors.required(at, "port name or number is required"),
                (true, n) if !(1..=65535).contains(&n) => errors.invalid(
                    &format!("{at}.service.port.number"),
                    Bad::Int(n),
                    "must be between 1 and 65535, inclusive",
                ),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::validation::messages;

    fn check(spec: Value) -> String {
        let def = *api::Scheme::builtin()
            .lookup("networking.k8s.io", "v1", "ingresses")
            .expect("served");
        let obj = json!({"metadata": {"name": "web"}, "spec": spec});
        let mut errors = FieldErrors::default();
        Ingresses.validate(&def, &obj, None, &mut errors);
        messages(errors.into_result(&def, &obj))
    }

    #[test]
    fn ingresses_refuse_what_upstream_refuses() {
        let route =
            |path: Value| json!({"rules": [{"host": "a.example.com", "http": {"paths": [path]}}]});
        let web = json!({"service": {"name": "web", "port": {"number": 80}}});
        assert_eq!(
            check(route(
                json!({"path": "/", "pathType": "Prefix", "backend": web})
            )),
            ""
        );
        assert_eq!(
            check(json!({})),
            "spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified\n"
        );
        assert_eq!(
            check(route(json!({"path": "/", "backend": web}))),
            "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified\n"
        );
        assert_eq!(
            check(route(
                json!({"path": "api", "pathType": "Exact", "backend": web})
            )),
            "spec.rules[0].http.paths[0].path: Invalid value: \"api\": must be an absolute path\n"
        );
        assert_eq!(
            check(route(
                json!({"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {}}}})
            )),
            "spec.rules[0].http.paths[0].backend: Required value: port name or number is required\n"
        );
    }

    #[test]
    fn network_policies_get_upstreams_defaults() {
        let mut policy =
            json!({"spec": {"podSelector": {}, "egress": [{"ports": [{"port": 53}]}]}});
        NetworkPolicies.prepare(&mut policy);
        assert_eq!(policy["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
        assert_eq!(policy["spec"]["egress"][0]["ports"][0]["protocol"], "TCP");
        let mut ingress_only = json!({"spec": {"podSelector": {}}});
        NetworkPolicies.prepare(&mut ingress_only);
        assert_eq!(ingress_only["spec"]["policyTypes"], json!(["Ingress"]));
    }
}
