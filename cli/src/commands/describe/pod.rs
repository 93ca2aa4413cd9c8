//! A pod as `kubectl describe pod` prints it: identity, node and start, status and IPs, the
//! controller, init containers and containers with their states, conditions, volumes, QoS
//! class, node selectors and tolerations; and the pod arithmetic the node describer shares
//! (what a pod requests and limits).

use std::collections::BTreeMap;

use api::quota::amount::Amount;
use serde_json::Value;

use super::pod_template::{containers, tolerations, volumes};
use super::text::{age, annotations, labels, str_of, timestamp};

fn list(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

pub fn pod(out: &mut String, pod: &Value) {
    let meta = &pod["metadata"];
    let spec = &pod["spec"];
    let status = &pod["status"];
    out.push_str(&format!("Name:\t{}\n", str_of(&meta["name"])));
    out.push_str(&format!("Namespace:\t{}\n", str_of(&meta["namespace"])));
    if let Some(p) = spec["priority"].as_i64() {
        out.push_str(&format!("Priority:\t{p}\n"));
    }
    for (label, field) in [
        ("Priority Class Name", "priorityClassName"),
        ("Runtime Class Name", "runtimeClassName"),
        ("Service Account", "serviceAccountName"),
    ] {
        if let Some(v) = spec[field].as_str().filter(|v| !v.is_empty()) {
            out.push_str(&format!("{label}:\t{v}\n"));
        }
    }
    match spec["nodeName"].as_str().filter(|n| !n.is_empty()) {
        Some(node) => out.push_str(&format!("Node:\t{node}/{}\n", str_of(&status["hostIP"]))),
        None => out.push_str("Node:\t<none>\n"),
    }
    if let Some(start) = status["startTime"].as_str() {
        out.push_str(&format!("Start Time:\t{}\n", timestamp(start)));
    }
    labels(out, "Labels", &meta["labels"]);
    annotations(out, "Annotations", &meta["annotations"]);
    let phase = str_of(&status["phase"]);
    match meta["deletionTimestamp"].as_str() {
        Some(at) if !matches!(phase, "Failed" | "Succeeded") => {
            out.push_str(&format!("Status:\tTerminating (lasts {})\n", age(at)));
            out.push_str(&format!(
                "Termination Grace Period:\t{}s\n",
                meta["deletionGracePeriodSeconds"].as_i64().unwrap_or(0)
            ));
        }
        _ => out.push_str(&format!("Status:\t{phase}\n")),
    }
    for (label, field) in [("Reason", "reason"), ("Message", "message")] {
        if let Some(v) = status[field].as_str().filter(|v| !v.is_empty()) {
            out.push_str(&format!("{label}:\t{v}\n"));
        }
    }
    let seccomp = &spec["securityContext"]["seccompProfile"];
    if seccomp.is_object() {
        out.push_str(&format!("SeccompProfile:\t{}\n", str_of(&seccomp["type"])));
        if seccomp["type"] == "Localhost" {
            out.push_str(&format!(
                "LocalhostProfile:\t{}\n",
                str_of(&seccomp["localhostProfile"])
            ));
        }
    }
    out.push_str(&format!("IP:\t{}\n", str_of(&status["podIP"])));
    let ips = list(&status["podIPs"]);
    match ips.is_empty() {
        true => out.push_str("IPs:\t<none>\n"),
        false => out.push_str("IPs:\n"),
    }
    for ip in ips {
        out.push_str(&format!("  IP:\t{}\n", str_of(&ip["ip"])));
    }
    if let Some(owner) = list(&meta["ownerReferences"])
        .iter()
        .find(|o| o["controller"].as_bool() == Some(true))
    {
        out.push_str(&format!(
            "Controlled By:\t{}/{}\n",
            str_of(&owner["kind"]),
            str_of(&owner["name"])
        ));
    }
    if let Some(n) = status["nominatedNodeName"]
        .as_str()
        .filter(|n| !n.is_empty())
    {
        out.push_str(&format!("NominatedNodeName:\t{n}\n"));
    }
    if !list(&spec["initContainers"]).is_empty() {
        containers(
            out,
            "Init Containers",
            list(&spec["initContainers"]),
            Some(pod),
        );
    }
    containers(out, "Containers", list(&spec["containers"]), Some(pod));
    let conditions = list(&status["conditions"]);
    let gates = list(&spec["readinessGates"]);
    if !gates.is_empty() {
        out.push_str("Readiness Gates:\n  Type\tStatus\n");
        for g in gates {
            let kind = str_of(&g["conditionType"]);
            let status = conditions
                .iter()
                .find(|c| str_of(&c["type"]) == kind)
                .map(|c| str_of(&c["status"]))
                .unwrap_or("<none>");
            out.push_str(&format!("  {kind} \t{status} \n"));
        }
    }
    if !conditions.is_empty() {
        out.push_str("Conditions:\n  Type\tStatus\n");
        for c in conditions {
            out.push_str(&format!(
                "  {} \t{} \n",
                str_of(&c["type"]),
                str_of(&c["status"])
            ));
        }
    }
    volumes(out, list(&spec["volumes"]), "");
    let qos = match str_of(&status["qosClass"]) {
        "" => api::pod_qos::qos_class(spec),
        given => given,
    };
    out.push_str(&format!("QoS Class:\t{qos}\n"));
    labels(out, "Node-Selectors", &spec["nodeSelector"]);
    tolerations(out, "Tolerations", list(&spec["tolerations"]));
}

/// Amounts by resource name.
pub type Resources = BTreeMap<String, Amount>;

fn resources(list: &Value) -> Resources {
    list.as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), Amount::parse(v.as_str()?)?)))
        .collect()
}

/// What a pod requests and limits, as upstream's helper adds it up: its containers' sum,
/// raised to any larger init container's, plus the pod's overhead.
pub fn requests_and_limits(spec: &Value) -> (Resources, Resources) {
    let total = |field: &str| {
        let mut sum = Resources::new();
        for c in list(&spec["containers"]) {
            for (name, amount) in resources(&c["resources"][field]) {
                let t = sum.entry(name).or_default();
                *t = t.plus(amount);
            }
        }
        for c in list(&spec["initContainers"]) {
            for (name, amount) in resources(&c["resources"][field]) {
                let t = sum.entry(name).or_default();
                if amount > *t {
                    *t = amount;
                }
            }
        }
        for (name, amount) in resources(&spec["overhead"]) {
            let t = sum.entry(name).or_default();
            *t = t.plus(amount);
        }
        sum
    };
    (total("requests"), total("limits"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn init_containers_raise_the_sum() {
        let spec = json!({
            "containers": [{"resources": {"requests": {"cpu": "100m"}}}, {"resources": {"requests": {"cpu": "200m"}}}],
            "initContainers": [{"resources": {"requests": {"cpu": "1", "memory": "64Mi"}}}],
        });
        let (requests, limits) = requests_and_limits(&spec);
        assert_eq!(requests["cpu"].to_string(), "1");
        assert_eq!(requests["memory"].to_string(), "64Mi");
        assert!(limits.is_empty());
    }
}
