//! Kind-specific cells, computed as upstream's printers compute them.

use api::columns::Special;
use serde_json::{Value, json};

use super::{at, human_duration, seconds_since, str_at};

pub fn cell(special: Special, obj: &Value, now: i64) -> Value {
    json!(text(special, obj, now))
}

fn list<'a>(obj: &'a Value, path: &str) -> impl Iterator<Item = &'a Value> {
    at(obj, path)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn or_none(items: Vec<String>) -> String {
    match items.is_empty() {
        true => "<none>".into(),
        false => items.join(","),
    }
}

fn condition_true(obj: &Value, kind: &str) -> bool {
    list(obj, "status.conditions").any(|c| c["type"] == kind && c["status"] == "True")
}

/// Upstream's listWithMoreString: three items, then `+ N more...`; `<unset>` for none.
fn with_more(items: Vec<String>) -> String {
    match items.len() {
        0 => "<unset>".into(),
        n if n > 3 => format!("{} + {} more...", items[..3].join(","), n - 3),
        _ => items.join(","),
    }
}

fn text(special: Special, obj: &Value, now: i64) -> String {
    match special {
        Special::ServiceExternalIp => service_external_ip(obj),
        Special::ServicePorts => or_none(
            list(obj, "spec.ports")
                .map(|p| {
                    let protocol = p["protocol"].as_str().unwrap_or("TCP");
                    match p["nodePort"].as_i64() {
                        Some(node) => format!("{}:{node}/{protocol}", p["port"]),
                        None => format!("{}/{protocol}", p["port"]),
                    }
                })
                .collect(),
        ),
        Special::EndpointAddresses => {
            let mut all = Vec::new();
            for subset in list(obj, "subsets") {
                for address in list(subset, "addresses") {
                    let ip = address["ip"].as_str().unwrap_or_default();
                    let ports: Vec<i64> = list(subset, "ports")
                        .filter_map(|p| p["port"].as_i64())
                        .collect();
                    match ports.as_slice() {
                        [] => all.push(ip.to_string()),
                        ports => all.extend(ports.iter().map(|p| format!("{ip}:{p}"))),
                    }
                }
            }
            match all.len() {
                0 => "<none>".into(),
                n if n > 3 => format!("{} + {} more...", all[..3].join(","), n - 3),
                _ => all.join(","),
            }
        }
        Special::SlicePorts => with_more(
            list(obj, "ports")
                .map(|p| match (p["port"].as_i64(), p["name"].as_str()) {
                    (Some(n), _) => n.to_string(),
                    (None, Some(name)) => name.to_string(),
                    _ => "*".to_string(),
                })
                .collect(),
        ),
        Special::SliceEndpoints => with_more(
            list(obj, "endpoints")
                .flat_map(|e| list(e, "addresses"))
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect(),
        ),
        Special::EventObject => {
            let involved = &obj["involvedObject"];
            format!(
                "{}/{}",
                involved["kind"].as_str().unwrap_or_default().to_lowercase(),
                involved["name"].as_str().unwrap_or_default()
            )
        }
        Special::VolumePhase => match obj["metadata"]["deletionTimestamp"].is_string() {
            true => "Terminating".to_string(),
            false => str_at(obj, "status.phase").to_string(),
        },
        Special::VolumeClaim => match (
            str_at(obj, "spec.claimRef.namespace"),
            str_at(obj, "spec.claimRef.name"),
        ) {
            (_, "") => String::new(),
            (ns, name) => format!("{ns}/{name}"),
        },
        Special::AccessModes(path) => list(obj, path)
            .filter_map(Value::as_str)
            .map(|m| match m {
                "ReadWriteOnce" => "RWO",
                "ReadOnlyMany" => "ROX",
                "ReadWriteMany" => "RWX",
                "ReadWriteOncePod" => "RWOP",
                other => other,
            })
            .collect::<Vec<_>>()
            .join(","),
        Special::QuotaRequests => quota(obj, false),
        Special::QuotaLimits => quota(obj, true),
        Special::NodeStatus => {
            let ready = list(obj, "status.conditions").find(|c| c["type"] == "Ready");
            let mut status = match ready.map(|c| c["status"] == "True") {
                Some(true) => "Ready".to_string(),
                Some(false) => "NotReady".to_string(),
                None => "Unknown".to_string(),
            };
            if obj["spec"]["unschedulable"] == true {
                status.push_str(",SchedulingDisabled");
            }
            status
        }
        Special::NodeRoles => {
            let mut roles: Vec<String> = obj["metadata"]["labels"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| match k.strip_prefix("node-role.kubernetes.io/") {
                    Some(role) if !role.is_empty() => Some(role.to_string()),
                    _ if k == "kubernetes.io/role" => v.as_str().map(str::to_string),
                    _ => None,
                })
                .collect();
            roles.sort();
            or_none(roles)
        }
        Special::JobStatus => {
            let status = [
                "Failed",
                "Complete",
                "Suspended",
                "FailureTarget",
                "SuccessCriteriaMet",
            ]
            .into_iter()
            .find(|c| condition_true(obj, c));
            match status {
                Some(s) => s.to_string(),
                None if obj["metadata"]["deletionTimestamp"].is_string() => "Terminating".into(),
                None => "Running".into(),
            }
        }
        Special::JobCompletions => {
            let succeeded = obj["status"]["succeeded"].as_i64().unwrap_or(0);
            match (
                obj["spec"]["completions"].as_i64(),
                obj["spec"]["parallelism"].as_i64(),
            ) {
                (Some(completions), _) => format!("{succeeded}/{completions}"),
                (None, Some(p)) if p > 1 => format!("{succeeded}/1 of {p}"),
                (None, _) => format!("{succeeded}/1"),
            }
        }
        Special::JobDuration => match seconds_since(obj, "status.startTime", now) {
            None => String::new(),
            Some(running) => match seconds_since(obj, "status.completionTime", now) {
                Some(since_end) => human_duration(running - since_end),
                None => human_duration(running),
            },
        },
        Special::Subjects(kind) => list(obj, "subjects")
            .filter(|s| s["kind"] == kind)
            .map(|s| match (kind, s["namespace"].as_str()) {
                ("ServiceAccount", Some(ns)) => {
                    format!("{ns}/{}", s["name"].as_str().unwrap_or_default())
                }
                _ => s["name"].as_str().unwrap_or_default().to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Special::RouteHost => super::routes::host(obj),
        Special::RouteServices => super::routes::services(obj),
        Special::RoutePort => super::routes::port(obj),
        Special::RouteTermination => super::routes::termination(obj),
        Special::TemplateParameters => {
            let params: Vec<&Value> = list(obj, "parameters").collect();
            let generated = params
                .iter()
                .filter(|p| p["generate"].as_str().is_some_and(|g| !g.is_empty()))
                .count();
            let blank = params
                .iter()
                .filter(|p| {
                    p["value"].as_str().unwrap_or_default().is_empty()
                        && p["generate"].as_str().unwrap_or_default().is_empty()
                })
                .count();
            match (generated, blank) {
                (0, 0) => format!("{} (all set)", params.len()),
                (0, b) => format!("{} ({b} blank)", params.len()),
                (g, _) => format!("{} ({g} generated)", params.len()),
            }
        }
        Special::DeploymentConfigTriggers => {
            // Upstream lists the config trigger and the automatic image triggers, sorted.
            let mut names: Vec<String> = list(obj, "spec.triggers")
                .filter_map(|t| match t["type"].as_str() {
                    Some("ConfigChange") => Some("config".to_string()),
                    Some("ImageChange") if t["imageChangeParams"]["automatic"] == true => {
                        Some(format!(
                            "image({})",
                            t["imageChangeParams"]["from"]["name"]
                                .as_str()
                                .unwrap_or_default()
                        ))
                    }
                    _ => None,
                })
                .collect();
            names.sort();
            names.dedup();
            names.join(",")
        }
        Special::BuildFrom(path) => {
            let source = at(obj, path).unwrap_or(&Value::Null);
            let kind = match source["type"].as_str() {
                Some(t) => t.to_string(),
                None if source["git"].is_object() => "Git".into(),
                None if source["dockerfile"].is_string() => "Dockerfile".into(),
                None if source["binary"].is_object() => "Binary".into(),
                None => String::new(),
            };
            match obj["spec"]["revision"]["git"]["commit"].as_str() {
                Some(commit) if kind == "Git" => format!("Git@{}", &commit[..commit.len().min(7)]),
                _ => kind,
            }
        }
        Special::BuildDuration => match obj["status"]["duration"].as_i64() {
            Some(nanos) => human_duration(nanos / 1_000_000_000),
            None => seconds_since(obj, "status.startTimestamp", now)
                .map(human_duration)
                .unwrap_or_default(),
        },
        Special::ImageStreamRepository => {
            let public = str_at(obj, "status.publicDockerImageRepository");
            match public {
                "" => str_at(obj, "status.dockerImageRepository").to_string(),
                p => p.to_string(),
            }
        }
        Special::ControllerOf => controller_of(obj),
        Special::IngressHosts => ingress_hosts(obj),
        Special::IngressAddress => {
            let mut addresses: Vec<&str> = list(obj, "status.loadBalancer.ingress")
                .filter_map(|i| match i["ip"].as_str().filter(|ip| !ip.is_empty()) {
                    Some(ip) => Some(ip),
                    None => i["hostname"].as_str().filter(|h| !h.is_empty()),
                })
                .collect();
            addresses.sort_unstable();
            addresses.dedup();
            // kubectl asks for the cells of -o wide, which upstream does not shorten.
            addresses.join(",")
        }
        Special::IngressPorts => match list(obj, "spec.tls").next() {
            Some(_) => "80, 443".into(),
            None => "80".into(),
        },
        Special::IngressClassParameters => {
            let parameters = &obj["spec"]["parameters"];
            match parameters.as_object() {
                None => "<none>".into(),
                Some(_) => {
                    let kind = parameters["kind"].as_str().unwrap_or_default();
                    let name = parameters["name"].as_str().unwrap_or_default();
                    match parameters["apiGroup"].as_str() {
                        Some(group) => format!("{kind}.{group}/{name}"),
                        None => format!("{kind}/{name}"),
                    }
                }
            }
        }
        Special::HpaTargets => super::autoscaling::targets(obj),
        Special::StorageClassName => {
            let name = str_at(obj, "metadata.name");
            let annotations = &obj["metadata"]["annotations"];
            let default = [
                "storageclass.kubernetes.io/is-default-class",
                "storageclass.beta.kubernetes.io/is-default-class",
            ]
            .iter()
            .any(|key| annotations[*key] == "true");
            match default {
                true => format!("{name} (default)"),
                false => name.to_string(),
            }
        }
        Special::CsiTokenRequests => {
            match at(obj, "spec.tokenRequests").and_then(Value::as_array) {
                None => "<unset>".into(),
                Some(requests) => requests
                    .iter()
                    .map(|r| r["audience"].as_str().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join(","),
            }
        }
        Special::CsiModes => or_none(
            list(obj, "spec.volumeLifecycleModes")
                .filter_map(|m| m.as_str().map(str::to_string))
                .collect(),
        ),
        Special::AnnotationSelector => {
            // Go's `%v` of a map[string]string, keys sorted.
            let pairs: Vec<String> = at(obj, "spec.selector.annotations")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}:{}", v.as_str().unwrap_or_default()))
                .collect();
            format!("map[{}]", pairs.join(" "))
        }
        Special::CsrRequestedDuration => at(obj, "spec.expirationSeconds")
            .and_then(Value::as_i64)
            .map(human_duration)
            .unwrap_or_else(|| "<none>".into()),
        Special::CsrCondition => csr_condition(obj),
        Special::ApiServiceService => match at(obj, "spec.service") {
            Some(Value::Object(service)) => format!(
                "{}/{}",
                service
                    .get("namespace")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                service
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            ),
            _ => "Local".into(),
        },
        Special::ApiServiceAvailable => {
            match list(obj, "status.conditions").find(|c| c["type"] == "Available") {
                Some(c) if c["status"] == "True" => "True".into(),
                Some(c) => format!(
                    "{} ({})",
                    c["status"].as_str().unwrap_or_default(),
                    c["reason"].as_str().unwrap_or_default()
                ),
                None => "Unknown".into(),
            }
        }
        Special::FlowSchemaDangling => list(obj, "status.conditions")
            .find(|c| c["type"] == "Dangling")
            .map(|c| c["status"].as_str().unwrap_or_default().to_string())
            .unwrap_or_else(|| "?".into()),
        Special::ImageStreamUpdated => list(obj, "status.tags")
            .filter_map(|t| t["items"][0]["created"].as_str())
            .filter_map(|c| c.parse::<jiff::Timestamp>().ok())
            .max()
            .map(|t| human_duration(now - t.as_second()))
            .unwrap_or_default(),
        Special::CreatedAgo => seconds_since(obj, "metadata.creationTimestamp", now)
            .map(human_duration)
            .unwrap_or_default(),
    }
}

/// `kind.group/name` of the controller owner reference, in lower case (`statefulset.apps/web`);
/// `<none>` without one.
fn controller_of(obj: &Value) -> String {
    let owner = list(obj, "metadata.ownerReferences").find(|o| o["controller"] == true);
    let Some(owner) = owner else {
        return "<none>".into();
    };
    let api_version = owner["apiVersion"].as_str().unwrap_or_default();
    let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
    let kind = owner["kind"].as_str().unwrap_or_default();
    let name = owner["name"].as_str().unwrap_or_default();
    match (kind, group) {
        ("", "") => name.to_string(),
        (kind, "") => format!("{}/{name}", kind.to_lowercase()),
        (kind, group) => format!("{}/{name}", format!("{kind}.{group}").to_lowercase()),
    }
}

/// An ingress's rule hosts: at most three, then `+ N more...`; `*` when no rule names one.
fn ingress_hosts(obj: &Value) -> String {
    const MAX: usize = 3;
    let rules: Vec<&Value> = list(obj, "spec.rules").collect();
    let mut hosts = Vec::new();
    let mut more = false;
    for rule in &rules {
        if hosts.len() == MAX {
            more = true;
        }
        match rule["host"].as_str() {
            Some(host) if !more && !host.is_empty() => hosts.push(host),
            _ => {}
        }
    }
    match (hosts.is_empty(), more) {
        (true, _) => "*".into(),
        (false, true) => format!("{} + {} more...", hosts.join(","), rules.len() - MAX),
        (false, false) => hosts.join(","),
    }
}

fn service_external_ip(obj: &Value) -> String {
    let external: Vec<String> = list(obj, "spec.externalIPs")
        .filter_map(|ip| ip.as_str().map(str::to_string))
        .collect();
    match str_at(obj, "spec.type") {
        "ExternalName" => str_at(obj, "spec.externalName").to_string(),
        "LoadBalancer" => {
            let mut ips: Vec<String> = list(obj, "status.loadBalancer.ingress")
                .filter_map(|i| {
                    i["ip"]
                        .as_str()
                        .or(i["hostname"].as_str())
                        .map(str::to_string)
                })
                .collect();
            ips.extend(external);
            match ips.is_empty() {
                true => "<pending>".into(),
                false => ips.join(","),
            }
        }
        _ => or_none(external),
    }
}

/// `resource: used/hard` for a quota's limit resources, or for the others.
fn quota(obj: &Value, limits: bool) -> String {
    let hard = obj["spec"]["hard"].as_object();
    let mut keys: Vec<&String> = hard
        .into_iter()
        .flat_map(|h| h.keys())
        .filter(|k| k.starts_with("limits.") == limits)
        .collect();
    keys.sort();
    keys.iter()
        .map(|k| {
            let used = obj["status"]["used"][k.as_str()].as_str().unwrap_or("0");
            let hard = obj["spec"]["hard"][k.as_str()].as_str().unwrap_or_default();
            format!("{k}: {used}/{hard}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// kubectl's summary of a certificate signing request: denial wins over approval, then
/// failure and the issued certificate are added.
fn csr_condition(obj: &Value) -> String {
    let has = |kind: &str| list(obj, "status.conditions").any(|c| c["type"] == kind);
    let mut status = match (has("Denied"), has("Approved")) {
        (true, _) => "Denied".to_string(),
        (false, true) => "Approved".to_string(),
        (false, false) => "Pending".to_string(),
    };
    if has("Failed") {
        status.push_str(",Failed");
    }
    if !str_at(obj, "status.certificate").is_empty() {
        status.push_str(",Issued");
    }
    status
}
