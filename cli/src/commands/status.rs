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
    for svc in &services {
        let ip = svc["spec"]["clusterIP"].as_str().unwrap_or("None");
        out.push_str(&format!("\nsvc/{} - {ip}:{}\n", name(svc), ports(svc)));
        for route in routes
            .iter()
            .filter(|r| r["spec"]["to"]["name"] == name(svc))
        {
            let host = route["spec"]["host"].as_str().unwrap_or_default();
            out.push_str(&format!("  route/{} exposes it at {host}\n", name(route)));
        }
        let selector = &svc["spec"]["selector"];
        for (label, w) in &workloads {
            let template = &w["spec"]["template"];
            if selects(selector, &template["metadata"]["labels"]) {
                shown.push(label.clone());
                out.push_str(&format!("  {label} deploys {}\n", images(template)));
                out.push_str(&replicas_line(w));
            }
        }
    }
    for (label, w) in workloads.iter().filter(|(l, _)| !shown.contains(l)) {
        out.push_str(&format!(
            "\n{label} deploys {}\n",
            images(&w["spec"]["template"])
        ));
        out.push_str(&replicas_line(w));
    }
    for bc in &bcs {
        let strategy = bc["spec"]["strategy"]["type"].as_str().unwrap_or("Source");
        let to = bc["spec"]["output"]["to"]["name"]
            .as_str()
            .unwrap_or("<none>");
        out.push_str(&format!(
            "\nbc/{} {} build pushes to {to}\n",
            name(bc),
            strategy.to_lowercase()
        ));
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

fn replicas_line(w: &Value) -> String {
    let desired = w["spec"]["replicas"].as_i64().unwrap_or(1);
    let ready = w["status"]["readyReplicas"].as_i64().unwrap_or(0);
    let noun = if desired == 1 { "pod" } else { "pods" };
    format!("    {ready}/{desired} {noun} ready\n")
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
