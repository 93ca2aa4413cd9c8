//! The cluster's registries.conf on this node: the controllers render the mirrors of
//! ImageContentSourcePolicies, ImageDigestMirrorSets and ImageTagMirrorSets, and the registry
//! sources of `Image cluster`, into `openshift-config-managed/node-image-config` (as the
//! Machine Config Operator writes `/etc/containers/registries.conf` on OpenShift's nodes); the
//! node keeps a copy in its directory and its pulls read it, so the container tools follow
//! the mirrors themselves.

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;

const NAMESPACE: &str = "openshift-config-managed";
const CONFIG_MAP: &str = "node-image-config";
const KEY: &str = "registries.conf";

/// The node's copy of the cluster's registries.conf under `dir`, brought up to date; `None`
/// when the cluster has none yet or it cannot be read or written (pulls then use the
/// tools' defaults, as before the configuration was rendered).
pub async fn current(client: &kube::Client, dir: &Path) -> Option<PathBuf> {
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    let map = maps.get_opt(CONFIG_MAP).await.ok()??;
    let text = map.data?.remove(KEY)?;
    let path = dir.join(KEY);
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        // Written whole, then renamed: a concurrent pull reads the old file or the new one.
        let partial = dir.join(format!(".{KEY}.{}", std::process::id()));
        if let Err(e) =
            std::fs::write(&partial, &text).and_then(|()| std::fs::rename(&partial, &path))
        {
            tracing::warn!(error = %e, "cannot keep the cluster's registries.conf");
            return None;
        }
    }
    Some(path)
}
