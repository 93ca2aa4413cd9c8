//! kubectl's describers of PersistentVolumes and PersistentVolumeClaims: the binding seen
//! from either side, the volume's source and node affinity, the pods using a claim.

use serde_json::Value;

use super::text::{age, annotations, labels, str_of, timestamp};
use crate::client::Session;

/// `[a b]`, as Go prints a string slice.
fn go_list(items: &Value) -> String {
    let items: Vec<&str> = items.as_array().into_iter().flatten().map(str_of).collect();
    format!("[{}]", items.join(" "))
}

/// Access modes as kubectl abbreviates them, in its order, each once.
fn access_modes(modes: &Value) -> String {
    let modes: Vec<&str> = modes.as_array().into_iter().flatten().map(str_of).collect();
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(mode, _)| modes.contains(mode))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

/// The class: the field, else the beta annotation.
fn class(obj: &Value) -> &str {
    obj["spec"]["storageClassName"]
        .as_str()
        .or_else(|| {
            obj["metadata"]["annotations"]["volume.beta.kubernetes.io/storage-class"].as_str()
        })
        .unwrap_or_default()
}

fn status(out: &mut String, obj: &Value) {
    match obj["metadata"]["deletionTimestamp"].as_str() {
        Some(t) => out.push_str(&format!("Status:\tTerminating (lasts {})\n", age(t))),
        None => out.push_str(&format!("Status:\t{}\n", str_of(&obj["status"]["phase"]))),
    }
}

fn node_affinity(out: &mut String, affinity: &Value) {
    out.push_str("Node Affinity:\t");
    let required = &affinity["required"];
    if !required.is_object() {
        out.push_str("<none>\n");
        return;
    }
    out.push_str("\n  Required Terms:\t");
    let terms = required["nodeSelectorTerms"].as_array();
    let Some(terms) = terms.filter(|t| !t.is_empty()) else {
        out.push_str("<none>\n");
        return;
    };
    out.push('\n');
    for (i, term) in terms.iter().enumerate() {
        out.push_str(&format!("    Term {i}:\t"));
        let exprs = term["matchExpressions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if exprs.is_empty() {
            out.push_str("<none>\n");
            continue;
        }
        for (j, e) in exprs.iter().enumerate() {
            if j > 0 {
                out.push_str("    \t");
            }
            let mut expr = format!(
                "{} {}",
                str_of(&e["key"]),
                str_of(&e["operator"]).to_lowercase()
            );
            let values: Vec<&str> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .map(str_of)
                .collect();
            if !values.is_empty() {
                expr.push_str(&format!(" [{}]", values.join(", ")));
            }
            out.push_str(&format!("{expr}\n"));
        }
    }
}

fn source(out: &mut String, spec: &Value) {
    out.push_str("Source:\n");
    let (host, local, nfs, csi) = (
        &spec["hostPath"],
        &spec["local"],
        &spec["nfs"],
        &spec["csi"],
    );
    let bool_of = |v: &Value| v.as_bool().unwrap_or(false);
    if host.is_object() {
        out.push_str(&format!(
            "    Type:\tHostPath (bare host directory volume)\n    Path:\t{}\n    HostPathType:\t{}\n",
            str_of(&host["path"]),
            host["type"].as_str().unwrap_or("<none>")
        ));
    } else if local.is_object() {
        out.push_str(&format!(
            "    Type:\tLocalVolume (a persistent volume backed by local storage on a node)\n    Path:\t{}\n",
            str_of(&local["path"])
        ));
    } else if nfs.is_object() {
        out.push_str(&format!(
            "    Type:\tNFS (an NFS mount that lasts the lifetime of a pod)\n    Server:\t{}\n    Path:\t{}\n    ReadOnly:\t{}\n",
            str_of(&nfs["server"]),
            str_of(&nfs["path"]),
            bool_of(&nfs["readOnly"])
        ));
    } else if csi.is_object() {
        out.push_str(&format!(
            "    Type:\tCSI (a Container Storage Interface (CSI) volume source)\n    Driver:\t{}\n    FSType:\t{}\n    VolumeHandle:\t{}\n    ReadOnly:\t{}\n",
            str_of(&csi["driver"]),
            str_of(&csi["fsType"]),
            str_of(&csi["volumeHandle"]),
            bool_of(&csi["readOnly"])
        ));
        out.push_str("    VolumeAttributes:\t");
        let mut attributes: Vec<(&String, &Value)> = csi["volumeAttributes"]
            .as_object()
            .into_iter()
            .flatten()
            .collect();
        if attributes.is_empty() {
            out.push_str("<none>\n");
        }
        attributes.sort_by(|a, b| a.0.cmp(b.0));
        for (i, (k, v)) in attributes.into_iter().enumerate() {
            if i > 0 {
                // kubectl indents each further attribute twice over, around the tab.
                out.push_str("        \t");
            }
            out.push_str(&format!("    {k}={}\n", str_of(v)));
        }
    } else {
        out.push_str("  <unknown>\n");
    }
}

pub(super) fn persistent_volume(out: &mut String, pv: &Value) {
    let (meta, spec) = (&pv["metadata"], &pv["spec"]);
    out.push_str(&format!("Name:\t{}\n", str_of(&meta["name"])));
    labels(out, "Labels", &meta["labels"]);
    annotations(out, "Annotations", &meta["annotations"]);
    out.push_str(&format!("Finalizers:\t{}\n", go_list(&meta["finalizers"])));
    out.push_str(&format!("StorageClass:\t{}\n", class(pv)));
    status(out, pv);
    let claim = &spec["claimRef"];
    let claim = match claim.is_object() {
        true => format!("{}/{}", str_of(&claim["namespace"]), str_of(&claim["name"])),
        false => String::new(),
    };
    out.push_str(&format!("Claim:\t{claim}\n"));
    out.push_str(&format!(
        "Reclaim Policy:\t{}\n",
        str_of(&spec["persistentVolumeReclaimPolicy"])
    ));
    out.push_str(&format!(
        "Access Modes:\t{}\n",
        access_modes(&spec["accessModes"])
    ));
    if let Some(mode) = spec["volumeMode"].as_str() {
        out.push_str(&format!("VolumeMode:\t{mode}\n"));
    }
    let capacity = spec["capacity"]["storage"].as_str().unwrap_or("0");
    out.push_str(&format!("Capacity:\t{capacity}\n"));
    node_affinity(out, &spec["nodeAffinity"]);
    out.push_str(&format!("Message:\t{}\n", str_of(&pv["status"]["message"])));
    source(out, spec);
}

/// The pods of the claim's namespace that mount it, or that own it, sorted by name.
async fn used_by(s: &Session, pvc: &Value) -> Vec<String> {
    let meta = &pvc["metadata"];
    let path = format!("/api/v1/namespaces/{}/pods", str_of(&meta["namespace"]));
    let pods = s.get(&path).await.ok();
    let pods = pods
        .as_ref()
        .and_then(|l| l["items"].as_array())
        .cloned()
        .unwrap_or_default();
    let name = str_of(&meta["name"]);
    let mut users: Vec<&Value> = Vec::new();
    for pod in &pods {
        for v in pod["spec"]["volumes"].as_array().into_iter().flatten() {
            if v["persistentVolumeClaim"]["claimName"].as_str() == Some(name) {
                users.push(pod);
            }
        }
    }
    for owner in meta["ownerReferences"].as_array().into_iter().flatten() {
        if owner["kind"] != "Pod" {
            continue;
        }
        let owned = pods.iter().find(|p| p["metadata"]["uid"] == owner["uid"]);
        if let Some(pod) = owned
            && !users
                .iter()
                .any(|u| u["metadata"]["uid"] == pod["metadata"]["uid"])
        {
            users.push(pod);
        }
    }
    let mut names: Vec<String> = users
        .iter()
        .map(|p| str_of(&p["metadata"]["name"]).to_string())
        .collect();
    names.sort();
    names
}

pub(super) async fn persistent_volume_claim(out: &mut String, s: &Session, pvc: &Value) {
    let (meta, spec, st) = (&pvc["metadata"], &pvc["spec"], &pvc["status"]);
    out.push_str(&format!("Name:\t{}\n", str_of(&meta["name"])));
    out.push_str(&format!("Namespace:\t{}\n", str_of(&meta["namespace"])));
    out.push_str(&format!("StorageClass:\t{}\n", class(pvc)));
    status(out, pvc);
    let volume = str_of(&spec["volumeName"]);
    out.push_str(&format!("Volume:\t{volume}\n"));
    labels(out, "Labels", &meta["labels"]);
    annotations(out, "Annotations", &meta["annotations"]);
    out.push_str(&format!("Finalizers:\t{}\n", go_list(&meta["finalizers"])));
    let (capacity, modes) = match volume.is_empty() {
        true => (String::new(), String::new()),
        false => (
            st["capacity"]["storage"]
                .as_str()
                .unwrap_or("0")
                .to_string(),
            access_modes(&st["accessModes"]),
        ),
    };
    out.push_str(&format!("Capacity:\t{capacity}\n"));
    out.push_str(&format!("Access Modes:\t{modes}\n"));
    if let Some(mode) = spec["volumeMode"].as_str() {
        out.push_str(&format!("VolumeMode:\t{mode}\n"));
    }
    let data_source = &spec["dataSource"];
    if data_source.is_object() {
        out.push_str("DataSource:\n");
        if let Some(group) = data_source["apiGroup"].as_str() {
            out.push_str(&format!("  APIGroup:\t{group}\n"));
        }
        out.push_str(&format!("  Kind:\t{}\n", str_of(&data_source["kind"])));
        out.push_str(&format!("  Name:\t{}\n", str_of(&data_source["name"])));
    }
    out.push_str("Used By:\t");
    let users = used_by(s, pvc).await;
    if users.is_empty() {
        out.push_str("<none>\n");
    }
    for (i, name) in users.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        out.push_str(&format!("{name}\n"));
    }
    let conditions = st["conditions"].as_array().cloned().unwrap_or_default();
    if !conditions.is_empty() {
        out.push_str("Conditions:\n");
        out.push_str("  Type\tStatus\tLastProbeTime\tLastTransitionTime\tReason\tMessage\n");
        out.push_str("  ----\t------\t-----------------\t------------------\t------\t-------\n");
        let time = |v: &Value| match v.as_str() {
            Some(t) => timestamp(t),
            None => "Mon, 01 Jan 0001 00:00:00 +0000".to_string(),
        };
        for c in &conditions {
            out.push_str(&format!(
                "  {} \t{} \t{} \t{} \t{} \t{}\n",
                str_of(&c["type"]),
                str_of(&c["status"]),
                time(&c["lastProbeTime"]),
                time(&c["lastTransitionTime"]),
                str_of(&c["reason"]),
                str_of(&c["message"])
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn access_modes_in_kubectls_order_each_once() {
        let modes = json!([
            "ReadWriteOncePod",
            "ReadWriteMany",
            "ReadWriteOnce",
            "ReadWriteMany"
        ]);
        assert_eq!(access_modes(&modes), "RWO,RWX,RWOP");
        assert_eq!(access_modes(&Value::Null), "");
        assert_eq!(go_list(&json!(["a", "b"])), "[a b]");
        assert_eq!(go_list(&Value::Null), "[]");
    }

    #[test]
    fn a_volume_without_affinity_or_known_source() {
        let mut out = String::new();
        let pv = json!({"metadata": {"name": "v", "annotations":
            {"volume.beta.kubernetes.io/storage-class": "old"}},
            "spec": {"capacity": {"storage": "2Gi"}, "accessModes": ["ReadOnlyMany"],
            "persistentVolumeReclaimPolicy": "Retain", "iscsi": {}},
            "status": {"phase": "Released", "message": "gone"}});
        persistent_volume(&mut out, &pv);
        for line in [
            "StorageClass:\told\n",
            "Status:\tReleased\n",
            "Claim:\t\n",
            "Access Modes:\tROX\n",
            "Capacity:\t2Gi\n",
            "Node Affinity:\t<none>\n",
            "Message:\tgone\nSource:\n  <unknown>\n",
        ] {
            assert!(out.contains(line), "{line:?} in {out}");
        }
    }
}
