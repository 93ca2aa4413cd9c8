//! A store for tests: the embedded store in a temporary directory, with the reads counted,
//! lists that can be held back and watches that can be cut, to put the code above it in the
//! situations a real cluster meets (a slow or lost store watch, a re-list in progress).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::StreamExt;
use storage::{
    ListOptions, ListResult, Result, Revision, Store, StoreStats, Txn, TxnOutcome, WatchStream,
};
use tokio::sync::{Notify, watch};

pub struct TestStore {
    inner: storage::RedbStore,
    _dir: tempfile::TempDir,
    /// Lists made, by prefix.
    lists: Mutex<HashMap<String, usize>>,
    /// Lists wait while this is false.
    lists_open: watch::Sender<bool>,
    /// The open watches, by prefix, each ended by a notice.
    watches: Mutex<Vec<(String, Arc<Notify>)>>,
    /// Lists that continue a previous page fail while this is set.
    fail_continued: std::sync::atomic::AtomicBool,
}

impl TestStore {
    pub fn new() -> Arc<TestStore> {
        let dir = tempfile::tempdir().unwrap();
        let inner = storage::RedbStore::open(dir.path(), storage::RedbConfig::default()).unwrap();
        Arc::new(TestStore {
            inner,
            _dir: dir,
            lists: Mutex::default(),
            lists_open: watch::channel(true).0,
            watches: Mutex::default(),
            fail_continued: Default::default(),
        })
    }

    /// Lists past their first page fail from now on, as a store that breaks mid-read.
    pub fn fail_continued_lists(&self) {
        self.fail_continued
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// Lists of keys under `prefix` made so far.
    pub fn lists(&self, prefix: &str) -> usize {
        let lists = self.lists.lock().unwrap();
        lists
            .iter()
            .filter(|(p, _)| p.starts_with(prefix))
            .map(|(_, n)| n)
            .sum()
    }

    /// Lists wait from now on, until `release_lists`.
    pub fn hold_lists(&self) {
        self.lists_open.send_replace(false);
    }

    pub fn release_lists(&self) {
        self.lists_open.send_replace(true);
    }

    /// Ends every open watch of `prefix`, as a lost connection to the store would.
    pub fn cut_watches(&self, prefix: &str) {
        for (watched, end) in self.watches.lock().unwrap().iter() {
            if watched == prefix {
                end.notify_one();
            }
        }
    }
}

#[async_trait]
impl Store for TestStore {
    async fn get(
        &self,
        key: &str,
        revision: Option<Revision>,
    ) -> Result<(Option<storage::KeyValue>, Revision)> {
        self.inner.get(key, revision).await
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult> {
        *self
            .lists
            .lock()
            .unwrap()
            .entry(prefix.to_string())
            .or_default() += 1;
        let mut open = self.lists_open.subscribe();
        let _ = open.wait_for(|open| *open).await;
        if opts.continue_from.is_some()
            && self
                .fail_continued
                .load(std::sync::atomic::Ordering::Acquire)
        {
            return Err(storage::Error::Unavailable(
                "the store broke mid-read".into(),
            ));
        }
        self.inner.list(prefix, opts).await
    }

    async fn count(&self, prefix: &str) -> Result<u64> {
        self.inner.count(prefix).await
    }

    async fn txn(&self, txn: Txn) -> Result<TxnOutcome> {
        self.inner.txn(txn).await
    }

    async fn watch(&self, prefix: &str, after_revision: Revision) -> Result<WatchStream> {
        let events = self.inner.watch(prefix, after_revision).await?;
        let end = Arc::new(Notify::new());
        self.watches
            .lock()
            .unwrap()
            .push((prefix.to_string(), end.clone()));
        Ok(events
            .take_until(async move { end.notified().await })
            .boxed())
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        self.inner.compact(revision).await
    }

    async fn current_revision(&self) -> Result<Revision> {
        self.inner.current_revision().await
    }

    async fn health(&self) -> Result<()> {
        self.inner.health().await
    }

    async fn stats(&self) -> Result<StoreStats> {
        self.inner.stats().await
    }
}
