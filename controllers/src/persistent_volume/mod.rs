//! The persistent-volume binder, as kube-controller-manager's persistentvolume controller:
//! a claim binds to the smallest matching volume (`matching.rs`) or asks its class's
//! provisioner for one (`claims.rs`); a volume follows its claim, and is released and
//! reclaimed when the claim goes (`volumes.rs`). Both sides' status and annotations are
//! upstream's, and so are the events.
//!
//! Two claims never bind one volume: a volume chosen for a claim is held in memory
//! (`Assumed`) until the cache shows the write, and every write of a volume is guarded by
//! the resourceVersion it was chosen at (a concurrent writer elsewhere makes it fail, and the
//! claim is tried again).
//!
//! `protection.rs` holds the pvc-protection and pv-protection controllers.

pub mod annotations;
mod claims;
pub mod matching;
pub mod protection;
mod volumes;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};

use crate::Error;
use crate::backoff::{Retries, key_of};
use crate::events::{self, Involved};
use crate::lenient::Object;

const COMPONENT: &str = "persistentvolume-controller";

/// Volumes written by the binder that the cache may not show yet, and volumes held for a
/// claim while it is being bound.
#[derive(Default)]
struct Assumed {
    volumes: HashMap<String, PersistentVolume>,
    /// Claims (by uid) the binder finished binding, with their volume, until the cache
    /// shows them Bound: a sync of an older copy then has nothing to do.
    bound_claims: HashMap<String, String>,
}

fn revision(volume: &PersistentVolume) -> u64 {
    volume
        .metadata
        .resource_version
        .as_deref()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

struct Context {
    client: Client,
    volumes: Store<Object<PersistentVolume>>,
    claims: Store<Object<PersistentVolumeClaim>>,
    classes: Store<Object<StorageClass>>,
    assumed: Mutex<Assumed>,
    /// The last event reason given per claim uid, so that a claim resynced is not told the
    /// same thing again.
    told: Mutex<HashMap<String, String>>,
    retries: Retries,
}

impl Context {
    /// Every volume, the binder's own newer writes over the cache's.
    fn current_volumes(&self, assumed: &mut Assumed) -> Vec<PersistentVolume> {
        let cached: Vec<PersistentVolume> = self
            .volumes
            .state()
            .iter()
            .filter_map(|o| o.object.clone())
            .collect();
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::with_capacity(cached.len());
        for volume in cached {
            let name = volume.name_any();
            match assumed.volumes.get(&name) {
                Some(mine) if revision(mine) >= revision(&volume) => out.push(mine.clone()),
                Some(_) => {
                    assumed.volumes.remove(&name);
                    out.push(volume);
                }
                None => out.push(volume),
            }
            seen.insert(name);
        }
        // Volumes written but not yet listed (just created).
        out.extend(
            assumed
                .volumes
                .iter()
                .filter(|(n, _)| !seen.contains(*n))
                .map(|(_, v)| v.clone()),
        );
        out
    }

    fn volume(&self, name: &str) -> Option<PersistentVolume> {
        let mut assumed = self.assumed.lock().ok()?;
        let cached = self
            .volumes
            .get(&ObjectRef::new(name))
            .and_then(|o| o.object.clone());
        match (assumed.volumes.get(name), cached) {
            (Some(mine), Some(c)) if revision(mine) < revision(&c) => {
                assumed.volumes.remove(name);
                Some(c)
            }
            (Some(mine), _) => Some(mine.clone()),
            (None, c) => c,
        }
    }

    fn class(&self, name: &str) -> Option<StorageClass> {
        self.classes
            .get(&ObjectRef::new(name))
            .and_then(|o| o.object.clone())
    }

    fn assume(&self, volume: PersistentVolume) {
        if let Ok(mut assumed) = self.assumed.lock() {
            assumed.volumes.insert(volume.name_any(), volume);
        }
    }

    /// Whether the binder already bound this claim and the cache is behind.
    fn bound_earlier(&self, claim: &PersistentVolumeClaim) -> bool {
        let Ok(mut assumed) = self.assumed.lock() else {
            return false;
        };
        let uid = claim.metadata.uid.clone().unwrap_or_default();
        let Some(volume) = assumed.bound_claims.get(&uid) else {
            return false;
        };
        let shown = claim.spec.as_ref().and_then(|s| s.volume_name.as_ref()) == Some(volume)
            && claim.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
        if shown {
            assumed.bound_claims.remove(&uid);
        }
        !shown
    }

    fn claim_bound(&self, claim: &PersistentVolumeClaim, volume: &str) {
        if let Ok(mut assumed) = self.assumed.lock() {
            let uid = claim.metadata.uid.clone().unwrap_or_default();
            assumed.bound_claims.insert(uid, volume.to_string());
        }
    }

    fn forget(&self, name: &str) {
        if let Ok(mut assumed) = self.assumed.lock() {
            assumed.volumes.remove(name);
        }
    }

    /// Records an event on a claim unless the claim was last told the same.
    async fn tell_claim(
        &self,
        claim: &PersistentVolumeClaim,
        type_: &str,
        reason: &str,
        message: &str,
    ) {
        let uid = claim.metadata.uid.clone().unwrap_or_default();
        let key = format!("{reason}:{message}");
        let repeated = self
            .told
            .lock()
            .map(|mut told| told.insert(uid, key.clone()).as_deref() == Some(key.as_str()))
            .unwrap_or(false);
        if !repeated {
            events::record(
                &self.client,
                COMPONENT,
                &claim_involved(claim),
                type_,
                reason,
                message,
            )
            .await;
        }
    }
}

fn claim_involved(claim: &PersistentVolumeClaim) -> Involved<'_> {
    Involved {
        api_version: "v1",
        kind: "PersistentVolumeClaim",
        namespace: claim.metadata.namespace.as_deref().unwrap_or_default(),
        name: claim.metadata.name.as_deref().unwrap_or_default(),
        uid: claim.metadata.uid.as_deref().unwrap_or_default(),
    }
}

fn volume_involved(volume: &PersistentVolume) -> Involved<'_> {
    Involved {
        api_version: "v1",
        kind: "PersistentVolume",
        namespace: "",
        name: volume.metadata.name.as_deref().unwrap_or_default(),
        uid: volume.metadata.uid.as_deref().unwrap_or_default(),
    }
}

async fn reconcile_claim(
    obj: Arc<Object<PersistentVolumeClaim>>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let Some(claim) = obj.object.as_ref() else {
        return Ok(Action::await_change());
    };
    let key = format!("claim/{}", key_of(&obj.metadata.meta));
    ctx.retries.track(&key, claims::sync(claim, &ctx)).await
}

async fn reconcile_volume(
    obj: Arc<Object<PersistentVolume>>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let Some(volume) = obj.object.as_ref() else {
        return Ok(Action::await_change());
    };
    let key = format!("volume/{}", key_of(&obj.metadata.meta));
    ctx.retries.track(&key, volumes::sync(volume, &ctx)).await
}

fn claim_error(
    obj: Arc<Object<PersistentVolumeClaim>>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    let key = format!("claim/{}", key_of(&obj.metadata.meta));
    ctx.retries.retry(COMPONENT, &key, error)
}

fn volume_error(obj: Arc<Object<PersistentVolume>>, error: &Error, ctx: Arc<Context>) -> Action {
    let key = format!("volume/{}", key_of(&obj.metadata.meta));
    ctx.retries.retry(COMPONENT, &key, error)
}

fn claim_ref_of(volume: &PersistentVolume) -> Option<ObjectRef<Object<PersistentVolumeClaim>>> {
    let r = volume.spec.as_ref()?.claim_ref.as_ref()?;
    Some(ObjectRef::new(r.name.as_deref()?).within(r.namespace.as_deref()?))
}

fn is_pending(claim: &Object<PersistentVolumeClaim>) -> bool {
    claim.object.as_ref().is_some_and(|c| {
        c.spec
            .as_ref()
            .and_then(|s| s.volume_name.as_deref())
            .is_none_or(str::is_empty)
    })
}

/// Runs the binder until the process ends.
pub async fn run(client: Client) {
    let (classes, class_writer) = reflector::store();
    let class_feed = reflector::reflector(
        class_writer,
        watcher::watcher(
            Api::<Object<StorageClass>>::all(client.clone()),
            watcher::Config::default(),
        ),
    )
    .default_backoff()
    .for_each(|_| futures::future::ready(()));

    let claims = Controller::new(
        Api::<Object<PersistentVolumeClaim>>::all(client.clone()),
        watcher::Config::default(),
    );
    let volumes = Controller::new(
        Api::<Object<PersistentVolume>>::all(client.clone()),
        watcher::Config::default(),
    );
    let (claim_store, volume_store) = (claims.store(), volumes.store());
    let ctx = Arc::new(Context {
        client: client.clone(),
        volumes: volume_store.clone(),
        claims: claim_store.clone(),
        classes,
        assumed: Mutex::default(),
        told: Mutex::default(),
        retries: Retries::new(),
    });
    // A volume changed: its claim; a free volume: every claim still waiting for one.
    let waiting = claim_store.clone();
    let claims = claims
        .watches(
            Api::<Object<PersistentVolume>>::all(client.clone()),
            watcher::Config::default(),
            move |obj| {
                let Some(volume) = obj.object.as_ref() else {
                    return Vec::new();
                };
                let available =
                    volume.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Available");
                match claim_ref_of(volume) {
                    Some(r) => vec![r],
                    None if available => waiting
                        .state()
                        .iter()
                        .filter(|c| is_pending(c))
                        .map(|c| ObjectRef::from_obj(c.as_ref()))
                        .collect(),
                    None => Vec::new(),
                }
            },
        )
        .run(reconcile_claim, claim_error, ctx.clone())
        .for_each(|_| futures::future::ready(()));
    // A claim changed or went: its volume, and volumes that name it.
    let named = volume_store;
    let volumes = volumes
        .watches(
            Api::<Object<PersistentVolumeClaim>>::all(client),
            watcher::Config::default(),
            move |obj| {
                let (name, ns) = (obj.name_any(), obj.namespace().unwrap_or_default());
                let mut refs: Vec<ObjectRef<Object<PersistentVolume>>> = named
                    .state()
                    .iter()
                    .filter(|v| {
                        v.object
                            .as_ref()
                            .and_then(|v| v.spec.as_ref()?.claim_ref.as_ref())
                            .is_some_and(|r| {
                                r.name.as_deref() == Some(&name)
                                    && r.namespace.as_deref() == Some(&ns)
                            })
                    })
                    .map(|v| ObjectRef::from_obj(v.as_ref()))
                    .collect();
                let bound_to = obj
                    .object
                    .as_ref()
                    .and_then(|c| c.spec.as_ref()?.volume_name.clone())
                    .filter(|n| !n.is_empty());
                refs.extend(bound_to.map(|n| ObjectRef::new(&n)));
                refs
            },
        )
        .run(reconcile_volume, volume_error, ctx)
        .for_each(|_| futures::future::ready(()));
    tokio::join!(class_feed, claims, volumes);
}
