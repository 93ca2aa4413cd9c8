//! The watch cache: per resource, the current objects and the recent events in memory, fed by
//! one store watch, fanned out to every watcher of the resource.
//!
//! A cache starts on first use with a list of the resource and a store watch from that list's
//! revision. Each event is encoded once (the object's JSON with its resourceVersion, and the
//! watch line unfiltered JSON watchers send as is) and offered to every watcher's bounded
//! buffer. A watcher whose buffer is full is closed (its client re-watches from its last
//! resourceVersion), so one slow reader never holds up the others. An event shown in another
//! version of its kind is converted once per version and shared by that version's watchers
//! (`CacheEvent::in_version`). If the store watch ends,
//! the cache closes its watchers, takes no new ones, and the next request starts a new cache.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde_json::Value;
use storage::{EventKind, KeyValue, ListOptions, Revision, Store};
use tokio::sync::mpsc;

use crate::watch::encoded;
use crate::write_fence::WriteFence;

/// Events a watcher may have queued before it is closed as too slow.
pub const WATCHER_BUFFER: usize = 1024;
/// Recent events kept per resource, so that watches resuming from a recent resourceVersion
/// are served from memory.
const HISTORY: usize = 4096;

/// One object as the cache holds it: its JSON with its resourceVersion.
#[derive(Debug)]
pub struct Cached {
    pub json: Bytes,
}

/// One change, encoded once for every watcher.
#[derive(Debug)]
pub struct CacheEvent {
    pub revision: Revision,
    pub key: String,
    /// `ADDED`, `MODIFIED` or `DELETED` for a watcher without selectors.
    pub kind: &'static str,
    /// The new state, or for a deletion the last state with the deletion's revision.
    pub object: Bytes,
    /// The state before a modification, for selectors (stored form, without revision).
    prev: Option<Bytes>,
    /// The watch line for JSON watchers without selectors.
    pub line: Bytes,
    parsed: OnceLock<(Option<Value>, Option<Value>)>,
    /// The event in other versions of its kind, converted once for every watcher of each.
    versions: Mutex<Vec<(Arc<str>, InVersion)>>,
}

/// One event in one version, converted by its first watcher, shared with the others.
pub type InVersion = Arc<tokio::sync::OnceCell<Arc<CacheEvent>>>;

impl CacheEvent {
    fn new(event: &storage::Event) -> CacheEvent {
        let revision = event.revision();
        let (kind, state, prev) = match (event.kind, &event.prev) {
            (EventKind::Put, None) => ("ADDED", &event.kv, None),
            (EventKind::Put, Some(prev)) => ("MODIFIED", &event.kv, Some(prev.value.clone())),
            (EventKind::Delete, prev) => ("DELETED", prev.as_ref().unwrap_or(&event.kv), None),
        };
        // A deletion shows the last state at the deletion's revision.
        let object = encoded::at_revision(&state.value, revision);
        CacheEvent {
            revision,
            key: event.kv.key.clone(),
            kind,
            line: encoded::watch_event(kind, &object),
            object,
            prev,
            parsed: OnceLock::new(),
            versions: Mutex::default(),
        }
    }

    /// The same change showing `object` (with its resourceVersion) and `prev` (stored form)
    /// instead: the event in another version of its kind.
    pub fn showing(&self, object: Bytes, prev: Option<Bytes>) -> CacheEvent {
        CacheEvent {
            revision: self.revision,
            key: self.key.clone(),
            kind: self.kind,
            line: encoded::watch_event(self.kind, &object),
            object,
            prev,
            parsed: OnceLock::new(),
            versions: Mutex::default(),
        }
    }

    /// Where this event in `api_version` is kept once converted.
    pub fn in_version(&self, api_version: &str) -> InVersion {
        let mut versions = self.versions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, cell)) = versions.iter().find(|(v, _)| &**v == api_version) {
            return cell.clone();
        }
        let cell = InVersion::default();
        versions.push((Arc::from(api_version), cell.clone()));
        cell
    }

    /// The state before a modification, as stored.
    pub fn prev(&self) -> Option<&Bytes> {
        self.prev.as_ref()
    }

    /// An event of `kind` on `key` showing `object`, for tests of what consumes events.
    #[cfg(test)]
    pub(crate) fn for_test(kind: &'static str, key: &str, object: Bytes) -> CacheEvent {
        CacheEvent {
            revision: 0,
            key: key.to_string(),
            kind,
            line: encoded::watch_event(kind, &object),
            object,
            prev: None,
            parsed: OnceLock::new(),
            versions: Mutex::default(),
        }
    }

    /// The object and, for a modification, its previous state, parsed (once) for selectors.
    pub fn parsed(&self) -> (Option<&Value>, Option<&Value>) {
        let (object, prev) = self.parsed.get_or_init(|| {
            (
                serde_json::from_slice(&self.object).ok(),
                self.prev
                    .as_ref()
                    .and_then(|p| serde_json::from_slice(p).ok()),
            )
        });
        (object.as_ref(), prev.as_ref())
    }
}

/// What a watcher receives.
#[derive(Clone, Debug)]
pub enum Message {
    Event(Arc<CacheEvent>),
    /// Every event up to this revision has been delivered.
    Progress(Revision),
}

/// A watcher's feed: events to replay from history, then live messages. Events at or below
/// `after` are to be skipped.
pub struct Subscription {
    pub after: Revision,
    replay: Vec<Arc<CacheEvent>>,
    receiver: mpsc::Receiver<Message>,
}

impl Subscription {
    pub fn into_stream(self) -> impl Stream<Item = Message> + Send {
        let after = self.after;
        futures::stream::iter(self.replay.into_iter().map(Message::Event))
            .chain(tokio_stream::wrappers::ReceiverStream::new(self.receiver))
            .filter(move |m| {
                let keep = match m {
                    Message::Event(e) => e.revision > after,
                    Message::Progress(_) => true,
                };
                std::future::ready(keep)
            })
    }
}

struct Watcher {
    /// Keys the watcher sees (a namespace's, or the whole resource's).
    prefix: String,
    sender: mpsc::Sender<Message>,
}

struct State {
    objects: imbl::OrdMap<String, Arc<Cached>>,
    /// Every event up to here is applied.
    revision: Revision,
    /// The events after `history_start`, oldest first.
    history: VecDeque<Arc<CacheEvent>>,
    history_start: Revision,
    watchers: Vec<Watcher>,
}

/// The cache of one resource.
pub struct Cache {
    state: Mutex<State>,
    broken: AtomicBool,
    /// Watchers closed because their buffer was full.
    pub slow_closed: std::sync::atomic::AtomicU64,
    /// The revision the cache is current at, for those waiting to read a write.
    progress: tokio::sync::watch::Sender<Revision>,
    /// Batches of changes applied so far (what was derived from the objects at one count is
    /// still valid at the same count).
    changes: std::sync::atomic::AtomicU64,
    /// The revision of this server's latest write of the resource (`WriteFence::of`).
    written: Arc<AtomicU64>,
}

impl Cache {
    /// Lists `prefix` and starts feeding from a store watch after that list; `written` is the
    /// revision of this server's latest write of the resource.
    async fn start(
        store: Arc<dyn Store>,
        prefix: String,
        written: Arc<AtomicU64>,
    ) -> Result<Arc<Cache>, storage::Error> {
        let (objects, revision) = list_in_pages(store.as_ref(), &prefix, START_PAGE).await?;
        let events = store.watch(&prefix, revision).await?;
        let cache = Arc::new(Cache {
            state: Mutex::new(State {
                objects,
                revision,
                history: VecDeque::new(),
                history_start: revision,
                watchers: Vec::new(),
            }),
            broken: AtomicBool::new(false),
            slow_closed: Default::default(),
            progress: tokio::sync::watch::Sender::new(revision),
            changes: Default::default(),
            written,
        });
        tokio::spawn(feed(cache.clone(), events));
        Ok(cache)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-updated in a way that
        // matters more than losing the cache, so a poisoned lock is used as is.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Acquire)
    }

    /// How many batches of changes the cache has applied.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    /// Whether the cache holds every change up to `revision`, waiting for it at most `limit`
    /// (false when it did not come in time or the cache broke).
    pub async fn caught_up(&self, revision: Revision, limit: std::time::Duration) -> bool {
        // Read without subscribing first: on every request, the cache is nearly always there.
        if *self.progress.borrow() >= revision {
            return !self.is_broken();
        }
        let mut progress = self.progress.subscribe();
        let reached = *progress.borrow_and_update() >= revision
            || matches!(
                tokio::time::timeout(limit, progress.wait_for(|r| *r >= revision)).await,
                Ok(Ok(_))
            );
        reached && !self.is_broken()
    }

    /// Whether the cache holds this server's latest write of its resource, waiting for it at
    /// most `limit`: for reads that must see a write at once (a policy just created).
    pub async fn holds_own_writes(&self, limit: std::time::Duration) -> bool {
        self.caught_up(self.written.load(Ordering::Acquire), limit)
            .await
    }

    /// The object stored under `key`, as the cache holds it.
    pub fn get(&self, key: &str) -> Option<Arc<Cached>> {
        self.state().objects.get(key).cloned()
    }

    /// The objects under `prefix` and the revision they are current at.
    pub fn snapshot(&self, prefix: &str) -> (Objects, Revision) {
        let (objects, revision) = {
            let state = self.state();
            (state.objects.clone(), state.revision)
        };
        (in_prefix(&objects, prefix), revision)
    }

    /// The objects under `prefix` and a subscription to every change after them. On a broken
    /// cache the subscription ends at once (after the objects, which are consistent at their
    /// revision): the caller resumes from there, through `WatchCaches::get`'s fresh cache.
    pub fn snapshot_and_subscribe(&self, prefix: &str) -> (Objects, Revision, Subscription) {
        let (objects, revision, subscription) = {
            let mut state = self.state();
            let revision = state.revision;
            let subscription = match self.is_broken() {
                true => ended(revision),
                false => register(&mut state, prefix, revision, Vec::new()),
            };
            (state.objects.clone(), revision, subscription)
        };
        (in_prefix(&objects, prefix), revision, subscription)
    }

    /// A subscription to the changes under `prefix` after `after`; `None` if they are older
    /// than the cache's history or the cache is broken (the caller reads them from the store
    /// instead).
    pub fn subscribe(&self, prefix: &str, after: Revision) -> Option<Subscription> {
        let mut state = self.state();
        if after < state.history_start || self.is_broken() {
            return None;
        }
        let replay = state
            .history
            .iter()
            .filter(|e| e.revision > after && e.key.starts_with(prefix))
            .cloned()
            .collect();
        Some(register(&mut state, prefix, after, replay))
    }

    /// Applies one store watch response and offers it to every watcher.
    fn apply(&self, response: &storage::WatchResponse) {
        let events: Vec<Arc<CacheEvent>> = response
            .events
            .iter()
            .map(|e| Arc::new(CacheEvent::new(e)))
            .collect();
        let mut state = self.state();
        if !events.is_empty() {
            self.changes.fetch_add(1, Ordering::AcqRel);
        }
        for (event, raw) in events.iter().zip(&response.events) {
            match raw.kind {
                EventKind::Put => {
                    let cached = Arc::new(Cached {
                        json: event.object.clone(),
                    });
                    state.objects.insert(event.key.clone(), cached);
                }
                EventKind::Delete => {
                    state.objects.remove(&event.key);
                }
            }
            state.history.push_back(event.clone());
            if state.history.len() > HISTORY
                && let Some(old) = state.history.pop_front()
            {
                state.history_start = old.revision;
            }
        }
        state.revision = state.revision.max(response.revision);
        self.progress.send_replace(state.revision);
        let mut slow = 0;
        state.watchers.retain(|w| {
            let mut offer = |m: Message| match w.sender.try_send(m) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    slow += 1;
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            };
            if events.is_empty() {
                // A progress notice that finds the buffer full is dropped, not fatal.
                return !matches!(
                    w.sender.try_send(Message::Progress(response.revision)),
                    Err(mpsc::error::TrySendError::Closed(_))
                );
            }
            events
                .iter()
                .filter(|e| e.key.starts_with(&w.prefix))
                .all(|e| offer(Message::Event(e.clone())))
        });
        if slow > 0 {
            self.slow_closed.fetch_add(slow, Ordering::Relaxed);
        }
    }

    fn fail(&self) {
        // Marked under the lock that registration holds: no watcher can be added after the
        // watchers are cleared, where nothing would ever feed it.
        let mut state = self.state();
        self.broken.store(true, Ordering::Release);
        // Dropping the senders ends every watcher's stream.
        state.watchers.clear();
    }
}

/// Objects read per page when a cache starts.
const START_PAGE: usize = 1000;

/// Every object under `prefix`, read in pages at the first page's revision, so that a large
/// resource is never held twice at once (the store's values and their cached form).
async fn list_in_pages(
    store: &dyn Store,
    prefix: &str,
    page: usize,
) -> Result<(imbl::OrdMap<String, Arc<Cached>>, Revision), storage::Error> {
    let mut objects = imbl::OrdMap::new();
    let mut options = ListOptions {
        limit: Some(page),
        ..ListOptions::default()
    };
    loop {
        let list = store.list(prefix, options).await?;
        for kv in &list.kvs {
            objects.insert(kv.key.clone(), cached(kv));
        }
        match (list.more, list.kvs.last()) {
            (true, Some(last)) => {
                options = ListOptions {
                    revision: Some(list.revision),
                    limit: Some(page),
                    continue_from: Some(format!("{}\0", last.key)),
                };
            }
            _ => return Ok((objects, list.revision)),
        }
    }
}

/// A subscription that has already ended (nothing will feed it).
fn ended(after: Revision) -> Subscription {
    let (_, receiver) = mpsc::channel(1);
    Subscription {
        after,
        replay: Vec::new(),
        receiver,
    }
}

fn register(
    state: &mut State,
    prefix: &str,
    after: Revision,
    replay: Vec<Arc<CacheEvent>>,
) -> Subscription {
    let (sender, receiver) = mpsc::channel(WATCHER_BUFFER);
    state.watchers.push(Watcher {
        prefix: prefix.to_string(),
        sender,
    });
    Subscription {
        after,
        replay,
        receiver,
    }
}

/// The objects under `prefix`, with their keys, in key order.
pub type Objects = Vec<(String, Arc<Cached>)>;

fn in_prefix(objects: &imbl::OrdMap<String, Arc<Cached>>, prefix: &str) -> Objects {
    objects
        .range(prefix.to_string()..)
        .take_while(|(k, _)| k.starts_with(prefix))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

async fn feed(cache: Arc<Cache>, mut events: storage::WatchStream) {
    while let Some(Ok(response)) = events.next().await {
        cache.apply(&response);
    }
    tracing::warn!("a watch cache lost its store watch; it restarts on next use");
    cache.fail();
}

/// A resource's cache, once started.
type CacheCell = Arc<tokio::sync::OnceCell<Arc<Cache>>>;

/// The watch caches of every resource, started on first use.
pub struct WatchCaches {
    store: Arc<dyn Store>,
    /// This server's latest writes, which each cache learns of its own resource's.
    fence: Arc<WriteFence>,
    caches: Mutex<HashMap<String, CacheCell, foldhash::fast::RandomState>>,
    /// The running caches found by `of`, by their kind's names (`NamesOf`): admission asks
    /// for several on every request, and building each one's prefix cost more than the rest.
    by_names: std::sync::RwLock<HashMap<NamesOf, Arc<Cache>, foldhash::fast::RandomState>>,
}

/// A kind's group and plural by the address and length of their text: equal keys hold equal
/// text (a kind's names live as long as the server), so a look-up hashes one word mixed from
/// four. Custom kinds' names are interned (`api::intern`), so redefining a kind adds no key.
#[derive(Clone, Copy, PartialEq, Eq)]
struct NamesOf([usize; 4]);

impl std::hash::Hash for NamesOf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(mix(&self.0));
    }
}

/// Words mixed into one, for keys made of addresses: hashed as a slice, the words would be
/// hashed as bytes, which costs several times more.
pub(crate) fn mix(words: &[usize]) -> u64 {
    words.iter().fold(0u64, |mixed, &word| {
        (mixed.rotate_left(23) ^ word as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    })
}

impl NamesOf {
    fn of(def: &api::ResourceDef) -> NamesOf {
        let (g, p) = (def.group, def.plural);
        NamesOf([g.as_ptr() as usize, g.len(), p.as_ptr() as usize, p.len()])
    }
}

impl WatchCaches {
    pub fn new(store: Arc<dyn Store>, fence: Arc<WriteFence>) -> Self {
        WatchCaches {
            store,
            fence,
            caches: Mutex::new(HashMap::default()),
            by_names: Default::default(),
        }
    }

    /// The cache of the resource stored under `prefix`.
    pub async fn get(&self, prefix: &str) -> Result<Arc<Cache>, storage::Error> {
        let cell = self.cell(prefix);
        cell.get_or_try_init(|| self.start(prefix.to_string()))
            .await
            .cloned()
    }

    /// Starts the cache of the resource under `prefix`, told of this server's writes of it.
    async fn start(&self, prefix: String) -> Result<Arc<Cache>, storage::Error> {
        let written = self.fence.of(&prefix);
        Cache::start(self.store.clone(), prefix, written).await
    }

    /// The cell of the cache under `prefix`: made if missing, emptied if its cache broke.
    fn cell(&self, prefix: &str) -> CacheCell {
        let mut caches = self.caches.lock().unwrap_or_else(|e| e.into_inner());
        // Found without a copy of the key: every request asks for caches that exist.
        let cell = match caches.get_mut(prefix) {
            Some(cell) => cell,
            None => caches.entry(prefix.to_string()).or_default(),
        };
        if cell.get().is_some_and(|c| c.is_broken()) {
            *cell = Default::default();
        }
        cell.clone()
    }

    /// The cache of `def`'s objects, errors as the API answers them. Admission asks for
    /// several on every request: a running cache is found by the kind's names, without its
    /// prefix; a broken one is replaced through the prefix's cell, as `get` replaces it.
    pub async fn of(&self, def: &api::ResourceDef) -> Result<Arc<Cache>, crate::error::ApiError> {
        let names = NamesOf::of(def);
        let known = self
            .by_names
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&names)
            .cloned();
        if let Some(cache) = known.filter(|c| !c.is_broken()) {
            return Ok(cache);
        }
        let cell = def.with_key_prefix(|prefix| self.cell(prefix));
        let cache = cell
            .get_or_try_init(|| self.start(def.key_prefix()))
            .await
            .cloned()
            .map_err(|e| crate::error::from_storage(e, crate::registry::object::target(def, "")))?;
        self.by_names
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(names, cache.clone());
        Ok(cache)
    }

    /// Watchers of the resource under `prefix` closed for falling behind.
    pub fn slow_closed(&self, prefix: &str) -> u64 {
        let caches = self.caches.lock().unwrap_or_else(|e| e.into_inner());
        caches
            .get(prefix)
            .and_then(|c| c.get())
            .map_or(0, |c| c.slow_closed.load(Ordering::Relaxed))
    }
}

/// A value derived from a cache's objects, kept while the cache has not changed (nor been
/// replaced): for what requests compute from a whole kind that changes rarely.
pub struct Derived<T> {
    current: Mutex<Option<DerivedAt<T>>>,
}

/// A derived value with the cache and the count of its changes it was derived at.
struct DerivedAt<T> {
    cache: Arc<Cache>,
    changes: u64,
    value: Arc<T>,
}

impl<T> Default for Derived<T> {
    fn default() -> Self {
        Derived {
            current: Mutex::new(None),
        }
    }
}

impl<T> Derived<T> {
    /// The value derived from `cache` as it is now, derived again only if it changed.
    pub fn get_or_derive(&self, cache: &Arc<Cache>, derive: impl FnOnce(&Cache) -> T) -> Arc<T> {
        // Read the count first: a change landing while deriving makes the next call derive.
        let changes = cache.changes();
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = current.as_ref()
            && Arc::ptr_eq(&at.cache, cache)
            && at.changes == changes
        {
            return at.value.clone();
        }
        let value = Arc::new(derive(cache));
        *current = Some(DerivedAt {
            cache: cache.clone(),
            changes,
            value: value.clone(),
        });
        value
    }
}

/// A store watch adapted to cache messages, for watches older than a cache's history.
pub fn direct(
    events: storage::WatchStream,
) -> impl Stream<Item = Result<Message, storage::Error>> + Send {
    events.flat_map(|item| {
        let messages: Vec<Result<Message, storage::Error>> = match item {
            Ok(response) if response.events.is_empty() => {
                vec![Ok(Message::Progress(response.revision))]
            }
            Ok(response) => response
                .events
                .iter()
                .map(|e| Ok(Message::Event(Arc::new(CacheEvent::new(e)))))
                .collect(),
            Err(e) => vec![Err(e)],
        };
        futures::stream::iter(messages)
    })
}

/// `kv` as a cached object.
pub fn cached(kv: &KeyValue) -> Arc<Cached> {
    Arc::new(Cached {
        json: encoded::stored(kv),
    })
}

#[cfg(test)]
mod tests;
