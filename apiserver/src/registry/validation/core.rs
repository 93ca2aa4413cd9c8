//! Core kinds with rules of their own: config maps and secrets (keys, sizes, typed secrets),
//! services (type, ports) and namespaces.

use std::collections::HashSet;

use api::names;
use serde_json::Value;

use super::errors::{Bad, FieldErrors, index, key};
use super::pods::port_name;

/// Upstream's limit on a config map's or secret's data.
const MAX_DATA_BYTES: usize = 1024 * 1024;
const SERVICE_TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];

/// Keys of `data` and `binaryData`, each a valid config key and in one of them only; their
/// total size.
fn data_keys(obj: &Value, errors: &mut FieldErrors) -> usize {
    let mut size = 0;
    let mut seen = HashSet::new();
    for field in ["data", "binaryData", "stringData"] {
        let Some(map) = obj[field].as_object() else {
            continue;
        };
        for (name, value) in map {
            for message in names::config_key(name) {
                errors.invalid(&key(field, name), Bad::Str(name), &message);
            }
            if field == "binaryData" && !seen.insert(name.clone()) {
                errors.invalid(
                    &key(field, name),
                    Bad::Str(name),
                    "duplicate of key present in data",
                );
            }
            seen.insert(name.clone());
            size += value.as_str().map_or(0, str::len);
        }
    }
    size
}

pub fn config_map(obj: &Value, errors: &mut FieldErrors) {
    if data_keys(obj, errors) > MAX_DATA_BYTES {
        errors.too_long("", MAX_DATA_BYTES);
    }
}

pub fn secret(obj: &Value, errors: &mut FieldErrors) {
    // Stored data is base64: its decoded size is about three quarters of it.
    if data_keys(obj, errors) * 3 / 4 > MAX_DATA_BYTES {
        errors.too_long("data", MAX_DATA_BYTES);
    }
    let has = |k: &str| obj["data"].get(k).is_some() || obj["stringData"].get(k).is_some();
    let required: &[&str] = match obj["type"].as_str().unwrap_or_default() {
        "kubernetes.io/dockerconfigjson" => &[".dockerconfigjson"],
        "kubernetes.io/dockercfg" => &[".dockercfg"],
        "kubernetes.io/tls" => &["tls.crt", "tls.key"],
        "kubernetes.io/ssh-auth" => &["ssh-privatekey"],
        _ => &[],
    };
    for k in required.iter().filter(|k| !has(k)) {
        errors.required(&key("data", k), "");
    }
    if obj["type"] == "kubernetes.io/service-account-token"
        && obj["metadata"]["annotations"]["kubernetes.io/service-account.name"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    {
        errors.required(
            "metadata.annotations[kubernetes.io/service-account.name]",
            "",
        );
    }
}

pub fn service(obj: &Value, errors: &mut FieldErrors) {
    let spec = &obj["spec"];
    let kind = spec["type"].as_str().unwrap_or("ClusterIP");
    if !SERVICE_TYPES.contains(&kind) {
        errors.not_supported("spec.type", Bad::Str(kind), SERVICE_TYPES);
    }
    let ports = spec["ports"].as_array().map_or(&[][..], Vec::as_slice);
    let headless = spec["clusterIP"] == "None";
    if ports.is_empty() && kind != "ExternalName" && !headless {
        errors.required("spec.ports", "");
    }
    if kind == "ExternalName" && spec["externalName"].as_str().unwrap_or_default().is_empty() {
        errors.required("spec.externalName", "");
    }
    let mut names = HashSet::new();
    for (i, port) in ports.iter().enumerate() {
        let path = index("spec.ports", i);
        let name = port["name"].as_str().unwrap_or_default();
        if name.is_empty() {
            if ports.len() > 1 {
                errors.required(&format!("{path}.name"), "");
            }
        } else {
            for message in names::dns1123_label(name) {
                errors.invalid(&format!("{path}.name"), Bad::Str(name), &message);
            }
            if !names.insert(name.to_string()) {
                errors.duplicate(&format!("{path}.name"), Bad::Str(name));
            }
        }
        match port["port"].as_i64() {
            Some(p) if (1..=65535).contains(&p) => {}
            Some(p) => errors.invalid(
                &format!("{path}.port"),
                Bad::Int(p),
                "must be between 1 and 65535, inclusive",
            ),
            None => errors.required(&format!("{path}.port"), ""),
        }
        if let Some(protocol) = port["protocol"].as_str()
            && !PROTOCOLS.contains(&protocol)
        {
            errors.not_supported(&format!("{path}.protocol"), Bad::Str(protocol), PROTOCOLS);
        }
        match &port["targetPort"] {
            Value::Number(n) => {
                if let Some(p) = n.as_i64().filter(|p| !(1..=65535).contains(p)) {
                    errors.invalid(
                        &format!("{path}.targetPort"),
                        Bad::Int(p),
                        "must be between 1 and 65535, inclusive",
                    );
                }
            }
            Value::String(s) => {
                for message in port_name(s) {
                    errors.invalid(&format!("{path}.targetPort"), Bad::Str(s), &message);
                }
            }
            _ => {}
        }
    }
}

pub fn namespace(obj: &Value, errors: &mut FieldErrors) {
    let Some(list) = obj["spec"]["finalizers"].as_array() else {
        return;
    };
    for (i, finalizer) in list.iter().enumerate() {
        let name = finalizer.as_str().unwrap_or_default();
        for message in names::qualified_name(name) {
            errors.invalid(&index("spec.finalizers", i), Bad::Str(name), &message);
        }
    }
}
