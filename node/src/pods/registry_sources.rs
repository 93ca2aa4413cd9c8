//! Which registries the node pulls from, and how, as the cluster's image configuration
//! (`images.config.openshift.io/cluster`, `spec.registrySources`) says; OpenShift renders it
//! into each node's registries.conf and policy.json: plain HTTP (or unverified TLS) only to
//! registries listed as insecure, nothing from blocked registries, and only from the allowed
//! ones when that list is given. Loopback registries are not insecure by themselves: CRI-O and
//! podman (containers/image) verify them too, unlike Docker. The agent follows the object with
//! one watch (`follow`): a change applies to the next pull, and no pull asks the API server.

use std::sync::Arc;

use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::Value;
use tokio::sync::watch;

use crate::runtime::podman::normalize_image;

/// Whether the image `image` (normalized: `registry/repository[:tag|@digest]`) falls under a
/// registry-sources entry: a registry (`host[:port]`), a repository in one
/// (`host[:port]/path`), or every host of a domain (`*.domain`).
fn listed(image: &str, entries: &[String]) -> bool {
    let registry = image.split('/').next().unwrap_or_default();
    entries.iter().any(|e| match e.strip_prefix("*.") {
        Some(domain) => {
            let host = registry.split(':').next().unwrap_or(registry);
            host.ends_with(&format!(".{domain}"))
        }
        None => {
            image == e
                || image
                    .strip_prefix(e.as_str())
                    .is_some_and(|rest| rest.starts_with(['/', ':', '@']))
        }
    })
}

/// The registry sources of the cluster's image configuration.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RegistrySources {
    pub insecure: Vec<String>,
    pub allowed: Vec<String>,
    pub blocked: Vec<String>,
}

impl RegistrySources {
    /// Those of the Image object `image` (`images.config.openshift.io/cluster`).
    pub fn of_image(image: &Value) -> RegistrySources {
        let sources = &image["spec"]["registrySources"];
        let list = |key: &str| -> Vec<String> {
            sources[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        // The integrated registry serves plain HTTP on loopback: insecure without being listed,
        // as a cluster's own registry is trusted by its nodes without configuration.
        let mut insecure = list("insecureRegistries");
        if let Some(host) = image["status"]["internalRegistryHostname"].as_str() {
            insecure.push(host.to_string());
        }
        RegistrySources {
            insecure,
            allowed: list("allowedRegistries"),
            blocked: list("blockedRegistries"),
        }
    }

    /// Whether `image` may be pulled without verified TLS.
    pub fn insecure(&self, image: &str) -> bool {
        listed(&normalize_image(image), &self.insecure)
    }

    /// Why a pull of `image` is refused, in the words of the node's container tools
    /// (containers/image: a registry blocked in registries.conf; a policy.json that rejects by
    /// default and accepts the allowed registries); `None` if it may be pulled.
    pub fn refusal(&self, image: &str) -> Option<String> {
        let image = normalize_image(image);
        let registry = image.split('/').next().unwrap_or_default();
        if listed(&image, &self.blocked) {
            return Some(format!(
                "registry {registry} is blocked in /etc/containers/registries.conf or /etc/containers/registries.conf.d"
            ));
        }
        if !self.allowed.is_empty() && !listed(&image, &self.allowed) {
            return Some(format!(
                "Source image rejected: Running image docker://{image} is rejected by policy."
            ));
        }
        None
    }
}

/// Follows `images.config.openshift.io/cluster`, sending its registry sources and the name of
/// its additional trusted CAs' ConfigMap when it is listed or changes (none when it is deleted
/// or absent from a list).
pub async fn follow(
    client: kube::Client,
    tx: watch::Sender<Option<Arc<RegistrySources>>>,
    ca_name: watch::Sender<Option<Option<String>>>,
) {
    let gvk = GroupVersionKind::gvk("config.openshift.io", "v1", "Image");
    let api: Api<DynamicObject> =
        Api::all_with(client, &ApiResource::from_gvk_with_plural(&gvk, "images"));
    let what = "the cluster's registry sources";
    super::followed::follow_named(api, "cluster", what, |image| {
        let name = image
            .as_ref()
            .and_then(|i| super::trusted_cas::config_map_name(&i.data));
        ca_name.send_if_modified(|current| {
            let changed = current.as_ref() != Some(&name);
            if changed {
                *current = Some(name);
            }
            changed
        });
        let sources = image
            .map(|i| RegistrySources::of_image(&i.data))
            .unwrap_or_default();
        tx.send_if_modified(|current| {
            let changed = current.as_deref() != Some(&sources);
            if changed {
                *current = Some(Arc::new(sources));
            }
            changed
        });
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_read_from_the_image_object() {
        let image = serde_json::json!({
            "spec": {"registrySources": {"insecureRegistries": ["a:5000"],
                "allowedRegistries": ["b"], "blockedRegistries": ["c", 7]}},
            "status": {"internalRegistryHostname": "127.0.0.1:9000"}});
        assert_eq!(
            RegistrySources::of_image(&image),
            RegistrySources {
                insecure: vec!["a:5000".into(), "127.0.0.1:9000".into()],
                allowed: vec!["b".into()],
                blocked: vec!["c".into()],
            }
        );
        assert_eq!(
            RegistrySources::of_image(&serde_json::json!({})),
            RegistrySources::default()
        );
    }

    #[test]
    fn sources_match_by_registry_repository_or_domain() {
        let sources = RegistrySources {
            insecure: vec!["127.0.0.1:5000".into(), "*.example.test".into()],
            ..Default::default()
        };
        assert!(sources.insecure("127.0.0.1:5000/web:1"));
        assert!(!sources.insecure("127.0.0.1:5001/web:1"));
        assert!(!sources.insecure("127.0.0.1/web:1"));
        assert!(sources.insecure("r.example.test/web"));
        assert!(!sources.insecure("busybox"));
    }

    #[test]
    fn blocked_and_unlisted_registries_are_refused_as_the_node_tools_word_it() {
        let blocked = RegistrySources {
            blocked: vec!["127.0.0.1:5000".into()],
            ..Default::default()
        };
        assert_eq!(
            blocked.refusal("127.0.0.1:5000/web:1").as_deref(),
            Some(
                "registry 127.0.0.1:5000 is blocked in /etc/containers/registries.conf or /etc/containers/registries.conf.d"
            )
        );
        assert_eq!(blocked.refusal("127.0.0.1:5001/web:1"), None);
        let allowed = RegistrySources {
            allowed: vec!["127.0.0.1:5000/team".into(), "*.example.test".into()],
            ..Default::default()
        };
        assert_eq!(allowed.refusal("127.0.0.1:5000/team/web:1"), None);
        assert_eq!(allowed.refusal("r.example.test/any"), None);
        assert_eq!(
            allowed.refusal("127.0.0.1:5000/other/web:1").as_deref(),
            Some(
                "Source image rejected: Running image docker://127.0.0.1:5000/other/web:1 is rejected by policy."
            )
        );
        assert_eq!(RegistrySources::default().refusal("busybox"), None);
    }
}
