//! The persistent-volume binder, as kube-controller-manager's persistentvolume controller:
//! a claim binds to the smallest matching volume (`matching.rs`) or asks its class's
//! provisioner for one (`claims.rs`); a volume follows its claim, and is released and
//! reclaimed when the claim goes (`volumes.rs`). Both sides' status and annotations are
//! upstream's, and so are the events.
//!
//! Claims are reconciled concurrently. Two claims never bind one volume: candidates come from
//! an index of the volumes (`index.rs`, fed by a watch of its own) in which a volume chosen
//! for a claim is held until that claim's bind ends, and every write of a volume is guarded by
//! the resourceVersion it was chosen at (a concurrent writer elsewhere makes it fail, and the
//! claim is tried again).
//!
//! `protection.rs` holds the pvc-protection and pv-protection controllers.

pub mod annotations;
mod claims;
mod index;
pub mod matching;
pub mod protection;
mod volumes;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use tokio::sync::watch;

use crate::Error;
use crate::backoff::{Retries, key_of};
use crate::events::{self, Involved};
use crate::lenient::Object;

const COMPONENT: &str = "persistentvolume-controller";

/// How long a claim's sync waits for the volume index to catch up with the volume events
/// that woke it (it goes on with what the index holds after that).
const INDEX_WAIT: Duration = Duration::from_secs(2);

fn revision(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> u64 {
    meta.resource_version
        .as_deref()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// How far the volume index has read its watch.
#[derive(Clone, Copy, Default)]
struct Indexed {
    /// The first list is in.
    listed: bool,
    /// The newest volume revision seen.
    revision: u64,
}

struct Context {
    client: Client,
    claims: Store<Object<PersistentVolumeClaim>>,
    classes: Store<Object<StorageClass>>,
    volumes: Mutex<index::Volumes>,
    indexed: watch::Sender<Indexed>,
    /// The newest volume revision that woke a claim.
    woken_at: AtomicU64,
    /// Claims (by uid) the binder finished binding, with their volume, until the cache
    /// shows them Bound: a sync of an older copy then has nothing to do.
    bound_claims: Mutex<HashMap<String, String>>,
    /// The last event reason given per claim uid, so that a claim resynced is not told the
    /// same thing again.
    told: Mutex<HashMap<String, String>>,
    retries: Retries,
}

impl Context {
    fn index(&self) -> MutexGuard<'_, index::Volumes> {
        self.volumes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits (a bounded time) until the index has read every volume event that woke a
    /// claim: the claim controller and the index read separate watches.
    async fn index_caught_up(&self) {
        let woken = self.woken_at.load(Ordering::Acquire);
        let mut indexed = self.indexed.subscribe();
        let _ = tokio::time::timeout(
            INDEX_WAIT,
            indexed.wait_for(|i| i.listed && i.revision >= woken),
        )
        .await;
    }

    /// The newest copy of a volume: the index's (the binder's own writes over the watch's),
    /// else the one given.
    fn newest(&self, volume: &PersistentVolume) -> PersistentVolume {
        match self.index().get(&volume.name_any()) {
            Some(v) if revision(&v.metadata) >= revision(&volume.metadata) => (*v).clone(),
            _ => volume.clone(),
        }
    }

    /// A volume by name: the index's copy, else read (the index may be behind; a volume is
    /// never judged gone on its word alone).
    async fn volume(&self, name: &str) -> Result<Option<PersistentVolume>, Error> {
        if let Some(v) = self.index().get(name) {
            return Ok(Some((*v).clone()));
        }
        let api: Api<Object<PersistentVolume>> = Api::all(self.client.clone());
        Ok(api.get_opt(name).await?.and_then(|o| o.object))
    }

    fn class(&self, name: &str) -> Option<StorageClass> {
        self.classes
            .get(&ObjectRef::new(name))
            .and_then(|o| o.object.clone())
    }

    fn assume(&self, volume: PersistentVolume) {
        self.index().assume(volume);
    }

    fn forget(&self, name: &str) {
        self.index().forget(name);
    }

    /// Whether the binder already bound this claim and the cache is behind.
    fn bound_earlier(&self, claim: &PersistentVolumeClaim) -> bool {
        let Ok(mut bound) = self.bound_claims.lock() else {
            return false;
        };
        let uid = claim.metadata.uid.clone().unwrap_or_default();
        let Some(volume) = bound.get(&uid) else {
            return false;
        };
        let shown = claim.spec.as_ref().and_then(|s| s.volume_name.as_ref()) == Some(volume)
            && claim.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
        if shown {
            bound.remove(&uid);
        }
        !shown
    }

    fn claim_bound(&self, claim: &PersistentVolumeClaim, volume: &str) {
        if let Ok(mut bound) = self.bound_claims.lock() {
            let uid = claim.metadata.uid.clone().unwrap_or_default();
            bound.insert(uid, volume.to_string());
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
    Involved::of("v1", "PersistentVolumeClaim", &claim.metadata)
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

/// Whether the claim waits for a volume of this class.
fn is_waiting(claim: &Object<PersistentVolumeClaim>, class: &str) -> bool {
    claim.object.as_ref().is_some_and(|c| {
        c.spec
            .as_ref()
            .and_then(|s| s.volume_name.as_deref())
            .is_none_or(str::is_empty)
            && matching::claim_class(c) == class
    })
}

/// Keeps the volume index current from its own watch of the volumes.
async fn index_volumes(client: Client, ctx: Arc<Context>) {
    let mut listing: Vec<PersistentVolume> = Vec::new();
    let mut listed_revision = 0;
    watcher::watcher(
        Api::<Object<PersistentVolume>>::all(client),
        watcher::Config::default(),
    )
    .default_backoff()
    .for_each(move |event| {
        let Ok(event) = event else {
            return futures::future::ready(());
        };
        let seen = match event {
            watcher::Event::Apply(o) => {
                let name = o.name_any();
                match o.object {
                    Some(v) => ctx.index().watched(v),
                    None => ctx.index().deleted(&name),
                }
                Some(revision(&o.metadata.meta))
            }
            watcher::Event::Delete(o) => {
                ctx.index().deleted(&o.name_any());
                Some(revision(&o.metadata.meta))
            }
            watcher::Event::Init => {
                listing.clear();
                listed_revision = 0;
                None
            }
            watcher::Event::InitApply(o) => {
                listed_revision = listed_revision.max(revision(&o.metadata.meta));
                listing.extend(o.object);
                None
            }
            watcher::Event::InitDone => {
                ctx.index().relisted(std::mem::take(&mut listing));
                ctx.indexed.send_modify(|i| i.listed = true);
                Some(listed_revision)
            }
        };
        if let Some(r) = seen {
            ctx.indexed.send_if_modified(|i| {
                let newer = i.revision < r;
                i.revision = i.revision.max(r);
                newer
            });
        }
        futures::future::ready(())
    })
    .await;
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
    let claim_store = claims.store();
    let ctx = Arc::new(Context {
        client: client.clone(),
        claims: claim_store.clone(),
        classes,
        volumes: Mutex::default(),
        indexed: watch::Sender::new(Indexed::default()),
        woken_at: AtomicU64::new(0),
        bound_claims: Mutex::default(),
        told: Mutex::default(),
        retries: Retries::new(),
    });
    let index_feed = index_volumes(client.clone(), ctx.clone());
    // A volume changed: its claim; a free volume: the claims of its class still waiting.
    let (waiting, woken) = (claim_store, ctx.clone());
    let claims = claims
        .watches(
            Api::<Object<PersistentVolume>>::all(client.clone()),
            watcher::Config::default(),
            move |obj| {
                woken
                    .woken_at
                    .fetch_max(revision(&obj.metadata.meta), Ordering::AcqRel);
                let Some(volume) = obj.object.as_ref() else {
                    return Vec::new();
                };
                match claim_ref_of(volume) {
                    Some(r) => vec![r],
                    None if matching::is_free(volume) => {
                        let class = matching::volume_class(volume);
                        waiting
                            .state()
                            .iter()
                            .filter(|c| is_waiting(c, class))
                            .map(|c| ObjectRef::from_obj(c.as_ref()))
                            .collect()
                    }
                    None => Vec::new(),
                }
            },
        )
        .run(reconcile_claim, claim_error, ctx.clone())
        .for_each(|_| futures::future::ready(()));
    // A claim changed or went: its volume, and volumes that name it.
    let named = ctx.clone();
    let volumes = volumes
        .watches(
            Api::<Object<PersistentVolumeClaim>>::all(client),
            watcher::Config::default(),
            move |obj| {
                let key = (obj.namespace().unwrap_or_default(), obj.name_any());
                let mut refs: Vec<ObjectRef<Object<PersistentVolume>>> = named
                    .index()
                    .claimed_by(&key)
                    .iter()
                    .map(|n| ObjectRef::new(n))
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
    tokio::join!(class_feed, index_feed, claims, volumes);
}
