//! A Service's EndpointSlices (upstream's endpointslice controller): its pods as endpoints
//! (`ready`, `serving`, `terminating` conditions, terminating pods kept), grouped by their
//! resolved ports, at most 100 per slice, IPv4; labelled with the service's name and the
//! managing controller, owned by the service (so that they go with it).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint as EndpointSliceEndpoint, EndpointSlice};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use crate::Error;
use crate::lenient::{self, Object};
use crate::replicaset::pods::is_ready;

pub const MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
pub const CONTROLLER: &str = "endpointslice-controller.k8s.io";
pub const SERVICE_NAME: &str = "kubernetes.io/service-name";
/// Upstream's default `--max-endpoints-per-slice`.
pub const MAX_PER_SLICE: usize = 100;

/// The port of `sp` on `pod`, as the Endpoints controller resolves it.
fn port_of(sp: &k8s_openapi::api::core::v1::ServicePort, pod: &Pod) -> Option<i32> {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    match &sp.target_port {
        None => Some(sp.port),
        Some(IntOrString::Int(p)) => Some(*p),
        Some(IntOrString::String(name)) => pod.spec.as_ref()?.containers.iter().find_map(|c| {
            c.ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .map(|p| p.container_port)
        }),
    }
}

/// The desired slices' (ports, endpoints), in a stable order.
pub fn desired(service: &Service, pods: &[Pod]) -> Vec<(Value, Vec<Value>)> {
    let spec = service.spec.clone().unwrap_or_default();
    let name = service.name_any();
    let publish = spec.publish_not_ready_addresses == Some(true);
    let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for pod in pods {
        let terminal = matches!(
            pod.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Succeeded" | "Failed")
        );
        let Some(ip) = pod
            .status
            .as_ref()
            .and_then(|s| s.pod_ip.clone())
            .filter(|ip| !ip.is_empty())
        else {
            continue;
        };
        if terminal || ip.contains(':') {
            continue;
        }
        let ports: Vec<Value> = spec
            .ports
            .iter()
            .flatten()
            .filter_map(|sp| {
                let port = port_of(sp, pod)?;
                let mut p = json!({"name": sp.name.clone().unwrap_or_default(), "port": port,
                    "protocol": sp.protocol.clone().unwrap_or_else(|| "TCP".into())});
                if let Some(a) = &sp.app_protocol {
                    p["appProtocol"] = json!(a);
                }
                Some(p)
            })
            .collect();
        let terminating = pod.metadata.deletion_timestamp.is_some();
        let serving = is_ready(pod);
        let pod_spec = pod.spec.as_ref();
        let mut e = json!({
            "addresses": [ip],
            "conditions": {"ready": publish || (serving && !terminating), "serving": serving,
                "terminating": terminating},
            "targetRef": {"kind": "Pod", "namespace": pod.metadata.namespace, "name": pod.metadata.name,
                "uid": pod.metadata.uid},
        });
        if let Some(node) = pod_spec
            .and_then(|s| s.node_name.clone())
            .filter(|n| !n.is_empty())
        {
            e["nodeName"] = json!(node);
        }
        if let Some(h) = pod_spec
            .and_then(|s| s.hostname.clone())
            .filter(|h| !h.is_empty())
            && pod_spec.and_then(|s| s.subdomain.as_deref()) == Some(name.as_str())
        {
            e["hostname"] = json!(h);
        }
        groups
            .entry(Value::Array(ports).to_string())
            .or_default()
            .push(e);
    }
    let mut out = Vec::new();
    for (ports, mut endpoints) in groups {
        endpoints.sort_by_key(|e| e["addresses"][0].as_str().unwrap_or_default().to_string());
        let ports: Value = serde_json::from_str(&ports).unwrap_or_default();
        for chunk in endpoints.chunks(MAX_PER_SLICE) {
            out.push((ports.clone(), chunk.to_vec()));
        }
    }
    if out.is_empty() {
        // A service without endpoints keeps one empty slice (upstream's placeholder).
        out.push((json!([]), Vec::new()));
    }
    out
}

fn labels(service: &Service) -> BTreeMap<String, String> {
    let mut labels = service.labels().clone();
    labels.insert(SERVICE_NAME.into(), service.name_any());
    labels.insert(MANAGED_BY.into(), CONTROLLER.into());
    if service.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None") {
        labels.insert("service.kubernetes.io/headless".into(), String::new());
    }
    labels
}

fn body(service: &Service, ports: &Value, endpoints: &[Value], now: &str) -> Value {
    let mut slice = json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {
            "generateName": format!("{}-", service.name_any()),
            "namespace": service.namespace(),
            "labels": labels(service),
            "annotations": {super::TRIGGER_TIME: now},
            "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": service.name_any(),
                "uid": service.metadata.uid, "controller": true, "blockOwnerDeletion": true}],
        },
        "addressType": "IPv4",
        "endpoints": endpoints,
    });
    if ports.as_array().is_some_and(|p| !p.is_empty()) {
        slice["ports"] = ports.clone();
    }
    slice
}

/// Whether `slice` already holds `ports` and `endpoints` with the service's labels.
fn same(slice: &EndpointSlice, service: &Service, ports: &Value, endpoints: &[Value]) -> bool {
    let have_ports = serde_json::to_value(&slice.ports).unwrap_or_default();
    let want_ports = if ports.as_array().is_some_and(|p| p.is_empty()) {
        Value::Null
    } else {
        ports.clone()
    };
    let have_endpoints = serde_json::to_value(&slice.endpoints).unwrap_or_default();
    let endpoints: Vec<EndpointSliceEndpoint> = endpoints
        .iter()
        .filter_map(|e| serde_json::from_value(e.clone()).ok())
        .collect();
    have_ports == want_ports
        && have_endpoints == serde_json::to_value(&endpoints).unwrap_or_default()
        && slice.labels() == &labels(service)
}

/// Brings the service's slices to what its pods call for.
pub async fn reconcile(client: &Client, service: &Service, pods: &[Pod]) -> Result<(), Error> {
    let ns = service.namespace().unwrap_or_default();
    let api: Api<Object<EndpointSlice>> = Api::namespaced(client.clone(), &ns);
    let selector = format!(
        "{SERVICE_NAME}={},{MANAGED_BY}={CONTROLLER}",
        service.name_any()
    );
    let mut existing: Vec<EndpointSlice> =
        lenient::list(&api, &ListParams::default().labels(&selector)).await?;
    existing.sort_by_key(|s| s.name_any());
    let now = jiff::Timestamp::now().to_string();
    let wanted = desired(service, pods);
    for (i, (ports, endpoints)) in wanted.iter().enumerate() {
        let mut slice = body(service, ports, endpoints, &now);
        match existing.get(i) {
            Some(current) if same(current, service, ports, endpoints) => {}
            Some(current) => {
                slice["metadata"]["name"] = json!(current.name_any());
                slice["metadata"]["resourceVersion"] = json!(current.resource_version());
                let slice: EndpointSlice =
                    serde_json::from_value(slice).map_err(|e| Error::Invalid(e.to_string()))?;
                api.replace(
                    &current.name_any(),
                    &PostParams::default(),
                    &Object::new(slice),
                )
                .await?;
            }
            None => {
                let slice: EndpointSlice =
                    serde_json::from_value(slice).map_err(|e| Error::Invalid(e.to_string()))?;
                api.create(&PostParams::default(), &Object::new(slice))
                    .await?;
            }
        }
    }
    for extra in existing.iter().skip(wanted.len()) {
        match api
            .delete(&extra.name_any(), &DeleteParams::default())
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(i: usize, ready: bool, deleting: bool) -> Pod {
        let mut p = json!({"metadata": {"name": format!("p{i}"), "namespace": "ns", "uid": format!("u{i}")},
            "spec": {"nodeName": "n1", "containers": [{"name": "c"}]},
            "status": {"phase": "Running", "podIP": format!("10.0.{}.{}", i / 250, i % 250),
                "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}});
        if deleting {
            p["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
        }
        serde_json::from_value(p).unwrap()
    }

    #[test]
    fn endpoints_conditions_and_chunks() {
        let svc: Service =
            serde_json::from_value(json!({"metadata": {"name": "s", "namespace": "ns"},
            "spec": {"selector": {"app": "a"}, "ports": [{"port": 80, "targetPort": 8080}]}}))
            .unwrap();
        let d = desired(
            &svc,
            &[
                pod(1, true, false),
                pod(2, false, false),
                pod(3, true, true),
            ],
        );
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].0,
            json!([{"name": "", "port": 8080, "protocol": "TCP"}])
        );
        let conditions: Vec<&Value> = d[0].1.iter().map(|e| &e["conditions"]).collect();
        assert_eq!(
            conditions[0],
            &json!({"ready": true, "serving": true, "terminating": false})
        );
        assert_eq!(
            conditions[1],
            &json!({"ready": false, "serving": false, "terminating": false})
        );
        assert_eq!(
            conditions[2],
            &json!({"ready": false, "serving": true, "terminating": true})
        );
        let many: Vec<Pod> = (0..250).map(|i| pod(i, true, false)).collect();
        let d = desired(&svc, &many);
        assert_eq!(
            d.iter().map(|s| s.1.len()).collect::<Vec<_>>(),
            [100, 100, 50]
        );
        assert_eq!(desired(&svc, &[]).len(), 1);
        assert_eq!(labels(&svc)[MANAGED_BY], CONTROLLER);
    }
}
