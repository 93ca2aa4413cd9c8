//! The checks of a service's address fields, with upstream's messages.

use std::net::IpAddr;

use api::status::StatusCause;
use serde_json::Value;

use super::range::Range;
use super::spec::{cluster_ip, cluster_ips, kind, needs_cluster_ip, node_port, ports};
use crate::error::{ApiError, Target};

/// The checks of the address fields, on create and (with `old`) on update.
pub(super) fn validate(svc: &Value, old: Option<&Value>) -> Result<(), ApiError> {
    let spec = &svc["spec"];
    let mut causes = Vec::new();
    if let Some(old) = old {
        immutable_cluster_ips(spec, &old["spec"], &mut causes);
    }
    if needs_cluster_ip(spec) {
        cluster_ip_fields(spec, &mut causes);
    }
    if kind(spec) == "ClusterIP" {
        for (i, port) in ports(spec).iter().enumerate() {
            if node_port(port) != 0 {
                causes.push(forbidden(
                    format!("spec.ports[{i}].nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                ));
            }
        }
    }
    match causes.is_empty() {
        true => Ok(()),
        false => Err(invalid(svc, causes)),
    }
}

/// Upstream's rule: the cluster IPs may be added to or reduced (dual-stack), never changed.
fn immutable_cluster_ips(spec: &Value, old: &Value, causes: &mut Vec<StatusCause>) {
    if !needs_cluster_ip(spec) || !needs_cluster_ip(old) {
        return;
    }
    let (new, before) = (cluster_ips(spec), cluster_ips(old));
    let headless = |ips: &[&str]| ips == ["None"];
    if headless(&new) && headless(&before) {
        return;
    }
    let listed = go_strings(&new);
    let changed = |i: usize| {
        invalid_cause(
            format!("spec.clusterIPs[{i}]"),
            &listed,
            "may not change once set",
        )
    };
    if new.len() == before.len() {
        causes.extend((0..new.len()).filter(|&i| new[i] != before[i]).map(changed));
    } else if new.is_empty() {
        causes.push(invalid_cause(
            "spec.clusterIPs[0]".into(),
            &listed,
            "primary clusterIP can not be unset",
        ));
    } else if !before.is_empty() && new[0] != before[0] {
        causes.push(changed(0));
    }
}

/// `clusterIP`, `clusterIPs`, `ipFamilies` and `ipFamilyPolicy` on this single-stack
/// (IPv4) cluster.
fn cluster_ip_fields(spec: &Value, causes: &mut Vec<StatusCause>) {
    let (ip, ips) = (cluster_ip(spec), cluster_ips(spec));
    let listed = go_strings(&ips);
    let field = || "spec.clusterIPs".to_string();
    if !ip.is_empty() {
        if ips.is_empty() {
            causes.push(StatusCause {
                reason: "FieldValueRequired".into(),
                message: "Required value".into(),
                field: field(),
            });
        } else if ips[0] != ip {
            causes.push(invalid_cause(
                field(),
                &listed,
                "first value must match `clusterIP`",
            ));
        }
    } else if !ips.is_empty() {
        causes.push(invalid_cause(
            field(),
            &listed,
            "must be empty when `clusterIP` is not specified",
        ));
    }
    for (i, family) in spec["ipFamilies"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if family != "IPv4" {
            let shown = format!("{family}");
            causes.push(invalid_cause(
                format!("spec.ipFamilies[{i}]"),
                &shown,
                "not configured on this cluster",
            ));
        }
    }
    if spec["ipFamilyPolicy"] == "RequireDualStack" {
        causes.push(invalid_cause(
            "spec.ipFamilyPolicy".into(),
            "\"RequireDualStack\"",
            "this cluster is not configured for dual-stack services",
        ));
    }
    for (i, value) in ips.iter().enumerate() {
        if i == 0 && *value == "None" {
            if ips.len() > 1 {
                causes.push(invalid_cause(
                    field(),
                    &listed,
                    "'None' must be the first and only value",
                ));
            }
            continue;
        }
        match value.parse::<IpAddr>() {
            Err(_) => causes.push(invalid_cause(
                format!("spec.clusterIPs[{i}]"),
                &format!("{value:?}"),
                "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            )),
            Ok(IpAddr::V6(_)) => causes.push(invalid_cause(
                format!("spec.clusterIPs[{i}]"),
                &listed,
                "IPv6 is not configured on this cluster",
            )),
            Ok(IpAddr::V4(_)) if i > 0 => causes.push(invalid_cause(
                field(),
                &listed,
                "may specify no more than one IP for each IP family",
            )),
            Ok(IpAddr::V4(_)) => {}
        }
    }
}

pub(super) fn port_not_in_range() -> String {
    format!(
        "provided port is not in the valid range. The range of valid ports is {}",
        Range::NodePorts.spec()
    )
}

/// Go's `%#v` of a string slice, as upstream shows `clusterIPs` in messages.
fn go_strings(list: &[&str]) -> String {
    if list.is_empty() {
        return "[]string(nil)".into();
    }
    let quoted: Vec<String> = list.iter().map(|s| format!("{s:?}")).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

fn invalid_cause(field: String, value: &str, detail: &str) -> StatusCause {
    StatusCause {
        reason: "FieldValueInvalid".into(),
        message: format!("Invalid value: {value}: {detail}"),
        field,
    }
}

fn forbidden(field: String, detail: &str) -> StatusCause {
    StatusCause {
        reason: "FieldValueForbidden".into(),
        message: format!("Forbidden: {detail}"),
        field,
    }
}

fn invalid(svc: &Value, causes: Vec<StatusCause>) -> ApiError {
    ApiError::Invalid {
        kind: "Service".into(),
        target: Target {
            group: String::new(),
            resource: "services".into(),
            name: crate::registry::object::meta_str(svc, "name").to_string(),
        },
        causes,
    }
}

/// The Invalid error of a cluster IP that cannot be had.
pub(super) fn ip_error(svc: &Value, detail: &str) -> ApiError {
    let listed = go_strings(&cluster_ips(&svc["spec"]));
    invalid(
        svc,
        vec![invalid_cause("spec.clusterIPs".into(), &listed, detail)],
    )
}

/// The Invalid error of `spec.ports[i].nodePort`'s value `port`.
pub(super) fn port_error(svc: &Value, i: usize, port: i64, detail: &str) -> ApiError {
    let field = format!("spec.ports[{i}].nodePort");
    invalid(svc, vec![invalid_cause(field, &port.to_string(), detail)])
}
