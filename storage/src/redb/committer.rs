//! The single writer of the embedded backend: group commit.
//!
//! Writers queue requests; this thread takes everything queued at once, evaluates the
//! transactions in order inside one redb write transaction, appends one journal record and
//! syncs it, commits redb without a sync, and only then answers every request and publishes
//! the events. So one fsync serves the whole batch, nothing is visible or acknowledged before
//! it is durable, and a failed batch fails every write in it.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redb::{Database, Durability, ReadableTable, Table};
use tokio::sync::{broadcast, oneshot};

use super::journal::Journal;
use super::tables::{self, Counters, JournalBatch, KV, LOG, META, Write};
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

/// How often durable checkpoints happen.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CheckpointPolicy {
    pub(crate) interval: Duration,
}

const MAX_BATCH_REQUESTS: usize = 4096;
/// Stop adding requests to a batch past this many bytes of values.
const MAX_BATCH_BYTES: usize = 32 << 20;
/// Log entries deleted per batch by physical compaction, to bound the pause it adds.
const SWEEP_CHUNK: usize = 2048;
/// How long the writer waits for work before doing housekeeping.
const IDLE_TICK: Duration = Duration::from_millis(50);

pub(crate) struct Committer {
    pub(crate) db: Arc<Database>,
    pub(crate) journal: Journal,
    pub(crate) counters: Counters,
    pub(crate) feed: Arc<EventFeed>,
    pub(crate) policy: CheckpointPolicy,
    /// Visible to readers as soon as a batch is committed.
    pub(crate) published: Arc<super::Published>,
    last_checkpoint: Instant,
    /// Log entries below this revision may still await physical deletion.
    sweep_below: Revision,
    /// Set when the journal and redb may disagree; every later write fails.
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

fn internal(e: impl std::fmt::Display) -> Error {
    Error::io("embedded store", e)
}

impl Committer {
    pub(crate) fn new(
        db: Arc<Database>,
        journal: Journal,
        counters: Counters,
        feed: Arc<EventFeed>,
        policy: CheckpointPolicy,
        published: Arc<super::Published>,
    ) -> Self {
        let sweep_below = counters.compacted;
        Self {
            db,
            journal,
            counters,
            feed,
            policy,
            published,
            last_checkpoint: Instant::now(),
            sweep_below,
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
                        match requests.try_recv() {
                            Ok(req) => {
                                bytes += request_bytes(&req);
                                batch.push(req);
                            }
                            Err(_) => break,
                        }
                    }
                    self.commit_batch(batch);
                }
                Err(RecvTimeoutError::Timeout) => {
                    if self.sweep_below > 0 && self.failed.is_none() {
                        self.commit_batch(Vec::new());
                    }
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if self.failed.is_none()
                && (self.journal.is_full()
                    || self.last_checkpoint.elapsed() >= self.policy.interval)
                && let Err(e) = self.checkpoint()
            {
                tracing::error!(error = %e, "storage checkpoint failed; will retry");
            }
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

    /// Makes redb durable up to the current revision, then starts a fresh journal.
    fn checkpoint(&mut self) -> Result<()> {
        self.last_checkpoint = Instant::now();
        if self.journal.used() == 0 {
            return Ok(());
        }
        let mut wtx = self.db.begin_write().map_err(internal)?;
        wtx.set_durability(Durability::Immediate)
            .map_err(internal)?;
        wtx.set_quick_repair(true);
        wtx.commit().map_err(internal)?;
        self.journal.rotate(self.counters.revision)
    }

    fn commit_batch(&mut self, batch: Vec<Request>) {
        if let Some(reason) = &self.failed {
            let err = Error::Io(format!(
                "embedded store stopped after an earlier failure: {reason}"
            ));
            batch.into_iter().for_each(|req| reply_to(req).fail(&err));
            return;
        }
        let mut counters = self.counters;
        let mut replies = Vec::with_capacity(batch.len());
        let mut journal = JournalBatch {
            first_revision: counters.revision + 1,
            revisions: Vec::new(),
            compact: 0,
        };
        let mut events = Vec::new();
        let mut sweep_below = self.sweep_below;
        let staged = self.stage(
            batch,
            &mut counters,
            &mut replies,
            &mut journal,
            &mut events,
            &mut sweep_below,
        );
        let wtx = match staged {
            Ok(wtx) => wtx,
            Err(e) => return replies.into_iter().for_each(|r| r.fail(&e)),
        };
        let payload = (!journal.is_empty()).then(|| journal.encode());
        if let Some(payload) = &payload
            && let Err(e) = self.journal.append(payload)
        {
            drop(wtx);
            return replies.into_iter().for_each(|r| r.fail(&e));
        }
        if let Err(e) = wtx.commit() {
            let e = internal(e);
            if let Some(payload) = &payload
                && let Err(undo) = self.journal.undo_last(payload.len())
            {
                self.failed = Some(format!("{e}; then {undo}"));
            }
            return replies.into_iter().for_each(|r| r.fail(&e));
        }
        self.counters = counters;
        self.sweep_below = if journal.compact > 0 {
            journal.compact
        } else {
            sweep_below
        };
        self.published.set(counters);
        if !events.is_empty()
            && let Ok(feed) = self.feed.lock()
            && let Some(feed) = feed.as_ref()
        {
            let _ = feed.send(Arc::new(Committed {
                revision: counters.revision,
                events,
            }));
        }
        replies.into_iter().for_each(Reply::send);
    }

    /// Evaluates the batch inside one write transaction, returning it uncommitted.
    fn stage(
        &mut self,
        batch: Vec<Request>,
        counters: &mut Counters,
        replies: &mut Vec<Reply>,
        journal: &mut JournalBatch,
        events: &mut Vec<Event>,
        sweep_below: &mut Revision,
    ) -> Result<redb::WriteTransaction> {
        let mut wtx = self.db.begin_write().map_err(internal)?;
        wtx.set_durability(Durability::None).map_err(internal)?;
        {
            let mut kv = wtx.open_table(KV).map_err(internal)?;
            let mut log = wtx.open_table(LOG).map_err(internal)?;
            let mut meta = wtx.open_table(META).map_err(internal)?;
            let mut fatal = None;
            for req in batch {
                if fatal.is_some() {
                    replies.push(reply_to(req));
                    continue;
                }
                match req {
                    Request::Txn(txn, tx) => {
                        let outcome = evaluate(&mut kv, &mut log, counters, txn, journal, events);
                        fatal = outcome.as_ref().err().cloned();
                        replies.push(Reply::Txn(tx, outcome));
                    }
                    Request::Compact(revision, tx) => {
                        let outcome = if revision > counters.revision {
                            Err(Error::FutureRevision {
                                requested: revision,
                                current: counters.revision,
                            })
                        } else if revision <= counters.compacted {
                            Err(Error::Compacted {
                                requested: revision,
                                compacted: counters.compacted,
                            })
                        } else {
                            counters.compacted = revision;
                            journal.compact = revision;
                            Ok(())
                        };
                        replies.push(Reply::Compact(tx, outcome));
                    }
                }
            }
            // A storage error aborts the whole batch: every request gets that error.
            if let Some(e) = fatal {
                return Err(e);
            }
            *sweep_below = sweep(&mut log, self.sweep_below)?;
            counters.save(&mut meta).map_err(internal)?;
        }
        Ok(wtx)
    }
}

/// A reply slot for a request that was not evaluated (its batch failed before reaching it).
fn reply_to(req: Request) -> Reply {
    match req {
        Request::Txn(_, tx) => Reply::Txn(tx, Ok(TxnOutcome::Failed { current: vec![] })),
        Request::Compact(_, tx) => Reply::Compact(tx, Ok(())),
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
    kv: &mut Table<&'static str, &'static [u8]>,
    log: &mut Table<(u64, u32), &'static [u8]>,
    counters: &mut Counters,
    txn: Txn,
    journal: &mut JournalBatch,
    events: &mut Vec<Event>,
) -> Result<TxnOutcome> {
    let mut current = Vec::with_capacity(txn.compares.len());
    let mut holds = true;
    for compare in &txn.compares {
        let kv_now = tables::read_kv(kv, &compare.key).map_err(internal)?;
        holds &= kv_now.as_ref().map_or(0, |k| k.mod_revision) == compare.mod_revision;
        current.push(kv_now);
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
                if kv.get(key.as_str()).map_err(internal)?.is_some() {
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
            revision: counters.revision,
            results,
        });
    }
    let revision = counters.revision + 1;
    let applied = tables::apply_revision(kv, log, counters, revision, &writes).map_err(internal)?;
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

/// Re-applies journal records above the database's revision (after a crash).
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
    let mut wtx = db.begin_write().map_err(internal)?;
    wtx.set_durability(Durability::Immediate)
        .map_err(internal)?;
    wtx.set_quick_repair(true);
    let mut applied = 0;
    {
        let mut kv = wtx.open_table(KV).map_err(internal)?;
        let mut log = wtx.open_table(LOG).map_err(internal)?;
        let mut meta = wtx.open_table(META).map_err(internal)?;
        for (i, raw) in records.iter().enumerate() {
            let batch =
                JournalBatch::decode(raw).map_err(|e| corrupt(format!("record {i}: {e}")))?;
            for (offset, writes) in batch.revisions.iter().enumerate() {
                let revision = batch.first_revision + offset as u64;
                if revision <= counters.revision {
                    continue;
                }
                if revision != counters.revision + 1 {
                    return Err(corrupt(format!(
                        "record {i} holds revision {revision} but the store is at {}",
                        counters.revision
                    )));
                }
                tables::apply_revision(&mut kv, &mut log, counters, revision, writes)
                    .map_err(internal)?;
                applied += 1;
            }
            counters.compacted = counters.compacted.max(batch.compact);
        }
        counters.save(&mut meta).map_err(internal)?;
    }
    wtx.commit().map_err(internal)?;
    Ok(applied)
}
