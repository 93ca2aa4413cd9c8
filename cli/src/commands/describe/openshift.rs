//! `oc`'s own descriptions of OpenShift kinds (aligned with tabs): the common header (name,
//! namespace, relative creation time, `k=v` labels and annotations), then projects, image
//! streams (tags in upstream's order with their history), routes and deployment configs.

use serde_json::Value;

use super::kinds::limit_rows;
use super::text::{self, spoken_duration, str_of};
use crate::client::Session;
use crate::printers::go_value;

/// `Label:\tvalue`, `<none>` for an empty value; one line per line of the value.
pub(super) fn field(out: &mut String, label: &str, value: &str) {
    let value = value.trim_end_matches('\n');
    out.push_str(&format!("{label}:"));
    for line in value.split('\n') {
        let line = if line.is_empty() { "<none>" } else { line };
        out.push_str(&format!("\t{line}\n"));
    }
}

/// `Label:\tk=v` then `\tk2=v2` (sorted), or `<none>`; the last-applied configuration is
/// left out and line breaks are shown escaped, so each entry keeps to its line.
pub(super) fn pairs(out: &mut String, label: &str, map: &Value) {
    let mut lines: Vec<String> = map
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != "kubectl.kubernetes.io/last-applied-configuration")
        .map(|(k, v)| format!("{k}={}", str_of(v).replace('\n', "\\n")))
        .collect();
    lines.sort();
    match lines.split_first() {
        None => out.push_str(&format!("{label}:\t<none>\n")),
        Some((first, rest)) => {
            out.push_str(&format!("{label}:\t{first}\n"));
            for line in rest {
                out.push_str(&format!("\t{line}\n"));
            }
        }
    }
}

/// Name, namespace (when there is one), creation time, labels and annotations.
pub(super) fn meta(out: &mut String, obj: &Value) {
    let meta = &obj["metadata"];
    field(out, "Name", str_of(&meta["name"]));
    if let Some(ns) = meta["namespace"].as_str().filter(|n| !n.is_empty()) {
        field(out, "Namespace", ns);
    }
    if let Some(created) = meta["creationTimestamp"].as_str() {
        field(out, "Created", &text::relative(created));
    }
    pairs(out, "Labels", &meta["labels"]);
    pairs(out, "Annotations", &meta["annotations"]);
}

pub(super) async fn items(s: &Session, path: &str) -> Vec<Value> {
    s.get(path)
        .await
        .ok()
        .and_then(|l| l["items"].as_array().cloned())
        .unwrap_or_default()
}

/// `oc describe project`: quota and limits summarized after the project's own fields.
pub async fn project(out: &mut String, s: &Session, obj: &Value) {
    meta(out, obj);
    let annotation = |key: &str| str_of(&obj["metadata"]["annotations"][key]).to_string();
    field(
        out,
        "Display Name",
        &annotation("openshift.io/display-name"),
    );
    field(out, "Description", &annotation("openshift.io/description"));
    field(out, "Status", str_of(&obj["status"]["phase"]));
    field(
        out,
        "Node Selector",
        &annotation("openshift.io/node-selector"),
    );
    let name = str_of(&obj["metadata"]["name"]);
    let quotas = items(s, &format!("/api/v1/namespaces/{name}/resourcequotas")).await;
    if quotas.is_empty() {
        field(out, "Quota", "");
    } else {
        out.push_str("Quota:\n");
        for q in &quotas {
            out.push_str(&format!(
                "\tName:\t{}\n\tResource\tUsed\tHard\n\t--------\t----\t----\n",
                str_of(&q["metadata"]["name"])
            ));
            let mut hard: Vec<(&String, &Value)> = q["status"]["hard"]
                .as_object()
                .into_iter()
                .flatten()
                .collect();
            hard.sort_by(|a, b| a.0.cmp(b.0));
            for (resource, limit) in hard {
                let used = &q["status"]["used"][resource.as_str()];
                out.push_str(&format!(
                    "\t{resource}\t{}\t{}\n",
                    go_value(used),
                    go_value(limit)
                ));
            }
        }
    }
    let limits = items(s, &format!("/api/v1/namespaces/{name}/limitranges")).await;
    if limits.is_empty() {
        field(out, "Resource limits", "");
    } else {
        out.push_str("Resource limits:\n");
        for l in &limits {
            out.push_str(&format!(
                "\tName:\t{}\n\tType\tResource\tMin\tMax\tDefault Request\tDefault Limit\tMax Limit/Request Ratio\n\t----\t--------\t---\t---\t---------------\t-------------\t-----------------------\n",
                str_of(&l["metadata"]["name"])
            ));
            for row in limit_rows(l).lines() {
                out.push_str(&format!("\t{}\n", row.trim_start()));
            }
        }
    }
}

fn ago(time: &str) -> String {
    match time.parse::<jiff::Timestamp>() {
        Ok(t) => format!(
            "{} ago",
            spoken_duration(jiff::Timestamp::now().as_second() - t.as_second())
        ),
        Err(_) => String::new(),
    }
}

/// `oc describe is`: the stream's repository and lookup policy, then each tag (with the tags
/// of the stream that track it) with where it comes from, a pending import or its failure,
/// and the images it has pointed at (newest first, the current one starred).
pub fn image_stream(out: &mut String, is: &Value) {
    meta(out, is);
    let (spec, status) = (&is["spec"], &is["status"]);
    let repository = match str_of(&status["publicDockerImageRepository"]) {
        "" => str_of(&status["dockerImageRepository"]),
        public => public,
    };
    field(out, "Image Repository", repository);
    out.push_str(&format!(
        "Image Lookup:\tlocal={}\n",
        spec["lookupPolicy"]["local"].as_bool().unwrap_or(false)
    ));
    let spec_tags: Vec<&Value> = spec["tags"].as_array().into_iter().flatten().collect();
    let status_tags: Vec<&Value> = status["tags"].as_array().into_iter().flatten().collect();
    let mut names: Vec<String> = spec_tags
        .iter()
        .map(|t| str_of(&t["name"]))
        .chain(status_tags.iter().map(|t| str_of(&t["tag"])))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        out.push_str("Tags:\t<none>\n");
        return;
    }
    images::prioritize_tags(&mut names);
    let mut images: Vec<&str> = status_tags
        .iter()
        .flat_map(|t| t["items"].as_array().into_iter().flatten())
        .map(|i| match str_of(&i["image"]) {
            "" => str_of(&i["dockerImageReference"]),
            image => image,
        })
        .collect();
    images.sort();
    images.dedup();
    out.push_str(&format!(
        "Unique Images:\t{}\nTags:\t{}\n\n",
        images.len(),
        names.len()
    ));
    let namespace = str_of(&is["metadata"]["namespace"]);
    let spec_of = |name: &str| {
        spec_tags
            .iter()
            .find(|t| str_of(&t["name"]) == name)
            .copied()
    };
    // Tags that track another tag of this stream are shown with it.
    let tracked = |tag: &Value| images::tags::tracked_tag(is, tag).map(str::to_string);
    let mut first = true;
    for name in &names {
        let tag = spec_of(name);
        if tag.and_then(tracked).is_some_and(|t| names.contains(&t)) {
            continue;
        }
        if !first {
            out.push('\n');
        }
        first = false;
        let aliases: Vec<&str> = spec_tags
            .iter()
            .filter(|t| tracked(t).as_deref() == Some(name.as_str()) && str_of(&t["name"]) != name)
            .map(|t| str_of(&t["name"]))
            .collect();
        match aliases.is_empty() {
            true => out.push_str(&format!("{name}\n")),
            false => out.push_str(&format!("{name} ({})\n", aliases.join(", "))),
        }
        image_stream_tag(out, is, namespace, name, tag);
    }
}

/// One tag of `oc describe is`, below its heading.
fn image_stream_tag(
    out: &mut String,
    is: &Value,
    namespace: &str,
    name: &str,
    tag: Option<&Value>,
) {
    let entry = is["status"]["tags"]
        .as_array()
        .and_then(|t| t.iter().find(|t| str_of(&t["tag"]) == name));
    match tag {
        None => out.push_str("  no spec tag\n"),
        Some(tag) if !tag["from"].is_object() => out.push_str("  tag without source image\n"),
        Some(tag) => {
            let from = &tag["from"];
            let kind = str_of(&from["kind"]);
            let source = match str_of(&from["namespace"]) {
                ns if kind != "DockerImage" && !ns.is_empty() && ns != namespace => {
                    format!("{ns}/{}", str_of(&from["name"]))
                }
                _ => str_of(&from["name"]).to_string(),
            };
            let scheduled = tag["importPolicy"]["scheduled"] == true;
            let line = match (kind, tag["reference"] == true, scheduled) {
                ("DockerImage", true, _) => format!("reference to registry {source}"),
                ("DockerImage", false, true) => {
                    format!("updates automatically from registry {source}")
                }
                (_, true, _) => format!("reference to {source}"),
                (_, false, true) => format!("updates automatically from {source}"),
                _ => format!("tagged from {source}"),
            };
            out.push_str(&format!("  {line}\n"));
            if tag["importPolicy"]["insecure"] == true {
                out.push_str("    will use insecure HTTPS or HTTP connections\n");
            }
            if tag["referencePolicy"]["type"] == "Local" {
                out.push_str("    prefer registry pullthrough when referencing this tag\n");
            }
        }
    }
    out.push('\n');
    if let Some(tag) = tag
        && kind_is(tag, "DockerImage")
        && tag["reference"] != true
        && tag["generation"].as_i64().unwrap_or(0) > observed_generation(entry)
    {
        out.push_str("  ~ importing latest image ...\n");
    }
    let failed = entry
        .and_then(|e| e["conditions"].as_array())
        .and_then(|c| {
            c.iter()
                .find(|c| c["type"] == "ImportSuccess" && c["status"] == "False")
        });
    if let Some(c) = failed {
        out.push_str(&format!(
            "  ! error: Import failed ({}): {}\n      {}\n",
            str_of(&c["reason"]),
            str_of(&c["message"]),
            ago(str_of(&c["lastTransitionTime"]))
        ));
    }
    let items = entry.and_then(|e| e["items"].as_array());
    for (i, item) in items.into_iter().flatten().enumerate() {
        let mark = if i == 0 { "*" } else { " " };
        let reference = str_of(&item["dockerImageReference"]);
        let image = str_of(&item["image"]);
        let id = match image {
            "" => String::new(),
            i if reference.ends_with(&format!("@{i}")) => String::new(),
            i => format!("\t{i}"),
        };
        out.push_str(&format!(
            "  {mark} {reference}\n      {}{id}\n",
            ago(str_of(&item["created"]))
        ));
    }
}

fn kind_is(tag: &Value, kind: &str) -> bool {
    tag["from"]["kind"] == kind
}

/// The generation a tag's last import was seen for (its newest event, or its first
/// ImportSuccess condition).
fn observed_generation(entry: Option<&Value>) -> i64 {
    let Some(entry) = entry else {
        return 0;
    };
    let event = entry["items"][0]["generation"].as_i64().unwrap_or(0);
    let condition = entry["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "ImportSuccess"))
        .and_then(|c| c["generation"].as_i64())
        .unwrap_or(0);
    event.max(condition)
}

/// `oc describe route`: the requested host and where routers admitted it, the path, TLS,
/// the target port, and each backend service with its share of the weight.
pub async fn route(out: &mut String, s: &Session, route: &Value) {
    meta(out, route);
    let spec = &route["spec"];
    let host = str_of(&spec["host"]);
    let ingresses: Vec<&Value> = route["status"]["ingress"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    match host.is_empty() {
        true => out.push_str("Requested Host:\t<auto>\n"),
        false => field(out, "Requested Host", host),
    }
    for ingress in &ingresses {
        let admitted = ingress["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == "Admitted");
        let canonical = match str_of(&ingress["routerCanonicalHostname"]) {
            "" => String::new(),
            h => format!(" (host {h})"),
        };
        let router = str_of(&ingress["routerName"]);
        let prefix = match str_of(&ingress["host"]) == host {
            true => String::new(),
            false => format!("{} ", str_of(&ingress["host"])),
        };
        match admitted.map(|c| (str_of(&c["status"]), c)) {
            Some(("True", c)) => out.push_str(&format!(
                "\t   {prefix}exposed on router {router}{canonical} {}\n",
                ago(str_of(&c["lastTransitionTime"])).to_lowercase()
            )),
            Some(("False", c)) => out.push_str(&format!(
                "\t   {prefix}rejected by router {router}: {}{canonical} ({})\n",
                str_of(&c["reason"]),
                ago(str_of(&c["lastTransitionTime"])).to_lowercase()
            )),
            _ => out.push_str(&format!(
                "\t   {prefix}waiting for router {router}{canonical}\n"
            )),
        }
    }
    field(out, "Path", str_of(&spec["path"]));
    field(out, "TLS Termination", str_of(&spec["tls"]["termination"]));
    field(
        out,
        "Insecure Policy",
        str_of(&spec["tls"]["insecureEdgeTerminationPolicy"]),
    );
    let port = match &spec["port"]["targetPort"] {
        Value::Null => "<all endpoint ports>".to_string(),
        v => super::pod_template::int_or_string(v),
    };
    field(out, "Endpoint Port", &port);
    let backends: Vec<&Value> = std::iter::once(&spec["to"])
        .chain(spec["alternateBackends"].as_array().into_iter().flatten())
        .collect();
    let total: i64 = backends.iter().filter_map(|b| b["weight"].as_i64()).sum();
    let namespace = str_of(&route["metadata"]["namespace"]);
    out.push('\n');
    for b in backends {
        let name = str_of(&b["name"]);
        out.push_str(&format!("Service:\t{name}\n"));
        match b["weight"].as_i64().filter(|w| *w > 0 && total > 0) {
            Some(w) => out.push_str(&format!("Weight:\t{w} ({}%)\n", w * 100 / total)),
            None => out.push_str("Weight:\t0\n"),
        }
        let slices = items(
            s,
            &format!(
                "/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3D{name}"
            ),
        )
        .await;
        let addresses: Vec<String> = slices
            .iter()
            .flat_map(|slice| {
                let ports: Vec<i64> = slice["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["port"].as_i64())
                    .collect();
                slice["endpoints"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|e| e["addresses"].as_array().into_iter().flatten())
                    .flat_map(move |a| {
                        let ports = ports.clone();
                        ports.into_iter().map(move |p| format!("{}:{p}", str_of(a)))
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let shown = match addresses.len() {
            0 => "<none>".to_string(),
            1..=3 => addresses.join(", "),
            n => format!("{} + {} more...", addresses[..3].join(", "), n - 3),
        };
        out.push_str(&format!("Endpoints:\t{shown}\n"));
    }
}

/// `Config, Image(ruby@latest, auto=true)`: a deployment config's triggers.
fn triggers(list: &Value) -> String {
    let shown: Vec<String> = list
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| match str_of(&t["type"]) {
            "ConfigChange" => "Config".to_string(),
            "ImageChange" => {
                let p = &t["imageChangeParams"];
                let from = str_of(&p["from"]["name"]).replacen(':', "@", 1);
                format!(
                    "Image({from}, auto={})",
                    p["automatic"].as_bool().unwrap_or(false)
                )
            }
            other => other.to_string(),
        })
        .collect();
    shown.join(", ")
}

/// `oc describe dc`: version, selector, replicas, triggers and strategy, the pod template,
/// then its deployments (the replication controllers it made), newest first.
pub async fn deployment_config(out: &mut String, s: &Session, dc: &Value) {
    meta(out, dc);
    let (spec, status) = (&dc["spec"], &dc["status"]);
    let latest = status["latestVersion"].as_i64().unwrap_or(0);
    field(out, "Latest Version", &latest.to_string());
    let mut selector: Vec<String> = spec["selector"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", str_of(v)))
        .collect();
    selector.sort();
    field(out, "Selector", &selector.join(","));
    field(
        out,
        "Replicas",
        &spec["replicas"].as_i64().unwrap_or(1).to_string(),
    );
    if spec["paused"] == true {
        field(out, "Paused", "true");
    }
    field(out, "Triggers", &triggers(&spec["triggers"]));
    let strategy = match str_of(&spec["strategy"]["type"]) {
        "" => "Rolling",
        other => other,
    };
    field(out, "Strategy", strategy);
    out.push_str("Template:\n");
    super::pod_template::describe(out, &spec["template"]);
    let namespace = str_of(&dc["metadata"]["namespace"]);
    let name = str_of(&dc["metadata"]["name"]);
    let mut deployments = items(
        s,
        &format!(
            "/api/v1/namespaces/{namespace}/replicationcontrollers?labelSelector=openshift.io%2Fdeployment-config.name%3D{name}"
        ),
    )
    .await;
    let version = |rc: &Value| {
        str_of(&rc["metadata"]["annotations"]["openshift.io/deployment-config.latest-version"])
            .parse::<i64>()
            .unwrap_or(0)
    };
    deployments.sort_by_key(|rc| std::cmp::Reverse(version(rc)));
    if deployments.is_empty() {
        out.push_str("\nLatest Deployment:\t<none>\n");
    }
    for rc in &deployments {
        let n = version(rc);
        let tag = if n == latest { " (latest)" } else { "" };
        let meta = &rc["metadata"];
        let count = |k: &str| rc["status"][k].as_i64().unwrap_or(0);
        out.push_str(&format!(
            "\nDeployment #{n}{tag}:\n\tName:\t{}\n\tCreated:\t{}\n\tStatus:\t{}\n\tReplicas:\t{} current / {} desired\n",
            str_of(&meta["name"]),
            text::relative(str_of(&meta["creationTimestamp"])),
            match str_of(&meta["annotations"]["openshift.io/deployment.phase"]) {
                "" => "<none>",
                phase => phase,
            },
            count("replicas"),
            rc["spec"]["replicas"].as_i64().unwrap_or(0)
        ));
    }
}

/// `oc describe clusterresourcequota|appliedclusterresourcequota` (oc's `DescribeClusterQuota`):
/// the common header, the projects the quota spans as Go quotes a list, its selectors, then
/// the total used against hard.
pub fn cluster_quota(out: &mut String, quota: &Value) {
    meta(out, quota);
    let namespaces: Vec<String> = quota["status"]["namespaces"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| format!("{:?}", str_of(&n["namespace"])))
        .collect();
    let selector = &quota["spec"]["selector"];
    out.push_str(&format!(
        "Namespace Selector: [{}]\nLabel Selector: {}\nAnnotationSelector: {}\n",
        namespaces.join(" "),
        api::selector::format_label_selector(selector.get("labels")),
        match &selector["annotations"] {
            Value::Null => "map[]".to_string(),
            annotations => go_value(annotations),
        }
    ));
    let mut scopes: Vec<&str> = quota["spec"]["quota"]["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !scopes.is_empty() {
        scopes.sort_unstable();
        out.push_str(&format!("Scopes:\t{}\n", scopes.join(", ")));
    }
    out.push_str("Resource\tUsed\tHard\n--------\t----\t----\n");
    let total = &quota["status"]["total"];
    for (resource, hard) in super::kinds::sorted_entries(&total["hard"]) {
        let used = match str_of(&total["used"][resource.as_str()]) {
            "" => "0",
            used => used,
        };
        out.push_str(&format!("{resource}\t{used}\t{}\n", str_of(hard)));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn deployment_config_triggers() {
        let list = serde_json::json!([{"type": "ConfigChange"}, {"type": "ImageChange",
            "imageChangeParams": {"automatic": true, "from": {"kind": "ImageStreamTag", "name": "ruby:latest"}}}]);
        assert_eq!(
            super::triggers(&list),
            "Config, Image(ruby@latest, auto=true)"
        );
    }

    #[test]
    fn image_streams_fold_aliases_and_show_failed_imports() {
        let is = serde_json::json!({
            "metadata": {"name": "app", "namespace": "p"},
            "spec": {"tags": [
                {"name": "v1", "from": {"kind": "DockerImage", "name": "quay.io/a/b:1"}, "generation": 2},
                {"name": "latest", "from": {"kind": "ImageStreamTag", "name": "v1"}, "generation": 1}
            ]},
            "status": {"dockerImageRepository": "127.0.0.1:5000/p/app", "tags": [
                {"tag": "v1", "items": [{"created": "2026-01-01T00:00:00Z", "dockerImageReference": "quay.io/a/b@sha256:aa", "image": "sha256:aa", "generation": 1}],
                 "conditions": [{"type": "ImportSuccess", "status": "False", "reason": "NotFound", "message": "gone", "generation": 2}]}
            ]}
        });
        let mut out = String::new();
        super::image_stream(&mut out, &is);
        assert!(
            out.contains("Image Repository:\t127.0.0.1:5000/p/app\n"),
            "{out}"
        );
        assert!(out.contains("Tags:\t2\n\nv1 (latest)\n  tagged from quay.io/a/b:1\n\n  ! error: Import failed (NotFound): gone\n"), "{out}");
        assert!(out.contains("  * quay.io/a/b@sha256:aa\n"), "{out}");
        assert!(!out.contains("\nlatest\n"), "{out}");
    }
}
