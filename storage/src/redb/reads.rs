//! Reads of the embedded backend, each from one redb snapshot.
//!
//! The kv table holds only the latest value of each key. The state at an older revision `r`
//! is the latest state with, for every key changed after `r`, the previous value carried by
//! the first log event after `r` on that key. That costs one scan of the log since `r`, which
//! compaction bounds, and serves both historical gets and paginated lists at a fixed revision.

use std::collections::BTreeMap;
use std::iter::Peekable;

use redb::{Database, ReadTransaction, ReadableDatabase};

use super::codec;
use super::tables::{self, Counters, KV, LOG, META};
use crate::error::{Error, Result};
use crate::types::*;

fn internal(e: impl std::fmt::Display) -> Error {
    Error::io("embedded store read", e)
}

pub(crate) struct Snapshot {
    rtx: ReadTransaction,
    pub(crate) counters: Counters,
}

impl Snapshot {
    pub(crate) fn open(db: &Database) -> Result<Snapshot> {
        let rtx = db.begin_read().map_err(internal)?;
        let counters =
            Counters::load(&rtx.open_table(META).map_err(internal)?).map_err(internal)?;
        Ok(Snapshot { rtx, counters })
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

    /// For each key matching `wanted` that changed after `revision`, its value at `revision`.
    fn changed_since(
        &self,
        revision: Revision,
        wanted: impl Fn(&[u8]) -> bool,
    ) -> Result<BTreeMap<String, Option<KeyValue>>> {
        let log = self.rtx.open_table(LOG).map_err(internal)?;
        let mut before = BTreeMap::new();
        for entry in log.range((revision + 1, 0)..).map_err(internal)? {
            let (_, raw) = entry.map_err(internal)?;
            let raw = raw.value();
            let key = codec::event_key(raw).map_err(internal)?;
            if !wanted(key) {
                continue;
            }
            let key = String::from_utf8_lossy(key);
            if before.contains_key(key.as_ref()) {
                continue;
            }
            let event = codec::decode_event(raw).map_err(internal)?;
            before.insert(event.kv.key, event.prev);
        }
        Ok(before)
    }

    pub(crate) fn get(
        &self,
        key: &str,
        revision: Option<Revision>,
    ) -> Result<(Option<KeyValue>, Revision)> {
        let at = self.historical(revision)?;
        let kv = self.rtx.open_table(KV).map_err(internal)?;
        let latest = tables::read_kv(&kv, key).map_err(internal)?;
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
        let start = match &opts.continue_from {
            Some(from) if from.as_str() > prefix => from.as_str(),
            _ => prefix,
        };
        let in_range = |k: &[u8]| k >= start.as_bytes() && k.starts_with(prefix.as_bytes());
        let changed = match at {
            Some(r) => self.changed_since(r, in_range)?,
            None => BTreeMap::new(),
        };
        let kv = self.rtx.open_table(KV).map_err(internal)?;
        let latest = kv
            .range(start..)
            .map_err(internal)?
            .map(|entry| -> Result<(String, Option<KeyValue>)> {
                let (k, v) = entry.map_err(internal)?;
                let kv = codec::decode_kv(k.value(), v.value()).map_err(internal)?;
                Ok((kv.key.clone(), Some(kv)))
            })
            .take_while(|item| item.as_ref().map_or(true, |(k, _)| k.starts_with(prefix)));
        let limit = opts.limit.filter(|&l| l > 0).unwrap_or(usize::MAX);
        let mut kvs = Vec::new();
        let mut more = false;
        let merged = Overlay {
            latest: latest.peekable(),
            changed: changed.into_iter().peekable(),
        };
        for item in merged {
            if let Some(kv) = item? {
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
        let mut n = 0;
        for entry in kv.range(prefix..).map_err(internal)? {
            let (k, _) = entry.map_err(internal)?;
            if !k.value().starts_with(prefix) {
                break;
            }
            n += 1;
        }
        Ok(n)
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
        let log = self.rtx.open_table(LOG).map_err(internal)?;
        let mut events = Vec::new();
        let mut through = after;
        for (read, entry) in log.range((after + 1, 0)..).map_err(internal)?.enumerate() {
            let (k, raw) = entry.map_err(internal)?;
            let (revision, _) = k.value();
            if read >= max && revision != through {
                return Ok((events, through, false));
            }
            through = revision;
            if codec::event_key(raw.value())
                .map_err(internal)?
                .starts_with(prefix.as_bytes())
            {
                events.push(codec::decode_event(raw.value()).map_err(internal)?);
            }
        }
        Ok((events, self.counters.revision.max(after), true))
    }
}

/// Merges the latest keys with the values some of them had at an older revision, in key order.
struct Overlay<L: Iterator<Item = Result<(String, Option<KeyValue>)>>> {
    latest: Peekable<L>,
    changed: Peekable<std::collections::btree_map::IntoIter<String, Option<KeyValue>>>,
}

impl<L: Iterator<Item = Result<(String, Option<KeyValue>)>>> Iterator for Overlay<L> {
    type Item = Result<Option<KeyValue>>;

    fn next(&mut self) -> Option<Self::Item> {
        let latest_key = match self.latest.peek() {
            Some(Ok((k, _))) => Some(k.as_str()),
            Some(Err(_)) => return self.latest.next().map(|r| r.map(|(_, v)| v)),
            None => None,
        };
        let changed_key = self.changed.peek().map(|(k, _)| k.as_str());
        match (latest_key, changed_key) {
            (None, None) => None,
            (Some(l), Some(c)) if c < l => self.changed.next().map(|(_, v)| Ok(v)),
            (Some(l), Some(c)) if c == l => {
                self.latest.next();
                self.changed.next().map(|(_, v)| Ok(v))
            }
            (Some(_), _) => self.latest.next().map(|r| r.map(|(_, v)| v)),
            (None, Some(_)) => self.changed.next().map(|(_, v)| Ok(v)),
        }
    }
}
