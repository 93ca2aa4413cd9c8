//! A cache of every object of one kind, filled by its own watch and indexed by a key of the
//! controller's choosing (a namespace, an owner), as upstream's informers with an indexer:
//! a sync reads its few objects from the index instead of listing and decoding a whole
//! namespace. The cache also knows how far its watch has read, so that a sync woken by a
//! change the cache has not seen yet, or following one of the controller's own writes, first
//! waits (briefly) for the cache to have seen it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use crate::lenient::Object;

/// How long a sync waits for the cache to catch up before reading it anyway.
const CATCH_UP_WAIT: Duration = Duration::from_secs(2);

/// What an object is filed under; `None` leaves it out of the cache.
pub type IndexKey<K> = fn(&Object<K>) -> Option<String>;

fn revision(meta: &ObjectMeta) -> u64 {
    meta.resource_version
        .as_deref()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// An object's place: namespace and name.
type Name = (String, String);

fn name_of(meta: &ObjectMeta) -> Name {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

/// How far the cache's watch has read.
#[derive(Clone, Copy, Default)]
struct Read {
    listed: bool,
    revision: u64,
}

/// The objects by index key, and each object's key.
struct Index<K> {
    by_key: HashMap<String, HashMap<Name, Arc<Object<K>>>>,
    key_of: HashMap<Name, String>,
}

impl<K> Default for Index<K> {
    fn default() -> Self {
        Index {
            by_key: HashMap::new(),
            key_of: HashMap::new(),
        }
    }
}

impl<K> Index<K> {
    fn remove(&mut self, name: &Name) {
        if let Some(key) = self.key_of.remove(name)
            && let Some(set) = self.by_key.get_mut(&key)
        {
            set.remove(name);
            if set.is_empty() {
                self.by_key.remove(&key);
            }
        }
    }

    fn apply(&mut self, object: Object<K>, key: Option<String>) {
        let name = name_of(&object.metadata.meta);
        self.remove(&name);
        if let Some(key) = key {
            self.key_of.insert(name.clone(), key.clone());
            self.by_key
                .entry(key)
                .or_default()
                .insert(name, Arc::new(object));
        }
    }
}

pub struct WatchCache<K> {
    index: RwLock<Index<K>>,
    key: IndexKey<K>,
    read: watch::Sender<Read>,
    /// The newest revision a sync is to see: of a change that woke one, or of a write.
    expected: AtomicU64,
}

impl<K> WatchCache<K>
where
    Object<K>: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send,
    K: Send + Sync + 'static,
{
    /// The cache, and the feed that fills it (to be run beside the controller).
    pub fn start(
        client: Client,
        key: IndexKey<K>,
    ) -> (Arc<WatchCache<K>>, impl Future<Output = ()>) {
        let cache = Arc::new(WatchCache {
            index: RwLock::new(Index::default()),
            key,
            read: watch::Sender::new(Read::default()),
            expected: AtomicU64::new(0),
        });
        let feeding = Arc::clone(&cache);
        // A (re)list is gathered apart and replaces the whole index once complete.
        let mut listing: Option<(Index<K>, u64)> = None;
        let feed = watcher::watcher(Api::<Object<K>>::all(client), watcher::Config::default())
            .default_backoff()
            .for_each(move |event| {
                let seen = match event {
                    Ok(watcher::Event::Apply(o)) => {
                        let r = revision(&o.metadata.meta);
                        let k = (feeding.key)(&o);
                        feeding.write().apply(o, k);
                        Some(r)
                    }
                    Ok(watcher::Event::Delete(o)) => {
                        let r = revision(&o.metadata.meta);
                        feeding.write().remove(&name_of(&o.metadata.meta));
                        Some(r)
                    }
                    Ok(watcher::Event::Init) => {
                        listing = Some((Index::default(), 0));
                        None
                    }
                    Ok(watcher::Event::InitApply(o)) => {
                        if let Some((index, r)) = listing.as_mut() {
                            *r = (*r).max(revision(&o.metadata.meta));
                            let k = (feeding.key)(&o);
                            index.apply(o, k);
                        }
                        None
                    }
                    Ok(watcher::Event::InitDone) => listing.take().map(|(index, r)| {
                        *feeding.write() = index;
                        feeding.read.send_modify(|read| read.listed = true);
                        r
                    }),
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
}

impl<K> WatchCache<K> {
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Index<K>> {
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes a change the next syncs are to see: one that woke a sync (from the controller's
    /// other watches), or one the controller wrote.
    pub fn expect(&self, meta: &ObjectMeta) {
        self.expected.fetch_max(revision(meta), Ordering::AcqRel);
    }

    /// Waits (a little at most) until the cache is listed and has read every expected change.
    /// A change it never reads (its object gone before a relist, say) is given up after one
    /// wait, unless a newer one was expected meanwhile, so that it holds up no other sync.
    pub async fn caught_up(&self) {
        let expected = self.expected.load(Ordering::Acquire);
        let mut read = self.read.subscribe();
        let waited = tokio::time::timeout(
            CATCH_UP_WAIT,
            read.wait_for(|r| r.listed && r.revision >= expected),
        )
        .await;
        if waited.is_err() {
            let reached = self.read.borrow().revision;
            let _ = self.expected.compare_exchange(
                expected,
                reached,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
    }

    /// The objects filed under `key`, as cached.
    pub fn get(&self, key: &str) -> Vec<Arc<Object<K>>> {
        self.index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .by_key
            .get(key)
            .map(|set| set.values().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use serde_json::json;

    fn object(name: &str, owner: &str, rv: &str) -> Object<ConfigMap> {
        serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "p", "resourceVersion": rv,
                "labels": {"owner": owner}}}))
        .unwrap()
    }

    fn owner(o: &Object<ConfigMap>) -> Option<String> {
        o.metadata
            .meta
            .labels
            .as_ref()
            .and_then(|l| l.get("owner"))
            .filter(|o| !o.is_empty())
            .cloned()
    }

    /// An object moves between keys as its key changes, and leaves when it has none.
    #[test]
    fn objects_follow_their_keys() {
        let mut index = Index::default();
        let a = object("a", "x", "1");
        let k = owner(&a);
        index.apply(a, k);
        let b = object("b", "x", "2");
        let k = owner(&b);
        index.apply(b, k);
        assert_eq!(index.by_key["x"].len(), 2);
        let a = object("a", "y", "3");
        let k = owner(&a);
        index.apply(a, k);
        assert_eq!(index.by_key["x"].len(), 1);
        assert_eq!(index.by_key["y"].len(), 1);
        let b = object("b", "", "4");
        let k = owner(&b);
        index.apply(b, k);
        assert!(!index.by_key.contains_key("x"));
        index.remove(&("p".into(), "a".into()));
        assert!(index.by_key.is_empty() && index.key_of.is_empty());
    }

    /// A sync that expects a change (its own write, say) waits for the watch to bring it,
    /// and then reads it.
    #[tokio::test]
    async fn a_sync_waits_for_what_it_expects() {
        use crate::testing::{self, Reply};
        let (send, sent) = tokio::sync::watch::channel(false);
        let value = |name: &str, rv: &str| {
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": "p", "resourceVersion": rv,
                    "labels": {"owner": "x"}}})
        };
        let (client, _) = testing::client(move |r| match r.path.as_str() {
            "/api/v1/configmaps" if r.is_watch() => {
                let mut sent = sent.clone();
                Reply::Events(
                    Box::pin(async move { drop(sent.wait_for(|s| *s).await) }),
                    vec![json!({"type": "ADDED", "object": value("b", "5")})],
                )
            }
            "/api/v1/configmaps" => testing::list(vec![value("a", "1")]),
            _ => testing::status(404, "NotFound"),
        });
        let (cache, feed) = WatchCache::<ConfigMap>::start(client, owner);
        let feed = tokio::spawn(feed);
        cache.caught_up().await;
        assert_eq!(cache.get("x").len(), 1);
        cache.expect(&object("b", "x", "5").metadata.meta);
        let waiting = tokio::time::timeout(Duration::from_millis(300), cache.caught_up()).await;
        assert!(waiting.is_err(), "the sync did not wait for the change");
        send.send_replace(true);
        cache.caught_up().await;
        assert_eq!(cache.get("x").len(), 2);
        feed.abort();
    }

    /// A change the watch never brings holds up one sync, not every one after it.
    #[tokio::test]
    async fn a_change_never_read_is_given_up() {
        use crate::testing::{self, Reply};
        let (client, _) = testing::client(move |r| match r.path.as_str() {
            "/api/v1/configmaps" if r.is_watch() => Reply::Open,
            "/api/v1/configmaps" => testing::list(vec![json!({"apiVersion": "v1",
                "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "p",
                    "resourceVersion": "1", "labels": {"owner": "x"}}})]),
            _ => testing::status(404, "NotFound"),
        });
        let (cache, feed) = WatchCache::<ConfigMap>::start(client, owner);
        let feed = tokio::spawn(feed);
        cache.caught_up().await;
        cache.expect(&object("gone", "x", "9").metadata.meta);
        let first = tokio::time::Instant::now();
        cache.caught_up().await;
        assert!(first.elapsed() >= CATCH_UP_WAIT);
        let next = tokio::time::timeout(Duration::from_millis(500), cache.caught_up()).await;
        assert!(next.is_ok(), "the next sync waited for it again");
        feed.abort();
    }
}
