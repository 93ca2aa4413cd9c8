//! Images made present as the kubelet's image manager does: by pull policy, with the pod's
//! pull secrets; which registries may be used, and how, is `registry_sources.rs`.

use std::path::{Path, PathBuf};

use base64::Engine;
use k8s_openapi::api::core::v1::{Container, Pod};
use serde_json::{Map, Value};

use super::env::Lookup;

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

/// The registries' entries of a docker config secret (`.dockerconfigjson` wins over
/// `.dockercfg`), each with the `auth` containers/image wants.
pub fn secret_auths(
    dockerconfigjson: Option<&[u8]>,
    dockercfg: Option<&[u8]>,
) -> Map<String, Value> {
    let parsed = if let Some(json) = dockerconfigjson {
        serde_json::from_slice::<Value>(json)
            .ok()
            .map(|v| v["auths"].clone())
    } else {
        dockercfg.and_then(|cfg| serde_json::from_slice::<Value>(cfg).ok())
    };
    let Some(Value::Object(entries)) = parsed else {
        return Map::new();
    };
    entries
        .into_iter()
        .map(|(registry, mut entry)| {
            // Secrets may carry only the user and password.
            if entry.get("auth").is_none()
                && let (Some(u), Some(p)) = (entry["username"].as_str(), entry["password"].as_str())
            {
                let auth = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
                entry["auth"] = Value::String(auth);
            }
            (registry, entry)
        })
        .collect()
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
        let entries = secret_auths(
            data.get(".dockerconfigjson").map(Vec::as_slice),
            data.get(".dockercfg").map(Vec::as_slice),
        );
        for (registry, entry) in entries {
            auths.entry(registry).or_insert(entry);
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
}
