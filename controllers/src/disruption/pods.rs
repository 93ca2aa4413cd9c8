//! The disruption controller's pods: one cache of every pod filled by its own watch, read
//! by each budget's sync instead of a list of its namespace, and how far that watch has
//! read — a sync woken by a pod's change (from the controller's other watch) first waits,
//! briefly, for the cache to have seen that change.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::watch;

use crate::lenient::Object;

/// How long a sync waits for the cache to catch up before reading it anyway.
const CATCH_UP_WAIT: Duration = Duration::from_secs(2);

fn revision(meta: &ObjectMeta) -> u64 {
    meta.resource_version
        .as_deref()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// How far the cache's watch has read.
#[derive(Clone, Copy, Default)]
struct Read {
    listed: bool,
    revision: u64,
}

pub struct PodCache {
    store: Store<Object<Pod>>,
    read: watch::Sender<Read>,
    /// The newest pod revision that woke a sync.
    woken_at: AtomicU64,
}

impl PodCache {
    /// The cache, and the feed that fills it (to be run beside the controller).
    pub fn start(client: Client) -> (Arc<PodCache>, impl Future<Output = ()>) {
        let (store, writer) = reflector::store();
        let cache = Arc::new(PodCache {
            store,
            read: watch::Sender::new(Read::default()),
            woken_at: AtomicU64::new(0),
        });
        let feeding = Arc::clone(&cache);
        let mut listed_revision = 0;
        let feed = reflector::reflector(
            writer,
            watcher::watcher(Api::<Object<Pod>>::all(client), watcher::Config::default()),
        )
        .default_backoff()
        .for_each(move |event| {
            let seen = match event {
                Ok(watcher::Event::Apply(o) | watcher::Event::Delete(o)) => {
                    Some(revision(&o.metadata.meta))
                }
                Ok(watcher::Event::Init) => {
                    listed_revision = 0;
                    None
                }
                Ok(watcher::Event::InitApply(o)) => {
                    listed_revision = listed_revision.max(revision(&o.metadata.meta));
                    None
                }
                Ok(watcher::Event::InitDone) => {
                    feeding.read.send_modify(|r| r.listed = true);
                    Some(listed_revision)
                }
                Err(_) => None,
            };
            if let Some(r) = seen {
                feeding.read.send_if_modified(|read| {
                    let newer = read.revision < r;
                    read.revision = read.revision.max(r);
                    newer
                });
            }
            futures::future::ready(())
        });
        (cache, feed)
    }

    /// Notes that a pod's change (at its revision) woke a sync.
    pub fn woke(&self, meta: &ObjectMeta) {
        self.woken_at.fetch_max(revision(meta), Ordering::AcqRel);
    }

    /// Waits (a little at most) until the cache is listed and has read every change that
    /// woke a sync.
    pub async fn caught_up(&self) {
        let woken = self.woken_at.load(Ordering::Acquire);
        let mut read = self.read.subscribe();
        let _ = tokio::time::timeout(
            CATCH_UP_WAIT,
            read.wait_for(|r| r.listed && r.revision >= woken),
        )
        .await;
    }

    /// The pods of a namespace, as cached.
    pub fn in_namespace(&self, namespace: &str) -> Vec<Arc<Object<Pod>>> {
        self.store
            .state()
            .into_iter()
            .filter(|o| o.metadata.meta.namespace.as_deref() == Some(namespace))
            .collect()
    }
}
