//! The data model shared by every backend: etcd v3's key-value records, events and
//! transactions, reduced to what an API server needs.

use bytes::Bytes;

/// A store revision. Revisions start at 1 and grow by one with every write transaction that
/// changes something; a value of 0 means "no revision" (an absent key, "latest" in a read).
pub type Revision = u64;

/// Largest value accepted, as etcd's default request limit (1.5 MiB).
pub const MAX_VALUE_BYTES: usize = 1536 * 1024;
/// Largest key accepted. Kubernetes keys are short paths; the limit keeps index pages sane.
pub const MAX_KEY_BYTES: usize = 8 * 1024;
/// Most operations in one transaction, as etcd's default `--max-txn-ops`.
pub const MAX_TXN_OPS: usize = 128;

/// One key at one revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Bytes,
    /// Revision of the write that created the key (since its last deletion).
    pub create_revision: Revision,
    /// Revision of the last write to the key.
    pub mod_revision: Revision,
    /// Number of writes since creation; 1 after create.
    pub version: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Put,
    Delete,
}

/// One change, as a watch delivers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    /// For a put, the new key-value; for a delete, the key with `mod_revision` set to the
    /// deletion's revision and an empty value (as etcd).
    pub kv: KeyValue,
    /// The key-value before this change, if the key existed.
    pub prev: Option<KeyValue>,
}

impl Event {
    pub fn revision(&self) -> Revision {
        self.kv.mod_revision
    }
}

/// What a watch stream yields: the events of one or more revisions, in order. An empty
/// `events` is a progress notification: every event up to `revision` has been delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchResponse {
    pub revision: Revision,
    pub events: Vec<Event>,
}

/// Parameters of a range read over a key prefix.
#[derive(Clone, Debug, Default)]
pub struct ListOptions {
    /// Read at this revision instead of the latest one (pagination at a fixed snapshot).
    pub revision: Option<Revision>,
    /// At most this many items; `None` for all.
    pub limit: Option<usize>,
    /// First key to return (inclusive), for resuming a paginated list: pass the last key
    /// returned followed by `"\0"`.
    pub continue_from: Option<String>,
}

impl ListOptions {
    /// The first key a list over `prefix` reads: the continue point when it lies past the
    /// prefix, the prefix otherwise.
    pub fn start<'a>(&'a self, prefix: &'a str) -> &'a str {
        match &self.continue_from {
            Some(from) if from.as_str() > prefix => from,
            _ => prefix,
        }
    }
}

/// The result of a range read.
#[derive(Clone, Debug, Default)]
pub struct ListResult {
    pub kvs: Vec<KeyValue>,
    /// The revision the list was served at.
    pub revision: Revision,
    /// Whether more keys remain after the last one returned.
    pub more: bool,
}

/// A guard of a transaction: `key`'s mod revision must equal `mod_revision` (0 = absent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compare {
    pub key: String,
    pub mod_revision: Revision,
}

/// A write inside a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnOp {
    Put { key: String, value: Bytes },
    Delete { key: String },
}

impl TxnOp {
    pub fn key(&self) -> &str {
        match self {
            TxnOp::Put { key, .. } | TxnOp::Delete { key } => key,
        }
    }
}

/// A guarded multi-key write: if every compare holds, every op is applied atomically at one
/// new revision.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Txn {
    pub compares: Vec<Compare>,
    pub ops: Vec<TxnOp>,
}

/// What one op of a committed transaction did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpResult {
    /// The key-value before the op.
    pub prev: Option<KeyValue>,
    /// The key-value written by a put; `None` for a delete.
    pub kv: Option<KeyValue>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnOutcome {
    /// Every compare held. `revision` is the transaction's revision, or the current one when
    /// nothing changed (deletes of absent keys only).
    Committed {
        revision: Revision,
        results: Vec<OpResult>,
    },
    /// A compare failed; nothing was written. `current` holds the current key-value of each
    /// compared key, in the order of the compares.
    Failed { current: Vec<Option<KeyValue>> },
}

/// Object and byte counts, for metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub revision: Revision,
    pub compacted_revision: Revision,
    /// Live keys.
    pub keys: u64,
    /// Bytes of live keys and values.
    pub live_bytes: u64,
    /// Bytes the backend occupies on disk (database size for etcd), if known.
    pub disk_bytes: Option<u64>,
}

/// The end (exclusive) of the key range covering every key that starts with `prefix`, as
/// etcd computes it; `None` when the range is unbounded (empty or all-0xff prefix).
pub fn prefix_range_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_last_byte() {
        assert_eq!(prefix_range_end(b"/a/"), Some(b"/a0".to_vec()));
        assert_eq!(prefix_range_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_range_end(b"\xff\xff"), None);
        assert_eq!(prefix_range_end(b""), None);
    }
}
