//! The Node object as the kubelet registers and reports it (`initialNode`, the status
//! setters): labels, podCIDR, capacity and allocatable, addresses, the four conditions in
//! the setters' order, nodeInfo, the kubelet's port. The status is computed every 10 s and
//! written when it changed or 5 minutes after the last write.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::events::{Kind, Recorder};

pub const STATUS_UPDATE: Duration = Duration::from_secs(10);
pub const STATUS_REPORT: Duration = Duration::from_secs(300);
/// The Kubernetes version this node speaks (`nodeInfo.kubeletVersion`).
pub const KUBELET_VERSION: &str = "v1.32.0";

/// What the Node says of itself.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    pub name: String,
    pub pod_cidr: String,
    pub port: u16,
    pub runtime_version: String,
    /// Labels beyond the kubelet's own (roles).
    pub extra_labels: Vec<(String, String)>,
}

/// The machine's resources, read once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    pub cpus: usize,
    pub memory_kib: u64,
    pub storage_kib: u64,
    pub machine_id: String,
    pub system_uuid: String,
    pub boot_id: String,
    pub kernel: String,
    pub os_image: String,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

impl Machine {
    pub async fn read(data_dir: &std::path::Path) -> Machine {
        let memory_kib = read("/proc/meminfo")
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        let machine_id = read("/etc/machine-id");
        let system_uuid = Some(read("/sys/class/dmi/id/product_uuid"))
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| machine_id.clone());
        let os_image = read("/etc/os-release")
            .lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_else(|| "Linux".into());
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_kib,
            storage_kib: storage_kib(data_dir).await,
            machine_id,
            system_uuid,
            boot_id: read("/proc/sys/kernel/random/boot_id"),
            kernel: read("/proc/sys/kernel/osrelease"),
            os_image,
        }
    }
}

/// The size of the file system holding the data directory, in KiB.
async fn storage_kib(dir: &std::path::Path) -> u64 {
    crate::disk::space(dir).await.map_or(0, |s| s.size / 1024)
}

/// The kubelet's labels and the extra ones.
pub fn labels(spec: &NodeSpec) -> Value {
    let mut labels = json!({
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": spec.name,
        "kubernetes.io/os": "linux",
    });
    for (k, v) in &spec.extra_labels {
        labels[k] = json!(v);
    }
    labels
}

fn condition(kind: &str, status: &str, reason: &str, message: &str, now: &str) -> Value {
    json!({
        "type": kind, "status": status, "reason": reason, "message": message,
        "lastHeartbeatTime": now, "lastTransitionTime": now,
    })
}

/// The Node's status (transition times as of `now`; kept from `previous` while a condition's
/// status holds).
pub fn status(
    spec: &NodeSpec,
    machine: &Machine,
    previous: Option<&Value>,
    now: jiff::Timestamp,
) -> Value {
    let now = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let storage_bytes = machine.storage_kib * 1024;
    let mut conditions = vec![
        condition(
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
            &now,
        ),
        condition(
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
            &now,
        ),
        condition(
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
            &now,
        ),
        condition(
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status",
            &now,
        ),
    ];
    for c in &mut conditions {
        let old = previous
            .and_then(|p| p["conditions"].as_array())
            .and_then(|cs| cs.iter().find(|o| o["type"] == c["type"]));
        if let Some(old) = old
            && old["status"] == c["status"]
            && !old["lastTransitionTime"].is_null()
        {
            c["lastTransitionTime"] = old["lastTransitionTime"].clone();
        }
    }
    json!({
        "capacity": {
            "cpu": machine.cpus.to_string(),
            "ephemeral-storage": format!("{}Ki", machine.storage_kib),
            "hugepages-1Gi": "0",
            "hugepages-2Mi": "0",
            "memory": format!("{}Ki", machine.memory_kib),
            "pods": "110",
        },
        "allocatable": {
            "cpu": machine.cpus.to_string(),
            "ephemeral-storage": (storage_bytes / 10 * 9).to_string(),
            "hugepages-1Gi": "0",
            "hugepages-2Mi": "0",
            "memory": format!("{}Ki", machine.memory_kib.saturating_sub(100 * 1024)),
            "pods": "110",
        },
        "conditions": conditions,
        "addresses": [
            {"type": "InternalIP", "address": "127.0.0.1"},
            {"type": "Hostname", "address": spec.name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": spec.port}},
        "nodeInfo": {
            "machineID": machine.machine_id,
            "systemUUID": machine.system_uuid,
            "bootID": machine.boot_id,
            "kernelVersion": machine.kernel,
            "osImage": machine.os_image,
            "containerRuntimeVersion": spec.runtime_version,
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": KUBELET_VERSION,
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
    })
}

/// The status without heartbeat times, to tell a change from a heartbeat.
fn without_heartbeats(status: &Value) -> Value {
    let mut s = status.clone();
    if let Some(list) = s["conditions"].as_array_mut() {
        for c in list {
            c.as_object_mut().map(|o| o.remove("lastHeartbeatTime"));
        }
    }
    s
}

/// Creates the Node (or takes over the one of this name) with its labels and podCIDR; its UID.
pub async fn register(client: &kube::Client, spec: &NodeSpec) -> Result<String, kube::Error> {
    let api: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": spec.name,
            "labels": labels(spec),
            "annotations": {"volumes.kubernetes.io/controller-managed-attach-detach": "true"},
        },
        "spec": {"podCIDR": spec.pod_cidr, "podCIDRs": [spec.pod_cidr]},
    }))
    .map_err(kube::Error::SerdeError)?;
    let created = match api.create(&PostParams::default(), &node).await {
        Ok(n) => n,
        Err(kube::Error::Api(s)) if s.code == 409 => {
            let patch = json!({
                "metadata": {"labels": labels(spec)},
                "spec": {"podCIDR": spec.pod_cidr, "podCIDRs": [spec.pod_cidr]},
            });
            api.patch(&spec.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await?
        }
        Err(e) => return Err(e),
    };
    Ok(created.metadata.uid.unwrap_or_default())
}

/// Reports the status every 10 s (written on change or every 5 minutes) until the process
/// ends.
pub async fn report(client: kube::Client, spec: NodeSpec, machine: Machine, recorder: Recorder) {
    let api: Api<Node> = Api::all(client);
    let mut last: Option<(Value, Instant)> = None;
    let mut ready_announced = false;
    loop {
        let previous = last.as_ref().map(|(s, _)| s.clone());
        let status = status(&spec, &machine, previous.as_ref(), jiff::Timestamp::now());
        let due = match &last {
            None => true,
            Some((old, at)) => {
                without_heartbeats(old) != without_heartbeats(&status)
                    || at.elapsed() >= STATUS_REPORT
            }
        };
        if due {
            let patch = json!({"status": status});
            match api
                .patch_status(&spec.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {
                    last = Some((status, Instant::now()));
                    if !ready_announced {
                        ready_announced = true;
                        let message = format!("Node {} status is now: NodeReady", spec.name);
                        recorder.node(Kind::Normal, "NodeReady", &message).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(node = %spec.name, error = %controllers::logs::describe(&e), "node status not written")
                }
            }
        }
        tokio::time::sleep(STATUS_UPDATE).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> NodeSpec {
        NodeSpec {
            name: "n1".into(),
            pod_cidr: "10.128.2.0/23".into(),
            port: 10250,
            runtime_version: "podman://4.3.1".into(),
            extra_labels: vec![("node-role.kubernetes.io/worker".into(), String::new())],
        }
    }

    fn machine() -> Machine {
        Machine {
            cpus: 2,
            memory_kib: 1_048_576,
            storage_kib: 1000,
            machine_id: "m".into(),
            system_uuid: "u".into(),
            boot_id: "b".into(),
            kernel: "6.1".into(),
            os_image: "Debian".into(),
        }
    }

    #[test]
    fn the_status_is_the_kubelets() {
        let now: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap_or_default();
        let s = status(&spec(), &machine(), None, now);
        let types: Vec<_> = s["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| c["type"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(
            types,
            ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
        );
        assert_eq!(s["conditions"][3]["reason"], "KubeletReady");
        assert_eq!(s["daemonEndpoints"]["kubeletEndpoint"]["Port"], 10250);
        assert_eq!(s["capacity"]["pods"], "110");
        assert_eq!(s["allocatable"]["memory"], "946176Ki");
        assert_eq!(s["allocatable"]["ephemeral-storage"], "921600");
        assert_eq!(s["addresses"][0]["address"], "127.0.0.1");
        assert_eq!(labels(&spec())["node-role.kubernetes.io/worker"], "");
    }

    #[test]
    fn heartbeats_alone_are_not_a_change_and_transitions_keep_their_time() {
        let t0: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap_or_default();
        let t1 = t0 + jiff::SignedDuration::from_secs(10);
        let first = status(&spec(), &machine(), None, t0);
        let second = status(&spec(), &machine(), Some(&first), t1);
        assert_ne!(first, second);
        assert_eq!(without_heartbeats(&first), without_heartbeats(&second));
        assert_eq!(
            second["conditions"][3]["lastTransitionTime"],
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(
            second["conditions"][3]["lastHeartbeatTime"],
            "2026-01-01T00:00:10Z"
        );
    }
}
