//! Crash recovery: the journal records above redb's revision applied again and made durable
//! in redb before the store opens.

use redb::{Database, ReadableDatabase};

use super::applier::write_layer;
use super::pending::Pending;
use super::tables::{Counters, JournalBatch, KV};
use crate::error::{Error, Result};

/// Re-applies journal records above the database's revision (after a crash) and makes the
/// result durable in redb.
pub(super) fn replay(
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
                    .apply_revision(None, &kv, revision, writes)
                    .map_err(internal)?;
                applied += 1;
            }
            if batch.compact > pending.counters.compacted {
                pending.compact(batch.compact);
            }
        }
    }
    write_layer(db, &pending, 0)?;
    *counters = pending.counters;
    Ok(applied)
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::io("embedded store", e)
}
