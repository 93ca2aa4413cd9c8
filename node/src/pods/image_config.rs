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
//!
//! One watch of the ConfigMap per agent keeps the copy current (`Watched`); the files are
//! written when their text changes, never per pull. The same `Watched` carries the registry
//! sources of `Image cluster`, followed by a watch of their own (`registry_sources.rs`), and
//! the registries' CAs that object names, written under the same home (`trusted_cas.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use tokio::sync::watch;
use trust::{ImageName, TrustPolicy};

use super::kept_file::keep;
use super::registry_sources::{self, RegistrySources};
use super::trusted_cas::{self, TrustedCas};

const NAMESPACE: &str = "openshift-config-managed";
const CONFIG_MAP: &str = "node-image-config";
const REGISTRIES_CONF: &str = "registries.conf";
const POLICY_JSON: &str = "policy.json";
const SIGSTORE_YAML: &str = "oxshift-sigstore.yaml";
/// The home pulls are given, under the node's copy.
const HOME: &str = "home";
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

/// How long a pull waits for the first read of the ConfigMap before it goes on without it.
const FIRST_READ: Duration = Duration::from_secs(10);

/// The node's copy, kept current by one watch of the ConfigMap per agent: every pull reads
/// the files as the last change left them, and no pull asks the API server. Likewise the
/// registry sources and the registries' CAs.
#[derive(Clone)]
pub struct Watched {
    config: watch::Receiver<Option<Arc<ImageConfig>>>,
    sources: watch::Receiver<Option<Arc<RegistrySources>>>,
    cas: watch::Receiver<Option<Arc<TrustedCas>>>,
}

impl Watched {
    /// The copy under `dir` and the watches that keep it (to be run for as long as the agent).
    pub fn start(client: kube::Client, dir: PathBuf) -> (Watched, impl Future<Output = ()>) {
        let (config_tx, config) = watch::channel(None);
        let (sources_tx, sources) = watch::channel(None);
        let (ca_name_tx, ca_name) = watch::channel(None);
        let (cas_tx, cas) = watch::channel(None);
        let home = dir.join(HOME);
        let follow_all = async move {
            tokio::join!(
                follow(client.clone(), dir, config_tx),
                registry_sources::follow(client.clone(), sources_tx, ca_name_tx),
                trusted_cas::follow(client, ca_name, home, cas_tx),
            );
        };
        let watched = Watched {
            config,
            sources,
            cas,
        };
        (watched, follow_all)
    }

    /// A copy that never changes (a builder without a cluster to watch).
    pub fn fixed(config: ImageConfig, sources: RegistrySources) -> Watched {
        let (_, config) = watch::channel(Some(Arc::new(config)));
        let (_, sources) = watch::channel(Some(Arc::new(sources)));
        let (_, cas) = watch::channel(Some(Arc::default()));
        Watched {
            config,
            sources,
            cas,
        }
    }

    /// The configuration as last read; before the first read completes, waits for it a
    /// while, then goes on with the tools' defaults.
    pub async fn current(&self) -> Arc<ImageConfig> {
        first_or_last(&self.config).await
    }

    /// The registry sources as last read (none before a first read that did not come in
    /// time).
    pub async fn sources(&self) -> Arc<RegistrySources> {
        first_or_last(&self.sources).await
    }

    /// The home a pull with `config` is given (its `.config/containers` holding registries.d
    /// and certs.d): the node's when it holds lookaside stores or registries' CAs, else none
    /// (the tools' own).
    pub async fn home(&self, config: &ImageConfig) -> Option<PathBuf> {
        let cas = first_or_last(&self.cas).await;
        config
            .registries_d_home
            .clone()
            .or_else(|| cas.home.clone())
    }
}

/// What `rx` holds, waiting a while for its first value.
async fn first_or_last<T: Default>(rx: &watch::Receiver<Option<Arc<T>>>) -> Arc<T> {
    let mut waiting = rx.clone();
    let first = tokio::time::timeout(FIRST_READ, waiting.wait_for(Option::is_some)).await;
    match first {
        Ok(Ok(value)) => value.clone().unwrap_or_default(),
        _ => rx.borrow().clone().unwrap_or_default(),
    }
}

/// Follows the ConfigMap: its files written when it is listed or changes (each only when its
/// text differs), removed when it is deleted or absent from a (re)list.
async fn follow(client: kube::Client, dir: PathBuf, tx: watch::Sender<Option<Arc<ImageConfig>>>) {
    let maps: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let what = "the cluster's image configuration";
    super::followed::follow_named(maps, CONFIG_MAP, what, |map| {
        let data = map.and_then(|m| m.data).unwrap_or_default();
        tx.send_replace(Some(Arc::new(written(&dir, data))));
    })
    .await;
}

/// The cluster's image configuration under `dir`, brought up to date with `data` (the
/// ConfigMap's, empty when there is none): each file it holds written if it changed, each it
/// no longer holds removed (the tools' defaults then apply, as before the configuration was
/// rendered); a file that cannot be written is left out.
fn written(dir: &Path, mut data: BTreeMap<String, String>) -> ImageConfig {
    let home = dir.join(HOME);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_follows_the_config_map_and_rewrites_only_what_changed() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let policy = r#"{"default":[{"type":"reject"}]}"#;
        let data = |conf: &str| {
            BTreeMap::from([
                (REGISTRIES_CONF.to_string(), conf.to_string()),
                (POLICY_JSON.to_string(), policy.to_string()),
                (SIGSTORE_YAML.to_string(), "docker: {}\n".to_string()),
            ])
        };
        let first = written(dir.path(), data("a"));
        let policy_path = first.policy_json.clone().unwrap();
        let inode = std::fs::metadata(&policy_path).unwrap().ino();
        assert!(first.must_check("busybox"));
        assert_eq!(
            first.registries_d_home.as_deref(),
            Some(dir.path().join("home").as_path())
        );
        let second = written(dir.path(), data("b"));
        let conf = second.registries_conf.unwrap();
        assert_eq!(std::fs::read_to_string(conf).unwrap(), "b");
        assert_eq!(
            std::fs::metadata(&policy_path).unwrap().ino(),
            inode,
            "an unchanged file is not written again"
        );
        let gone = written(dir.path(), BTreeMap::new());
        assert!(gone.policy_json.is_none() && gone.registries_d_home.is_none());
        assert!(!policy_path.exists());
        assert!(!gone.must_check("busybox"));
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
