//! The subsets of a Service's Endpoints from its pods (upstream's endpoints controller):
//! one address per pod with an IP that is not terminated (nor being deleted, unless the
//! service publishes not-ready addresses), ready ones in `addresses` and the others in
//! `notReadyAddresses`, ports resolved per pod (named target ports through its containers),
//! pods with the same ports sharing a subset.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, Service, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Value, json};

use crate::replicaset::pods::{is_active, is_ready};

/// The port a service port reaches on `pod`, if the pod has it.
fn target_port(sp: &ServicePort, pod: &Pod) -> Option<i32> {
    match &sp.target_port {
        None => Some(sp.port),
        Some(IntOrString::Int(p)) => Some(*p),
        Some(IntOrString::String(name)) => {
            let protocol = sp.protocol.as_deref().unwrap_or("TCP");
            pod.spec.as_ref()?.containers.iter().find_map(|c| {
                c.ports.iter().flatten().find_map(|p| {
                    (p.name.as_deref() == Some(name.as_str())
                        && p.protocol.as_deref().unwrap_or("TCP") == protocol)
                        .then_some(p.container_port)
                })
            })
        }
    }
}

fn address(pod: &Pod, service: &str) -> Option<Value> {
    let ip = pod
        .status
        .as_ref()?
        .pod_ip
        .clone()
        .filter(|ip| !ip.is_empty())?;
    let spec = pod.spec.as_ref();
    let mut a = json!({
        "ip": ip,
        "targetRef": {"kind": "Pod", "namespace": pod.metadata.namespace, "name": pod.metadata.name,
            "uid": pod.metadata.uid},
    });
    if let Some(node) = spec
        .and_then(|s| s.node_name.clone())
        .filter(|n| !n.is_empty())
    {
        a["nodeName"] = json!(node);
    }
    if let Some(h) = spec
        .and_then(|s| s.hostname.clone())
        .filter(|h| !h.is_empty())
        && spec.and_then(|s| s.subdomain.as_deref()) == Some(service)
    {
        a["hostname"] = json!(h);
    }
    Some(a)
}

/// The subsets of `service`'s Endpoints given the pods its selector matches.
pub fn subsets(service: &Service, pods: &[Pod]) -> Vec<Value> {
    let name = service.metadata.name.clone().unwrap_or_default();
    let spec = service.spec.clone().unwrap_or_default();
    let publish = spec.publish_not_ready_addresses == Some(true);
    // Ports (as JSON text, to group by) → (ready, not ready) addresses.
    let mut groups: BTreeMap<String, (Vec<Value>, Vec<Value>)> = BTreeMap::new();
    for pod in pods {
        let deleting = pod.metadata.deletion_timestamp.is_some();
        if (deleting && !publish) || !(is_active(pod) || deleting) {
            continue;
        }
        let Some(addr) = address(pod, &name) else {
            continue;
        };
        let mut ports: Vec<Value> = Vec::new();
        for sp in spec.ports.iter().flatten() {
            let Some(port) = target_port(sp, pod) else {
                continue;
            };
            let mut p = json!({"port": port, "protocol": sp.protocol.clone().unwrap_or_else(|| "TCP".into())});
            if let Some(n) = sp.name.clone().filter(|n| !n.is_empty()) {
                p["name"] = json!(n);
            }
            if let Some(a) = &sp.app_protocol {
                p["appProtocol"] = json!(a);
            }
            ports.push(p);
        }
        if ports.is_empty() && spec.ports.as_ref().is_some_and(|p| !p.is_empty()) {
            continue;
        }
        ports.sort_by_key(|p| {
            (
                p["name"].as_str().unwrap_or_default().to_string(),
                p["port"].as_i64(),
            )
        });
        let key = Value::Array(ports).to_string();
        let entry = groups.entry(key).or_default();
        if publish || is_ready(pod) {
            entry.0.push(addr);
        } else {
            entry.1.push(addr);
        }
    }
    groups
        .into_iter()
        .map(|(ports, (mut ready, mut not_ready))| {
            let by_ip = |a: &Value| a["ip"].as_str().unwrap_or_default().to_string();
            ready.sort_by_key(by_ip);
            not_ready.sort_by_key(by_ip);
            let mut s = json!({});
            if !ready.is_empty() {
                s["addresses"] = json!(ready);
            }
            if !not_ready.is_empty() {
                s["notReadyAddresses"] = json!(not_ready);
            }
            let ports: Value = serde_json::from_str(&ports).unwrap_or_default();
            if ports.as_array().is_some_and(|p| !p.is_empty()) {
                s["ports"] = ports;
            }
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, ip: &str, ready: bool) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": name, "namespace": "ns", "uid": name},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": [{"name": "web", "containerPort": 8080}]}]},
            "status": {"phase": "Running", "podIP": ip,
                "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}}))
        .unwrap()
    }

    #[test]
    fn ready_and_not_ready_addresses_with_resolved_ports() {
        let svc: Service = serde_json::from_value(json!({"metadata": {"name": "s"},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "web"}]}}))
        .unwrap();
        let pods = [
            pod("b", "10.0.0.2", true),
            pod("a", "10.0.0.1", true),
            pod("c", "10.0.0.3", false),
            pod("d", "", true),
        ];
        let s = subsets(&svc, &pods);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0]["addresses"][0]["ip"], "10.0.0.1");
        assert_eq!(s[0]["addresses"][1]["ip"], "10.0.0.2");
        assert_eq!(s[0]["addresses"][0]["nodeName"], "n1");
        assert_eq!(
            s[0]["addresses"][0]["targetRef"],
            json!({"kind": "Pod", "namespace": "ns", "name": "a", "uid": "a"})
        );
        assert_eq!(s[0]["notReadyAddresses"][0]["ip"], "10.0.0.3");
        assert_eq!(
            s[0]["ports"],
            json!([{"name": "http", "port": 8080, "protocol": "TCP"}])
        );
    }
}
