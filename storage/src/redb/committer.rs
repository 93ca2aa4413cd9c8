//! The single writer of the embedded backend: group commit.
//!
//! Writers queue requests; this thread takes everything queued at once, evaluates the
//! transactions in order against the latest state, appends one journal record and syncs it,
//! and only then publishes the batch (to the in-memory layer readers see, and to watchers) and
//! answers every request. So one fsync serves the whole batch, nothing is visible or
//! acknowledged before it is durable, and a failed batch fails every write in it.
//!
//! Every few hundred milliseconds the in-memory layer is written to redb in one transaction
//! without a sync; a checkpoint syncs redb and starts a fresh journal.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use redb::{Database, Durability, ReadableDatabase, ReadableTable, Table};
use tokio::sync::{broadcast, oneshot};

use super::journal::Journal;
use super::pending::Pending;
use super::tables::{Counters, JournalBatch, KV, LOG, META, Write};
use crate::error::{Error, Result};
use crate::types::*;

pub(crate) enum Request {
    Txn(Txn, oneshot::Sender<Result<TxnOutcome>>),
    Compact(Revision, oneshot::Sender<Result<()>>),
}

/// What the committer publishes after each batch: the revision reached and its events.
pub(crate) struct Committed {
    pub(crate) revision: Revision,
    pub(crate) events: Vec<Event>,
}

/// The broadcast side of the event feed; `None` once the committer has stopped.
pub(crate) type EventFeed = Mutex<Option<broadcast::Sender<Arc<Committed>>>>;

/// The latest in-memory layer, as readers see it.
pub(crate) type Published = RwLock<Arc<Pending>>;

/// How often the in-memory layer goes to redb, and redb to disk.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy {
    pub(crate) checkpoint_interval: Duration,
}

const MAX_BATCH_REQUESTS: usize = 4096;
/// Stop adding requests to a batch past this many bytes of values.
const MAX_BATCH_BYTES: usize = 32 << 20;
/// The in-memory layer is written to redb when it is this old, holds this many events, or
/// this many value bytes.
const APPLY_INTERVAL: Duration = Duration::from_millis(200);
const APPLY_EVENTS: usize = 16 * 1024;
const APPLY_BYTES: usize = 32 << 20;
/// Log entries deleted per apply by physical compaction, to bound the pause it adds.
const SWEEP_CHUNK: usize = 8192;
/// How long the writer waits for work before doing housekeeping.
const IDLE_TICK: Duration = Duration::from_millis(50);

pub(crate) struct Committer {
    db: Arc<Database>,
    journal: Journal,
    pending: Pending,
    feed: Arc<EventFeed>,
    published: Arc<Published>,
    policy: Policy,
    last_apply: Instant,
    last_checkpoint: Instant,
    /// Log entries in redb below this revision may still await physical deletion.
    sweep_below: Revision,
    /// Set when redb can no longer be written; every later write fails.
    failed: Option<String>,
}

enum Reply {
    Txn(oneshot::Sender<Result<TxnOutcome>>, Result<TxnOutcome>),
    Compact(oneshot::Sender<Result<()>>, Result<()>),
}

impl Reply {
    fn fail(self, err: &Error) {
        match self {
            Reply::Txn(tx, _) => drop(tx.send(Err(err.clone()))),
            Reply::Compact(tx, _) => drop(tx.send(Err(err.clone()))),
        }
    }
    fn send(self) {
        match self {
            Reply::Txn(tx, r) => drop(tx.send(r)),
            Reply::Compact(tx, r) => drop(tx.send(r)),
        }
    }
}

/// A reply slot for a request that was not evaluated (its batch failed before reaching it).
fn unevaluated(req: Request) -> Reply {
    match req {
        Request::Txn(_, tx) => Reply::Txn(tx, Ok(TxnOutcome::Failed { current: vec![] })),
        Request::Compact(_, tx) => Reply::Compact(tx, Ok(())),
    }
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::io("embedded store", e)
}

impl Committer {
    pub(crate) fn new(
        db: Arc<Database>,
        journal: Journal,
        counters: Counters,
        feed: Arc<EventFeed>,
        published: Arc<Published>,
        policy: Policy,
    ) -> Self {
        let pending = Pending::new(counters);
        if let Ok(mut p) = published.write() {
            *p = Arc::new(pending.clone());
        }
        Self {
            db,
            journal,
            pending,
            feed,
            published,
            policy,
            last_apply: Instant::now(),
            last_checkpoint: Instant::now(),
            sweep_below: counters.compacted,
            failed: None,
        }
    }

    pub(crate) fn run(mut self, requests: Receiver<Request>) {
        loop {
            match requests.recv_timeout(IDLE_TICK) {
                Ok(first) => {
                    let mut batch = vec![first];
                    let mut bytes = 0;
                    while batch.len() < MAX_BATCH_REQUESTS && bytes < MAX_BATCH_BYTES {
                        let Ok(req) = requests.try_recv() else { break };
                        bytes += request_bytes(&req);
                        batch.push(req);
                    }
                    self.commit_batch(batch);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.housekeeping();
        }
        if self.failed.is_none()
            && let Err(e) = self.checkpoint()
        {
            tracing::error!(error = %e, "final storage checkpoint failed; the journal will be replayed on open");
        }
        if let Ok(mut feed) = self.feed.lock() {
            feed.take();
        }
    }

    fn housekeeping(&mut self) {
        if self.failed.is_some() {
            return;
        }
        let full = self.journal.is_full();
        if full || self.last_checkpoint.elapsed() >= self.policy.checkpoint_interval {
            if let Err(e) = self.checkpoint() {
                tracing::error!(error = %e, "storage checkpoint failed; will retry");
            }
            return;
        }
        let due = self.pending.log.len() >= APPLY_EVENTS
            || self.pending.bytes >= APPLY_BYTES
            || (self.last_apply.elapsed() >= APPLY_INTERVAL && !self.pending.is_empty())
            || (self.sweep_below > 0 && self.pending.is_empty());
        if due && let Err(e) = self.apply(Durability::None) {
            // The layer stays in memory and in the journal; readers are unaffected. But redb
            // refusing writes is not something to keep buffering behind.
            tracing::error!(error = %e, "writing to the store's database failed");
            self.failed = Some(e.to_string());
        }
    }

    fn publish(&self) {
        if let Ok(mut p) = self.published.write() {
            *p = Arc::new(self.pending.clone());
        }
    }

    /// Writes the in-memory layer to redb in one transaction, then empties it.
    fn apply(&mut self, durability: Durability) -> Result<()> {
        let mut wtx = self.db.begin_write().map_err(internal)?;
        wtx.set_durability(durability).map_err(internal)?;
        if matches!(durability, Durability::Immediate) {
            // Saves the allocator state, so a crashed store reopens (and passes the read-only
            // format check) without a full repair.
            wtx.set_quick_repair(true);
        }
        let sweep_below = {
            let mut kv = wtx.open_table(KV).map_err(internal)?;
            let mut log = wtx.open_table(LOG).map_err(internal)?;
            let mut meta = wtx.open_table(META).map_err(internal)?;
            self.pending.write_to(&mut kv, &mut log).map_err(internal)?;
            self.pending.counters.save(&mut meta).map_err(internal)?;
            sweep(&mut log, self.sweep_below)?
        };
        wtx.commit().map_err(internal)?;
        self.sweep_below = sweep_below;
        self.pending = Pending::new(self.pending.counters);
        self.publish();
        self.last_apply = Instant::now();
        Ok(())
    }

    /// Makes redb durable up to the latest revision, then starts a fresh journal.
    fn checkpoint(&mut self) -> Result<()> {
        self.last_checkpoint = Instant::now();
        if self.journal.used() == 0 && self.pending.is_empty() {
            return Ok(());
        }
        self.apply(Durability::Immediate)?;
        self.journal.rotate(self.pending.counters.revision)
    }

    fn commit_batch(&mut self, batch: Vec<Request>) {
        if let Some(reason) = &self.failed {
            let err = Error::Io(format!(
                "embedded store stopped after an earlier failure: {reason}"
            ));
            batch
                .into_iter()
                .for_each(|req| unevaluated(req).fail(&err));
            return;
        }
        let before = self.pending.clone();
        let mut replies = Vec::with_capacity(batch.len());
        let mut journal = JournalBatch {
            first_revision: self.pending.counters.revision + 1,
            revisions: Vec::new(),
            compact: 0,
        };
        let mut events = Vec::new();
        let staged = self.stage(batch, &mut replies, &mut journal, &mut events);
        let durable = staged.and_then(|()| match journal.is_empty() {
            true => Ok(()),
            false => self.journal.append(&journal.encode()),
        });
        if let Err(e) = durable {
            self.pending = before;
            return replies.into_iter().for_each(|r| r.fail(&e));
        }
        if journal.compact > 0 {
            self.sweep_below = journal.compact;
        }
        self.publish();
        if !events.is_empty()
            && let Ok(feed) = self.feed.lock()
            && let Some(feed) = feed.as_ref()
        {
            let _ = feed.send(Arc::new(Committed {
                revision: self.pending.counters.revision,
                events,
            }));
        }
        replies.into_iter().for_each(Reply::send);
    }

    /// Evaluates the batch in order against the latest state, updating the in-memory layer.
    fn stage(
        &mut self,
        batch: Vec<Request>,
        replies: &mut Vec<Reply>,
        journal: &mut JournalBatch,
        events: &mut Vec<Event>,
    ) -> Result<()> {
        let rtx = self.db.begin_read().map_err(internal)?;
        let kv = rtx.open_table(KV).map_err(internal)?;
        let mut fatal = None;
        for req in batch {
            if fatal.is_some() {
                replies.push(unevaluated(req));
                continue;
            }
            match req {
                Request::Txn(txn, tx) => {
                    let outcome = evaluate(&mut self.pending, &kv, txn, journal, events);
                    fatal = outcome.as_ref().err().cloned();
                    replies.push(Reply::Txn(tx, outcome));
                }
                Request::Compact(revision, tx) => {
                    let c = self.pending.counters;
                    let outcome = if revision > c.revision {
                        Err(Error::FutureRevision {
                            requested: revision,
                            current: c.revision,
                        })
                    } else if revision <= c.compacted {
                        Err(Error::Compacted {
                            requested: revision,
                            compacted: c.compacted,
                        })
                    } else {
                        self.pending.compact(revision);
                        journal.compact = revision;
                        Ok(())
                    };
                    replies.push(Reply::Compact(tx, outcome));
                }
            }
        }
        // A storage error aborts the whole batch: every request gets that error.
        fatal.map_or(Ok(()), Err)
    }
}

/// Deletes a bounded chunk of log entries below `below`; returns what remains to sweep
/// (0 when done).
fn sweep(log: &mut Table<(u64, u32), &'static [u8]>, below: Revision) -> Result<Revision> {
    if below == 0 {
        return Ok(0);
    }
    let limit = (below, 0u32);
    let chunk_end = log
        .range(..limit)
        .map_err(internal)?
        .nth(SWEEP_CHUNK)
        .transpose()
        .map_err(internal)?
        .map(|(k, _)| k.value());
    match chunk_end {
        Some(end) => {
            log.retain_in(..end, |_, _| false).map_err(internal)?;
            Ok(below)
        }
        None => {
            log.retain_in(..limit, |_, _| false).map_err(internal)?;
            Ok(0)
        }
    }
}

fn request_bytes(req: &Request) -> usize {
    match req {
        Request::Txn(txn, _) => txn
            .ops
            .iter()
            .map(|op| match op {
                TxnOp::Put { key, value } => key.len() + value.len(),
                TxnOp::Delete { key } => key.len(),
            })
            .sum(),
        Request::Compact(..) => 0,
    }
}

/// Checks the transaction's compares and applies its writes at the next revision.
fn evaluate(
    pending: &mut Pending,
    kv: &impl ReadableTable<&'static str, &'static [u8]>,
    txn: Txn,
    journal: &mut JournalBatch,
    events: &mut Vec<Event>,
) -> Result<TxnOutcome> {
    let mut current = Vec::with_capacity(txn.compares.len());
    let mut holds = true;
    for compare in &txn.compares {
        let now = pending.current(kv, &compare.key).map_err(internal)?;
        holds &= now.as_ref().map_or(0, |k| k.mod_revision) == compare.mod_revision;
        current.push(now);
    }
    if !holds {
        return Ok(TxnOutcome::Failed { current });
    }
    let mut writes = Vec::with_capacity(txn.ops.len());
    for op in &txn.ops {
        match op {
            TxnOp::Put { key, value } => writes.push(Write {
                key: key.clone(),
                value: Some(value.clone()),
            }),
            TxnOp::Delete { key } => {
                if pending.current(kv, key).map_err(internal)?.is_some() {
                    writes.push(Write {
                        key: key.clone(),
                        value: None,
                    });
                }
            }
        }
    }
    if writes.is_empty() {
        let results = txn
            .ops
            .iter()
            .map(|_| OpResult {
                prev: None,
                kv: None,
            })
            .collect();
        return Ok(TxnOutcome::Committed {
            revision: pending.counters.revision,
            results,
        });
    }
    let revision = pending.counters.revision + 1;
    let applied = pending
        .apply_revision(kv, revision, &writes)
        .map_err(internal)?;
    let mut by_key: HashMap<&str, &Event> =
        applied.iter().map(|e| (e.kv.key.as_str(), e)).collect();
    let results = txn
        .ops
        .iter()
        .map(|op| match by_key.remove(op.key()) {
            Some(ev) => OpResult {
                prev: ev.prev.clone(),
                kv: (ev.kind == EventKind::Put).then(|| ev.kv.clone()),
            },
            None => OpResult {
                prev: None,
                kv: None,
            },
        })
        .collect();
    journal.revisions.push(writes);
    events.extend(applied);
    Ok(TxnOutcome::Committed { revision, results })
}

/// Re-applies journal records above the database's revision (after a crash) and makes the
/// result durable in redb.
pub(crate) fn replay(
    db: &Database,
    counters: &mut Counters,
    records: &[Vec<u8>],
    journal_path: &std::path::Path,
) -> Result<usize> {
    let corrupt = |detail: String| Error::Corrupt {
        path: journal_path.to_path_buf(),
        detail,
    };
    let mut pending = Pending::new(*counters);
    let mut applied = 0;
    {
        let rtx = db.begin_read().map_err(internal)?;
        let kv = rtx.open_table(KV).map_err(internal)?;
        for (i, raw) in records.iter().enumerate() {
            let batch =
                JournalBatch::decode(raw).map_err(|e| corrupt(format!("record {i}: {e}")))?;
            for (offset, writes) in batch.revisions.iter().enumerate() {
                let revision = batch.first_revision + offset as u64;
                let at = pending.counters.revision;
                if revision <= at {
                    continue;
                }
                if revision != at + 1 {
                    return Err(corrupt(format!(
                        "record {i} holds revision {revision} but the store is at {at}"
                    )));
                }
                pending
                    .apply_revision(&kv, revision, writes)
                    .map_err(internal)?;
                applied += 1;
            }
            if batch.compact > pending.counters.compacted {
                pending.compact(batch.compact);
            }
        }
    }
    let mut wtx = db.begin_write().map_err(internal)?;
    wtx.set_durability(Durability::Immediate)
        .map_err(internal)?;
    wtx.set_quick_repair(true);
    {
        let mut kv = wtx.open_table(KV).map_err(internal)?;
        let mut log = wtx.open_table(LOG).map_err(internal)?;
        let mut meta = wtx.open_table(META).map_err(internal)?;
        pending.write_to(&mut kv, &mut log).map_err(internal)?;
        pending.counters.save(&mut meta).map_err(internal)?;
    }
    wtx.commit().map_err(internal)?;
    *counters = pending.counters;
    Ok(applied)
}
