//! A cache of every object of one kind, filled by its own watch and indexed by a key of the
//! controller's choosing (a namespace, an owner), as upstream's informers with an indexer:
//! a sync reads its few objects from the index instead of listing and decoding a whole
//! namespace. The cache also knows how far its watch has read, so that a sync woken by a
//! change the cache has not seen yet, or following one of the controller's own writes, first
//! waits (briefly) for the cache to have seen it: only for the changes filed under the keys it
//! reads, so that the many changes of other objects never hold it up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
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

/// What an object is filed under, from its metadata; `None` leaves it out of the cache.
pub type IndexKey = fn(&ObjectMeta) -> Option<String>;

/// Where changes of objects left out of the cache are expected: every sync waits for them.
const UNFILED: &str = "";
/// Expectations kept before those already read are dropped.
const EXPECTATIONS: usize = 4096;

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
    key: IndexKey,
    read: watch::Sender<Read>,
    /// By index key, the newest revision a sync reading it is to see: of a change that woke
    /// one, or of a write.
    expected: Mutex<HashMap<String, u64>>,
}

impl<K> WatchCache<K>
where
    Object<K>: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send,
    K: Send + Sync + 'static,
{
    /// The cache, and the feed that fills it (to be run beside the controller).
    pub fn start(client: Client, key: IndexKey) -> (Arc<WatchCache<K>>, impl Future<Output = ()>) {
        let cache = Arc::new(WatchCache {
            index: RwLock::new(Index::default()),
            key,
            read: watch::Sender::new(Read::default()),
            expected: Mutex::new(HashMap::new()),
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
                        let k = (feeding.key)(&o.metadata.meta);
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
                            let k = (feeding.key)(&o.metadata.meta);
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

    fn expectations(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.expected.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes a change the next syncs reading its key are to see: one that woke a sync (from
    /// the controller's other watches), or one the controller wrote.
    pub fn expect(&self, meta: &ObjectMeta) {
        let key = (self.key)(meta).unwrap_or_else(|| UNFILED.to_string());
        let mut expected = self.expectations();
        let newest = expected.entry(key).or_default();
        *newest = (*newest).max(revision(meta));
    }

    /// Waits (a little at most) until the cache is listed and has read every change expected
    /// under `keys`. A change it never reads (its object gone before a relist, say) is given
    /// up after one wait, unless a newer one was expected meanwhile, so that it holds up no
    /// other sync.
    pub async fn caught_up(&self, keys: &[&str]) {
        let keys = || keys.iter().copied().chain([UNFILED]);
        let expected = {
            let map = self.expectations();
            keys()
                .filter_map(|k| map.get(k))
                .max()
                .copied()
                .unwrap_or(0)
        };
        let mut read = self.read.subscribe();
        // Only whether it timed out: the value `wait_for` answers holds the channel's read
        // lock, which the feed's next send would wait for while this reads it again.
        let timed_out = tokio::time::timeout(
            CATCH_UP_WAIT,
            read.wait_for(|r| r.listed && r.revision >= expected),
        )
        .await
        .is_err();
        let reached = self.read.borrow().revision;
        let mut map = self.expectations();
        for key in keys() {
            // Read, or given up (unless a newer one came meanwhile).
            if map
                .get(key)
                .is_some_and(|&r| r <= reached || (timed_out && r <= expected))
            {
                map.remove(key);
            }
        }
        if map.len() > EXPECTATIONS {
            map.retain(|_, r| *r > reached);
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

    fn owner(m: &ObjectMeta) -> Option<String> {
        m.labels
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
        let k = owner(&a.metadata.meta);
        index.apply(a, k);
        let b = object("b", "x", "2");
        let k = owner(&b.metadata.meta);
        index.apply(b, k);
        assert_eq!(index.by_key["x"].len(), 2);
        let a = object("a", "y", "3");
        let k = owner(&a.metadata.meta);
        index.apply(a, k);
        assert_eq!(index.by_key["x"].len(), 1);
        assert_eq!(index.by_key["y"].len(), 1);
        let b = object("b", "", "4");
        let k = owner(&b.metadata.meta);
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
        cache.caught_up(&["x"]).await;
        assert_eq!(cache.get("x").len(), 1);
        cache.expect(&object("b", "x", "5").metadata.meta);
        let waiting =
            tokio::time::timeout(Duration::from_millis(300), cache.caught_up(&["x"])).await;
        assert!(waiting.is_err(), "the sync did not wait for the change");
        send.send_replace(true);
        cache.caught_up(&["x"]).await;
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
        cache.caught_up(&["x"]).await;
        cache.expect(&object("gone", "x", "9").metadata.meta);
        let first = tokio::time::Instant::now();
        cache.caught_up(&["x"]).await;
        assert!(first.elapsed() >= CATCH_UP_WAIT);
        let next = tokio::time::timeout(Duration::from_millis(500), cache.caught_up(&["x"])).await;
        assert!(next.is_ok(), "the next sync waited for it again");
        feed.abort();
    }

    /// A sync waits only for the changes expected under the keys it reads (and for those of
    /// objects the cache leaves out).
    #[tokio::test]
    async fn a_sync_waits_only_for_its_keys() {
        use crate::testing::{self, Reply};
        let (client, _) = testing::client(move |r| match r.path.as_str() {
            "/api/v1/configmaps" if r.is_watch() => Reply::Open,
            "/api/v1/configmaps" => testing::list(vec![]),
            _ => testing::status(404, "NotFound"),
        });
        let (cache, feed) = WatchCache::<ConfigMap>::start(client, owner);
        let feed = tokio::spawn(feed);
        cache.caught_up(&["x"]).await;
        cache.expect(&object("other", "y", "9").metadata.meta);
        let mine = tokio::time::timeout(Duration::from_millis(500), cache.caught_up(&["x"])).await;
        assert!(mine.is_ok(), "a sync of x waited for a change of y");
        let theirs =
            tokio::time::timeout(Duration::from_millis(300), cache.caught_up(&["z", "y"])).await;
        assert!(theirs.is_err(), "a sync of y did not wait for its change");
        cache.expect(&object("unfiled", "", "10").metadata.meta);
        let any = tokio::time::timeout(Duration::from_millis(300), cache.caught_up(&["x"])).await;
        assert!(
            any.is_err(),
            "a sync did not wait for a change left out of the cache"
        );
        feed.abort();
    }
}
