//! The address fields of a write as upstream's service strategy prepares them: `clusterIPs`
//! from `clusterIP`, values an update leaves out carried over while the type still uses them,
//! values of a type left behind dropped (unless the user also changed them), and the IP
//! family fields of this single-stack cluster.

use serde_json::{Value, json};

use super::spec::{
    cluster_ip, cluster_ips, health_check_port, needs_cluster_ip, needs_health_check_port,
    needs_node_ports, node_port, node_ports, ports, remove,
};

/// A service's `clusterIPs` from its `clusterIP`, for clients that only set the latter (and
/// services stored before `clusterIPs` was always set).
pub(super) fn prepare_create(svc: &mut Value) {
    let spec = &mut svc["spec"];
    if !cluster_ip(spec).is_empty() && cluster_ips(spec).is_empty() {
        spec["clusterIPs"] = json!([cluster_ip(spec)]);
    }
}

/// An update's address fields as upstream reads the user's intent: values left out are kept
/// from `old` while the type still uses them, `clusterIPs` follows a changed `clusterIP`,
/// and values of a type left behind are dropped (unless the user also changed them).
pub(super) fn prepare_update(svc: &mut Value, old: &Value) {
    let old = &old["spec"];
    let spec = &mut svc["spec"];
    // Values left out are kept.
    if needs_cluster_ip(old) && needs_cluster_ip(spec) {
        if cluster_ip(spec).is_empty() && !cluster_ip(old).is_empty() {
            spec["clusterIP"] = json!(cluster_ip(old));
        }
        if cluster_ips(spec).is_empty() && !cluster_ips(old).is_empty() {
            spec["clusterIPs"] = json!(cluster_ips(old));
        }
    }
    if needs_node_ports(old) && needs_node_ports(spec) {
        let kept = &node_ports(old) & &node_ports(spec);
        for port in spec["ports"].as_array_mut().into_iter().flatten() {
            let same_name = ports(old).iter().find(|o| o["name"] == port["name"]);
            let value = same_name.map_or(0, node_port);
            if port.is_object() && node_port(port) == 0 && value != 0 && !kept.contains(&value) {
                port["nodePort"] = json!(value);
            }
        }
    }
    if needs_health_check_port(old)
        && needs_health_check_port(spec)
        && health_check_port(spec) == 0
        && health_check_port(old) != 0
    {
        spec["healthCheckNodePort"] = json!(health_check_port(old));
    }
    // `clusterIPs` follows `clusterIP` when only the latter was changed.
    let same_ips = cluster_ips(old) == cluster_ips(spec);
    if !cluster_ips(old).is_empty()
        && cluster_ips(spec).is_empty()
        && cluster_ip(old) == cluster_ip(spec)
    {
        spec["clusterIPs"] = json!(cluster_ips(old));
    } else if cluster_ip(old) != cluster_ip(spec) && same_ips {
        match cluster_ip(spec) {
            "" => remove(spec, "clusterIPs"),
            ip => spec["clusterIPs"] = json!([ip]),
        }
    }
    // A type that no longer uses a value drops it; it is released once the update is stored.
    if needs_cluster_ip(old) && !needs_cluster_ip(spec) {
        if cluster_ip(old) == cluster_ip(spec) && cluster_ips(old) == cluster_ips(spec) {
            remove(spec, "clusterIP");
            remove(spec, "clusterIPs");
        }
        for field in ["ipFamilies", "ipFamilyPolicy"] {
            if old[field] == spec[field] {
                remove(spec, field);
            }
        }
    }
    if needs_node_ports(old)
        && !needs_node_ports(spec)
        && node_ports(old).is_superset(&node_ports(spec))
    {
        for port in spec["ports"].as_array_mut().into_iter().flatten() {
            remove(port, "nodePort");
        }
    }
    if needs_health_check_port(old)
        && !needs_health_check_port(spec)
        && health_check_port(old) == health_check_port(spec)
    {
        remove(spec, "healthCheckNodePort");
    }
    prepare_create(svc);
}

/// Sets the IP family fields of a service with a cluster IP, as this single-stack cluster
/// has them.
pub(super) fn set_ip_families(svc: &mut Value) {
    let spec = &mut svc["spec"];
    if !needs_cluster_ip(spec) || cluster_ip(spec).is_empty() || cluster_ip(spec) == "None" {
        return;
    }
    if spec["clusterIPs"].is_null() {
        spec["clusterIPs"] = json!([cluster_ip(spec)]);
    }
    if spec["ipFamilies"].is_null() {
        spec["ipFamilies"] = json!(["IPv4"]);
    }
    if spec["ipFamilyPolicy"].is_null() {
        spec["ipFamilyPolicy"] = json!("SingleStack");
    }
}
