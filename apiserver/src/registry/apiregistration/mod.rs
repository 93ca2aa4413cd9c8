//! APIServices (`apiregistration.k8s.io/v1`): the default service port, and kube-aggregator's
//! rules in its words: the name is `<version>.<group>`, priorities in range, and a service
//! (an aggregated server) or none (`Local`, served here), with `caBundle` and
//! `insecureSkipTLSVerify` exclusive.

use api::scheme::ResourceDef;
use serde_json::{Value, json};

use crate::registry::strategy::Strategy;
use crate::registry::validation::{Bad, FieldErrors, bad};

pub struct ApiServices;

impl Strategy for ApiServices {
    fn prepare(&self, obj: &mut Value) {
        if let Some(service) = obj["spec"]["service"].as_object_mut() {
            service.entry("port").or_insert(json!(443));
        }
    }

    fn validate(&self, _: &ResourceDef, obj: &Value, _: Option<&Value>, errors: &mut FieldErrors) {
        let spec = &obj["spec"];
        let group = spec["group"].as_str().unwrap_or_default();
        let version = spec["version"].as_str().unwrap_or_default();
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let required = format!("{version}.{group}");
        if !name.is_empty() && api::names::path_segment(name).is_empty() && name != required {
            errors.invalid(
                "metadata.name",
                Bad::Str(name),
                &format!("must be `spec.version+\".\"+spec.group`: {required:?}"),
            );
        }
        if group.is_empty() && version != "v1" {
            errors.required(
                "spec.group",
                "only v1 may have an empty group and it better be legacy kube",
            );
        }
        if !group.is_empty() {
            for message in api::names::dns1123_subdomain(group) {
                errors.invalid("spec.group", Bad::Str(group), &message);
            }
        }
        for message in api::names::dns1035_label(version) {
            errors.invalid("spec.version", Bad::Str(version), &message);
        }
        let group_priority = spec["groupPriorityMinimum"].as_i64().unwrap_or(0);
        if group_priority <= 0 || group_priority > 20000 {
            errors.invalid(
                "spec.groupPriorityMinimum",
                Bad::Int(group_priority),
                "must be positive and less than 20000",
            );
        }
        let version_priority = spec["versionPriority"].as_i64().unwrap_or(0);
        if version_priority <= 0 || version_priority > 1000 {
            errors.invalid(
                "spec.versionPriority",
                Bad::Int(version_priority),
                "must be positive and less than 1000",
            );
        }
        let ca_bundle = spec["caBundle"].as_str().unwrap_or_default();
        let insecure = spec["insecureSkipTLSVerify"].as_bool().unwrap_or(false);
        let Some(service) = spec["service"].as_object() else {
            if !ca_bundle.is_empty() {
                let size = format!("\"{} bytes\"", decoded_len(ca_bundle));
                errors.invalid(
                    "spec.caBundle",
                    Bad::Go(size),
                    "local APIServices may not have a caBundle",
                );
            }
            if insecure {
                errors.invalid(
                    "spec.insecureSkipTLSVerify",
                    Bad::Go("true".into()),
                    "local APIServices may not have insecureSkipTLSVerify",
                );
            }
            return;
        };
        for field in ["namespace", "name"] {
            if service
                .get(field)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .is_empty()
            {
                errors.required(&format!("spec.service.{field}"), "");
            }
        }
        let port = service.get("port").unwrap_or(&Value::Null);
        if !port.as_i64().is_some_and(|p| (1..=65535).contains(&p)) {
            errors.invalid(
                "spec.service.port",
                bad(port),
                "port is not valid: must be between 1 and 65535, inclusive",
            );
        }
        if insecure && !ca_bundle.is_empty() {
            errors.invalid(
                "spec.insecureSkipTLSVerify",
                Bad::Go("true".into()),
                "may not be true if caBundle is present",
            );
        }
    }
}

/// The size of a base64 value once decoded (what upstream counts, holding bytes).
fn decoded_len(base64: &str) -> usize {
    let padding = base64.bytes().rev().take_while(|b| *b == b'=').count();
    (base64.len() / 4 * 3).saturating_sub(padding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::validation::validated;

    fn check(obj: &Value) -> String {
        let mut obj = obj.clone();
        ApiServices.prepare(&mut obj);
        validated(
            &ApiServices,
            ("apiregistration.k8s.io", "v1", "apiservices"),
            &obj,
            None,
        )
    }

    fn service(name: &str, spec: Value) -> Value {
        json!({"metadata": {"name": name}, "spec": spec})
    }

    #[test]
    fn valid_local_and_external() {
        let local = service(
            "v1.apps",
            json!({"group": "apps", "version": "v1", "groupPriorityMinimum": 17800, "versionPriority": 15}),
        );
        assert_eq!(check(&local), "");
        let external = service(
            "v1beta1.metrics.k8s.io",
            json!({"group": "metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100,
                "versionPriority": 100, "service": {"namespace": "kube-system", "name": "metrics-server"},
                "caBundle": "Y2E="}),
        );
        assert_eq!(check(&external), "");
        let core = service(
            "v1.",
            json!({"group": "", "version": "v1", "groupPriorityMinimum": 18000, "versionPriority": 1}),
        );
        assert_eq!(check(&core), "");
    }

    #[test]
    fn upstream_messages() {
        let wrong = service(
            "v1.other",
            json!({"group": "apps", "version": "v1", "groupPriorityMinimum": 0, "versionPriority": 1001,
                "caBundle": "Y2E=", "insecureSkipTLSVerify": true}),
        );
        assert_eq!(
            check(&wrong),
            "metadata.name: Invalid value: \"v1.other\": must be `spec.version+\".\"+spec.group`: \"v1.apps\"\n\
             spec.groupPriorityMinimum: Invalid value: 0: must be positive and less than 20000\n\
             spec.versionPriority: Invalid value: 1001: must be positive and less than 1000\n\
             spec.caBundle: Invalid value: \"2 bytes\": local APIServices may not have a caBundle\n\
             spec.insecureSkipTLSVerify: Invalid value: true: local APIServices may not have insecureSkipTLSVerify\n"
        );
        let external = service(
            "V1.",
            json!({"group": "", "version": "V1", "groupPriorityMinimum": 1, "versionPriority": 1,
                "service": {"port": 70000}, "caBundle": "Y2E=", "insecureSkipTLSVerify": true}),
        );
        let messages = check(&external);
        for expected in [
            "spec.group: Required value: only v1 may have an empty group and it better be legacy kube",
            "spec.version: Invalid value: \"V1\": a DNS-1035 label must consist of",
            "spec.service.namespace: Required value",
            "spec.service.name: Required value",
            "spec.service.port: Invalid value: 70000: port is not valid: must be between 1 and 65535, inclusive",
            "spec.insecureSkipTLSVerify: Invalid value: true: may not be true if caBundle is present",
        ] {
            assert!(messages.contains(expected), "{expected}\n{messages}");
        }
    }

    #[test]
    fn service_port_defaults_to_443() {
        let mut obj = json!({"spec": {"service": {"namespace": "a", "name": "b"}}});
        ApiServices.prepare(&mut obj);
        assert_eq!(obj["spec"]["service"]["port"], 443);
        let mut local = json!({"spec": {"service": null}});
        ApiServices.prepare(&mut local);
        assert_eq!(local["spec"]["service"], Value::Null);
    }
}
