//! The embedded backend's tables, counters and journal records.

use bytes::Bytes;
use redb::{ReadableTable, Table, TableDefinition};

use super::codec::{self, Decoder, Encoder};
use crate::types::{KeyValue, Revision};

/// Latest value of every live key.
pub(crate) const KV: TableDefinition<&str, &[u8]> = TableDefinition::new("oxshift.kv");
/// Every event with its previous value, keyed by (revision, index within the revision).
pub(crate) const LOG: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("oxshift.log");
/// Counters and markers.
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("oxshift.meta");

pub(crate) const META_FORMAT: &str = "format";
pub(crate) const META_REVISION: &str = "revision";
pub(crate) const META_COMPACTED: &str = "compacted";
pub(crate) const META_KEYS: &str = "keys";
pub(crate) const META_BYTES: &str = "bytes";
/// Identifies a database as this store's, and its layout version: values may be compressed
/// (`codec`).
pub(crate) const FORMAT: u64 = 0x4f58_5348_0000_0002;
/// The first layout: values as they are. Still read; opening it for writing upgrades it, so
/// that an older server never reads compressed values.
pub(crate) const FORMAT_UNCOMPRESSED: u64 = 0x4f58_5348_0000_0001;

/// One key's new value (`None` deletes it) at some revision.
#[derive(Clone, Debug)]
pub(crate) struct Write {
    pub(crate) key: String,
    pub(crate) value: Option<Bytes>,
}

/// The counters kept in `META`, carried in memory by the writer and saved with each commit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    pub(crate) revision: Revision,
    pub(crate) compacted: Revision,
    pub(crate) keys: u64,
    pub(crate) bytes: u64,
}

impl Counters {
    pub(crate) fn load(
        meta: &impl ReadableTable<&'static str, u64>,
    ) -> redb::Result<Counters, redb::StorageError> {
        let get = |name| -> Result<u64, redb::StorageError> {
            Ok(meta.get(name)?.map(|v| v.value()).unwrap_or(0))
        };
        Ok(Counters {
            revision: get(META_REVISION)?,
            compacted: get(META_COMPACTED)?,
            keys: get(META_KEYS)?,
            bytes: get(META_BYTES)?,
        })
    }

    pub(crate) fn save(
        &self,
        meta: &mut Table<&'static str, u64>,
    ) -> Result<(), redb::StorageError> {
        meta.insert(META_REVISION, self.revision)?;
        meta.insert(META_COMPACTED, self.compacted)?;
        meta.insert(META_KEYS, self.keys)?;
        meta.insert(META_BYTES, self.bytes)?;
        Ok(())
    }
}

pub(crate) fn read_kv(
    kv: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
) -> Result<Option<KeyValue>, String> {
    match kv.get(key).map_err(|e| e.to_string())? {
        Some(raw) => codec::decode_kv(key, raw.value()).map(Some),
        None => Ok(None),
    }
}

/// One journal record: the writes of consecutive revisions made durable by one group commit,
/// and the compaction requested in it (0 = none), applied after the writes.
pub(crate) struct JournalBatch {
    pub(crate) first_revision: Revision,
    pub(crate) revisions: Vec<Vec<Write>>,
    pub(crate) compact: Revision,
}

impl JournalBatch {
    pub(crate) fn is_empty(&self) -> bool {
        self.revisions.is_empty() && self.compact == 0
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::default();
        e.u64(self.first_revision)
            .u64(self.compact)
            .u32(self.revisions.len() as u32);
        for writes in &self.revisions {
            e.u32(writes.len() as u32);
            for w in writes {
                e.bytes(w.key.as_bytes());
                match &w.value {
                    Some(v) => e.u8(1).bytes(v),
                    None => e.u8(0),
                };
            }
        }
        e.buf
    }

    pub(crate) fn decode(raw: &[u8]) -> Result<JournalBatch, String> {
        let mut d = Decoder::new(raw);
        let first_revision = d.u64()?;
        let compact = d.u64()?;
        let n = d.u32()?;
        let mut revisions = Vec::with_capacity(n.min(1 << 16) as usize);
        for _ in 0..n {
            let m = d.u32()?;
            let mut writes = Vec::with_capacity(m.min(1 << 16) as usize);
            for _ in 0..m {
                let key = d.string()?;
                let value = match d.u8()? {
                    0 => None,
                    _ => Some(Bytes::copy_from_slice(d.bytes()?)),
                };
                writes.push(Write { key, value });
            }
            revisions.push(writes);
        }
        if !d.is_empty() {
            return Err("trailing bytes after journal batch".into());
        }
        Ok(JournalBatch {
            first_revision,
            revisions,
            compact,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_batch_round_trips() {
        let batch = JournalBatch {
            first_revision: 41,
            revisions: vec![
                vec![Write {
                    key: "/a".into(),
                    value: Some(Bytes::from_static(b"1")),
                }],
                vec![
                    Write {
                        key: "/a".into(),
                        value: None,
                    },
                    Write {
                        key: "/b".into(),
                        value: Some(Bytes::new()),
                    },
                ],
            ],
            compact: 30,
        };
        let back = JournalBatch::decode(&batch.encode()).unwrap();
        assert_eq!(
            (back.first_revision, back.compact, back.revisions.len()),
            (41, 30, 2)
        );
        assert_eq!(back.revisions[1][1].value, Some(Bytes::new()));
        assert!(back.revisions[1][0].value.is_none());
        assert!(JournalBatch::decode(&batch.encode()[..10]).is_err());
    }
}
