//! The single writer of the embedded backend: group commit.
//!
//! Writers queue requests; this thread takes everything queued at once, evaluates the
//! transactions in order against the latest state, appends one journal record and syncs it,
//! and only then publishes the batch (to the in-memory layer readers see, and to watchers) and
//! answers every request. So one fsync serves the whole batch, nothing is visible or
//! acknowledged before it is durable, and a failed batch fails every write in it.
//!
//! About every second the active in-memory layer is frozen: the journal moves aside (kept until
//! the layer is durable in redb), a fresh journal and layer take new writes, and the applier
//! thread writes the frozen layer to redb in one durable transaction. The writer never waits for
//! redb unless the applier falls far behind.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, OnceLock, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use redb::{Database, ReadableDatabase};
use tokio::sync::oneshot;

use super::applier::{Applied, ApplyJob, applier};
use super::evaluate::evaluate;
use super::feed::EventFeed;
use super::journal::Journal;
use super::pending::Pending;
use super::queue::{Inbox, Request, request_bytes};
use super::tables::{Counters, JournalBatch, KV};
use crate::error::{Error, Result};
use crate::types::*;

/// What the committer publishes after each batch: the revision reached and its events.
pub(crate) struct Committed {
    pub(crate) revision: Revision,
    pub(crate) events: Vec<Event>,
}

/// The in-memory layers in front of redb, as readers see them.
#[derive(Clone, Default)]
pub(crate) struct Layers {
    /// Being written to redb by the applier; older than `active`.
    pub(crate) frozen: Option<Arc<Pending>>,
    pub(crate) active: Arc<Pending>,
}

pub(crate) type Published = RwLock<Arc<Layers>>;

/// Why the committer stopped taking writes, once it has (redb can no longer be written): every
/// later write fails, and the store's health says so.
pub(crate) type Failure = OnceLock<String>;

/// How often the active layer is frozen and written to redb.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy {
    pub(crate) freeze_interval: Duration,
}

const MAX_BATCH_REQUESTS: usize = 4096;
/// Stop adding requests to a batch past this many bytes of values.
const MAX_BATCH_BYTES: usize = 32 << 20;
/// The active layer is frozen (written to redb) when it holds this many events or value
/// bytes, or when the policy's interval has passed.
const FREEZE_EVENTS: usize = 32 * 1024;
const FREEZE_BYTES: usize = 32 << 20;
/// Past this many times those sizes, the writer waits for the applier (bounded memory).
const BACKLOG_FACTOR: usize = 4;
/// How long the writer waits for work before doing housekeeping.
const IDLE_TICK: Duration = Duration::from_millis(50);

pub(crate) struct Committer {
    db: Arc<Database>,
    journal: Journal,
    active: Pending,
    frozen: Option<Arc<Pending>>,
    feed: Arc<EventFeed>,
    published: Arc<Published>,
    policy: Policy,
    jobs: Option<Sender<ApplyJob>>,
    applied: Receiver<Applied>,
    /// A frozen layer is with the applier and its answer is due. (After a failed apply the
    /// layer stays frozen, for readers, but no answer is due.)
    applying: bool,
    applier: Option<JoinHandle<()>>,
    last_freeze: Instant,
    /// Log entries in redb below this revision may still await physical deletion.
    sweep_below: Revision,
    /// The sweep target sent with the job in flight.
    job_sweep: Revision,
    failed: Arc<Failure>,
    /// Checkpoints asked for in the batch being committed, run after it.
    checkpoints: Vec<oneshot::Sender<Result<()>>>,
}

enum Reply {
    Txn(oneshot::Sender<Result<TxnOutcome>>, Result<TxnOutcome>),
    /// A compaction's, or a checkpoint's whose batch failed.
    Done(oneshot::Sender<Result<()>>, Result<()>),
}

impl Reply {
    fn fail(self, err: &Error) {
        match self {
            Reply::Txn(tx, _) => drop(tx.send(Err(err.clone()))),
            Reply::Done(tx, _) => drop(tx.send(Err(err.clone()))),
        }
    }
    fn send(self) {
        match self {
            Reply::Txn(tx, r) => drop(tx.send(r)),
            Reply::Done(tx, r) => drop(tx.send(r)),
        }
    }
}

/// A reply slot for a request that was not evaluated (its batch failed before reaching it).
fn unevaluated(req: Request) -> Reply {
    match req {
        Request::Txn(_, tx) => Reply::Txn(tx, Ok(TxnOutcome::Failed { current: vec![] })),
        Request::Compact(_, tx) | Request::Checkpoint(tx) => Reply::Done(tx, Ok(())),
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
        failed: Arc<Failure>,
        policy: Policy,
    ) -> Result<Self> {
        let (jobs, job_inbox) = mpsc::channel();
        let (done, applied) = mpsc::channel();
        let applier_db = db.clone();
        let applier = std::thread::Builder::new()
            .name("storage-applier".into())
            .spawn(move || applier(applier_db, job_inbox, done))
            .map_err(|e| Error::io("starting the storage applier", e))?;
        let committer = Self {
            db,
            journal,
            active: Pending::new(counters),
            frozen: None,
            feed,
            published,
            policy,
            jobs: Some(jobs),
            applied,
            applying: false,
            applier: Some(applier),
            last_freeze: Instant::now(),
            sweep_below: counters.compacted,
            job_sweep: 0,
            failed,
            checkpoints: Vec::new(),
        };
        committer.publish();
        Ok(committer)
    }

    pub(crate) fn run(mut self, requests: Inbox) {
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
                    if !self.checkpoints.is_empty() {
                        let result = self.checkpoint();
                        for tx in std::mem::take(&mut self.checkpoints) {
                            let _ = tx.send(result.clone());
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.collect_applied(false);
            self.maybe_freeze();
        }
        self.finish();
        self.feed.close();
    }

    /// On close: everything goes to redb, so the next open has nothing to replay.
    fn finish(&mut self) {
        self.collect_applied(true);
        if self.failed.get().is_none() && !self.active.is_empty() {
            self.freeze();
            self.collect_applied(true);
        }
        self.jobs.take();
        if let Some(applier) = self.applier.take() {
            let _ = applier.join();
        }
        if let Some(reason) = self.failed.get() {
            tracing::error!(
                reason,
                "storage closed after a failure; the journal will be replayed on open"
            );
        }
    }

    /// Writes every committed change to redb and sweeps the compacted history, waiting for
    /// the applier (writers wait meanwhile).
    fn checkpoint(&mut self) -> Result<()> {
        loop {
            if let Some(reason) = self.failed.get() {
                return Err(Error::Io(format!(
                    "embedded store stopped after an earlier failure: {reason}"
                )));
            }
            if self.applying {
                self.collect_applied(true);
                continue;
            }
            if self.frozen.is_some() {
                // Frozen with no answer due: the applier failed.
                continue;
            }
            if self.active.is_empty() && self.sweep_below == 0 {
                return Ok(());
            }
            self.freeze();
            if self.frozen.is_none() && self.failed.get().is_none() {
                return Err(internal(
                    "the journal could not be rotated for a checkpoint",
                ));
            }
        }
    }

    /// Takes the applier's answer for the layer in flight (waiting for it if `wait`).
    fn collect_applied(&mut self, wait: bool) {
        if !self.applying {
            return;
        }
        let answer = match wait {
            true => self.applied.recv().ok(),
            false => self.applied.try_recv().ok(),
        };
        if answer.is_some() || wait {
            self.applying = false;
        }
        match answer {
            Some(Applied::Done { sweep_below }) => {
                self.frozen = None;
                if self.sweep_below == self.job_sweep {
                    self.sweep_below = sweep_below;
                }
                if let Err(e) = self.journal.drop_previous() {
                    tracing::warn!(error = %e, "could not delete a journal already applied; it will be replayed harmlessly");
                }
                self.publish();
            }
            Some(Applied::Failed(reason)) => {
                tracing::error!(reason, "writing to the store's database failed");
                self.fail(reason);
            }
            None if wait => self.fail("the storage applier stopped".into()),
            None => {}
        }
    }

    /// Stops taking writes (the first reason is kept).
    fn fail(&self, reason: String) {
        let _ = self.failed.set(reason);
    }

    fn maybe_freeze(&mut self) {
        if self.failed.get().is_some() {
            return;
        }
        let (events, bytes) = (self.active.log.len(), self.active.bytes);
        let big = events >= FREEZE_EVENTS || bytes >= FREEZE_BYTES || self.journal.is_full();
        let old = self.last_freeze.elapsed() >= self.policy.freeze_interval;
        if !(big || old) || (self.active.is_empty() && self.sweep_below == 0) {
            return;
        }
        if self.frozen.is_some() {
            let backlog =
                events >= BACKLOG_FACTOR * FREEZE_EVENTS || bytes >= BACKLOG_FACTOR * FREEZE_BYTES;
            if !backlog {
                return; // the applier is still on the previous layer
            }
            self.collect_applied(true);
            if self.frozen.is_some() || self.failed.get().is_some() {
                return;
            }
        }
        self.freeze();
    }

    /// Hands the active layer to the applier; new writes go to a fresh layer and journal.
    fn freeze(&mut self) {
        self.last_freeze = Instant::now();
        let counters = self.active.counters;
        if let Err(e) = self.journal.rotate_keeping_previous(counters.revision) {
            tracing::error!(error = %e, "journal rotation failed; will retry");
            return;
        }
        let layer = Arc::new(std::mem::replace(&mut self.active, Pending::new(counters)));
        self.frozen = Some(layer.clone());
        self.job_sweep = self.sweep_below;
        let job = ApplyJob {
            layer,
            sweep_below: self.sweep_below,
        };
        self.applying = self
            .jobs
            .as_ref()
            .and_then(|jobs| jobs.send(job).ok())
            .is_some();
        if !self.applying {
            self.fail("the storage applier stopped".into());
        }
        self.publish();
    }

    fn publish(&self) {
        let layers = Layers {
            frozen: self.frozen.clone(),
            active: Arc::new(self.active.clone()),
        };
        if let Ok(mut p) = self.published.write() {
            *p = Arc::new(layers);
        }
    }

    fn commit_batch(&mut self, batch: Vec<Request>) {
        if let Some(reason) = self.failed.get() {
            let err = Error::Io(format!(
                "embedded store stopped after an earlier failure: {reason}"
            ));
            batch
                .into_iter()
                .for_each(|req| unevaluated(req).fail(&err));
            return;
        }
        let before = self.active.clone();
        let mut replies = Vec::with_capacity(batch.len());
        let mut journal = JournalBatch {
            first_revision: self.active.counters.revision + 1,
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
            self.active = before;
            return replies.into_iter().for_each(|r| r.fail(&e));
        }
        if journal.compact > 0 {
            self.sweep_below = journal.compact;
        }
        self.publish();
        if !events.is_empty() {
            self.feed.publish(Committed {
                revision: self.active.counters.revision,
                events,
            });
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
                    let frozen = self.frozen.as_deref();
                    let outcome = evaluate(&mut self.active, frozen, &kv, txn, journal, events);
                    fatal = outcome.as_ref().err().cloned();
                    replies.push(Reply::Txn(tx, outcome));
                }
                Request::Compact(revision, tx) => {
                    let c = self.active.counters;
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
                        self.active.compact(revision);
                        journal.compact = revision;
                        Ok(())
                    };
                    replies.push(Reply::Done(tx, outcome));
                }
                // Run once the batch is committed: it covers the writes before it.
                Request::Checkpoint(tx) => self.checkpoints.push(tx),
            }
        }
        // A storage error aborts the whole batch: every request gets that error.
        fatal.map_or(Ok(()), Err)
    }
}
