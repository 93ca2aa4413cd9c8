//! The scheduler's VolumeBinding plugin, in small: what a pod's claims ask of a node.
//! A claim that is missing, being deleted, or unbound in an `Immediate` class keeps the pod
//! off every node (upstream's PreFilter messages); a bound claim's volume must accept the
//! node (its node affinity); an unbound claim of a `WaitForFirstConsumer` class is
//! provisioned on the node chosen (the claim is annotated with it), or bound to a free
//! volume there, and the pod waits until the claim is bound.

use std::collections::HashMap;

use futures::StreamExt;
use futures::stream::BoxStream;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;

use super::cache::NodeInfo;
use super::filter::Failure;
use crate::lenient::Object;
use crate::persistent_volume::annotations::{NO_PROVISIONER, SELECTED_NODE};
use crate::persistent_volume::matching;

pub const AFFINITY_CONFLICT: &str = "node(s) had volume node affinity conflict";
pub const NO_VOLUME_TO_BIND: &str = "node(s) didn't find available persistent volumes to bind";
pub const UNBOUND_IMMEDIATE: &str = "pod has unbound immediate PersistentVolumeClaims";

/// Claims, volumes and classes as the watches last showed them.
#[derive(Default)]
pub struct Volumes {
    pub claims: HashMap<(String, String), PersistentVolumeClaim>,
    pub volumes: HashMap<String, PersistentVolume>,
    pub classes: HashMap<String, StorageClass>,
}

/// What a pod's claims need.
#[derive(Debug, Default)]
pub struct Needs {
    /// Volumes of bound claims: the node must fit each.
    pub bound: Vec<PersistentVolume>,
    /// Unbound claims waiting for their first consumer (namespace, name): annotated with the
    /// node chosen, unless already.
    pub to_place: Vec<PersistentVolumeClaim>,
    /// Claims already given a node and not bound yet: the pod waits for them.
    pub waiting: bool,
}

fn claim_names(pod: &Pod) -> impl Iterator<Item = &str> {
    pod.spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter_map(|v| v.persistent_volume_claim.as_ref())
        .map(|c| c.claim_name.as_str())
}

/// Whether the pod names any claim (most do not: nothing to check).
pub fn uses_claims(pod: &Pod) -> bool {
    claim_names(pod).next().is_some()
}

impl Volumes {
    fn delays(&self, claim: &PersistentVolumeClaim) -> bool {
        self.classes
            .get(matching::claim_class(claim))
            .and_then(|c| c.volume_binding_mode.as_deref())
            == Some("WaitForFirstConsumer")
    }

    /// The pod's claims sorted into what they need, or the message that keeps it off every
    /// node.
    pub fn needs(&self, pod: &Pod) -> Result<Needs, String> {
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let mut needs = Needs::default();
        for name in claim_names(pod) {
            let Some(claim) = self.claims.get(&(ns.clone(), name.to_string())) else {
                return Err(format!("persistentvolumeclaim \"{name}\" not found"));
            };
            if claim.metadata.deletion_timestamp.is_some() {
                return Err(format!("persistentvolumeclaim \"{name}\" is being deleted"));
            }
            let volume_name = claim
                .spec
                .as_ref()
                .and_then(|s| s.volume_name.as_deref())
                .unwrap_or_default();
            let phase = claim.status.as_ref().and_then(|s| s.phase.as_deref());
            if !volume_name.is_empty() && phase == Some("Bound") {
                match self.volumes.get(volume_name) {
                    Some(v) => needs.bound.push(v.clone()),
                    None => {
                        return Err(format!("persistentvolume \"{volume_name}\" not found"));
                    }
                }
            } else if !self.delays(claim) {
                return Err(UNBOUND_IMMEDIATE.into());
            } else if claim
                .metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key(SELECTED_NODE))
            {
                needs.waiting = true;
            } else {
                needs.to_place.push(claim.clone());
            }
        }
        Ok(needs)
    }

    /// Whether `node` suits the pod's claims.
    pub fn fits(&self, needs: &Needs, node: &NodeInfo) -> Result<(), Failure> {
        let fail = |reason: &str| Failure {
            reasons: vec![reason.to_string()],
            resolvable: false,
        };
        let (name, labels) = (node.name(), node.labels());
        if !needs
            .bound
            .iter()
            .all(|v| matching::fits_node(v, name, labels))
        {
            return Err(fail(AFFINITY_CONFLICT));
        }
        let chosen = matching::Node { name, labels };
        for claim in &needs.to_place {
            let provisioned = self
                .classes
                .get(matching::claim_class(claim))
                .is_some_and(|c| c.provisioner != NO_PROVISIONER);
            if provisioned {
                continue;
            }
            if matching::find(claim, self.volumes.values(), true, Some(&chosen)).is_none() {
                return Err(fail(NO_VOLUME_TO_BIND));
            }
        }
        Ok(())
    }
}

/// One event of the claim, volume and class watches.
pub enum Change {
    Claim(Box<watcher::Event<Object<PersistentVolumeClaim>>>),
    Volume(Box<watcher::Event<Object<PersistentVolume>>>),
    Class(Box<watcher::Event<Object<StorageClass>>>),
}

/// The three watches as one stream (errors are logged; the watches back off and resume).
pub fn events(client: &Client) -> BoxStream<'static, Change> {
    let claims = watcher::watcher(
        Api::<Object<PersistentVolumeClaim>>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .filter_map(|e| futures::future::ready(logged(e).map(|e| Change::Claim(Box::new(e)))));
    let volumes = watcher::watcher(
        Api::<Object<PersistentVolume>>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .filter_map(|e| futures::future::ready(logged(e).map(|e| Change::Volume(Box::new(e)))));
    let classes = watcher::watcher(
        Api::<Object<StorageClass>>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .filter_map(|e| futures::future::ready(logged(e).map(|e| Change::Class(Box::new(e)))));
    futures::stream::select_all([claims.boxed(), volumes.boxed(), classes.boxed()]).boxed()
}

fn logged<T>(event: Result<T, watcher::Error>) -> Option<T> {
    event
        .map_err(|error| {
            tracing::warn!(error = %crate::logs::describe_watch(&error), "scheduler: volume watch");
        })
        .ok()
}

/// Lists in progress (a watch restarted) and which lists were seen complete.
#[derive(Default)]
pub struct Feeds {
    claims: Relist<(String, String), PersistentVolumeClaim>,
    volumes: Relist<String, PersistentVolume>,
    classes: Relist<String, StorageClass>,
}

struct Relist<Key, K> {
    pending: Option<HashMap<Key, K>>,
    listed: bool,
}

impl<Key, K> Default for Relist<Key, K> {
    fn default() -> Self {
        Relist {
            pending: None,
            listed: false,
        }
    }
}

impl<Key: std::hash::Hash + Eq, K> Relist<Key, K> {
    /// Applies one event to `map`; whether anything changed.
    fn apply(
        &mut self,
        map: &mut HashMap<Key, K>,
        event: watcher::Event<Object<K>>,
        key: impl Fn(&kube::core::ObjectMeta) -> Key,
    ) -> bool {
        match event {
            watcher::Event::Apply(o) => match o.object {
                Some(k) => {
                    map.insert(key(&o.metadata.meta), k);
                    true
                }
                None => false,
            },
            watcher::Event::Delete(o) => map.remove(&key(&o.metadata.meta)).is_some(),
            watcher::Event::Init => {
                self.pending = Some(HashMap::new());
                false
            }
            watcher::Event::InitApply(o) => {
                if let (Some(list), Some(k)) = (self.pending.as_mut(), o.object) {
                    list.insert(key(&o.metadata.meta), k);
                }
                false
            }
            watcher::Event::InitDone => {
                *map = self.pending.take().unwrap_or_default();
                self.listed = true;
                true
            }
        }
    }
}

fn name_of(meta: &kube::core::ObjectMeta) -> String {
    meta.name.clone().unwrap_or_default()
}

impl Feeds {
    /// Whether every list was seen complete.
    pub fn listed(&self) -> bool {
        self.claims.listed && self.volumes.listed && self.classes.listed
    }

    /// Applies one event; whether pods waiting on volumes should be tried again.
    pub fn apply(&mut self, into: &mut Volumes, change: Change) -> bool {
        match change {
            Change::Claim(e) => self.claims.apply(&mut into.claims, *e, |m| {
                (m.namespace.clone().unwrap_or_default(), name_of(m))
            }),
            Change::Volume(e) => self.volumes.apply(&mut into.volumes, *e, name_of),
            Change::Class(e) => self.classes.apply(&mut into.classes, *e, name_of),
        }
    }
}

/// Annotates the claims with the node chosen for their first consumer, in the background
/// (the binder and the provisioner follow; the pod is tried again when the claims change).
pub fn select_node(client: &Client, claims: Vec<PersistentVolumeClaim>, node: &str) {
    let client = client.clone();
    let node = node.to_string();
    tokio::spawn(async move {
        for claim in claims {
            let ns = claim.metadata.namespace.clone().unwrap_or_default();
            let name = claim.metadata.name.clone().unwrap_or_default();
            let api: Api<Object<PersistentVolumeClaim>> = Api::namespaced(client.clone(), &ns);
            let patch = json!({"metadata": {"annotations": {SELECTED_NODE: node},
                "resourceVersion": claim.metadata.resource_version}});
            if let Err(error) = api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                tracing::debug!(error = %crate::logs::describe(&error), "scheduler: claim not annotated");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claim(name: &str, class: &str, volume: Option<&str>) -> PersistentVolumeClaim {
        serde_json::from_value(json!({"metadata": {"name": name, "namespace": "ns"},
            "spec": {"storageClassName": class, "volumeName": volume, "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}}},
            "status": {"phase": if volume.is_some() { "Bound" } else { "Pending" }}}))
        .unwrap()
    }

    fn pod(claims: &[&str]) -> Pod {
        let volumes: Vec<_> = claims
            .iter()
            .map(|c| json!({"name": c, "persistentVolumeClaim": {"claimName": c}}))
            .collect();
        serde_json::from_value(json!({"metadata": {"name": "p", "namespace": "ns"},
            "spec": {"containers": [], "volumes": volumes}}))
        .unwrap()
    }

    fn volumes() -> Volumes {
        let mut v = Volumes::default();
        for (name, mode) in [("now", "Immediate"), ("later", "WaitForFirstConsumer")] {
            v.classes.insert(
                name.into(),
                serde_json::from_value(json!({"metadata": {"name": name},
                    "provisioner": "p", "volumeBindingMode": mode}))
                .unwrap(),
            );
        }
        v
    }

    #[test]
    fn claims_keep_pods_off_nodes_as_upstream_says() {
        let mut v = volumes();
        assert_eq!(
            v.needs(&pod(&["data"])).unwrap_err(),
            "persistentvolumeclaim \"data\" not found"
        );
        v.claims
            .insert(("ns".into(), "data".into()), claim("data", "now", None));
        assert_eq!(v.needs(&pod(&["data"])).unwrap_err(), UNBOUND_IMMEDIATE);
        v.claims
            .insert(("ns".into(), "data".into()), claim("data", "later", None));
        let needs = v.needs(&pod(&["data"])).unwrap();
        assert_eq!((needs.to_place.len(), needs.waiting), (1, false));
    }

    #[test]
    fn bound_volumes_hold_pods_to_their_nodes() {
        let mut v = volumes();
        v.claims.insert(
            ("ns".into(), "data".into()),
            claim("data", "later", Some("pv1")),
        );
        v.volumes.insert(
            "pv1".into(),
            serde_json::from_value(json!({"metadata": {"name": "pv1"}, "spec": {"nodeAffinity":
                {"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key":
                "kubernetes.io/hostname", "operator": "In", "values": ["a"]}]}]}}}}))
            .unwrap(),
        );
        let needs = v.needs(&pod(&["data"])).unwrap();
        let node = |name: &str| NodeInfo {
            node: serde_json::from_value(json!({"metadata": {"name": name,
                "labels": {"kubernetes.io/hostname": name}}}))
            .unwrap(),
            ..Default::default()
        };
        assert!(v.fits(&needs, &node("a")).is_ok());
        assert_eq!(
            v.fits(&needs, &node("b")).unwrap_err().reasons,
            vec![AFFINITY_CONFLICT.to_string()]
        );
    }
}
