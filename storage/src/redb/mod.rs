//! The embedded backend (the default): etcd semantics over redb, with a write-ahead journal
//! and group commit.
//!
//! Files under the data directory: `store.redb` (tables: latest value per key, revision log
//! with previous values, counters) and `store.journal` (durable batches not yet checkpointed
//! into redb). See `committer` for the write path (`evaluate`, `applier`; `replay` at open),
//! `reads` and `watch` for the read paths.

mod applier;
mod codec;
mod committer;
mod disk;
mod evaluate;
mod feed;
#[cfg(test)]
mod format_upgrade;
mod journal;
mod pending;
#[cfg(test)]
mod power_loss;
mod queue;
mod reads;
mod replay;
#[cfg(test)]
mod sim_disk;
mod tables;
mod watch;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;
use redb::{Database, DatabaseError, Durability, ReadableDatabase, TableError};
use tokio::sync::oneshot;

use self::committer::{Committer, Failure, Policy, Published};
use self::disk::{Disk, OsDisk};
use self::feed::EventFeed;
use self::journal::Journal;
use self::queue::Queue;
use self::queue::Request;
use self::reads::Snapshot;
use self::tables::{Counters, FORMAT, FORMAT_UNCOMPRESSED, KV, LOG, META, META_FORMAT};
use crate::error::{Error, Result};
use crate::store::{Store, WatchStream, validate_key, validate_txn};
use crate::types::*;

pub const DB_FILE: &str = "store.redb";
pub const JOURNAL_FILE: &str = "store.journal";

/// Tuning of the embedded backend. The defaults suit a server; tests shrink them to exercise
/// layer freezes and journal rotation often.
#[derive(Clone, Debug)]
pub struct RedbConfig {
    /// Size of the preallocated journal; a full journal triggers a freeze.
    pub journal_bytes: u64,
    /// Longest time recent writes stay only in memory and the journal before they are written
    /// to redb (bounds replay work after a crash).
    pub freeze_interval: Duration,
    /// redb's page cache.
    pub cache_bytes: usize,
    /// Committed batches buffered for watchers before a slow one must catch up from the log.
    pub watch_buffer: usize,
    /// Bytes of writes (keys and values) queued for the writer at most; past it, writers wait
    /// for room.
    pub queue_bytes: usize,
}

impl Default for RedbConfig {
    fn default() -> Self {
        Self {
            // A freeze's worth (the active layer is frozen at 32 MiB of values); two or three
            // journals exist at once, so this is most of the store's disk at rest beyond redb.
            journal_bytes: 32 << 20,
            freeze_interval: Duration::from_secs(1),
            // Stays full after any large list; misses are served by the OS's page cache.
            cache_bytes: 32 << 20,
            watch_buffer: 4096,
            // Twice the largest group commit: never the limit at a sustainable load.
            queue_bytes: 64 << 20,
        }
    }
}

pub struct RedbStore {
    db: Arc<Database>,
    disk: Arc<dyn Disk>,
    dir: PathBuf,
    requests: Option<Queue>,
    committer: Option<JoinHandle<()>>,
    feed: Arc<EventFeed>,
    published: Arc<Published>,
    failed: Arc<Failure>,
}

fn corrupt(path: &Path, detail: impl Into<String>) -> Error {
    Error::Corrupt {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

fn open_error(path: &Path, e: DatabaseError) -> Error {
    match e {
        DatabaseError::DatabaseAlreadyOpen => {
            Error::Unavailable(format!("{} is in use by another process", path.display()))
        }
        DatabaseError::RepairAborted => corrupt(
            path,
            "cannot open as an Oxshift store: the file needs a repair (not written by Oxshift?); refusing to modify it",
        ),
        other => corrupt(path, format!("cannot open as an Oxshift store: {other}")),
    }
}

fn open_database(disk: &dyn Disk, path: &Path, config: &RedbConfig) -> Result<Database> {
    disk.database(Database::builder().set_cache_size(config.cache_bytes), path)
        .map_err(|e| open_error(path, e))
}

/// Creates an empty store database under a temporary name and renames it into place, so that
/// `store.redb` only ever names a complete, initialized database.
fn initialize(disk: &dyn Disk, path: &Path, config: &RedbConfig) -> Result<()> {
    let tmp = path.with_extension("redb.init");
    let _ = disk.remove(&tmp);
    let db = open_database(disk, &tmp, config)?;
    let init = || -> std::result::Result<(), redb::Error> {
        let mut wtx = db.begin_write()?;
        wtx.set_durability(Durability::Immediate)?;
        // Every durable commit saves the allocator state, so that the read-only format check
        // never needs a repair.
        wtx.set_quick_repair(true);
        wtx.open_table(KV)?;
        wtx.open_table(LOG)?;
        let mut meta = wtx.open_table(META)?;
        meta.insert(META_FORMAT, FORMAT)?;
        Counters::default().save(&mut meta)?;
        drop(meta);
        wtx.commit()?;
        Ok(())
    };
    init().map_err(|e| Error::io("initializing the store", e))?;
    drop(db);
    disk.rename(&tmp, path)
        .and_then(|()| disk.sync_dir(disk::parent(path)))
        .map_err(|e| Error::io("initializing the store", e))
}

/// Refuses a database that is not one of ours (or of a format this version cannot read);
/// else its format.
fn check_format(db: &impl ReadableDatabase, path: &Path) -> Result<u64> {
    let rtx = db.begin_read().map_err(|e| corrupt(path, e.to_string()))?;
    let meta = match rtx.open_table(META) {
        Ok(meta) => meta,
        Err(TableError::TableDoesNotExist(_)) => {
            return Err(corrupt(
                path,
                "not an Oxshift store (no metadata table); refusing to use it",
            ));
        }
        Err(e) => return Err(corrupt(path, e.to_string())),
    };
    let format = meta
        .get(META_FORMAT)
        .map_err(|e| corrupt(path, e.to_string()))?
        .map(|v| v.value());
    match format {
        Some(known @ (FORMAT | FORMAT_UNCOMPRESSED)) => Ok(known),
        _ => Err(corrupt(
            path,
            format!("unknown store format {format:?}; refusing to use it"),
        )),
    }
}

/// Marks a store of the first format as the current one (its records read as they are)
/// before anything compressed is written to it.
fn upgrade_format(db: &Database, path: &Path) -> Result<()> {
    let upgrade = || -> std::result::Result<(), redb::Error> {
        let mut wtx = db.begin_write()?;
        wtx.set_durability(Durability::Immediate)?;
        wtx.set_quick_repair(true);
        wtx.open_table(META)?.insert(META_FORMAT, FORMAT)?;
        wtx.commit()?;
        Ok(())
    };
    upgrade().map_err(|e| corrupt(path, format!("upgrading the store format: {e}")))?;
    tracing::info!(path = %path.display(), "store format upgraded: values are compressed from now on");
    Ok(())
}

fn load_counters(db: &impl ReadableDatabase, path: &Path) -> Result<Counters> {
    let rtx = db.begin_read().map_err(|e| corrupt(path, e.to_string()))?;
    let meta = rtx
        .open_table(META)
        .map_err(|e| corrupt(path, e.to_string()))?;
    Counters::load(&meta).map_err(|e| corrupt(path, e.to_string()))
}

/// Creates `dir` and its missing parents for files only their owner may read (the store's, or
/// others' that hold secrets): mode 0700, durably; an existing `dir` loses the group's and
/// others' access.
pub fn create_private_dir(dir: impl AsRef<Path>) -> Result<()> {
    let dir = dir.as_ref();
    disk::create_private_dir(&OsDisk, dir)
        .map_err(|e| Error::io(&format!("creating {}", dir.display()), e))
}

impl RedbStore {
    /// Opens (or creates) the store in `dir`, replaying the journal after a crash. The
    /// directory and the files are private to the owner.
    pub fn open(dir: impl AsRef<Path>, config: RedbConfig) -> Result<RedbStore> {
        Self::open_on(Arc::new(OsDisk), dir.as_ref(), config)
    }

    /// `open` on the given disk.
    fn open_on(disk: Arc<dyn Disk>, dir: &Path, config: RedbConfig) -> Result<RedbStore> {
        let dir = dir.to_path_buf();
        disk::create_private_dir(&*disk, &dir)
            .map_err(|e| Error::io(&format!("creating {}", dir.display()), e))?;
        let db_path = dir.join(DB_FILE);
        let journal_path = dir.join(JOURNAL_FILE);
        // Older versions created them readable by anyone.
        for file in [
            db_path.clone(),
            journal_path.clone(),
            journal::previous_path(&journal_path),
            journal::spare_path(&journal_path),
        ] {
            if disk.exists(&file) {
                disk::make_private(&*disk, &file);
            }
        }
        // The previous journal (if a crash left one) comes first: its records are older.
        let mut journals: Vec<PathBuf> =
            [journal::previous_path(&journal_path), journal_path.clone()]
                .into_iter()
                .filter(|p| disk.exists(p))
                .collect();
        if !disk.exists(&db_path) {
            if let Some(orphan) = journals.first() {
                return Err(corrupt(
                    orphan,
                    format!("journal present but its database {DB_FILE} is missing"),
                ));
            }
            initialize(&*disk, &db_path, &config)?;
        }
        // Check the format through a read-only open first, so a foreign file is never written.
        // Only a crashed store needs a repair to open; it is ours if our journal is beside it.
        match disk.read_only_database(&db_path) {
            Ok(read_only) => {
                check_format(&read_only, &db_path)?;
                if journals.is_empty() {
                    if load_counters(&read_only, &db_path)?.revision > 0 {
                        return Err(corrupt(
                            &journal_path,
                            "journal missing: acknowledged writes may be lost; refusing to start",
                        ));
                    }
                    // A database opened for writing needs a repair after a crash; the journal
                    // beside it is what shows it is ours. So there is one before the first
                    // such open.
                    Journal::create_empty(&*disk, &journal_path)?;
                    journals.push(journal_path.clone());
                }
            }
            Err(DatabaseError::RepairAborted)
                if journals.iter().any(|j| Journal::read(&*disk, j).is_ok()) =>
            {
                tracing::warn!(path = %db_path.display(), "store was not closed cleanly; recovering");
            }
            Err(e) => return Err(open_error(&db_path, e)),
        }
        let db = open_database(&*disk, &db_path, &config)?;
        if check_format(&db, &db_path)? != FORMAT {
            upgrade_format(&db, &db_path)?;
        }
        let mut counters = load_counters(&db, &db_path)?;
        let mut generation = 0;
        for path in &journals {
            let replay = Journal::read(&*disk, path)?;
            if replay.base_revision > counters.revision {
                return Err(corrupt(
                    path,
                    format!(
                        "journal starts after revision {} but {DB_FILE} is at revision {}: the database is older than its journal",
                        replay.base_revision, counters.revision
                    ),
                ));
            }
            let applied = replay::replay(&db, &mut counters, &replay.records, path)?;
            if applied > 0 {
                tracing::info!(
                    revisions = applied,
                    revision = counters.revision,
                    "replayed storage journal"
                );
            }
            generation = generation.max(replay.generation);
        }
        // Everything replayed is durable in redb now: start clean.
        let mut journal = Journal::create(
            disk.clone(),
            &journal_path,
            generation + 1,
            counters.revision,
            config.journal_bytes,
        )?;
        journal.drop_previous()?;

        let db = Arc::new(db);
        let feed = Arc::new(EventFeed::new(config.watch_buffer.max(16)));
        let published: Arc<Published> = Arc::default();
        let failed: Arc<Failure> = Arc::default();
        let policy = Policy {
            freeze_interval: config.freeze_interval,
        };
        let committer = Committer::new(
            db.clone(),
            journal,
            counters,
            feed.clone(),
            published.clone(),
            failed.clone(),
            policy,
        )?;
        let (requests, inbox) = queue::bounded(config.queue_bytes);
        let handle = std::thread::Builder::new()
            .name("storage-committer".into())
            .spawn(move || committer.run(inbox))
            .map_err(|e| Error::io("starting the storage committer", e))?;
        Ok(RedbStore {
            db,
            disk,
            dir,
            requests: Some(requests),
            committer: Some(handle),
            feed,
            published,
            failed,
        })
    }

    /// The counters of the latest committed state.
    fn latest(&self) -> Counters {
        self.published
            .read()
            .map(|p| p.active.counters)
            .unwrap_or_default()
    }

    /// The latest value of `key` if the in-memory layers hold it (written in the last second
    /// or so), with the latest revision.
    fn recent(&self, key: &str) -> Option<(Option<KeyValue>, Revision)> {
        let layers = self.published.read().ok()?.clone();
        let value = match layers.active.kv.get(key) {
            Some(value) => value,
            None => layers.frozen.as_ref()?.kv.get(key)?,
        };
        Some((value.clone(), layers.active.counters.revision))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes every change committed so far to the database and deletes the history
    /// compacted away, then answers: the state a quiet store reaches by itself within a few
    /// freeze intervals. Writes wait meanwhile.
    pub async fn checkpoint(&self) -> Result<()> {
        self.submit(Request::Checkpoint).await
    }

    async fn submit<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T>>) -> Request,
    ) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        let closed = || Error::Unavailable("embedded store is closed".into());
        let queue = self.requests.as_ref().ok_or_else(closed)?;
        queue.push(make(tx)).await.map_err(|_| closed())?;
        rx.await
            .map_err(|_| Error::Unavailable("embedded store writer stopped".into()))?
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(Snapshot) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (db, published) = (self.db.clone(), self.published.clone());
        tokio::task::spawn_blocking(move || f(Snapshot::open(&db, &published)?))
            .await
            .map_err(|e| Error::Io(format!("read task failed: {e}")))?
    }
}

impl Drop for RedbStore {
    /// Stops the writer after it has checkpointed, so the next open finds a clean store.
    fn drop(&mut self) {
        self.requests.take();
        if let Some(handle) = self.committer.take() {
            let _ = handle.join();
        }
    }
}

#[async_trait]
impl Store for RedbStore {
    async fn get(
        &self,
        key: &str,
        revision: Option<Revision>,
    ) -> Result<(Option<KeyValue>, Revision)> {
        validate_key(key)?;
        match revision {
            // Recent writes are in memory: answered here. Older keys are read from redb, which
            // may wait for the disk, so on the blocking pool.
            None => match self.recent(key) {
                Some(found) => Ok(found),
                None => {
                    let key = key.to_string();
                    self.read(move |s| s.get(&key, None)).await
                }
            },
            Some(_) => {
                let key = key.to_string();
                self.read(move |s| s.get(&key, revision)).await
            }
        }
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult> {
        let prefix = prefix.to_string();
        self.read(move |s| s.list(&prefix, &opts)).await
    }

    async fn count(&self, prefix: &str) -> Result<u64> {
        let prefix = prefix.to_string();
        self.read(move |s| s.count(&prefix)).await
    }

    async fn txn(&self, txn: Txn) -> Result<TxnOutcome> {
        validate_txn(&txn)?;
        self.submit(|tx| Request::Txn(txn, tx)).await
    }

    async fn watch(&self, prefix: &str, after_revision: Revision) -> Result<WatchStream> {
        watch::watch(
            self.db.clone(),
            self.published.clone(),
            &self.feed,
            prefix.to_string(),
            after_revision,
        )
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        self.submit(|tx| Request::Compact(revision, tx)).await
    }

    async fn current_revision(&self) -> Result<Revision> {
        Ok(self.latest().revision)
    }

    async fn health(&self) -> Result<()> {
        if let Some(reason) = self.failed.get() {
            return Err(Error::Unavailable(format!(
                "embedded store writer failed: {reason}"
            )));
        }
        match &self.committer {
            Some(h) if !h.is_finished() => Ok(()),
            _ => Err(Error::Unavailable("embedded store writer stopped".into())),
        }
    }

    async fn stats(&self) -> Result<StoreStats> {
        let counters = self.latest();
        let size = |name: &str| self.disk.len(&self.dir.join(name)).unwrap_or(0);
        Ok(StoreStats {
            revision: counters.revision,
            compacted_revision: counters.compacted,
            keys: counters.keys,
            live_bytes: counters.bytes,
            disk_bytes: Some(size(DB_FILE) + size(JOURNAL_FILE)),
        })
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::sim_disk::SimDisk;
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flood_of_writers_waits_for_room_in_the_queue() {
        let disk = SimDisk::new(0);
        let config = RedbConfig {
            journal_bytes: 1 << 20,
            queue_bytes: 1 << 20,
            ..RedbConfig::default()
        };
        let store = Arc::new(RedbStore::open_on(disk.clone(), Path::new("/s"), config).unwrap());
        // More writers than a group commit takes, on a slow disk: they pile up.
        disk.slow_syncs(Duration::from_millis(20));
        let writers: Vec<_> = (0..10_000)
            .map(|i| {
                let store = store.clone();
                let value = Bytes::from(vec![b'v'; 1024]);
                tokio::spawn(async move { store.create(&format!("/flood/{i:05}"), value).await })
            })
            .collect();
        let queue = store.requests.as_ref().unwrap();
        let mut most = 0;
        while !writers.iter().all(|w| w.is_finished()) {
            most = most.max(queue.queued_bytes());
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        for writer in writers {
            writer.await.unwrap().unwrap();
        }
        assert!(most <= 1 << 20, "the queue held {most} bytes");
        assert!(most > 1 << 19, "the flood filled the queue: {most} bytes");
    }

    #[tokio::test] // one thread: a read that blocks it stops every other task
    async fn a_get_from_the_database_leaves_the_caller_thread_free() {
        let disk = SimDisk::new(0);
        let config = || RedbConfig {
            journal_bytes: 64 << 10,
            cache_bytes: 0, // every page read goes to the disk
            ..RedbConfig::default()
        };
        let dir = Path::new("/g");
        let store = RedbStore::open_on(disk.clone(), dir, config()).unwrap();
        store
            .create("/g/a", Bytes::from_static(b"1"))
            .await
            .unwrap();
        drop(store); // into the database; reopened with an empty cache
        let store = RedbStore::open_on(disk.clone(), dir, config()).unwrap();
        disk.slow_reads(Duration::from_millis(50));
        let ticks = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let ticker = tokio::spawn({
            let ticks = ticks.clone();
            async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        });
        let started = std::time::Instant::now();
        let (kv, _) = store.get("/g/a", None).await.unwrap();
        let took = started.elapsed();
        ticker.abort();
        assert_eq!(kv.unwrap().value, Bytes::from_static(b"1"));
        assert!(
            took >= Duration::from_millis(50),
            "read from the disk: {took:?}"
        );
        let ticks = ticks.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            ticks >= 5,
            "{ticks} ticks of other tasks during a get of {took:?}"
        );
    }

    #[tokio::test]
    async fn health_fails_once_the_writer_has_failed() {
        let disk = SimDisk::new(0);
        let config = RedbConfig {
            journal_bytes: 64 << 10,
            freeze_interval: Duration::from_millis(10),
            ..RedbConfig::default()
        };
        let dir = Path::new("/store");
        let store = RedbStore::open_on(disk.clone(), dir, config).unwrap();
        store.health().await.unwrap();
        // The journal still takes writes; the database under the next checkpoint does not.
        disk.fail_writes_to(&dir.join(DB_FILE)).unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut last = Ok(());
        for n in 0u32.. {
            if store.health().await.is_err() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "health still ok after {n} writes; the last one: {last:?}"
            );
            last = store
                .create(&format!("/h/{n}"), Bytes::new())
                .await
                .map(drop);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(store.create("/h/after", Bytes::new()).await.is_err());
        let err = store.health().await.unwrap_err();
        assert!(
            matches!(&err, Error::Unavailable(m) if m.contains("simulated device error")),
            "{err}"
        );
    }
}
