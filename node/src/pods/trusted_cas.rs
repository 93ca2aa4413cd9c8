//! The registries' additional trusted CAs on this node: `Image cluster`'s
//! `spec.additionalTrustedCA` names a ConfigMap of `openshift-config` whose keys are registry
//! hosts (`host..port` for `host:port`) and values PEM bundles. OpenShift's Machine Config
//! Operator writes each to `/etc/docker/certs.d/<host[:port]>/ca.crt`; the node writes them to
//! the same layout under the home its pulls are given (`.config/containers/certs.d`, which
//! containers/image reads per registry host before `/etc`), never to the machine's `/etc`.
//! Per host, so a mirror's pull trusts the mirror's CA.
//!
//! The ConfigMap is followed by one watch, started again when the Image names another; the
//! files are written when they change, never per pull.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use tokio::sync::watch;

use super::kept_file::keep;

const NAMESPACE: &str = "openshift-config";
/// Where certs.d is under the home pulls are given.
const CERTS_D: &str = ".config/containers/certs.d";
const CA_FILE: &str = "ca.crt";

/// What the pulls need to know of the CAs written.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TrustedCas {
    /// The home whose certs.d holds them, when there is any.
    pub home: Option<PathBuf>,
    /// The registries (`host[:port]`) with a CA.
    pub hosts: Vec<String>,
}

/// The name `spec.additionalTrustedCA.name` of the Image object `image`, if set.
pub fn config_map_name(image: &serde_json::Value) -> Option<String> {
    image["spec"]["additionalTrustedCA"]["name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .map(str::to_string)
}

/// The registry a ConfigMap key names (`host..port` → `host:port`), if it can name a
/// directory of its own.
fn registry_of_key(key: &str) -> Option<String> {
    let registry = key.replacen("..", ":", 1);
    let plain = !registry.is_empty()
        && !registry.starts_with(['.', ':'])
        && !registry.contains(['/', '\0'])
        && !registry.contains("..");
    plain.then_some(registry)
}

/// certs.d under `home` brought up to date with `data` (the ConfigMap's, empty when there is
/// none): each registry's `ca.crt` written if it changed, the directories of registries no
/// longer listed removed. A key that names no registry is skipped.
fn written(home: &Path, data: BTreeMap<String, String>) -> TrustedCas {
    let certs = home.join(CERTS_D);
    let mut hosts = BTreeSet::new();
    for (key, pem) in data {
        let Some(registry) = registry_of_key(&key) else {
            tracing::warn!(key, "an additional trusted CA's key names no registry");
            continue;
        };
        if keep(&certs.join(&registry), CA_FILE, Some(pem)).is_some() {
            hosts.insert(registry);
        }
    }
    for entry in std::fs::read_dir(&certs).into_iter().flatten().flatten() {
        let name = entry.file_name();
        if !hosts.contains(name.to_string_lossy().as_ref()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    TrustedCas {
        home: (!hosts.is_empty()).then(|| home.to_path_buf()),
        hosts: hosts.into_iter().collect(),
    }
}

/// Follows the ConfigMap `name` sends (`None` before the Image is read, `Some(None)` when it
/// names none), writing its CAs under `home` and sending what was written.
pub async fn follow(
    client: kube::Client,
    mut name: watch::Receiver<Option<Option<String>>>,
    home: PathBuf,
    tx: watch::Sender<Option<Arc<TrustedCas>>>,
) {
    let maps: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let what = "the registries' additional trusted CAs";
    let apply = |data: BTreeMap<String, String>| {
        let cas = written(&home, data);
        tx.send_if_modified(|current| {
            let changed = current.as_deref() != Some(&cas);
            if changed {
                *current = Some(Arc::new(cas));
            }
            changed
        });
    };
    loop {
        let Some(current) = name.borrow_and_update().clone() else {
            if name.changed().await.is_err() {
                return;
            }
            continue;
        };
        let following = async {
            match &current {
                Some(map) => {
                    super::followed::follow_named(maps.clone(), map, what, |m| {
                        apply(m.and_then(|m| m.data).unwrap_or_default())
                    })
                    .await
                }
                None => apply(BTreeMap::new()),
            }
            std::future::pending::<()>().await
        };
        tokio::select! {
            () = following => {}
            changed = name.changed() => if changed.is_err() { return },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_registries_as_openshift_writes_them() {
        assert_eq!(
            registry_of_key("r.example.test").as_deref(),
            Some("r.example.test")
        );
        assert_eq!(
            registry_of_key("127.0.0.1..5000").as_deref(),
            Some("127.0.0.1:5000")
        );
        for bad in ["", "..", "..5000", ".hidden", "a..b..c"] {
            assert_eq!(registry_of_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn cas_are_written_per_registry_and_removed_when_unlisted() {
        let home = tempfile::tempdir().unwrap();
        let certs = home.path().join(CERTS_D);
        let data = BTreeMap::from([
            ("127.0.0.1..5000".to_string(), "one".to_string()),
            ("r.example.test".to_string(), "two".to_string()),
            ("..".to_string(), "skipped".to_string()),
        ]);
        let cas = written(home.path(), data);
        assert_eq!(cas.home.as_deref(), Some(home.path()));
        assert_eq!(cas.hosts, ["127.0.0.1:5000", "r.example.test"]);
        let ca = certs.join("127.0.0.1:5000").join(CA_FILE);
        assert_eq!(std::fs::read_to_string(&ca).unwrap(), "one");

        let data = BTreeMap::from([("r.example.test".to_string(), "three".to_string())]);
        let cas = written(home.path(), data);
        assert_eq!(cas.hosts, ["r.example.test"]);
        assert!(!certs.join("127.0.0.1:5000").exists());
        let ca = certs.join("r.example.test").join(CA_FILE);
        assert_eq!(std::fs::read_to_string(ca).unwrap(), "three");

        assert_eq!(written(home.path(), BTreeMap::new()), TrustedCas::default());
        assert_eq!(std::fs::read_dir(&certs).unwrap().count(), 0);
    }

    #[test]
    fn the_config_map_is_named_by_the_image() {
        let image = serde_json::json!({"spec": {"additionalTrustedCA": {"name": "registry-cas"}}});
        assert_eq!(config_map_name(&image).as_deref(), Some("registry-cas"));
        let unnamed = serde_json::json!({"spec": {"additionalTrustedCA": {"name": ""}}});
        assert_eq!(config_map_name(&unnamed), None);
        assert_eq!(config_map_name(&serde_json::json!({})), None);
    }
}
