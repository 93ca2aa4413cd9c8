//! `oc status`: a short overview of the current project — its services with what they
//! select, deployment configs, deployments and build configs, routes, and standalone pods.

use serde_json::Value;

use super::Globals;
use crate::client::{Session, session};
use crate::error::CliError;

#[derive(Debug, Default, clap::Args)]
pub struct StatusArgs {
    /// Show suggestions for next steps (none are computed beyond the overview).
    #[arg(long)]
    suggest: bool,
}

/// The items of a collection in the project (none if the server does not serve it or the
/// user may not list it: the overview shows what it can).
async fn items(s: &Session, path: &str) -> Vec<Value> {
    match s.get(path).await {
        Ok(list) => list["items"].as_array().cloned().unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

fn name(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or_default()
}

fn selects(selector: &Value, labels: &Value) -> bool {
    selector
        .as_object()
        .is_some_and(|sel| !sel.is_empty() && sel.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

fn ports(svc: &Value) -> String {
    let ports: Vec<String> = svc["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let port = p["port"].to_string();
            match &p["targetPort"] {
                Value::Null => port,
                t if *t == p["port"] => port,
                Value::String(t) => format!("{port}->{t}"),
                t => format!("{port}->{t}"),
            }
        })
        .collect();
    ports.join(",")
}

fn images(template: &Value) -> String {
    let images: Vec<&str> = template["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["image"].as_str())
        .collect();
    images.join(", ")
}

pub async fn status(g: &Globals, _a: &StatusArgs) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let ns = &s.namespace;
    // The project must be visible (its absence or a refusal is the command's error).
    s.get(&format!("/api/v1/namespaces/{ns}")).await?;
    let core = format!("/api/v1/namespaces/{ns}");
    let services = items(&s, &format!("{core}/services")).await;
    let pods = items(&s, &format!("{core}/pods")).await;
    let dcs = items(
        &s,
        &format!("/apis/apps.openshift.io/v1/namespaces/{ns}/deploymentconfigs"),
    )
    .await;
    let deployments = items(&s, &format!("/apis/apps/v1/namespaces/{ns}/deployments")).await;
    let replica_sets = items(&s, &format!("/apis/apps/v1/namespaces/{ns}/replicasets")).await;
    let bcs = items(
        &s,
        &format!("/apis/build.openshift.io/v1/namespaces/{ns}/buildconfigs"),
    )
    .await;
    let routes = items(
        &s,
        &format!("/apis/route.openshift.io/v1/namespaces/{ns}/routes"),
    )
    .await;
    let mut out = format!("In project {ns} on server {}\n", s.server);
    let workloads: Vec<(String, &Value)> = dcs
        .iter()
        .map(|d| (format!("dc/{}", name(d)), d))
        .chain(
            deployments
                .iter()
                .map(|d| (format!("deployment/{}", name(d)), d)),
        )
        .collect();
    let mut shown: Vec<String> = Vec::new();
    let mut built: Vec<&str> = Vec::new();
    for svc in &services {
        // A service exposed by routes is headed by their URLs, as upstream heads it.
        let exposed: Vec<&Value> = routes
            .iter()
            .filter(|r| r["spec"]["to"]["name"] == name(svc))
            .collect();
        match exposed.is_empty() {
            true => {
                let ip = svc["spec"]["clusterIP"].as_str().unwrap_or("None");
                out.push_str(&format!("\nsvc/{} - {ip}:{}\n", name(svc), ports(svc)));
            }
            false => {
                out.push('\n');
                for route in exposed {
                    let scheme = match route["spec"]["tls"].is_object() {
                        true => "https",
                        false => "http",
                    };
                    let host = route["spec"]["host"].as_str().unwrap_or_default();
                    out.push_str(&format!("{scheme}://{host} (svc/{})\n", name(svc)));
                }
            }
        }
        let selector = &svc["spec"]["selector"];
        for (label, w) in &workloads {
            if selects(selector, &w["spec"]["template"]["metadata"]["labels"]) {
                shown.push(label.clone());
                out.push_str(&workload(label, w, &bcs, &replica_sets, "  ", &mut built));
            }
        }
    }
    for (label, w) in workloads.iter().filter(|(l, _)| !shown.contains(l)) {
        out.push('\n');
        out.push_str(&workload(label, w, &bcs, &replica_sets, "", &mut built));
    }
    for bc in bcs.iter().filter(|b| !built.contains(&name(b))) {
        out.push_str(&format!("\n{}", build_line(bc, "")));
    }
    let standalone: Vec<&Value> = pods
        .iter()
        .filter(|p| {
            p["metadata"]["ownerReferences"]
                .as_array()
                .is_none_or(Vec::is_empty)
        })
        .collect();
    for pod in &standalone {
        out.push_str(&format!("\npod/{} runs {}\n", name(pod), images(pod)));
    }
    if services.is_empty() && workloads.is_empty() && bcs.is_empty() && standalone.is_empty() {
        out.push_str("\nYou have no services, deployment configs, or build configs.\nRun 'oc new-app' to create an application.\n");
    }
    print!("{out}");
    Ok(())
}

/// What a workload runs (`deploys istag/ruby:latest` for a deployment config fed by an image
/// stream tag, else its images), the build config that feeds it, and its pods.
fn workload<'a>(
    label: &str,
    w: &Value,
    bcs: &'a [Value],
    replica_sets: &[Value],
    indent: &str,
    built: &mut Vec<&'a str>,
) -> String {
    if label.starts_with("deployment/") {
        return deployment(label, w, replica_sets, indent);
    }
    let template = &w["spec"]["template"];
    let from = w["spec"]["triggers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["type"] == "ImageChange")
        .and_then(|t| t["imageChangeParams"]["from"]["name"].as_str());
    let mut out = match from {
        Some(tag) => format!("{indent}{label} deploys istag/{tag}"),
        None => format!("{indent}{label} deploys {}", images(template)),
    };
    let feeding: Vec<&Value> = bcs
        .iter()
        .filter(|b| from.is_some() && b["spec"]["output"]["to"]["name"].as_str() == from)
        .collect();
    if !feeding.is_empty() {
        out.push_str(" <-");
    }
    out.push('\n');
    for bc in feeding {
        built.push(name(bc));
        out.push_str(&build_line(bc, &format!("{indent}  ")));
    }
    let desired = w["spec"]["replicas"].as_i64().unwrap_or(1);
    let ready = w["status"]["readyReplicas"].as_i64().unwrap_or(0);
    let noun = if desired == 1 { "pod" } else { "pods" };
    out.push_str(&format!("{indent}  {ready}/{desired} {noun} ready\n"));
    out
}

/// A Deployment: what it deploys (with upstream's trailing space) and its ReplicaSets.
fn deployment(label: &str, d: &Value, replica_sets: &[Value], indent: &str) -> String {
    let what = match super::deployment_status::triggered_tag(d) {
        Some(tag) => format!("istag/{tag}"),
        None => images(&d["spec"]["template"]),
    };
    let mut out = format!("{indent}{label} deploys {what} \n");
    out.push_str(&super::deployment_status::replica_set_lines(
        d,
        replica_sets,
        &format!("{indent}  "),
        jiff::Timestamp::now(),
    ));
    out
}

/// `bc/ruby source builds https://... on istag/ruby:2.7`, or its output when it has no source.
fn build_line(bc: &Value, indent: &str) -> String {
    let spec = &bc["spec"];
    let kind = spec["strategy"]["type"]
        .as_str()
        .unwrap_or("Source")
        .to_lowercase();
    let from = ["sourceStrategy", "dockerStrategy", "customStrategy"]
        .iter()
        .find_map(|k| spec["strategy"][*k]["from"]["name"].as_str());
    let on = match from {
        Some(f) => format!(" on istag/{f}"),
        None => String::new(),
    };
    match spec["source"]["git"]["uri"].as_str() {
        Some(uri) => format!("{indent}bc/{} {kind} builds {uri}{on}\n", name(bc)),
        None => {
            let to = spec["output"]["to"]["name"].as_str().unwrap_or("<none>");
            format!("{indent}bc/{} {kind} build pushes to {to}\n", name(bc))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn service_lines() {
        let svc = json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443, "targetPort": 443}]}});
        assert_eq!(ports(&svc), "80->8080,443");
        assert!(selects(
            &json!({"app": "a"}),
            &json!({"app": "a", "x": "y"})
        ));
        assert!(!selects(&json!({}), &json!({"app": "a"})));
    }
}
