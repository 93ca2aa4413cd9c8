//! Committed writes not yet applied to redb: the in-memory layer in front of the B-tree.
//!
//! Every write is durable in the journal before it enters the active layer. Applying each small
//! group-commit batch to redb would copy-on-write every B-tree leaf and branch it touches (about
//! 20 bytes written per byte stored with 64 writers); instead the layer collects batches, is
//! frozen every second or so, and a separate thread writes the frozen layer to redb in one
//! durable transaction while new writes go to a fresh active layer. Readers take `Arc`
//! snapshots of the layers (persistent maps: O(1) to clone) and merge them over redb.

use bytes::Bytes;
use imbl::OrdMap;
use redb::{ReadableTable, Table};

use super::codec;
use super::tables::{self, Counters, Write};
use crate::types::{Event, EventKind, KeyValue, Revision};

type KvTable<'t> = Table<'t, &'static str, &'static [u8]>;
type LogTable<'t> = Table<'t, (u64, u32), &'static [u8]>;

#[derive(Clone, Default)]
pub(crate) struct Pending {
    /// Counters of the latest committed state (redb plus this layer).
    pub(crate) counters: Counters,
    /// The latest value of every key written since the last apply (`None`: deleted).
    pub(crate) kv: OrdMap<String, Option<KeyValue>>,
    /// The events since the last apply.
    pub(crate) log: OrdMap<(u64, u32), Event>,
    /// Value bytes held, to bound memory.
    pub(crate) bytes: usize,
}

impl Pending {
    pub(crate) fn new(counters: Counters) -> Self {
        Pending {
            counters,
            ..Default::default()
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.kv.is_empty() && self.log.is_empty()
    }

    /// The current value of `key`: this layer's, else the older layer's, else redb's.
    pub(crate) fn current(
        &self,
        older: Option<&Pending>,
        kv: &impl ReadableTable<&'static str, &'static [u8]>,
        key: &str,
    ) -> Result<Option<KeyValue>, String> {
        match self
            .kv
            .get(key)
            .or_else(|| older.and_then(|o| o.kv.get(key)))
        {
            Some(v) => Ok(v.clone()),
            None => tables::read_kv(kv, key),
        }
    }

    /// Applies the writes of `revision` and returns their events. A delete of an absent key is
    /// skipped (callers only pass effective writes).
    pub(crate) fn apply_revision(
        &mut self,
        older: Option<&Pending>,
        kv: &impl ReadableTable<&'static str, &'static [u8]>,
        revision: Revision,
        writes: &[Write],
    ) -> Result<Vec<Event>, String> {
        let mut events = Vec::with_capacity(writes.len());
        for write in writes {
            let prev = self.current(older, kv, &write.key)?;
            let event = match &write.value {
                Some(value) => {
                    let new = KeyValue {
                        key: write.key.clone(),
                        value: value.clone(),
                        create_revision: prev.as_ref().map_or(revision, |p| p.create_revision),
                        mod_revision: revision,
                        version: prev.as_ref().map_or(1, |p| p.version + 1),
                    };
                    Event {
                        kind: EventKind::Put,
                        kv: new,
                        prev,
                    }
                }
                None if prev.is_none() => continue,
                None => {
                    let gone = KeyValue {
                        key: write.key.clone(),
                        value: Bytes::new(),
                        create_revision: 0,
                        mod_revision: revision,
                        version: 0,
                    };
                    Event {
                        kind: EventKind::Delete,
                        kv: gone,
                        prev,
                    }
                }
            };
            let size = |kv: &KeyValue| (kv.key.len() + kv.value.len()) as u64;
            let added = if event.kind == EventKind::Put {
                size(&event.kv)
            } else {
                0
            };
            let c = &mut self.counters;
            c.bytes = (c.bytes + added).saturating_sub(event.prev.as_ref().map_or(0, size));
            match (event.kind, event.prev.is_some()) {
                (EventKind::Put, false) => c.keys += 1,
                (EventKind::Delete, true) => c.keys = c.keys.saturating_sub(1),
                _ => {}
            }
            let latest = (event.kind == EventKind::Put).then(|| event.kv.clone());
            self.bytes += event.kv.value.len() + event.prev.as_ref().map_or(0, |p| p.value.len());
            self.kv.insert(write.key.clone(), latest);
            self.log
                .insert((revision, events.len() as u32), event.clone());
            events.push(event);
        }
        self.counters.revision = self.counters.revision.max(revision);
        Ok(events)
    }

    /// Logical compaction at `revision`: events below it are gone.
    pub(crate) fn compact(&mut self, revision: Revision) {
        self.counters.compacted = revision;
        let (_, _, kept) = self.log.split_lookup(&(revision, 0));
        let first = self.log.get(&(revision, 0)).cloned();
        self.log = kept;
        if let Some(event) = first {
            self.log.insert((revision, 0), event);
        }
    }

    /// Writes this layer into redb's tables (within the caller's transaction).
    pub(crate) fn write_to(
        &self,
        kv: &mut KvTable<'_>,
        log: &mut LogTable<'_>,
    ) -> Result<(), redb::StorageError> {
        let mut packer = codec::Packer::new(codec::Packing::Compress);
        for (key, value) in &self.kv {
            match value {
                Some(v) => kv
                    .insert(key.as_str(), codec::encode_kv(v, &mut packer).as_slice())
                    .map(drop)?,
                None => kv.remove(key.as_str()).map(drop)?,
            }
        }
        for (at, event) in &self.log {
            log.insert(*at, codec::encode_event(event, &mut packer).as_slice())?;
        }
        Ok(())
    }
}
