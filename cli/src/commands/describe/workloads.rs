//! Deployments and services as kubectl describes them.

use serde_json::Value;

use super::pod_template::{self, int_or_string};
use super::text::{annotations, labels, str_of, timestamp};
use crate::client::{Session, encode};

fn header(out: &mut String, obj: &Value) {
    let meta = &obj["metadata"];
    out.push_str(&format!(
        "Name:\t{}\nNamespace:\t{}\n",
        str_of(&meta["name"]),
        str_of(&meta["namespace"])
    ));
}

/// `a=b,c=d` (sorted), or `<none>`.
fn selector_map(map: &Value) -> String {
    let mut pairs: Vec<String> = map
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", str_of(v)))
        .collect();
    pairs.sort();
    match pairs.is_empty() {
        true => "<none>".into(),
        false => pairs.join(","),
    }
}

/// A label selector as kubectl formats it: `app=web,tier in (a,b),!legacy`.
fn label_selector(sel: &Value) -> String {
    let mut parts: Vec<(String, String)> = sel["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), format!("{k}={}", str_of(v))))
        .collect();
    for e in sel["matchExpressions"].as_array().into_iter().flatten() {
        let key = str_of(&e["key"]).to_string();
        let values: Vec<&str> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .map(str_of)
            .collect();
        let text = match str_of(&e["operator"]) {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.clone(),
            "DoesNotExist" => format!("!{key}"),
            other => format!("{key} {other}"),
        };
        parts.push((key, text));
    }
    parts.sort();
    match parts.is_empty() {
        true => "<none>".into(),
        false => parts
            .into_iter()
            .map(|(_, t)| t)
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// The template without the `pod-template-hash` label replica sets add to it.
fn unhashed(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(l) = t["metadata"]["labels"].as_object_mut() {
        l.remove("pod-template-hash");
    }
    t
}

pub async fn deployment(out: &mut String, s: &Session, d: &Value) {
    header(out, d);
    let meta = &d["metadata"];
    out.push_str(&format!(
        "CreationTimestamp:\t{}\n",
        timestamp(str_of(&meta["creationTimestamp"]))
    ));
    labels(out, "Labels", &meta["labels"]);
    annotations(out, "Annotations", &meta["annotations"]);
    let (spec, status) = (&d["spec"], &d["status"]);
    let n = |v: &Value| v.as_i64().unwrap_or(0);
    out.push_str(&format!(
        "Selector:\t{}\n",
        label_selector(&spec["selector"])
    ));
    out.push_str(&format!(
        "Replicas:\t{} desired | {} updated | {} total | {} available | {} unavailable\n",
        spec["replicas"].as_i64().unwrap_or(1),
        n(&status["updatedReplicas"]),
        n(&status["replicas"]),
        n(&status["availableReplicas"]),
        n(&status["unavailableReplicas"])
    ));
    out.push_str(&format!(
        "StrategyType:\t{}\nMinReadySeconds:\t{}\n",
        str_of(&spec["strategy"]["type"]),
        n(&spec["minReadySeconds"])
    ));
    let rolling = &spec["strategy"]["rollingUpdate"];
    if rolling.is_object() {
        out.push_str(&format!(
            "RollingUpdateStrategy:\t{} max unavailable, {} max surge\n",
            int_or_string(&rolling["maxUnavailable"]),
            int_or_string(&rolling["maxSurge"])
        ));
    }
    pod_template::describe(out, &spec["template"]);
    let conditions = status["conditions"].as_array().cloned().unwrap_or_default();
    if !conditions.is_empty() {
        out.push_str("Conditions:\n  Type\tStatus\tReason\n  ----\t------\t------\n");
        for c in &conditions {
            out.push_str(&format!(
                "  {} \t{}\t{}\n",
                str_of(&c["type"]),
                str_of(&c["status"]),
                str_of(&c["reason"])
            ));
        }
    }
    // The replica sets it owns: the one running its current template, and the older ones.
    let namespace = str_of(&meta["namespace"]);
    let path = format!(
        "/apis/apps/v1/namespaces/{namespace}/replicasets?labelSelector={}",
        encode(&label_selector(&spec["selector"]))
    );
    let Ok(list) = s.get(&path).await else {
        return;
    };
    let owned: Vec<&Value> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|rs| {
            rs["metadata"]["ownerReferences"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|o| o["uid"] == meta["uid"] && o["controller"] == true)
        })
        .collect();
    let current = unhashed(&spec["template"]);
    let line = |sets: &[&Value]| -> String {
        sets.iter()
            .map(|rs| {
                format!(
                    "{} ({}/{} replicas created)",
                    str_of(&rs["metadata"]["name"]),
                    n(&rs["status"]["replicas"]),
                    rs["spec"]["replicas"].as_i64().unwrap_or(1)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    // As kubectl: the oldest with the current template is the new one, every other is old.
    let mut owned = owned;
    owned.sort_by_key(|rs| {
        (
            str_of(&rs["metadata"]["creationTimestamp"]).to_string(),
            str_of(&rs["metadata"]["name"]).to_string(),
        )
    });
    let new = owned
        .iter()
        .position(|rs| unhashed(&rs["spec"]["template"]) == current)
        .map(|i| owned.remove(i));
    let none_or = |sets: &[&Value]| match sets.is_empty() {
        true => "<none>".to_string(),
        false => line(sets),
    };
    out.push_str(&format!("OldReplicaSets:\t{}\n", none_or(&owned)));
    let new: Vec<&Value> = new.into_iter().collect();
    out.push_str(&format!("NewReplicaSet:\t{}\n", none_or(&new)));
}

pub async fn service(out: &mut String, s: &Session, svc: &Value) {
    header(out, svc);
    let meta = &svc["metadata"];
    labels(out, "Labels", &meta["labels"]);
    annotations(out, "Annotations", &meta["annotations"]);
    let spec = &svc["spec"];
    let joined = |v: &Value| -> String {
        let items: Vec<&str> = v.as_array().into_iter().flatten().map(str_of).collect();
        match items.is_empty() {
            true => "<none>".into(),
            false => items.join(","),
        }
    };
    out.push_str(&format!("Selector:\t{}\n", selector_map(&spec["selector"])));
    out.push_str(&format!("Type:\t{}\n", str_of(&spec["type"])));
    if let Some(p) = spec["ipFamilyPolicy"].as_str() {
        out.push_str(&format!("IP Family Policy:\t{p}\n"));
    }
    out.push_str(&format!("IP Families:\t{}\n", joined(&spec["ipFamilies"])));
    out.push_str(&format!("IP:\t{}\n", str_of(&spec["clusterIP"])));
    out.push_str(&format!("IPs:\t{}\n", joined(&spec["clusterIPs"])));
    if spec["externalIPs"]
        .as_array()
        .is_some_and(|a| !a.is_empty())
    {
        out.push_str(&format!(
            "External IPs:\t{}\n",
            joined(&spec["externalIPs"])
        ));
    }
    if let Some(ip) = spec["loadBalancerIP"].as_str().filter(|s| !s.is_empty()) {
        out.push_str(&format!("IP:\t{ip}\n"));
    }
    let name = str_of(&meta["name"]);
    let namespace = str_of(&meta["namespace"]);
    let slices = s
        .get(&format!(
            "/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices?labelSelector={}",
            encode(&format!("kubernetes.io/service-name={name}"))
        ))
        .await
        .ok()
        .and_then(|l| l["items"].as_array().cloned())
        .unwrap_or_default();
    for p in spec["ports"].as_array().into_iter().flatten() {
        let port_name = match str_of(&p["name"]) {
            "" => "<unset>",
            n => n,
        };
        let protocol = str_of(&p["protocol"]);
        out.push_str(&format!(
            "Port:\t{port_name}\t{}/{protocol}\n",
            p["port"].as_i64().unwrap_or(0)
        ));
        out.push_str(&format!(
            "TargetPort:\t{}/{protocol}\n",
            int_or_string(&p["targetPort"])
        ));
        if let Some(node_port) = p["nodePort"].as_i64().filter(|n| *n != 0) {
            out.push_str(&format!("NodePort:\t{port_name}\t{node_port}/{protocol}\n"));
        }
        out.push_str(&format!(
            "Endpoints:\t{}\n",
            endpoints(&slices, str_of(&p["name"]))
        ));
    }
    out.push_str(&format!(
        "Session Affinity:\t{}\n",
        str_of(&spec["sessionAffinity"])
    ));
    if let Some(p) = spec["externalTrafficPolicy"]
        .as_str()
        .filter(|s| !s.is_empty())
    {
        out.push_str(&format!("External Traffic Policy:\t{p}\n"));
    }
    if let Some(p) = spec["internalTrafficPolicy"].as_str() {
        out.push_str(&format!("Internal Traffic Policy:\t{p}\n"));
    }
}

/// The ready endpoints of the port named `port` (`10.0.0.1:8080,...`, three at most then
/// `+ N more...`; bare addresses from slices without ports), as kubectl's
/// formatEndpointSlices: `<none>` without any slice, empty when the slices hold none.
fn endpoints(slices: &[Value], port: &str) -> String {
    if slices.is_empty() {
        return "<none>".into();
    }
    let mut all = Vec::new();
    for slice in slices {
        let ready = slice["endpoints"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["conditions"]["ready"] != false);
        let ports: Vec<&Value> = slice["ports"].as_array().into_iter().flatten().collect();
        if ports.is_empty() {
            all.extend(ready.filter_map(|e| e["addresses"][0].as_str().map(str::to_string)));
            continue;
        }
        let Some(number) = ports
            .iter()
            .find(|p| str_of(&p["name"]) == port)
            .and_then(|p| p["port"].as_i64())
        else {
            continue;
        };
        for e in ready {
            for address in e["addresses"].as_array().into_iter().flatten() {
                all.push(format!("{}:{number}", str_of(address)));
            }
        }
    }
    match all.len() {
        0..=3 => all.join(","),
        n => format!("{} + {} more...", all[..3].join(","), n - 3),
    }
}
