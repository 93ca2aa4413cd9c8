//! The etcd backend: the `Store` trait over a real etcd v3 server.
//!
//! Writes are etcd transactions guarded on `mod_revision` (0 = absent, i.e. create), reads are
//! ranges, watches carry previous values and resume from the last delivered revision when the
//! connection drops (etcd restarts); a watch whose history is gone ends with `Compacted`.

use std::time::Duration;

use async_stream::stream;
use async_trait::async_trait;
use bytes::Bytes;
use etcd_client::{
    Client, CompactionOptions, Compare as EtcdCompare, CompareOp, ConnectOptions, DeleteOptions,
    EventType, GetOptions, KvClient, PutOptions, Txn as EtcdTxn, TxnOp as EtcdTxnOp, TxnOpResponse,
    WatchOptions, WatchResponseStream,
};
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::store::{Store, WatchStream, validate_key, validate_txn};
use crate::types::*;

/// How soon a watcher learns that revisions passed without events for it.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(500);
/// How long a broken watch keeps trying to resume before it ends with an error.
const WATCH_RESUME_DEADLINE: Duration = Duration::from_secs(60);
/// Responses of a list may hold many large values; tonic's 4 MiB default is too small.
const MAX_RESPONSE_BYTES: usize = 512 << 20;

#[derive(Clone)]
pub struct EtcdStore {
    client: Client,
    watch_resume_deadline: Duration,
}

fn map_err(e: etcd_client::Error) -> Error {
    use etcd_client::Error as E;
    match e {
        E::GRpcStatus(status) => {
            let msg = status.message();
            if msg.contains("required revision has been compacted") {
                Error::Compacted {
                    requested: 0,
                    compacted: 0,
                }
            } else if msg.contains("required revision is a future revision") {
                Error::FutureRevision {
                    requested: 0,
                    current: 0,
                }
            } else if msg.contains("request is too large") {
                Error::TooLarge {
                    what: "etcd request",
                    size: 0,
                    limit: MAX_VALUE_BYTES,
                }
            } else if matches!(
                status.code(),
                tonic_code::Unavailable
                    | tonic_code::DeadlineExceeded
                    | tonic_code::Cancelled
                    | tonic_code::Unknown
            ) {
                Error::Unavailable(format!("etcd: {msg}"))
            } else {
                Error::Io(format!("etcd: {msg}"))
            }
        }
        E::TransportError(t) => Error::Unavailable(format!("etcd: {t}")),
        other => Error::Unavailable(format!("etcd: {other}")),
    }
}

/// Adds the revision the caller asked for to the errors etcd reports without it.
fn with_revision(e: Error, requested: Revision) -> Error {
    match e {
        Error::Compacted { compacted, .. } => Error::Compacted {
            requested,
            compacted,
        },
        Error::FutureRevision { current, .. } => Error::FutureRevision { requested, current },
        other => other,
    }
}

mod tonic_code {
    pub use tonic::Code::*;
}

fn convert_kv(kv: &etcd_client::KeyValue) -> Result<KeyValue> {
    Ok(KeyValue {
        key: String::from_utf8(kv.key().to_vec())
            .map_err(|_| Error::Io("etcd returned a non-UTF-8 key".into()))?,
        value: Bytes::copy_from_slice(kv.value()),
        create_revision: kv.create_revision() as u64,
        mod_revision: kv.mod_revision() as u64,
        version: kv.version() as u64,
    })
}

fn header_revision(h: Option<&etcd_client::ResponseHeader>) -> Revision {
    h.map_or(0, |h| h.revision() as u64)
}

/// The etcd key range of a prefix starting at `start`.
fn range_options(prefix: &str, opts: GetOptions) -> GetOptions {
    match prefix_range_end(prefix.as_bytes()) {
        Some(end) => opts.with_range(end),
        None => opts.with_from_key(),
    }
}

impl EtcdStore {
    /// Connects to the etcd cluster at `endpoints` (e.g. `http://127.0.0.1:2379`).
    pub async fn connect(endpoints: &[String]) -> Result<EtcdStore> {
        let options = ConnectOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_keep_alive(Duration::from_secs(10), Duration::from_secs(5))
            .with_keep_alive_while_idle(true);
        let client = Client::connect(endpoints, Some(options))
            .await
            .map_err(map_err)?;
        let store = EtcdStore {
            client,
            watch_resume_deadline: WATCH_RESUME_DEADLINE,
        };
        store.health().await?;
        Ok(store)
    }

    /// How long a watch broken by a lost connection keeps trying to resume (default 60 s)
    /// before it ends with an error.
    pub fn with_watch_resume_deadline(mut self, deadline: Duration) -> Self {
        self.watch_resume_deadline = deadline;
        self
    }

    fn kv(&self) -> KvClient {
        self.client
            .kv_client()
            .max_decoding_message_size(MAX_RESPONSE_BYTES)
    }

    /// Opens an etcd watch from `start` (inclusive) and waits for etcd to accept it.
    async fn open_watch(
        &self,
        prefix: &str,
        start: Revision,
    ) -> Result<(etcd_client::WatchRequestSender, WatchResponseStream)> {
        let mut options = WatchOptions::new()
            .with_prev_key()
            .with_start_revision(start as i64);
        options = match prefix_range_end(prefix.as_bytes()) {
            Some(end) => options.with_range(end),
            None => options.with_from_key(),
        };
        let mut client = self
            .client
            .watch_client()
            .max_decoding_message_size(MAX_RESPONSE_BYTES);
        let (sender, mut responses) = client
            .watch(prefix, Some(options))
            .await
            .map_err(map_err)?
            .split();
        match responses.message().await.map_err(map_err)? {
            Some(r) if r.canceled() && r.compact_revision() > 0 => Err(Error::Compacted {
                requested: start.saturating_sub(1),
                compacted: r.compact_revision() as u64,
            }),
            Some(r) if r.canceled() => Err(Error::WatchEnded(format!(
                "etcd canceled the watch: {}",
                r.cancel_reason()
            ))),
            Some(r) if r.created() => Ok((sender, responses)),
            Some(_) => Err(Error::WatchEnded(
                "etcd answered a watch without confirming it".into(),
            )),
            None => Err(Error::Unavailable("etcd closed the watch stream".into())),
        }
    }
}

impl EtcdStore {
    /// Fails with `Compacted` when a watch after `after` would need compacted history (etcd
    /// itself only says so in a later cancel message).
    async fn check_not_compacted(&self, prefix: &str, after: Revision) -> Result<()> {
        let get = range_options(prefix, GetOptions::new().with_count_only())
            .with_revision(after as i64 + 1);
        match self.kv().get(prefix, Some(get)).await.map_err(map_err) {
            Err(Error::Compacted { .. }) => Err(Error::Compacted {
                requested: after,
                compacted: 0,
            }),
            Err(Error::FutureRevision { .. }) | Ok(_) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A revision `p > last` such that no key under `prefix` changed in `(last, p]`, proven by
    /// reads: at `p` no key has a mod revision after `last` (so every live key is unchanged
    /// since `last`), and as many keys are alive at `p` as at `last` (so none was deleted).
    /// etcd applies revision filters to the keys it returns, not to counts: hence keys-only.
    async fn verified_progress(&self, prefix: &str, last: Revision) -> Result<Option<Revision>> {
        let mut kv = self.kv();
        let changed = kv
            .get(
                prefix,
                Some(range_options(
                    prefix,
                    GetOptions::new()
                        .with_keys_only()
                        .with_min_mod_revision(last as i64 + 1),
                )),
            )
            .await
            .map_err(map_err)?;
        let p = header_revision(changed.header());
        if p <= last || !changed.kvs().is_empty() {
            return Ok(None);
        }
        let count_at = |revision: Revision| {
            let mut kv = self.kv();
            let opts = range_options(
                prefix,
                GetOptions::new()
                    .with_count_only()
                    .with_revision(revision as i64),
            );
            async move {
                kv.get(prefix, Some(opts))
                    .await
                    .map_err(map_err)
                    .map(|r| r.count())
            }
        };
        // Revision 0 means "latest" to etcd; before the first revision nothing was alive.
        let alive_at_last = if last == 0 { 0 } else { count_at(last).await? };
        Ok((alive_at_last == count_at(p).await?).then_some(p))
    }
}

fn convert_event(e: &etcd_client::Event) -> Result<Event> {
    let kv = e
        .kv()
        .ok_or_else(|| Error::Io("etcd sent an event without a key".into()))?;
    Ok(Event {
        kind: match e.event_type() {
            EventType::Put => EventKind::Put,
            EventType::Delete => EventKind::Delete,
        },
        kv: convert_kv(kv)?,
        prev: e.prev_kv().map(convert_kv).transpose()?,
    })
}

#[async_trait]
impl Store for EtcdStore {
    async fn get(
        &self,
        key: &str,
        revision: Option<Revision>,
    ) -> Result<(Option<KeyValue>, Revision)> {
        validate_key(key)?;
        let at = revision.unwrap_or(0);
        let resp = self
            .kv()
            .get(key, Some(GetOptions::new().with_revision(at as i64)))
            .await
            .map_err(|e| with_revision(map_err(e), at))?;
        let kv = resp.kvs().first().map(convert_kv).transpose()?;
        let read_at = if at == 0 {
            header_revision(resp.header())
        } else {
            at
        };
        Ok((kv, read_at))
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult> {
        let at = opts.revision.unwrap_or(0);
        let start = opts.start(prefix).to_string();
        let mut get = range_options(prefix, GetOptions::new()).with_revision(at as i64);
        if let Some(limit) = opts.limit.filter(|&l| l > 0) {
            get = get.with_limit(limit as i64);
        }
        let resp = self
            .kv()
            .get(start, Some(get))
            .await
            .map_err(|e| with_revision(map_err(e), at))?;
        let kvs = resp
            .kvs()
            .iter()
            .map(convert_kv)
            .collect::<Result<Vec<_>>>()?;
        let revision = if at == 0 {
            header_revision(resp.header())
        } else {
            at
        };
        Ok(ListResult {
            kvs,
            revision,
            more: resp.more(),
        })
    }

    async fn count(&self, prefix: &str) -> Result<u64> {
        let get = range_options(prefix, GetOptions::new().with_count_only());
        let resp = self.kv().get(prefix, Some(get)).await.map_err(map_err)?;
        Ok(resp.count() as u64)
    }

    async fn txn(&self, txn: Txn) -> Result<TxnOutcome> {
        validate_txn(&txn)?;
        let compares: Vec<EtcdCompare> = txn
            .compares
            .iter()
            .map(|c| {
                EtcdCompare::mod_revision(c.key.as_str(), CompareOp::Equal, c.mod_revision as i64)
            })
            .collect();
        let reads: Vec<EtcdTxnOp> = txn
            .compares
            .iter()
            .map(|c| EtcdTxnOp::get(c.key.as_str(), None))
            .collect();
        let guarded_absent = |key: &str| {
            txn.compares
                .iter()
                .any(|c| c.key == key && c.mod_revision == 0)
        };
        let writes: Vec<EtcdTxnOp> = txn
            .ops
            .iter()
            .map(|op| match op {
                // A put guarded by "absent" has no previous value: don't make etcd read one.
                TxnOp::Put { key, value } if guarded_absent(key) => {
                    EtcdTxnOp::put(key.as_str(), value.to_vec(), None)
                }
                TxnOp::Put { key, value } => EtcdTxnOp::put(
                    key.as_str(),
                    value.to_vec(),
                    Some(PutOptions::new().with_prev_key()),
                ),
                TxnOp::Delete { key } => {
                    EtcdTxnOp::delete(key.as_str(), Some(DeleteOptions::new().with_prev_key()))
                }
            })
            .collect();
        let resp = self
            .kv()
            .txn(
                EtcdTxn::new()
                    .when(compares)
                    .and_then(writes)
                    .or_else(reads),
            )
            .await
            .map_err(map_err)?;
        let revision = header_revision(resp.header());
        let responses = resp.op_responses();
        if !resp.succeeded() {
            let current = responses
                .iter()
                .map(|r| match r {
                    TxnOpResponse::Get(g) => g.kvs().first().map(convert_kv).transpose(),
                    _ => Ok(None),
                })
                .collect::<Result<Vec<_>>>()?;
            return Ok(TxnOutcome::Failed { current });
        }
        let results = txn
            .ops
            .iter()
            .zip(responses.iter())
            .map(|(op, r)| match (op, r) {
                (TxnOp::Put { key, value }, TxnOpResponse::Put(p)) => {
                    let prev = p.prev_key().map(convert_kv).transpose()?;
                    let kv = KeyValue {
                        key: key.clone(),
                        value: value.clone(),
                        create_revision: prev.as_ref().map_or(revision, |p| p.create_revision),
                        mod_revision: revision,
                        version: prev.as_ref().map_or(1, |p| p.version + 1),
                    };
                    Ok(OpResult { prev, kv: Some(kv) })
                }
                (TxnOp::Delete { .. }, TxnOpResponse::Delete(d)) => Ok(OpResult {
                    prev: d.prev_kvs().first().map(convert_kv).transpose()?,
                    kv: None,
                }),
                _ => Err(Error::Io(
                    "etcd answered a transaction with mismatched results".into(),
                )),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(TxnOutcome::Committed { revision, results })
    }

    async fn watch(&self, prefix: &str, after_revision: Revision) -> Result<WatchStream> {
        let store = self.clone();
        let prefix = prefix.to_string();
        self.check_not_compacted(&prefix, after_revision).await?;
        let (mut sender, mut responses) = self.open_watch(&prefix, after_revision + 1).await?;
        Ok(Box::pin(stream! {
            let mut last = after_revision;
            let mut progress = tokio::time::interval_at(Instant::now() + PROGRESS_INTERVAL, PROGRESS_INTERVAL);
            loop {
                let message = tokio::select! {
                    m = responses.message() => m,
                    _ = progress.tick() => {
                        // Nothing to report, or not provable now: try again next tick.
                        if let Ok(Some(revision)) = store.verified_progress(&prefix, last).await {
                            last = revision;
                            yield Ok(WatchResponse { revision, events: Vec::new() });
                        }
                        continue;
                    }
                };
                // Held so that etcd keeps the watch open; etcd 3.4's progress requests are not
                // used (they report the current revision even while history is being replayed).
                let _ = &mut sender;
                match message {
                    Ok(Some(r)) if r.canceled() => {
                        if r.compact_revision() > 0 {
                            yield Err(Error::Compacted { requested: last, compacted: r.compact_revision() as u64 });
                        } else {
                            yield Err(Error::WatchEnded(format!("etcd canceled the watch: {}", r.cancel_reason())));
                        }
                        return;
                    }
                    Ok(Some(r)) => {
                        let events = match r.events().iter().map(convert_event).collect::<Result<Vec<_>>>() {
                            Ok(events) => events,
                            Err(e) => { yield Err(e); return; }
                        };
                        let revision = match events.last() {
                            Some(e) => e.revision(),
                            None => header_revision(r.header()),
                        };
                        // Empty responses (etcd's own progress notices) are not trusted; see above.
                        if !events.is_empty() {
                            last = last.max(revision);
                            progress.reset();
                            yield Ok(WatchResponse { revision: last, events });
                        }
                    }
                    // The connection dropped (etcd restarting?): resume after the last revision
                    // delivered, or end loudly if that is impossible.
                    Ok(None) | Err(_) => {
                        let deadline = Instant::now() + store.watch_resume_deadline;
                        let mut backoff = Duration::from_millis(100);
                        loop {
                            match store.open_watch(&prefix, last + 1).await {
                                Ok((s, r)) => { sender = s; responses = r; break; }
                                Err(e @ Error::Compacted { .. }) => { yield Err(e); return; }
                                Err(e) if Instant::now() >= deadline => {
                                    yield Err(Error::WatchEnded(format!("cannot resume the watch from etcd: {e}")));
                                    return;
                                }
                                Err(e) => {
                                    tracing::warn!(error = %e, revision = last, "etcd watch broken; retrying");
                                    tokio::time::sleep(backoff).await;
                                    backoff = (backoff * 2).min(Duration::from_secs(2));
                                }
                            }
                        }
                    }
                }
            }
        }))
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        self.kv()
            .compact(revision as i64, Some(CompactionOptions::new()))
            .await
            .map_err(|e| with_revision(map_err(e), revision))?;
        Ok(())
    }

    async fn current_revision(&self) -> Result<Revision> {
        let resp = self
            .kv()
            .get("/", Some(GetOptions::new().with_count_only()))
            .await
            .map_err(map_err)?;
        Ok(header_revision(resp.header()))
    }

    async fn health(&self) -> Result<()> {
        tokio::time::timeout(Duration::from_secs(5), self.current_revision())
            .await
            .map_err(|_| Error::Unavailable("etcd did not answer within 5s".into()))?
            .map(|_| ())
    }

    async fn stats(&self) -> Result<StoreStats> {
        let keys = self
            .kv()
            .get(
                "",
                Some(GetOptions::new().with_all_keys().with_count_only()),
            )
            .await
            .map_err(map_err)?;
        let status = self
            .client
            .maintenance_client()
            .status()
            .await
            .map_err(map_err)?;
        Ok(StoreStats {
            revision: header_revision(keys.header()),
            compacted_revision: 0,
            keys: keys.count() as u64,
            live_bytes: status.raft_used_db_size() as u64,
            disk_bytes: Some(status.db_size() as u64),
        })
    }
}
