//! A PodSpec, wherever a kind embeds one: containers (names, images, ports, environment,
//! policies) and volumes, as upstream's `ValidatePodSpec` refuses them.

use std::collections::HashSet;

use api::names;
use serde_json::Value;

use super::errors::{Bad, FieldErrors, bad, index};

const PULL_POLICIES: &[&str] = &["Always", "IfNotPresent", "Never"];
const RESTART_POLICIES: &[&str] = &["Always", "OnFailure", "Never"];
const DNS_POLICIES: &[&str] = &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
const ENV_NAME_RULE: &str = "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')";

/// The PodSpec at the dotted `path` of `obj`, if it is there.
pub fn pod_spec_at(obj: &Value, path: &str, errors: &mut FieldErrors) {
    let spec = path.split('.').fold(obj, |v, key| &v[key]);
    if spec.is_object() {
        pod_spec(spec, path, errors);
    }
}

fn pod_spec(spec: &Value, path: &str, errors: &mut FieldErrors) {
    let mut names = HashSet::new();
    let containers = spec["containers"].as_array().filter(|c| !c.is_empty());
    match containers {
        Some(list) => containers_at(list, &format!("{path}.containers"), &mut names, errors),
        None => errors.required(&format!("{path}.containers"), ""),
    }
    if let Some(list) = spec["initContainers"].as_array() {
        containers_at(list, &format!("{path}.initContainers"), &mut names, errors);
    }
    volumes(&spec["volumes"], &format!("{path}.volumes"), errors);
    one_of(spec, "restartPolicy", path, RESTART_POLICIES, errors);
    one_of(spec, "dnsPolicy", path, DNS_POLICIES, errors);
    for field in ["terminationGracePeriodSeconds", "activeDeadlineSeconds"] {
        if let Some(n) = spec[field].as_i64() {
            let minimum = if field == "activeDeadlineSeconds" {
                1
            } else {
                0
            };
            if n < minimum {
                let detail = match minimum {
                    0 => "must be greater than or equal to 0",
                    _ => "must be between 1 and 2147483647, inclusive",
                };
                errors.invalid(&format!("{path}.{field}"), Bad::Int(n), detail);
            }
        }
    }
}

/// `obj[field]`, when set, is one of `supported`.
fn one_of(obj: &Value, field: &str, path: &str, supported: &[&str], errors: &mut FieldErrors) {
    if let Some(value) = obj[field].as_str()
        && !supported.contains(&value)
    {
        errors.not_supported(&format!("{path}.{field}"), Bad::Str(value), supported);
    }
}

fn containers_at(
    list: &[Value],
    base: &str,
    names: &mut HashSet<String>,
    errors: &mut FieldErrors,
) {
    for (i, container) in list.iter().enumerate() {
        let path = index(base, i);
        let name = container["name"].as_str().unwrap_or_default();
        if name.is_empty() {
            errors.required(&format!("{path}.name"), "");
        } else {
            for message in names::dns1123_label(name) {
                errors.invalid(&format!("{path}.name"), Bad::Str(name), &message);
            }
            if !names.insert(name.to_string()) {
                errors.duplicate(&format!("{path}.name"), Bad::Str(name));
            }
        }
        // A pod template may hold a blank image (" ") an image trigger fills in; only a real
        // pod's (`spec.containers`) must be free of surrounding whitespace.
        let image = container["image"].as_str().unwrap_or_default();
        if image.is_empty() {
            errors.required(&format!("{path}.image"), "");
        } else if matches!(base, "spec.containers" | "spec.initContainers") && image.trim() != image
        {
            errors.invalid(
                &format!("{path}.image"),
                Bad::Str(image),
                "must not have leading or trailing whitespace",
            );
        }
        one_of(container, "imagePullPolicy", &path, PULL_POLICIES, errors);
        ports(&container["ports"], &format!("{path}.ports"), errors);
        env(&container["env"], &format!("{path}.env"), errors);
    }
}

fn port_range(value: &Value, field: &str, errors: &mut FieldErrors) {
    if let Some(port) = value.as_i64()
        && !(1..=65535).contains(&port)
    {
        errors.invalid(
            field,
            Bad::Int(port),
            "must be between 1 and 65535, inclusive",
        );
    }
}

fn ports(ports: &Value, base: &str, errors: &mut FieldErrors) {
    let Some(list) = ports.as_array() else {
        return;
    };
    let mut names = HashSet::new();
    for (i, port) in list.iter().enumerate() {
        let path = index(base, i);
        match port.get("containerPort") {
            Some(p) if !p.is_null() => port_range(p, &format!("{path}.containerPort"), errors),
            _ => errors.required(&format!("{path}.containerPort"), ""),
        }
        if port["hostPort"].as_i64().is_some_and(|p| p != 0) {
            port_range(&port["hostPort"], &format!("{path}.hostPort"), errors);
        }
        one_of(port, "protocol", &path, PROTOCOLS, errors);
        if let Some(name) = port["name"].as_str().filter(|n| !n.is_empty()) {
            for message in port_name(name) {
                errors.invalid(&format!("{path}.name"), Bad::Str(name), &message);
            }
            if !names.insert(name.to_string()) {
                errors.duplicate(&format!("{path}.name"), Bad::Str(name));
            }
        }
    }
}

/// Problems with `name` as a port name (an IANA service name); empty when valid.
pub fn port_name(name: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if name.len() > 15 {
        errors.push("must be no more than 15 characters".to_string());
    }
    if !name
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    {
        errors
            .push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".into());
    }
    if !name.bytes().any(|c| c.is_ascii_lowercase()) {
        errors.push("must contain at least one letter (a-z)".into());
    }
    if name.contains("--") {
        errors.push("must not contain consecutive hyphens".into());
    }
    if name.starts_with('-') || name.ends_with('-') {
        errors.push("must not begin or end with a hyphen".into());
    }
    errors
}

fn env(env: &Value, base: &str, errors: &mut FieldErrors) {
    let Some(list) = env.as_array() else {
        return;
    };
    for (i, var) in list.iter().enumerate() {
        let field = format!("{}.name", index(base, i));
        let name = var["name"].as_str().unwrap_or_default();
        if name.is_empty() {
            errors.required(&field, "");
            continue;
        }
        let valid = name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
            && !name.as_bytes()[0].is_ascii_digit();
        if !valid {
            errors.invalid(&field, Bad::Str(name), ENV_NAME_RULE);
        }
    }
}

fn volumes(volumes: &Value, base: &str, errors: &mut FieldErrors) {
    let Some(list) = volumes.as_array() else {
        return;
    };
    let mut seen = HashSet::new();
    for (i, volume) in list.iter().enumerate() {
        let field = format!("{}.name", index(base, i));
        let name = volume["name"].as_str().unwrap_or_default();
        if name.is_empty() {
            errors.required(&field, "");
            continue;
        }
        for message in names::dns1123_label(name) {
            errors.invalid(&field, Bad::Str(name), &message);
        }
        if !seen.insert(name.to_string()) {
            errors.duplicate(&field, bad(&volume["name"]));
        }
    }
}
