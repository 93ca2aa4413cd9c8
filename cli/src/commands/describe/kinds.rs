//! kubectl's describers of the core and RBAC kinds that have a layout of their own, and the
//! generic description (every field, labelled) for kinds without one.

use api::quota::Amount;
use base64::Engine;
use serde_json::Value;

use super::text::{self, annotations, labels};
use crate::client::Session;
use crate::printers::{go_value, rules};

fn header(out: &mut String, obj: &Value, namespaced: bool) {
    let meta = &obj["metadata"];
    out.push_str(&format!(
        "Name:\t{}\n",
        meta["name"].as_str().unwrap_or_default()
    ));
    if namespaced {
        out.push_str(&format!(
            "Namespace:\t{}\n",
            meta["namespace"].as_str().unwrap_or_default()
        ));
    }
    labels(out, "Labels", &meta["labels"]);
    annotations(out, "Annotations", &meta["annotations"]);
}

/// Every field under readable labels (what kubectl prints for kinds it has no describer for).
pub(super) fn generic(out: &mut String, obj: &Value) {
    let meta = &obj["metadata"];
    out.push_str(&format!(
        "Name:\t{}\nNamespace:\t{}\n",
        meta["name"].as_str().unwrap_or_default(),
        meta["namespace"].as_str().unwrap_or_default()
    ));
    labels(out, "Labels", &meta["labels"]);
    annotations(out, "Annotations", &meta["annotations"]);
    text::content(
        out,
        0,
        obj,
        "",
        &[
            ".metadata.managedFields",
            ".metadata.name",
            ".metadata.namespace",
            ".metadata.labels",
            ".metadata.annotations",
        ],
    );
}

pub(super) fn sorted_entries(map: &Value) -> Vec<(&String, &Value)> {
    let mut entries: Vec<(&String, &Value)> = map.as_object().into_iter().flatten().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

pub(super) fn config_map(out: &mut String, obj: &Value) {
    header(out, obj, true);
    out.push_str("\nData\n====\n");
    for (k, v) in sorted_entries(&obj["data"]) {
        out.push_str(&format!(
            "{k}:\n----\n{}\n\n",
            v.as_str().unwrap_or_default()
        ));
    }
    out.push_str("\nBinaryData\n====\n");
    for (k, v) in sorted_entries(&obj["binaryData"]) {
        out.push_str(&format!("{k}: {} bytes\n", decoded_len(v)));
    }
    out.push('\n');
}

fn decoded_len(v: &Value) -> usize {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap_or_default())
        .map(|b| b.len())
        .unwrap_or(0)
}

pub(super) fn secret(out: &mut String, obj: &Value) {
    header(out, obj, true);
    let kind = obj["type"].as_str().unwrap_or("Opaque");
    out.push_str(&format!("\nType:\t{kind}\n\nData\n====\n"));
    for (k, v) in sorted_entries(&obj["data"]) {
        if k == "token" && kind == "kubernetes.io/service-account-token" {
            let token = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap_or_default())
                .unwrap_or_default();
            out.push_str(&format!("{k}:\t{}\n", String::from_utf8_lossy(&token)));
        } else {
            out.push_str(&format!("{k}:\t{} bytes\n", decoded_len(v)));
        }
    }
}

pub(super) async fn namespace(out: &mut String, s: &Session, obj: &Value) {
    header(out, obj, false);
    out.push_str(&format!(
        "Status:\t{}\n",
        obj["status"]["phase"].as_str().unwrap_or_default()
    ));
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let quotas = s
        .get(&format!("/api/v1/namespaces/{name}/resourcequotas"))
        .await
        .ok();
    let quotas: Vec<Value> = quotas
        .and_then(|q| q["items"].as_array().cloned())
        .unwrap_or_default();
    if quotas.is_empty() {
        out.push_str("\nNo resource quota.\n");
    }
    for q in &quotas {
        out.push_str(&format!(
            "\nResource Quotas\n  Name:\t{}\n  Resource\tUsed\tHard\n  --------\t---\t---\n",
            q["metadata"]["name"].as_str().unwrap_or_default()
        ));
        for (resource, hard) in sorted_entries(&q["status"]["hard"]) {
            let used = &q["status"]["used"][resource.as_str()];
            out.push_str(&format!(
                "  {resource}\t{}\t{}\n",
                go_value(used),
                go_value(hard)
            ));
        }
    }
    let limits = s
        .get(&format!("/api/v1/namespaces/{name}/limitranges"))
        .await
        .ok()
        .and_then(|l| l["items"].as_array().cloned())
        .unwrap_or_default();
    if limits.is_empty() {
        out.push_str("\nNo LimitRange resource.\n");
    }
    for l in &limits {
        out.push_str(&format!(
            "\nResource Limits\n Type\tResource\tMin\tMax\tDefault Request\tDefault Limit\tMax Limit/Request Ratio\n ----\t--------\t---\t---\t---------------\t-------------\t-----------------------\n{}",
            limit_rows(l)
        ));
    }
}

pub(super) fn limit_rows(l: &Value) -> String {
    let mut rows = String::new();
    for item in l["spec"]["limits"].as_array().into_iter().flatten() {
        let kind = item["type"].as_str().unwrap_or_default();
        let mut resources: Vec<&String> = [
            "min",
            "max",
            "default",
            "defaultRequest",
            "maxLimitRequestRatio",
        ]
        .iter()
        .flat_map(|f| item[*f].as_object().into_iter().flatten().map(|(k, _)| k))
        .collect();
        resources.sort();
        resources.dedup();
        for r in resources {
            let cell = |f: &str| item[f][r.as_str()].as_str().unwrap_or("-").to_string();
            rows.push_str(&format!(
                " {kind}\t{r}\t{}\t{}\t{}\t{}\t{}\n",
                cell("min"),
                cell("max"),
                cell("defaultRequest"),
                cell("default"),
                cell("maxLimitRequestRatio")
            ));
        }
    }
    rows
}

pub(super) fn service_account(out: &mut String, obj: &Value) {
    header(out, obj, true);
    let names = |field: &str| -> Vec<String> {
        obj[field]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["name"].as_str().map(str::to_string))
            .collect()
    };
    for (label, list) in [
        ("Image pull secrets", names("imagePullSecrets")),
        ("Mountable secrets", names("secrets")),
        ("Tokens", Vec::new()),
    ] {
        match list.split_first() {
            None => out.push_str(&format!("{label}:\t<none>\n")),
            Some((first, rest)) => {
                out.push_str(&format!("{label}:\t{first}\n"));
                for name in rest {
                    out.push_str(&format!("\t{name}\n"));
                }
            }
        }
    }
}

pub(super) fn role(out: &mut String, obj: &Value) {
    header(out, obj, false);
    out.push_str("PolicyRule:\n  Resources\tNon-Resource URLs\tResource Names\tVerbs\n  ---------\t-----------------\t--------------\t-----\n");
    let rules = obj["rules"].as_array().cloned().unwrap_or_default();
    for [resource, urls, names, verbs] in rules::rows(&rules) {
        out.push_str(&format!("  {resource}\t{urls}\t{names}\t{verbs}\n"));
    }
}

pub(super) fn binding(out: &mut String, obj: &Value) {
    header(out, obj, false);
    let role = &obj["roleRef"];
    out.push_str(&format!(
        "Role:\n  Kind:\t{}\n  Name:\t{}\nSubjects:\n  Kind\tName\tNamespace\n  ----\t----\t---------\n",
        role["kind"].as_str().unwrap_or_default(),
        role["name"].as_str().unwrap_or_default()
    ));
    for s in obj["subjects"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {}\t{}\t{}\n",
            s["kind"].as_str().unwrap_or_default(),
            s["name"].as_str().unwrap_or_default(),
            s["namespace"].as_str().unwrap_or_default()
        ));
    }
}

/// kubectl's ResourceQuota describer: scopes with their help, then used against hard (a
/// usage written in another format than its limit is shown in the limit's, as a whole
/// number).
pub(super) fn resource_quota(out: &mut String, obj: &Value) {
    let meta = &obj["metadata"];
    out.push_str(&format!(
        "Name:\t{}\nNamespace:\t{}\n",
        text::str_of(&meta["name"]),
        text::str_of(&meta["namespace"])
    ));
    let mut scopes: Vec<&str> = obj["spec"]["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !scopes.is_empty() {
        scopes.sort_unstable();
        out.push_str(&format!("Scopes:\t{}\n", scopes.join(", ")));
        for scope in scopes {
            if let Some(help) = scope_help(scope) {
                out.push_str(&format!(" * {help}\n"));
            }
        }
    }
    out.push_str("Resource\tUsed\tHard\n--------\t----\t----\n");
    for (resource, hard) in sorted_entries(&obj["status"]["hard"]) {
        let hard_text = text::str_of(hard);
        let used_text = text::str_of(&obj["status"]["used"][resource.as_str()]);
        let (hard_q, used_q) = (Amount::parse(hard_text), Amount::parse(used_text));
        let used = match (hard_q, used_q) {
            (Some(h), Some(u)) if h.format != u.format => u.whole_in(h.format).to_string(),
            (_, Some(u)) => u.to_string(),
            (_, None) => "0".to_string(),
        };
        let hard = hard_q.map_or_else(|| hard_text.to_string(), |h| h.to_string());
        out.push_str(&format!("{resource}\t{used}\t{hard}\n"));
    }
}

fn scope_help(scope: &str) -> Option<&'static str> {
    Some(match scope {
        "Terminating" => {
            "Matches all pods that have an active deadline. These pods have a limited lifespan on a node before being actively terminated by the system."
        }
        "NotTerminating" => {
            "Matches all pods that do not have an active deadline. These pods usually include long running pods whose container command is not expected to terminate."
        }
        "BestEffort" => {
            "Matches all pods that do not have resource requirements set. These pods have a best effort quality of service."
        }
        "NotBestEffort" => {
            "Matches all pods that have at least one resource requirement set. These pods have a burstable or guaranteed quality of service."
        }
        _ => return None,
    })
}
