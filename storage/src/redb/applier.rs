//! The applier thread: each frozen layer written to redb in one durable transaction, with a
//! bounded chunk of the log entries that compaction left behind deleted in the same one.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};

use redb::{Database, Durability, ReadableTable, Table};

use super::pending::Pending;
use super::tables::{KV, LOG, META};
use crate::error::{Error, Result};
use crate::types::Revision;

/// Log entries deleted per apply by physical compaction, to bound the pause it adds.
const SWEEP_CHUNK: usize = 16 * 1024;

/// A frozen layer for the applier to write to redb, with the compaction sweep to continue.
pub(super) struct ApplyJob {
    pub layer: Arc<Pending>,
    pub sweep_below: Revision,
}

pub(super) enum Applied {
    /// Durable in redb; what remains to sweep.
    Done {
        sweep_below: Revision,
    },
    Failed(String),
}

/// The applier thread: writes each frozen layer to redb in one durable transaction.
pub(super) fn applier(db: Arc<Database>, jobs: Receiver<ApplyJob>, done: Sender<Applied>) {
    for job in jobs {
        let outcome = match write_layer(&db, &job.layer, job.sweep_below) {
            Ok(sweep_below) => Applied::Done { sweep_below },
            Err(e) => Applied::Failed(e.to_string()),
        };
        if done.send(outcome).is_err() {
            return;
        }
    }
}

/// Writes `layer` to redb in one durable transaction, with a chunk of the compaction sweep;
/// returns what remains to sweep.
pub(super) fn write_layer(
    db: &Database,
    layer: &Pending,
    sweep_below: Revision,
) -> Result<Revision> {
    let mut wtx = db.begin_write().map_err(internal)?;
    wtx.set_durability(Durability::Immediate)
        .map_err(internal)?;
    // Saves the allocator state, so a crashed store reopens (and passes the read-only format
    // check) without a full repair.
    wtx.set_quick_repair(true);
    let remaining = {
        let mut kv = wtx.open_table(KV).map_err(internal)?;
        let mut log = wtx.open_table(LOG).map_err(internal)?;
        let mut meta = wtx.open_table(META).map_err(internal)?;
        layer.write_to(&mut kv, &mut log).map_err(internal)?;
        layer.counters.save(&mut meta).map_err(internal)?;
        sweep(&mut log, sweep_below)?
    };
    wtx.commit().map_err(internal)?;
    Ok(remaining)
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

fn internal(e: impl std::fmt::Display) -> Error {
    Error::io("embedded store", e)
}
