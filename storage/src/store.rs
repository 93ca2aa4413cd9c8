//! The `Store` trait: the etcd v3 subset an API server needs. Backends implement the
//! primitive reads, `txn`, `watch` and `compact`; create/update/delete are derived from `txn`
//! here, once, so every backend gives them the same meaning.

use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;

use crate::error::{Error, Result};
use crate::types::*;

/// A watch: responses in revision order, no gaps, no duplicates. It ends with an error item
/// when it cannot go on (`Compacted` for a start revision that is gone, `WatchEnded` when a
/// backend loses the history it needs); it never stalls silently.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchResponse>> + Send>>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The key's value at `revision` (latest when `None`), with the revision it was read at.
    async fn get(
        &self,
        key: &str,
        revision: Option<Revision>,
    ) -> Result<(Option<KeyValue>, Revision)>;

    /// The keys starting with `prefix`, in key order, from one consistent snapshot.
    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult>;

    /// The number of live keys starting with `prefix`.
    async fn count(&self, prefix: &str) -> Result<u64>;

    /// Applies `txn` atomically if every compare holds. A committed write is durable.
    async fn txn(&self, txn: Txn) -> Result<TxnOutcome>;

    /// Every event on keys starting with `prefix` after `after_revision`, then live events.
    /// A start below the compacted revision fails with `Compacted`.
    async fn watch(&self, prefix: &str, after_revision: Revision) -> Result<WatchStream>;

    /// Discards history before `revision`: reads below it and watches from below
    /// `revision - 1` then fail with `Compacted`.
    async fn compact(&self, revision: Revision) -> Result<()>;

    async fn current_revision(&self) -> Result<Revision>;

    /// Ok when the backend serves requests.
    async fn health(&self) -> Result<()>;

    async fn stats(&self) -> Result<StoreStats>;

    /// Creates `key` if it is absent.
    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue> {
        let outcome = self.txn(guarded_put(key, 0, value)).await?;
        match outcome {
            TxnOutcome::Committed { results, .. } => written(key, results),
            TxnOutcome::Failed { .. } => Err(Error::KeyExists {
                key: key.to_string(),
            }),
        }
    }

    /// Replaces `key`'s value if its mod revision is still `expected_mod_revision`.
    async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected_mod_revision: Revision,
    ) -> Result<KeyValue> {
        if expected_mod_revision == 0 {
            return Err(Error::InvalidArgument(format!(
                "update of {key:?} needs the expected mod revision"
            )));
        }
        match self
            .txn(guarded_put(key, expected_mod_revision, value))
            .await?
        {
            TxnOutcome::Committed { results, .. } => written(key, results),
            TxnOutcome::Failed { current } => {
                Err(failed_guard(key, expected_mod_revision, current))
            }
        }
    }

    /// Deletes `key` (only if its mod revision is `expected_mod_revision`, when given) and
    /// returns the deleted key-value.
    async fn delete(&self, key: &str, expected_mod_revision: Option<Revision>) -> Result<KeyValue> {
        let compares = expected_mod_revision
            .map(|mod_revision| Compare {
                key: key.to_string(),
                mod_revision,
            })
            .into_iter()
            .collect();
        let txn = Txn {
            compares,
            ops: vec![TxnOp::Delete {
                key: key.to_string(),
            }],
        };
        match self.txn(txn).await? {
            TxnOutcome::Committed { results, .. } => results
                .into_iter()
                .next()
                .and_then(|r| r.prev)
                .ok_or_else(|| Error::NotFound {
                    key: key.to_string(),
                }),
            TxnOutcome::Failed { current } => Err(failed_guard(
                key,
                expected_mod_revision.unwrap_or(0),
                current,
            )),
        }
    }
}

fn guarded_put(key: &str, mod_revision: Revision, value: Bytes) -> Txn {
    Txn {
        compares: vec![Compare {
            key: key.to_string(),
            mod_revision,
        }],
        ops: vec![TxnOp::Put {
            key: key.to_string(),
            value,
        }],
    }
}

fn written(key: &str, results: Vec<OpResult>) -> Result<KeyValue> {
    results
        .into_iter()
        .next()
        .and_then(|r| r.kv)
        .ok_or_else(|| {
            Error::Io(format!(
                "backend reported no result for the write of {key:?}"
            ))
        })
}

fn failed_guard(key: &str, expected: Revision, current: Vec<Option<KeyValue>>) -> Error {
    match current.into_iter().next().flatten() {
        None => Error::NotFound {
            key: key.to_string(),
        },
        Some(kv) => Error::Conflict {
            key: key.to_string(),
            expected,
            current: Some(Box::new(kv)),
        },
    }
}

/// Checks a transaction against the limits every backend enforces, before anything is sent
/// or written.
pub fn validate_txn(txn: &Txn) -> Result<()> {
    if txn.ops.len() > MAX_TXN_OPS {
        return Err(Error::InvalidArgument(format!(
            "a transaction holds at most {MAX_TXN_OPS} operations, got {}",
            txn.ops.len()
        )));
    }
    for compare in &txn.compares {
        validate_key(&compare.key)?;
    }
    for op in &txn.ops {
        validate_key(op.key())?;
        if let TxnOp::Put { value, .. } = op
            && value.len() > MAX_VALUE_BYTES
        {
            return Err(Error::TooLarge {
                what: "value",
                size: value.len(),
                limit: MAX_VALUE_BYTES,
            });
        }
    }
    let mut keys: Vec<&str> = txn.ops.iter().map(TxnOp::key).collect();
    keys.sort_unstable();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return Err(Error::InvalidArgument(
            "duplicate key in transaction".to_string(),
        ));
    }
    Ok(())
}

pub fn validate_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::InvalidArgument("empty key".to_string()));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(Error::TooLarge {
            what: "key",
            size: key.len(),
            limit: MAX_KEY_BYTES,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_oversized_and_duplicate_writes() {
        let big = Txn {
            compares: vec![],
            ops: vec![TxnOp::Put {
                key: "k".into(),
                value: Bytes::from(vec![0u8; MAX_VALUE_BYTES + 1]),
            }],
        };
        assert!(matches!(
            validate_txn(&big),
            Err(Error::TooLarge { what: "value", .. })
        ));
        let dup = Txn {
            compares: vec![],
            ops: vec![
                TxnOp::Delete { key: "k".into() },
                TxnOp::Delete { key: "k".into() },
            ],
        };
        assert!(matches!(validate_txn(&dup), Err(Error::InvalidArgument(_))));
        assert!(validate_key("").is_err());
        assert!(matches!(
            validate_key(&"x".repeat(MAX_KEY_BYTES + 1)),
            Err(Error::TooLarge { .. })
        ));
    }
}
