use std::time::Duration;

use futures::StreamExt;

use super::*;

const PREFIX: &str = "/registry/core/configmaps/";

fn store(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    Arc::new(storage::RedbStore::open(dir.path(), storage::RedbConfig::default()).unwrap())
}

fn object(name: &str, n: usize) -> Bytes {
    Bytes::from(format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}"}},"data":{{"n":"{n}"}}}}"#
    ))
}

async fn next_event(stream: &mut (impl Stream<Item = Message> + Unpin)) -> Arc<CacheEvent> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), stream.next()).await {
            Ok(Some(Message::Event(e))) => return e,
            Ok(Some(Message::Progress(_))) => continue,
            other => panic!("no event: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_then_events_in_order_per_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    store
        .create(&format!("{PREFIX}a/one"), object("one", 0))
        .await
        .unwrap();
    store
        .create(&format!("{PREFIX}b/two"), object("two", 0))
        .await
        .unwrap();
    let caches = WatchCaches::new(store.clone(), Default::default());
    let cache = caches.get(PREFIX).await.unwrap();

    let (objects, revision, sub) = cache.snapshot_and_subscribe(&format!("{PREFIX}a/"));
    assert_eq!(objects.len(), 1);
    assert_eq!(revision, 2);
    assert_eq!(objects[0].0, format!("{PREFIX}a/one"));
    let json: Value = serde_json::from_slice(&objects[0].1.json).unwrap();
    assert_eq!(json["metadata"]["resourceVersion"], "1");
    let mut stream = Box::pin(sub.into_stream());

    let r = store
        .create(&format!("{PREFIX}b/three"), object("three", 0))
        .await
        .unwrap()
        .mod_revision;
    let kv = store
        .get(&format!("{PREFIX}a/one"), None)
        .await
        .unwrap()
        .0
        .unwrap();
    store
        .update(&kv.key, object("one", 1), kv.mod_revision)
        .await
        .unwrap();
    store.delete(&format!("{PREFIX}a/one"), None).await.unwrap();

    // Namespace b's create is not this watcher's.
    let modified = next_event(&mut stream).await;
    assert_eq!((modified.kind, modified.revision), ("MODIFIED", r + 1));
    let (obj, prev) = modified.parsed();
    assert_eq!(obj.unwrap()["data"]["n"], "1");
    assert_eq!(prev.unwrap()["data"]["n"], "0");
    let deleted = next_event(&mut stream).await;
    assert_eq!(deleted.kind, "DELETED");
    let last: Value = serde_json::from_slice(&deleted.object).unwrap();
    assert_eq!(last["metadata"]["resourceVersion"], (r + 2).to_string());
    assert!(
        deleted
            .line
            .starts_with(b"{\"type\":\"DELETED\",\"object\":{")
    );

    // The cache applies a change before offering it: having delivered the delete, it holds
    // what the store holds.
    let (all, revision) = cache.snapshot(PREFIX);
    assert_eq!(all.len(), 2);
    assert!(revision >= deleted.revision);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_from_history_or_refers_to_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let first = store
        .create(&format!("{PREFIX}a/x"), object("x", 0))
        .await
        .unwrap()
        .mod_revision;
    let caches = WatchCaches::new(store.clone(), Default::default());
    let cache = caches.get(PREFIX).await.unwrap();
    let (_, _, probe) = cache.snapshot_and_subscribe(PREFIX);
    let mut probe = Box::pin(probe.into_stream());
    for i in 0..5 {
        store
            .create(&format!("{PREFIX}a/y{i}"), object("y", i))
            .await
            .unwrap();
    }
    // Once a watcher got the five creates, the cache has applied them to its history.
    for _ in 0..5 {
        next_event(&mut probe).await;
    }
    // History starts where the cache started: after `first`.
    assert!(cache.subscribe(PREFIX, first - 1).is_none());
    let sub = cache.subscribe(PREFIX, first + 2).unwrap();
    assert_eq!(sub.replay.len(), 3, "replayed from the history");
    let mut stream = Box::pin(sub.into_stream());
    for expected in first + 3..=first + 5 {
        assert_eq!(next_event(&mut stream).await.revision, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_watcher_is_closed_and_never_stalls_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let caches = WatchCaches::new(store.clone(), Default::default());
    let cache = caches.get(PREFIX).await.unwrap();
    let (_, _, slow) = cache.snapshot_and_subscribe(PREFIX);
    let (_, _, fast) = cache.snapshot_and_subscribe(PREFIX);
    let total = WATCHER_BUFFER + 200;
    let reader = tokio::spawn(async move {
        let mut stream = Box::pin(fast.into_stream());
        for _ in 0..total {
            next_event(&mut stream).await;
        }
    });
    for i in 0..total {
        store
            .create(&format!("{PREFIX}a/o{i}"), object("o", i))
            .await
            .unwrap();
    }
    tokio::time::timeout(Duration::from_secs(20), reader)
        .await
        .unwrap()
        .unwrap();
    // The slow one got its buffer's worth, then its stream ended.
    let received = Box::pin(slow.into_stream())
        .filter(|m| std::future::ready(matches!(m, Message::Event(_))))
        .count()
        .await;
    assert_eq!(received, WATCHER_BUFFER);
    assert_eq!(caches.slow_closed(PREFIX), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_cache_registers_no_watcher() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let caches = WatchCaches::new(store.clone(), Default::default());
    let broken = caches.get(PREFIX).await.unwrap();
    broken.fail();

    // Nothing would ever feed a watcher registered now: its stream ends at once, and a
    // resumption is left to the store.
    let (_, revision, sub) = broken.snapshot_and_subscribe(PREFIX);
    let mut stream = Box::pin(sub.into_stream());
    let end = tokio::time::timeout(Duration::from_secs(2), stream.next()).await;
    assert!(matches!(end, Ok(None)), "{end:?}");
    assert!(broken.subscribe(PREFIX, revision).is_none());

    // The next user gets a working cache.
    let fresh = caches.get(PREFIX).await.unwrap();
    assert!(!Arc::ptr_eq(&fresh, &broken));
    let (_, _, sub) = fresh.snapshot_and_subscribe(PREFIX);
    let mut stream = Box::pin(sub.into_stream());
    store
        .create(&format!("{PREFIX}a/late"), object("late", 0))
        .await
        .unwrap();
    assert_eq!(next_event(&mut stream).await.key, format!("{PREFIX}a/late"));
}

/// A cache at `revision` with no store behind it: the test feeds it through `apply`.
fn detached(revision: Revision) -> Cache {
    Cache {
        state: Mutex::new(State {
            objects: imbl::OrdMap::new(),
            revision,
            history: VecDeque::new(),
            history_start: revision,
            watchers: Vec::new(),
        }),
        broken: AtomicBool::new(false),
        slow_closed: Default::default(),
        progress: tokio::sync::watch::Sender::new(revision),
        changes: Default::default(),
        written: Default::default(),
    }
}

fn put(key: &str, revision: Revision) -> storage::Event {
    storage::Event {
        kind: EventKind::Put,
        kv: KeyValue {
            key: format!("{PREFIX}{key}"),
            value: object(key, revision as usize),
            create_revision: revision,
            mod_revision: revision,
            version: 1,
        },
        prev: None,
    }
}

/// One store watch response: `events` (none: a progress notice) up to `revision`.
fn response(revision: Revision, events: Vec<storage::Event>) -> storage::WatchResponse {
    storage::WatchResponse { revision, events }
}

/// The messages already queued on `stream`.
fn queued(stream: &mut (impl Stream<Item = Message> + Unpin)) -> Vec<Message> {
    use futures::FutureExt;
    let mut out = Vec::new();
    while let Some(Some(m)) = stream.next().now_or_never() {
        out.push(m);
    }
    out
}

fn revisions(messages: &[Message]) -> Vec<Revision> {
    messages
        .iter()
        .filter_map(|m| match m {
            Message::Event(e) => Some(e.revision),
            Message::Progress(_) => None,
        })
        .collect()
}

#[tokio::test]
async fn progress_notices_reach_every_watcher_and_close_none() {
    let cache = detached(10);
    let (_, _, idle) = cache.snapshot_and_subscribe(&format!("{PREFIX}a/"));
    let (_, _, full) = cache.snapshot_and_subscribe(&format!("{PREFIX}b/"));
    let (_, _, gone) = cache.snapshot_and_subscribe(PREFIX);
    drop(gone);
    let mut idle = Box::pin(idle.into_stream());
    // Fill one watcher's buffer without reading it (the other sees none of these keys).
    let events = (0..WATCHER_BUFFER as u64)
        .map(|i| put(&format!("b/o{i}"), 11 + i))
        .collect();
    let last = 10 + WATCHER_BUFFER as u64;
    cache.apply(&response(last, events));
    assert_eq!(cache.slow_closed.load(Ordering::Relaxed), 0);

    cache.apply(&response(last + 5, Vec::new()));
    let notices = queued(&mut idle);
    assert!(
        matches!(notices.as_slice(), [Message::Progress(r)] if *r == last + 5),
        "{notices:?}"
    );
    // The full buffer lost the notice but kept its watcher; the dropped one is gone.
    assert_eq!(cache.slow_closed.load(Ordering::Relaxed), 0);
    assert_eq!(cache.state().watchers.len(), 2);

    // An event that does not fit closes the full one, and only it.
    cache.apply(&response(last + 6, vec![put("b/over", last + 6)]));
    assert_eq!(cache.slow_closed.load(Ordering::Relaxed), 1);
    assert_eq!(cache.state().watchers.len(), 1);
    let received = Box::pin(full.into_stream()).collect::<Vec<_>>().await;
    assert_eq!(revisions(&received), (11..=last).collect::<Vec<_>>());
}

#[tokio::test]
async fn history_replays_exactly_the_events_after_the_start() {
    let cache = detached(10);
    for rev in 11..=15 {
        let key = if rev % 2 == 1 { "a/x" } else { "b/y" };
        cache.apply(&response(rev, vec![put(key, rev)]));
    }
    // From the cache's start (inclusive boundary) on; older is the store's to serve.
    assert!(cache.subscribe(PREFIX, 9).is_none());
    let all = cache.subscribe(PREFIX, 10).unwrap();
    assert_eq!(all.replay.len(), 5);
    // Only the prefix's events, and only those after the start.
    let a = cache.subscribe(&format!("{PREFIX}a/"), 11).unwrap();
    let mut a = Box::pin(a.into_stream());
    assert_eq!(revisions(&queued(&mut a)), [13, 15]);
    let caught_up = cache.subscribe(PREFIX, 15).unwrap();
    let mut caught_up = Box::pin(caught_up.into_stream());
    assert!(queued(&mut caught_up).is_empty());
    // A live event after the replay arrives once, after it.
    cache.apply(&response(16, vec![put("a/x", 16)]));
    assert_eq!(revisions(&queued(&mut a)), [16]);
    assert_eq!(revisions(&queued(&mut caught_up)), [16]);
}

#[tokio::test]
async fn trimmed_history_refers_older_starts_to_the_store() {
    let cache = detached(0);
    // Two events share revision 1 (one transaction), then one event per revision.
    cache.apply(&response(1, vec![put("a/one", 1), put("a/two", 1)]));
    for rev in 2..HISTORY as u64 {
        cache.apply(&response(rev, vec![put(&format!("a/{rev}"), rev)]));
    }
    assert!(cache.subscribe(PREFIX, 0).is_some());
    // The next event pushes out one of revision 1's two: revision 1 can no longer be
    // replayed whole, but starts after it still can.
    let next = HISTORY as u64;
    cache.apply(&response(next, vec![put("a/next", next)]));
    assert!(cache.subscribe(PREFIX, 0).is_none());
    let after_one = cache.subscribe(PREFIX, 1).unwrap();
    assert_eq!(after_one.replay.len(), HISTORY - 1);
    assert_eq!(after_one.replay.first().map(|e| e.revision), Some(2));
    assert_eq!(after_one.replay.last().map(|e| e.revision), Some(next));
}

/// A cache starts from a list read in pages at one revision: every object once, none of a
/// later write, and the revision the watch then follows from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_list_is_read_in_pages_at_one_revision() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    for i in 0..5 {
        store
            .create(&format!("{PREFIX}a/o{i}"), object("o", i))
            .await
            .unwrap();
    }
    store
        .create("/registry/core/configmapsx/after", object("x", 0))
        .await
        .unwrap();
    let (objects, revision) = list_in_pages(store.as_ref(), PREFIX, 2).await.unwrap();
    let keys: Vec<&String> = objects.keys().collect();
    assert_eq!(keys.len(), 5);
    assert_eq!(keys[0], &format!("{PREFIX}a/o0"));
    assert_eq!(keys[4], &format!("{PREFIX}a/o4"));
    assert_eq!(revision, 6);
    let json: Value = serde_json::from_slice(&objects[&format!("{PREFIX}a/o3")].json).unwrap();
    assert_eq!(json["metadata"]["resourceVersion"], "4");
}

#[tokio::test]
async fn a_reader_waits_until_the_cache_holds_a_revision() {
    let cache = Arc::new(detached(10));
    let moment = std::time::Duration::from_millis(20);
    assert!(cache.caught_up(10, moment).await);
    assert!(!cache.caught_up(12, moment).await);
    let feeder = cache.clone();
    let feed = tokio::spawn(async move {
        tokio::time::sleep(moment).await;
        feeder.apply(&response(12, vec![put("a/x", 12)]));
    });
    assert!(
        cache
            .caught_up(12, std::time::Duration::from_secs(30))
            .await
    );
    feed.await.unwrap();
    cache.fail();
    assert!(!cache.caught_up(12, moment).await);
}

#[tokio::test]
async fn a_cache_knows_this_servers_latest_write_of_its_resource() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let fence = Arc::new(WriteFence::default());
    let caches = WatchCaches::new(store.clone(), fence.clone());
    let cache = caches.get(PREFIX).await.unwrap();
    let moment = std::time::Duration::from_millis(20);
    assert!(cache.holds_own_writes(moment).await);
    // A write noted before the cache has it is waited for, not missed.
    let written = store
        .create(&format!("{PREFIX}a/new"), object("new", 0))
        .await
        .unwrap()
        .mod_revision;
    fence.note(&format!("{PREFIX}a/new"), written);
    fence.note("/registry/core/elsewhere/a/x", written + 100);
    assert!(
        cache
            .holds_own_writes(std::time::Duration::from_secs(30))
            .await
    );
    assert!(cache.get(&format!("{PREFIX}a/new")).is_some());
    fence.note(&format!("{PREFIX}a/unseen"), written + 1);
    assert!(!cache.holds_own_writes(moment).await);
}
