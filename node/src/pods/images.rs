//! Images made present as the kubelet's image manager does: by pull policy, with the pod's
//! pull secrets, over plain HTTP (or unverified TLS) only to registries the cluster's image
//! configuration (`images.config.openshift.io/cluster`, `spec.registrySources
//! .insecureRegistries`) lists as insecure. Loopback registries are not insecure by
//! themselves: CRI-O and podman (containers/image) verify them too, unlike Docker.

use std::path::{Path, PathBuf};
use std::time::Instant;

use base64::Engine;
use k8s_openapi::api::core::v1::{Container, Pod};
use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::{Map, Value};

use super::env::Lookup;
use crate::runtime::{
    ImageRef, PullOptions, Pulled, Runtime, RuntimeError, podman::normalize_image,
};

/// Why an image is not there, with the kubelet's waiting reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageError {
    /// `ErrImagePull`, with the runtime's text.
    Pull(String),
    /// `ErrImageNeverPull`.
    NeverPull,
}

/// The effective pull policy: as given, else `Always` for `:latest` or untagged images.
pub fn pull_policy(container: &Container) -> &str {
    match container.image_pull_policy.as_deref() {
        Some(p) if !p.is_empty() => p,
        _ => {
            let image = container.image.as_deref().unwrap_or_default();
            let last = image.rsplit('/').next().unwrap_or(image);
            if last.contains('@') {
                "IfNotPresent"
            } else if last.split_once(':').is_none_or(|(_, tag)| tag == "latest") {
                "Always"
            } else {
                "IfNotPresent"
            }
        }
    }
}

/// The registry (host[:port]) part of an image.
pub fn registry_of(image: &str) -> String {
    normalize_image(image)
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Whether `registry` matches an entry of `insecureRegistries` (`host[:port]` or
/// `*.domain`).
pub fn listed(registry: &str, entries: &[String]) -> bool {
    entries.iter().any(|e| {
        e == registry
            || e.strip_prefix("*.").is_some_and(|d| {
                let host = registry.split(':').next().unwrap_or(registry);
                host.ends_with(&format!(".{d}"))
            })
    })
}

/// The insecure registries of the cluster's image configuration (none if it does not exist
/// or cannot be read).
pub async fn insecure_registries(client: &kube::Client) -> Vec<String> {
    let gvk = GroupVersionKind::gvk("config.openshift.io", "v1", "Image");
    let api: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk_with_plural(&gvk, "images"),
    );
    match api.get_opt("cluster").await {
        Ok(Some(image)) => image.data["spec"]["registrySources"]["insecureRegistries"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The auths of the pod's pull secrets merged into one `auth.json` under `pod_dir`, if any.
pub async fn auth_file(pod: &Pod, pod_dir: &Path, lookup: &mut Lookup) -> Option<PathBuf> {
    let mut auths = Map::new();
    for secret in pod
        .spec
        .iter()
        .flat_map(|s| s.image_pull_secrets.iter().flatten())
    {
        let Ok(Some(data)) = lookup.secret(&secret.name).await else {
            continue;
        };
        let parsed = if let Some(json) = data.get(".dockerconfigjson") {
            serde_json::from_slice::<Value>(json)
                .ok()
                .map(|v| v["auths"].clone())
        } else {
            data.get(".dockercfg")
                .and_then(|cfg| serde_json::from_slice::<Value>(cfg).ok())
        };
        if let Some(Value::Object(entries)) = parsed {
            for (registry, mut entry) in entries {
                // containers/image wants `auth`; secrets may carry only the user and password.
                if entry.get("auth").is_none()
                    && let (Some(u), Some(p)) =
                        (entry["username"].as_str(), entry["password"].as_str())
                {
                    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
                    entry["auth"] = Value::String(auth);
                }
                auths.entry(registry).or_insert(entry);
            }
        }
    }
    if auths.is_empty() {
        return None;
    }
    let path = pod_dir.join("auth.json");
    let body = serde_json::json!({ "auths": auths }).to_string();
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| f.write_all(body.as_bytes()));
    written.ok().map(|_| path)
}

/// Makes the container's image present by its pull policy.
pub async fn ensure(
    runtime: &dyn Runtime,
    container: &Container,
    options: &PullOptions,
) -> Result<Pulled, ImageError> {
    let image = container.image.as_deref().unwrap_or_default();
    let policy = pull_policy(container);
    let present = |r: Result<Option<ImageRef>, RuntimeError>| r.ok().flatten();
    if policy != "Always"
        && let Some(found) = present(runtime.image_status(image).await)
    {
        return Ok(Pulled::AlreadyPresent(found));
    }
    if policy == "Never" {
        return Err(ImageError::NeverPull);
    }
    let started = Instant::now();
    match runtime.pull_image(image, options).await {
        Ok(r) => Ok(Pulled::Pulled(r, started.elapsed())),
        Err(e) => Err(ImageError::Pull(e.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(image: &str, policy: Option<&str>) -> Container {
        Container {
            image: Some(image.into()),
            image_pull_policy: policy.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn default_pull_policies_are_upstreams() {
        assert_eq!(pull_policy(&container("busybox", None)), "Always");
        assert_eq!(pull_policy(&container("busybox:latest", None)), "Always");
        assert_eq!(
            pull_policy(&container("127.0.0.1:5000/web:1", None)),
            "IfNotPresent"
        );
        assert_eq!(
            pull_policy(&container("127.0.0.1:5000/web", None)),
            "Always"
        );
        assert_eq!(
            pull_policy(&container("a/b@sha256:00", None)),
            "IfNotPresent"
        );
        assert_eq!(pull_policy(&container("busybox", Some("Never"))), "Never");
    }

    #[test]
    fn insecure_registries_match_by_host_and_port_or_domain() {
        let entries = vec!["127.0.0.1:5000".to_string(), "*.example.test".to_string()];
        assert!(listed(&registry_of("127.0.0.1:5000/web:1"), &entries));
        assert!(!listed(&registry_of("127.0.0.1:5001/web:1"), &entries));
        assert!(listed(&registry_of("r.example.test/web"), &entries));
        assert!(!listed(&registry_of("busybox"), &entries));
    }
}
