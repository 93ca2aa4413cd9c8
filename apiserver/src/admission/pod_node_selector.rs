//! `PodNodeSelector` (kube-apiserver's): a new pod's nodeSelector gets its namespace's
//! `scheduler.alpha.kubernetes.io/node-selector` (labels `key=value,...`) merged in, or,
//! when the namespace has none, the configuration's `clusterDefaultNodeSelector`; a pod
//! asking for another value of one of those labels is refused with upstream's message. The
//! configuration (`podNodeSelectorPluginConfig` in the admission configuration file) may
//! also give a namespace a whitelist: the pod's whole nodeSelector must be within it. As
//! upstream, the pod is judged again in the validating phase, after every mutating plugin
//! and webhook. OpenShift enables it beside its project node selector, which runs first: a
//! namespace may carry both annotations, and a pod must agree with each.

use api::field::Field;
use serde_json::Value;

use super::Attributes;
use super::project_node_selector::{merge, parse};
use crate::ApiServer;
use crate::error::ApiError;

pub const NAME: &str = "PodNodeSelector";

/// The namespace annotation that holds the node selector of its pods.
pub const ANNOTATION: &str = "scheduler.alpha.kubernetes.io/node-selector";

/// The configuration's key of the selector for namespaces without the annotation.
const CLUSTER_DEFAULT: &str = "clusterDefaultNodeSelector";

type Labels = Vec<(String, String)>;

/// `podNodeSelectorPluginConfig`: the cluster's default selector and each namespace's
/// whitelist, parsed at start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Configuration {
    cluster_default: Labels,
    whitelists: Vec<(String, Labels)>,
}

impl Configuration {
    /// The configuration a plugin entry of the admission configuration file holds.
    pub fn from_value(config: &Value) -> Result<Configuration, String> {
        let mut parsed = Configuration::default();
        let section = &config["podNodeSelectorPluginConfig"];
        let Some(entries) = section.as_object() else {
            return match section {
                Value::Null => Ok(parsed),
                _ => Err("podNodeSelectorPluginConfig must map names to label selectors".into()),
            };
        };
        for (key, value) in entries {
            let selector = value.as_str().ok_or_else(|| {
                format!("podNodeSelectorPluginConfig.{key}: must be a label selector string")
            })?;
            let labels = parse(selector)?;
            match key.as_str() {
                CLUSTER_DEFAULT => parsed.cluster_default = labels,
                namespace => parsed.whitelists.push((namespace.to_string(), labels)),
            }
        }
        Ok(parsed)
    }

    fn whitelist(&self, namespace: &str) -> &[(String, String)] {
        self.whitelists
            .iter()
            .find(|(n, _)| n == namespace)
            .map(|(_, l)| l.as_slice())
            .unwrap_or_default()
    }

    /// Whether the plugin has nothing to do beyond the namespaces' annotations.
    fn is_empty(&self) -> bool {
        self.cluster_default.is_empty() && self.whitelists.is_empty()
    }
}

pub fn applies(a: &Attributes<'_>) -> bool {
    a.creates_pod()
}

/// The mutating phase: the namespace's selector merged into the pod, then judged.
pub async fn admit(
    server: &ApiServer,
    a: &Attributes<'_>,
    pod: &mut Value,
) -> Result<(), ApiError> {
    let Some(selector) = namespace_selector(server, a).await? else {
        return Ok(());
    };
    merge(&selector, pod).map_err(|_| conflict(a, pod))?;
    within_whitelist(server, a, pod)
}

/// The validating phase: the pod as the mutating phase left it, judged again.
pub async fn check(server: &ApiServer, a: &Attributes<'_>, pod: &Value) -> Result<(), ApiError> {
    let Some(selector) = namespace_selector(server, a).await? else {
        return Ok(());
    };
    let current = pod.field("spec").field("nodeSelector");
    if selector
        .iter()
        .any(|(k, v)| current[k].as_str().is_some_and(|c| c != v))
    {
        return Err(conflict(a, pod));
    }
    within_whitelist(server, a, pod)
}

/// The namespace's selector: its annotation, else the cluster's default. None when there is
/// nothing to merge or check.
async fn namespace_selector(
    server: &ApiServer,
    a: &Attributes<'_>,
) -> Result<Option<Labels>, ApiError> {
    let Some(namespace) = a.namespace else {
        return Ok(None);
    };
    let config = server.admission.pod_node_selector();
    let Some(ns) = a.namespace_object(server, namespace).await? else {
        return Ok(None);
    };
    let labels = match ns
        .field("metadata")
        .field("annotations")
        .field(ANNOTATION)
        .as_str()
    {
        Some(selector) => parse(selector).map_err(ApiError::Internal)?,
        None if config.is_empty() => return Ok(None),
        None => config.cluster_default.clone(),
    };
    Ok(Some(labels))
}

/// Upstream's whitelist: every label of the pod's nodeSelector is one the namespace's
/// whitelist holds, with its value (an empty or absent whitelist allows anything).
fn within_whitelist(server: &ApiServer, a: &Attributes<'_>, pod: &Value) -> Result<(), ApiError> {
    let whitelist = server
        .admission
        .pod_node_selector()
        .whitelist(a.namespace.unwrap_or_default());
    if whitelist.is_empty() {
        return Ok(());
    }
    let allowed = pod
        .field("spec")
        .field("nodeSelector")
        .as_object()
        .is_none_or(|asked| {
            asked.iter().all(|(k, v)| {
                whitelist
                    .iter()
                    .any(|(wk, wv)| wk == k && v.as_str() == Some(wv))
            })
        });
    match allowed {
        true => Ok(()),
        false => Err(a.forbidden(
            pod,
            "pod node label selector labels conflict with its namespace whitelist",
        )),
    }
}

fn conflict(a: &Attributes<'_>, pod: &Value) -> ApiError {
    a.forbidden(
        pod,
        "pod node label selector conflicts with its namespace node label selector",
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing::Cluster;

    fn configured() -> crate::admission::Config {
        let plugins = crate::admission::config_file::Plugins::Named(vec![(
            NAME.to_string(),
            json!({"podNodeSelectorPluginConfig": {
                "clusterDefaultNodeSelector": "region=east",
                "team": "region=east,tier=web"}}),
        )]);
        crate::admission::Config::disabling(&[crate::admission::scc::NAME.to_string()])
            .and_then(|c| c.configured(&plugins))
            .unwrap_or_default()
    }

    fn pod(name: &str, selector: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
               "spec": {"nodeSelector": selector, "containers": [{"name": "c", "image": "busybox"}]}})
    }

    #[test]
    fn the_configuration_is_read_and_checked() {
        assert!(configured().pod_node_selector().whitelist("team").len() == 2);
        assert!(
            Configuration::from_value(&json!({"podNodeSelectorPluginConfig": {"a": "tier"}}))
                .is_err()
        );
        assert_eq!(
            Configuration::from_value(&json!({})),
            Ok(Configuration::default())
        );
    }

    #[tokio::test]
    async fn the_cluster_default_applies_and_whitelists_bound_the_pods() {
        let cluster = Cluster::with_admission(configured());
        cluster.namespace("team").await;
        cluster.namespace("other").await;
        // No annotation: the cluster's default is merged in.
        let created = cluster
            .post(
                "/api/v1/namespaces/other/pods",
                pod("a", json!({"disk": "ssd"})),
            )
            .await
            .created();
        assert_eq!(
            created["spec"]["nodeSelector"],
            json!({"disk": "ssd", "region": "east"})
        );
        cluster
            .post("/api/v1/namespaces/other/pods", pod("b", json!({"region": "west"})))
            .await
            .failure(
                403,
                "Forbidden",
                "pods \"b\" is forbidden: pod node label selector conflicts with its namespace node label selector",
            );
        // The whitelist of `team`: tier=web is allowed, tier=db and other labels are not.
        cluster
            .post(
                "/api/v1/namespaces/team/pods",
                pod("web", json!({"tier": "web"})),
            )
            .await
            .created();
        for (name, selector) in [
            ("db", json!({"tier": "db"})),
            ("ssd", json!({"disk": "ssd"})),
        ] {
            cluster
                .post("/api/v1/namespaces/team/pods", pod(name, selector))
                .await
                .failure(
                    403,
                    "Forbidden",
                    &format!("pods \"{name}\" is forbidden: pod node label selector labels conflict with its namespace whitelist"),
                );
        }
    }
}
