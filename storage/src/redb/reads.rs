//! Reads of the embedded backend, each from one consistent snapshot: the in-memory layers of
//! recent writes (frozen, then active) over a redb read transaction.
//!
//! The latest state is the layers' keys over redb's kv table. The state at an older revision
//! `r` is the latest state with, for every key changed after `r`, the previous value carried by
//! the first event after `r` on that key (redb's log, then the layers'). That costs one scan of
//! the log since `r`, which compaction bounds, and serves both historical gets and paginated
//! lists at a fixed revision.

use std::collections::{BTreeMap, BTreeSet};
use std::iter::Peekable;
use std::sync::Arc;

use redb::{Database, ReadTransaction, ReadableDatabase};

use super::codec;
use super::committer::{Layers, Published};
use super::pending::Pending;
use super::tables::{Counters, KV, LOG, META};
use crate::error::{Error, Result};
use crate::types::*;

fn internal(e: impl std::fmt::Display) -> Error {
    Error::io("embedded store read", e)
}

pub(crate) struct Snapshot {
    rtx: ReadTransaction,
    layers: Arc<Layers>,
    /// The revision redb's tables are at (≤ the latest; the layers hold the rest).
    redb_revision: Revision,
    pub(crate) counters: Counters,
}

impl Snapshot {
    /// Takes the layers, then a redb snapshot. If a layer newer than ours reached redb in
    /// between, redb is ahead of our layers: take both again. (redb behind the end of a layer
    /// is fine: the layer holds the same values.)
    pub(crate) fn open(db: &Database, published: &Published) -> Result<Snapshot> {
        loop {
            let layers = published
                .read()
                .map_err(|_| Error::Io("store state lock poisoned".into()))?
                .clone();
            let rtx = db.begin_read().map_err(internal)?;
            let redb =
                Counters::load(&rtx.open_table(META).map_err(internal)?).map_err(internal)?;
            let counters = layers.active.counters;
            if redb.revision <= counters.revision {
                return Ok(Snapshot {
                    rtx,
                    layers,
                    redb_revision: redb.revision,
                    counters,
                });
            }
        }
    }

    /// The in-memory layers, oldest first.
    fn layers(&self) -> impl DoubleEndedIterator<Item = &Pending> {
        self.layers
            .frozen
            .as_deref()
            .into_iter()
            .chain(std::iter::once(&*self.layers.active))
    }

    /// Resolves a requested read revision: `None` when it is the latest state.
    fn historical(&self, revision: Option<Revision>) -> Result<Option<Revision>> {
        match revision {
            None | Some(0) => Ok(None),
            Some(r) if r == self.counters.revision => Ok(None),
            Some(r) if r > self.counters.revision => Err(Error::FutureRevision {
                requested: r,
                current: self.counters.revision,
            }),
            Some(r) if r < self.counters.compacted => Err(Error::Compacted {
                requested: r,
                compacted: self.counters.compacted,
            }),
            Some(r) => Ok(Some(r)),
        }
    }

    /// Visits the events after `after` in order: redb's, then each layer's; stops early when
    /// `visit` returns false.
    fn for_each_event_after(
        &self,
        after: Revision,
        mut visit: impl FnMut((u64, u32), EventRef<'_>) -> Result<bool>,
    ) -> Result<()> {
        let log = self.rtx.open_table(LOG).map_err(internal)?;
        for entry in log
            .range((after + 1, 0)..(self.redb_revision + 1, 0))
            .map_err(internal)?
        {
            let (k, raw) = entry.map_err(internal)?;
            if !visit(k.value(), EventRef::Raw(raw.value()))? {
                return Ok(());
            }
        }
        let mut floor = after.max(self.redb_revision);
        for layer in self.layers() {
            for (at, event) in layer.log.range((floor + 1, 0)..) {
                if !visit(*at, EventRef::Decoded(event))? {
                    return Ok(());
                }
            }
            floor = floor.max(layer.counters.revision);
        }
        Ok(())
    }

    /// For each key matching `wanted` that changed after `revision`, its value at `revision`.
    fn changed_since(
        &self,
        revision: Revision,
        wanted: impl Fn(&[u8]) -> bool,
    ) -> Result<BTreeMap<String, Option<KeyValue>>> {
        let mut before = BTreeMap::new();
        self.for_each_event_after(revision, |_, event| {
            let key = event.key()?;
            if wanted(key) && !before.contains_key(String::from_utf8_lossy(key).as_ref()) {
                let event = event.decode()?;
                before.insert(event.kv.key, event.prev);
            }
            Ok(true)
        })?;
        Ok(before)
    }

    pub(crate) fn get(
        &self,
        key: &str,
        revision: Option<Revision>,
    ) -> Result<(Option<KeyValue>, Revision)> {
        let at = self.historical(revision)?;
        let kv = self.rtx.open_table(KV).map_err(internal)?;
        let latest = self
            .layers
            .active
            .current(self.layers.frozen.as_deref(), &kv, key)
            .map_err(internal)?;
        match at {
            None => Ok((latest, self.counters.revision)),
            Some(r) => {
                let mut changed = self.changed_since(r, |k| k == key.as_bytes())?;
                Ok((changed.remove(key).unwrap_or(latest), r))
            }
        }
    }

    pub(crate) fn list(&self, prefix: &str, opts: &ListOptions) -> Result<ListResult> {
        let at = self.historical(opts.revision)?;
        let start = opts.start(prefix);
        let in_range = |k: &[u8]| k >= start.as_bytes() && k.starts_with(prefix.as_bytes());
        let changed = match at {
            Some(r) => self.changed_since(r, in_range)?,
            None => BTreeMap::new(),
        };
        let kv = self.rtx.open_table(KV).map_err(internal)?;
        let stored = kv
            .range(start..)
            .map_err(internal)?
            .map(|entry| -> Result<Entry> {
                let (k, v) = entry.map_err(internal)?;
                let kv = codec::decode_kv(k.value(), v.value()).map_err(internal)?;
                Ok((kv.key.clone(), Some(kv)))
            })
            .take_while(|item| item.as_ref().map_or(true, |(k, _)| k.starts_with(prefix)));
        let layer_range = |layer: &Pending| -> Vec<Entry> {
            layer
                .kv
                .range(start.to_string()..)
                .take_while(|(k, _)| k.starts_with(prefix))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        let frozen = self
            .layers
            .frozen
            .as_deref()
            .map(layer_range)
            .unwrap_or_default();
        let active = layer_range(&self.layers.active);
        let state = overlay(overlay(overlay(stored, frozen), active), changed);
        let limit = opts.limit.filter(|&l| l > 0).unwrap_or(usize::MAX);
        let mut kvs = Vec::new();
        let mut more = false;
        for item in state {
            if let (_, Some(kv)) = item? {
                if kvs.len() == limit {
                    more = true;
                    break;
                }
                kvs.push(kv);
            }
        }
        Ok(ListResult {
            kvs,
            revision: at.unwrap_or(self.counters.revision),
            more,
        })
    }

    pub(crate) fn count(&self, prefix: &str) -> Result<u64> {
        let kv = self.rtx.open_table(KV).map_err(internal)?;
        let mut n: i64 = 0;
        for entry in kv.range(prefix..).map_err(internal)? {
            let (k, _) = entry.map_err(internal)?;
            if !k.value().starts_with(prefix) {
                break;
            }
            n += 1;
        }
        // Keys the layers created or deleted relative to what redb holds; the newest layer's
        // word on a key wins.
        let mut seen = BTreeSet::new();
        for layer in self.layers().rev() {
            for (key, value) in layer.kv.range(prefix.to_string()..) {
                if !key.starts_with(prefix) {
                    break;
                }
                if seen.insert(key.as_str()) {
                    let in_redb = kv.get(key.as_str()).map_err(internal)?.is_some();
                    n += i64::from(value.is_some()) - i64::from(in_redb);
                }
            }
        }
        Ok(n.max(0) as u64)
    }

    /// Events after `after` on keys under `prefix`, reading about `max` log entries (never
    /// stopping inside a revision). Returns the events, the revision through which every event
    /// has been read, and whether that is the end of the log.
    pub(crate) fn events_after(
        &self,
        prefix: &str,
        after: Revision,
        max: usize,
    ) -> Result<(Vec<Event>, Revision, bool)> {
        if after + 1 < self.counters.compacted {
            return Err(Error::Compacted {
                requested: after,
                compacted: self.counters.compacted,
            });
        }
        let mut events = Vec::new();
        let mut through = after;
        let mut read = 0;
        let mut done = true;
        self.for_each_event_after(after, |(revision, _), event| {
            if read >= max && revision != through {
                done = false;
                return Ok(false);
            }
            read += 1;
            through = revision;
            if event.key()?.starts_with(prefix.as_bytes()) {
                events.push(event.decode()?);
            }
            Ok(true)
        })?;
        if done {
            through = self.counters.revision.max(after);
        }
        Ok((events, through, done))
    }
}

/// A log event as stored in redb (decoded only when wanted) or as held in a layer.
enum EventRef<'a> {
    Raw(&'a [u8]),
    Decoded(&'a Event),
}

impl EventRef<'_> {
    fn key(&self) -> Result<&[u8]> {
        match self {
            EventRef::Raw(raw) => codec::event_key(raw).map_err(internal),
            EventRef::Decoded(e) => Ok(e.kv.key.as_bytes()),
        }
    }

    fn decode(&self) -> Result<Event> {
        match self {
            EventRef::Raw(raw) => codec::decode_event(raw).map_err(internal),
            EventRef::Decoded(e) => Ok((*e).clone()),
        }
    }
}

type Entry = (String, Option<KeyValue>);

/// `over` laid over `base`: both in key order; on equal keys `over` wins. A `None` value
/// stands for an absent key and is passed through, so overlays stack.
fn overlay<B, O>(base: B, over: O) -> Overlay<B, O::IntoIter>
where
    B: Iterator<Item = Result<Entry>>,
    O: IntoIterator<Item = Entry>,
{
    Overlay {
        base: base.peekable(),
        over: over.into_iter().peekable(),
    }
}

struct Overlay<B: Iterator<Item = Result<Entry>>, O: Iterator<Item = Entry>> {
    base: Peekable<B>,
    over: Peekable<O>,
}

impl<B: Iterator<Item = Result<Entry>>, O: Iterator<Item = Entry>> Iterator for Overlay<B, O> {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        let base_key = match self.base.peek() {
            Some(Ok((k, _))) => Some(k.as_str()),
            Some(Err(_)) => return self.base.next(),
            None => None,
        };
        let over_key = self.over.peek().map(|(k, _)| k.as_str());
        match (base_key, over_key) {
            (None, None) => None,
            (Some(b), Some(o)) if o < b => self.over.next().map(Ok),
            (Some(b), Some(o)) if o == b => {
                self.base.next();
                self.over.next().map(Ok)
            }
            (Some(_), _) => self.base.next(),
            (None, Some(_)) => self.over.next().map(Ok),
        }
    }
}
