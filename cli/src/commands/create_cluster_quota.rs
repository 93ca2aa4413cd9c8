//! `oc create clusterresourcequota NAME --project-label-selector=... |
//! --project-annotation-selector=... [--hard=RESOURCE=QUANTITY]...`: a ClusterResourceQuota
//! over the projects the selectors pick, as oc's `create clusterquota` builds it.

use http::Method;
use serde_json::{Map, Value, json};

use super::Globals;
use crate::client::session;
use crate::error::CliError;

#[derive(Debug, Default, clap::Args)]
pub struct ClusterQuotaArgs {
    /// The cluster resource quota's name.
    pub name: Option<String>,
    /// The project label selector for the cluster resource quota.
    #[arg(long = "project-label-selector", default_value = "")]
    pub label_selector: String,
    /// The project annotation selector for the cluster resource quota.
    #[arg(long = "project-annotation-selector", default_value = "")]
    pub annotation_selector: String,
    /// The resource to constrain: RESOURCE=QUANTITY (pods=10).
    #[arg(long, value_delimiter = ',')]
    pub hard: Vec<String>,
}

/// `k=v,k2=v2` as a map (oc reads it as one CSV record).
fn annotation_selector(text: &str) -> Result<Option<Value>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let mut parsed = Map::new();
    for part in text.split(',') {
        let (key, value) = part.split_once('=').ok_or_else(|| {
            format!("Malformed annotation selector, expected \"key=value\": {part}")
        })?;
        parsed.insert(key.to_string(), json!(value));
    }
    Ok(Some(Value::Object(parsed)))
}

pub fn manifest(a: &ClusterQuotaArgs, name: &str) -> Result<Value, String> {
    let mut selector = Map::new();
    if !a.label_selector.is_empty() {
        let labels = api::selector::LabelSelector::parse(&a.label_selector)?.to_object()?;
        selector.insert("labels".into(), labels);
    }
    if let Some(annotations) = annotation_selector(&a.annotation_selector)? {
        selector.insert("annotations".into(), annotations);
    }
    let mut hard = Map::new();
    for pair in &a.hard {
        let tokens: Vec<&str> = pair.split('=').collect();
        let [resource, quantity] = tokens[..] else {
            return Err(format!("{pair} must in the form of resource=quantity"));
        };
        let amount = api::quota::Amount::parse(quantity)
            .ok_or("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")?;
        hard.insert(resource.to_string(), json!(amount.to_string()));
    }
    Ok(json!({
        "apiVersion": "quota.openshift.io/v1",
        "kind": "ClusterResourceQuota",
        "metadata": {"name": name},
        "spec": {"selector": selector, "quota": {"hard": hard}},
    }))
}

pub async fn create(g: &Globals, a: &ClusterQuotaArgs) -> Result<(), CliError> {
    let Some(name) = a.name.as_deref() else {
        return Err(CliError::msg("NAME is required"));
    };
    let body = manifest(a, name).map_err(CliError::msg)?;
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let path = "/apis/quota.openshift.io/v1/clusterresourcequotas?fieldManager=kubectl-create";
    let created = s.write(Method::POST, path, &body).await?;
    println!(
        "clusterresourcequota.quota.openshift.io/{} created",
        created["metadata"]["name"].as_str().unwrap_or_default()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ocs_cluster_quota() {
        let a = ClusterQuotaArgs {
            name: None,
            label_selector: "team=a".into(),
            annotation_selector: "openshift.io/requester=alice".into(),
            hard: vec!["pods=10".into(), "requests.cpu=500m".into()],
        };
        let m = manifest(&a, "q");
        assert_eq!(
            m.map(|m| m["spec"].clone()),
            Ok(
                json!({"selector": {"labels": {"matchLabels": {"team": "a"}},
                "annotations": {"openshift.io/requester": "alice"}},
                "quota": {"hard": {"pods": "10", "requests.cpu": "500m"}}})
            )
        );
        let bad = ClusterQuotaArgs {
            hard: vec!["pods".into()],
            ..Default::default()
        };
        assert_eq!(
            manifest(&bad, "q").err().as_deref(),
            Some("pods must in the form of resource=quantity")
        );
    }
}
