//! The cluster's image configuration on this node: the controllers render the mirrors, the
//! registry sources of `Image cluster` and the trust policy into
//! `openshift-config-managed/node-image-config` (as the Machine Config Operator writes
//! `/etc/containers/registries.conf`, `policy.json` and `registries.d/` on OpenShift's nodes);
//! the node keeps a copy of the three in its directory and its pulls read them, so podman
//! follows the mirrors and enforces the policy itself, fetching signatures from the lookaside
//! stores registries.d names.
//!
//! Podman 4 has a flag for the policy (`--signature-policy`) and an environment variable for
//! registries.conf, but none for registries.d: containers/image reads it from the user's
//! home (`$HOME/.config/containers/registries.d`) before `/etc`, so pulls run with `HOME`
//! set to a directory of the node holding the rendered file.

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use trust::{ImageName, TrustPolicy};

const NAMESPACE: &str = "openshift-config-managed";
const CONFIG_MAP: &str = "node-image-config";
const REGISTRIES_CONF: &str = "registries.conf";
const POLICY_JSON: &str = "policy.json";
const SIGSTORE_YAML: &str = "oxshift-sigstore.yaml";
/// Where registries.d is under the home pulls are given.
const REGISTRIES_D: &str = ".config/containers/registries.d";

/// The node's copies of the rendered files, as the pulls are handed them.
#[derive(Debug, Default)]
pub struct ImageConfig {
    pub registries_conf: Option<PathBuf>,
    pub policy_json: Option<PathBuf>,
    /// A home whose registries.d holds the lookaside stores, when the policy names any.
    pub registries_d_home: Option<PathBuf>,
    /// policy.json as read here: which images need more than being present.
    policy: Option<TrustPolicy>,
}

impl ImageConfig {
    /// Whether `image` must pass the policy at every start, present or not: some requirement
    /// of its scope is not `insecureAcceptAnything` (a policy.json that cannot be read counts
    /// as one that requires it).
    pub fn must_check(&self, image: &str) -> bool {
        if self.policy_json.is_none() {
            return false;
        }
        match (&self.policy, ImageName::parse(image)) {
            (Some(policy), Ok(name)) => policy.must_check(&name),
            _ => true,
        }
    }
}

/// The cluster's image configuration under `dir`, brought up to date: each file the
/// ConfigMap holds written if it changed, each it no longer holds removed. Nothing (the
/// tools' defaults, as before the configuration was rendered) when the ConfigMap does not
/// exist or cannot be read; a file that cannot be written is left out.
pub async fn current(client: &kube::Client, dir: &Path) -> ImageConfig {
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    let Ok(Some(map)) = maps.get_opt(CONFIG_MAP).await else {
        return ImageConfig::default();
    };
    let mut data = map.data.unwrap_or_default();
    let home = dir.join("home");
    let registries_conf = keep(dir, REGISTRIES_CONF, data.remove(REGISTRIES_CONF));
    let policy_text = data.remove(POLICY_JSON);
    let policy_json = keep(dir, POLICY_JSON, policy_text.clone());
    let sigstore = keep(
        &home.join(REGISTRIES_D),
        SIGSTORE_YAML,
        data.remove(SIGSTORE_YAML),
    );
    let policy = policy_text
        .and_then(|t| serde_json::from_str(&t).ok())
        .and_then(|v| TrustPolicy::from_policy_json(&v).ok());
    ImageConfig {
        registries_conf,
        policy_json,
        registries_d_home: sigstore.map(|_| home),
        policy,
    }
}

/// `dir/name` holding `text` (written whole, then renamed: a concurrent pull reads the old
/// file or the new one), or removed when there is no text.
fn keep(dir: &Path, name: &str, text: Option<String>) -> Option<PathBuf> {
    let path = dir.join(name);
    let Some(text) = text else {
        let _ = std::fs::remove_file(&path);
        return None;
    };
    if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
        return Some(path);
    }
    let partial = dir.join(format!(".{name}.{}", std::process::id()));
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&partial, &text))
        .and_then(|()| std::fs::rename(&partial, &path));
    match written {
        Ok(()) => Some(path),
        Err(e) => {
            tracing::warn!(error = %e, file = name, "cannot keep the cluster's image configuration");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_written_replaced_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = keep(dir.path(), "policy.json", Some("a".into())).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a");
        keep(dir.path(), "policy.json", Some("b".into())).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "b");
        let nested = dir.path().join("home").join(REGISTRIES_D);
        assert!(keep(&nested, SIGSTORE_YAML, Some("docker: {}\n".into())).is_some());
        assert_eq!(keep(dir.path(), "policy.json", None), None);
        assert!(!path.exists());
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["home"], "no partial file is left");
    }

    #[test]
    fn images_are_checked_where_the_policy_requires_more_than_presence() {
        let none = ImageConfig::default();
        assert!(!none.must_check("127.0.0.1:5000/web:1"));
        let policy = serde_json::json!({
            "default": [{"type": "insecureAcceptAnything"}],
            "transports": {"docker": {"127.0.0.1:5000/web": [{"type": "reject"}]},
                           "docker-daemon": {"": [{"type": "insecureAcceptAnything"}]}},
        });
        let config = ImageConfig {
            policy_json: Some("policy.json".into()),
            policy: TrustPolicy::from_policy_json(&policy).ok(),
            ..Default::default()
        };
        assert!(config.must_check("127.0.0.1:5000/web:1"));
        assert!(!config.must_check("127.0.0.1:5000/other:1"));
        let unreadable = ImageConfig {
            policy_json: Some("policy.json".into()),
            ..Default::default()
        };
        assert!(unreadable.must_check("busybox"));
    }
}
