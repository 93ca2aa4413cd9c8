//! A node as `kubectl describe node` prints it: roles, labels, taints, its Lease, conditions,
//! addresses, capacity and allocatable, system info, the pods on it that have not ended with
//! what they request and limit, and the total allocated against allocatable.

use api::quota::amount::Amount;
use serde_json::Value;

use super::pod::{Resources, requests_and_limits};
use super::text::{age, annotations, labels, str_of, timestamp};
use crate::client::{Session, encode};

const ROLE_PREFIX: &str = "node-role.kubernetes.io/";

fn list(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

pub async fn node(out: &mut String, s: &Session, node: &Value) {
    let meta = &node["metadata"];
    let spec = &node["spec"];
    let status = &node["status"];
    let name = str_of(&meta["name"]);
    out.push_str(&format!("Name:\t{name}\n"));
    let roles = roles(&meta["labels"]);
    match roles.is_empty() {
        true => out.push_str("Roles:\t<none>\n"),
        false => out.push_str(&format!("Roles:\t{}\n", roles.join(","))),
    }
    labels(out, "Labels", &meta["labels"]);
    annotations(out, "Annotations", &meta["annotations"]);
    out.push_str(&format!(
        "CreationTimestamp:\t{}\n",
        timestamp(str_of(&meta["creationTimestamp"]))
    ));
    taints(out, list(&spec["taints"]));
    out.push_str(&format!(
        "Unschedulable:\t{}\n",
        spec["unschedulable"].as_bool().unwrap_or(false)
    ));
    let lease = s
        .get(&format!(
            "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{name}"
        ))
        .await;
    if let Ok(lease) = lease {
        let l = &lease["spec"];
        out.push_str("Lease:\n");
        let holder = l["holderIdentity"].as_str().unwrap_or("<unset>");
        out.push_str(&format!("  HolderIdentity:\t{holder}\n"));
        for (label, field) in [("AcquireTime", "acquireTime"), ("RenewTime", "renewTime")] {
            let at = l[field]
                .as_str()
                .map(timestamp)
                .unwrap_or_else(|| "<unset>".into());
            out.push_str(&format!("  {label}:\t{at}\n"));
        }
    }
    let conditions = list(&status["conditions"]);
    if !conditions.is_empty() {
        out.push_str(
            "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n",
        );
        out.push_str("  ----\t------\t-----------------\t------------------\t------\t-------\n");
        for c in conditions {
            out.push_str(&format!(
                "  {} \t{} \t{} \t{} \t{} \t{}\n",
                str_of(&c["type"]),
                str_of(&c["status"]),
                go_time(&c["lastHeartbeatTime"]),
                go_time(&c["lastTransitionTime"]),
                str_of(&c["reason"]),
                str_of(&c["message"])
            ));
        }
    }
    out.push_str("Addresses:\n");
    for a in list(&status["addresses"]) {
        out.push_str(&format!(
            "  {}:\t{}\n",
            str_of(&a["type"]),
            str_of(&a["address"])
        ));
    }
    for (label, field) in [("Capacity", "capacity"), ("Allocatable", "allocatable")] {
        let mut entries: Vec<(&String, &Value)> =
            status[field].as_object().into_iter().flatten().collect();
        if entries.is_empty() {
            continue;
        }
        entries.sort_by(|a, b| a.0.cmp(b.0));
        out.push_str(&format!("{label}:\n"));
        for (resource, q) in entries {
            out.push_str(&format!("  {resource}:\t{}\n", quantity_text(q)));
        }
    }
    let info = &status["nodeInfo"];
    out.push_str("System Info:\n");
    for (label, field) in [
        ("Machine ID", "machineID"),
        ("System UUID", "systemUUID"),
        ("Boot ID", "bootID"),
        ("Kernel Version", "kernelVersion"),
        ("OS Image", "osImage"),
        ("Operating System", "operatingSystem"),
        ("Architecture", "architecture"),
        ("Container Runtime Version", "containerRuntimeVersion"),
        ("Kubelet Version", "kubeletVersion"),
        ("Kube-Proxy Version", "kubeProxyVersion"),
    ] {
        out.push_str(&format!("  {label}:\t{}\n", str_of(&info[field])));
    }
    if let Some(cidr) = spec["podCIDR"].as_str().filter(|c| !c.is_empty()) {
        out.push_str(&format!("PodCIDR:\t{cidr}\n"));
    }
    let cidrs: Vec<&str> = list(&spec["podCIDRs"]).iter().map(str_of).collect();
    if !cidrs.is_empty() {
        out.push_str(&format!("PodCIDRs:\t{}\n", cidrs.join(",")));
    }
    if let Some(p) = spec["providerID"].as_str().filter(|p| !p.is_empty()) {
        out.push_str(&format!("ProviderID:\t{p}\n"));
    }
    let selector = format!("spec.nodeName={name},status.phase!=Succeeded,status.phase!=Failed");
    match s
        .get(&format!("/api/v1/pods?fieldSelector={}", encode(&selector)))
        .await
    {
        Ok(pods) => pods_on_node(out, status, list(&pods["items"])),
        Err(_) => out.push_str("Pods:\tnot authorized\n"),
    }
}

/// `node-role.kubernetes.io/<role>` labels and the `kubernetes.io/role` label, sorted.
fn roles(labels: &Value) -> Vec<String> {
    let mut roles: Vec<String> = labels
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| match k.strip_prefix(ROLE_PREFIX) {
            Some(role) => Some(role.to_string()),
            None if k == "kubernetes.io/role" => v.as_str().map(str::to_string),
            None => None,
        })
        .filter(|r| !r.is_empty())
        .collect();
    roles.sort();
    roles.dedup();
    roles
}

/// `key=value:Effect` per taint, sorted by effect then key.
fn taints(out: &mut String, taints: &[Value]) {
    out.push_str("Taints:\t");
    if taints.is_empty() {
        out.push_str("<none>\n");
        return;
    }
    let mut sorted: Vec<&Value> = taints.iter().collect();
    let key = |t: &Value| format!("{},{}", str_of(&t["effect"]), str_of(&t["key"]));
    sorted.sort_by_key(|t| key(t));
    for (i, t) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        let mut text = str_of(&t["key"]).to_string();
        if let Some(v) = t["value"].as_str().filter(|v| !v.is_empty()) {
            text.push_str(&format!("={v}"));
        }
        if let Some(e) = t["effect"].as_str().filter(|e| !e.is_empty()) {
            text.push_str(&format!(":{e}"));
        }
        out.push_str(&format!("{text}\n"));
    }
}

fn go_time(v: &Value) -> String {
    match v.as_str() {
        Some(t) if !t.is_empty() => timestamp(t),
        _ => "Mon, 01 Jan 0001 00:00:00 +0000".into(),
    }
}

/// A quantity in Go's canonical form.
fn quantity_text(q: &Value) -> String {
    let text = str_of(q);
    Amount::parse(text)
        .map(|a| a.to_string())
        .unwrap_or_else(|| text.to_string())
}

fn amount(r: &Resources, name: &str) -> Amount {
    r.get(name).copied().unwrap_or_default()
}

/// `used` as a whole percentage of `of` (CPU compared in thousandths, the rest in units).
fn percent(used: Amount, of: Amount, name: &str) -> i128 {
    let (u, o) = match name {
        "cpu" => (used.milli, of.milli),
        _ => (whole(used), whole(of)),
    };
    if o == 0 {
        return 0;
    }
    (u as f64 / o as f64 * 100.0) as i128
}

fn whole(a: Amount) -> i128 {
    a.milli.div_euclid(1000) + i128::from(a.milli.rem_euclid(1000) != 0)
}

fn pods_on_node(out: &mut String, status: &Value, pods: &[Value]) {
    let allocatable_field = match status["allocatable"].as_object() {
        Some(a) if !a.is_empty() => "allocatable",
        _ => "capacity",
    };
    let allocatable: Resources = status[allocatable_field]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), Amount::parse(v.as_str()?)?)))
        .collect();
    out.push_str(&format!(
        "Non-terminated Pods:\t({} in total)\n",
        pods.len()
    ));
    out.push_str(
        "  Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n",
    );
    out.push_str(
        "  ---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n",
    );
    let cell = |r: &Resources, name: &str| {
        let a = amount(r, name);
        format!("{a} ({}%)", percent(a, amount(&allocatable, name), name))
    };
    let mut requests = Resources::new();
    let mut limits = Resources::new();
    for p in pods {
        let (req, lim) = requests_and_limits(&p["spec"]);
        out.push_str(&format!(
            "  {}\t{}\t\t{}\t{}\t{}\t{}\t{}\n",
            str_of(&p["metadata"]["namespace"]),
            str_of(&p["metadata"]["name"]),
            cell(&req, "cpu"),
            cell(&lim, "cpu"),
            cell(&req, "memory"),
            cell(&lim, "memory"),
            age(str_of(&p["metadata"]["creationTimestamp"]))
        ));
        for (sum, more) in [(&mut requests, req), (&mut limits, lim)] {
            for (k, v) in more {
                let t = sum.entry(k).or_default();
                *t = t.plus(v);
            }
        }
    }
    out.push_str(
        "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n",
    );
    out.push_str("  Resource\tRequests\tLimits\n  --------\t--------\t------\n");
    let mut shown = vec![
        "cpu".to_string(),
        "memory".into(),
        "ephemeral-storage".into(),
    ];
    shown.extend(
        allocatable
            .keys()
            .filter(|k| k.starts_with("hugepages-"))
            .cloned(),
    );
    for name in &shown {
        out.push_str(&format!(
            "  {name}\t{}\t{}\n",
            cell(&requests, name),
            cell(&limits, name)
        ));
    }
    // Extended resources (names with a domain) are listed without percentages.
    for name in allocatable.keys().filter(|k| extended(k)) {
        out.push_str(&format!(
            "  {name}\t{}\t{}\n",
            amount(&requests, name),
            amount(&limits, name)
        ));
    }
}

/// Whether a resource is neither standard nor huge pages (upstream's extended resources).
fn extended(name: &str) -> bool {
    !name.starts_with("hugepages-")
        && !matches!(name, "cpu" | "memory" | "ephemeral-storage" | "pods")
        && !name.starts_with("requests.hugepages-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn roles_and_taints() {
        let l = json!({"node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/master": "", "kubernetes.io/role": "edge", "x": "y"});
        assert_eq!(roles(&l), ["edge", "master", "worker"]);
        let mut out = String::new();
        taints(
            &mut out,
            &[
                json!({"key": "b", "effect": "NoSchedule"}),
                json!({"key": "a", "value": "1", "effect": "NoExecute"}),
            ],
        );
        assert_eq!(out, "Taints:\ta=1:NoExecute\n\tb:NoSchedule\n");
    }

    #[test]
    fn percentages_as_kubectl_truncates_them() {
        let a = |t: &str| Amount::parse(t).unwrap_or_default();
        assert_eq!(percent(a("100m"), a("2"), "cpu"), 5);
        assert_eq!(percent(a("64Mi"), a("24581372Ki"), "memory"), 0);
        assert_eq!(percent(a("0"), a("0"), "memory"), 0);
    }
}
