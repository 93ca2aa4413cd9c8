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
    let caches = WatchCaches::new(store.clone());
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

    // The cache now holds what the store holds.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (all, _) = cache.snapshot(PREFIX);
    assert_eq!(all.len(), 2);
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
    let caches = WatchCaches::new(store.clone());
    let cache = caches.get(PREFIX).await.unwrap();
    for i in 0..5 {
        store
            .create(&format!("{PREFIX}a/y{i}"), object("y", i))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // History starts where the cache started: after `first`.
    assert!(cache.subscribe(PREFIX, first - 1).is_none());
    let sub = cache.subscribe(PREFIX, first + 2).unwrap();
    let mut stream = Box::pin(sub.into_stream());
    for expected in first + 3..=first + 5 {
        assert_eq!(next_event(&mut stream).await.revision, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_watcher_is_closed_and_never_stalls_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let caches = WatchCaches::new(store.clone());
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
    let caches = WatchCaches::new(store.clone());
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
