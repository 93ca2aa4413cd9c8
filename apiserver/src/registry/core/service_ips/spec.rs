//! Reading a service's spec: what its type needs, and its address fields as values.

use std::collections::BTreeSet;

use serde_json::Value;

pub(super) fn kind(spec: &Value) -> &str {
    spec["type"].as_str().unwrap_or("ClusterIP")
}

pub(super) fn needs_cluster_ip(spec: &Value) -> bool {
    kind(spec) != "ExternalName"
}

pub(super) fn needs_node_ports(spec: &Value) -> bool {
    matches!(kind(spec), "NodePort" | "LoadBalancer")
}

/// Whether ports without a node port get one (a LoadBalancer may opt out).
pub(super) fn allocates_node_ports(spec: &Value) -> bool {
    kind(spec) == "NodePort"
        || (kind(spec) == "LoadBalancer" && spec["allocateLoadBalancerNodePorts"] != false)
}

pub(super) fn needs_health_check_port(spec: &Value) -> bool {
    kind(spec) == "LoadBalancer" && spec["externalTrafficPolicy"] == "Local"
}

pub(super) fn cluster_ip(spec: &Value) -> &str {
    spec["clusterIP"].as_str().unwrap_or_default()
}

pub(super) fn cluster_ips(spec: &Value) -> Vec<&str> {
    let list = spec["clusterIPs"].as_array().into_iter().flatten();
    list.map(|ip| ip.as_str().unwrap_or_default()).collect()
}

pub(super) fn ports(spec: &Value) -> &[Value] {
    spec["ports"].as_array().map_or(&[], Vec::as_slice)
}

pub(super) fn node_port(port: &Value) -> i64 {
    port["nodePort"].as_i64().unwrap_or(0)
}

pub(super) fn node_ports(spec: &Value) -> BTreeSet<i64> {
    ports(spec)
        .iter()
        .map(node_port)
        .filter(|&n| n != 0)
        .collect()
}

pub(super) fn health_check_port(spec: &Value) -> i64 {
    spec["healthCheckNodePort"].as_i64().unwrap_or(0)
}

pub(super) fn is_headless(spec: &Value) -> bool {
    match cluster_ips(spec).first() {
        Some(first) => *first == "None",
        None => cluster_ip(spec) == "None",
    }
}

pub(super) fn remove(spec: &mut Value, field: &str) {
    if let Some(map) = spec.as_object_mut() {
        map.remove(field);
    }
}
