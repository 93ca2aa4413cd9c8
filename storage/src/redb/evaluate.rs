//! One transaction evaluated against the latest state (active layer, frozen layer, redb): its
//! compares checked, its writes applied to the active layer at the next revision.

use std::collections::HashMap;

use redb::ReadableTable;

use super::pending::Pending;
use super::tables::{JournalBatch, Write};
use crate::error::{Error, Result};
use crate::types::*;

/// Checks the transaction's compares and applies its writes at the next revision.
pub(super) fn evaluate(
    pending: &mut Pending,
    frozen: Option<&Pending>,
    kv: &impl ReadableTable<&'static str, &'static [u8]>,
    txn: Txn,
    journal: &mut JournalBatch,
    events: &mut Vec<Event>,
) -> Result<TxnOutcome> {
    let mut current = Vec::with_capacity(txn.compares.len());
    let mut holds = true;
    for compare in &txn.compares {
        let now = pending
            .current(frozen, kv, &compare.key)
            .map_err(internal)?;
        holds &= now.as_ref().map_or(0, |k| k.mod_revision) == compare.mod_revision;
        current.push(now);
    }
    if !holds {
        return Ok(TxnOutcome::Failed { current });
    }
    let mut writes = Vec::with_capacity(txn.ops.len());
    for op in &txn.ops {
        match op {
            TxnOp::Put { key, value } => writes.push(Write {
                key: key.clone(),
                value: Some(value.clone()),
            }),
            TxnOp::Delete { key } => {
                if pending
                    .current(frozen, kv, key)
                    .map_err(internal)?
                    .is_some()
                {
                    writes.push(Write {
                        key: key.clone(),
                        value: None,
                    });
                }
            }
        }
    }
    if writes.is_empty() {
        let results = txn
            .ops
            .iter()
            .map(|_| OpResult {
                prev: None,
                kv: None,
            })
            .collect();
        return Ok(TxnOutcome::Committed {
            revision: pending.counters.revision,
            results,
        });
    }
    let revision = pending.counters.revision + 1;
    let applied = pending
        .apply_revision(frozen, kv, revision, &writes)
        .map_err(internal)?;
    let mut by_key: HashMap<&str, &Event> =
        applied.iter().map(|e| (e.kv.key.as_str(), e)).collect();
    let results = txn
        .ops
        .iter()
        .map(|op| match by_key.remove(op.key()) {
            Some(ev) => OpResult {
                prev: ev.prev.clone(),
                kv: (ev.kind == EventKind::Put).then(|| ev.kv.clone()),
            },
            None => OpResult {
                prev: None,
                kv: None,
            },
        })
        .collect();
    journal.revisions.push(writes);
    events.extend(applied);
    Ok(TxnOutcome::Committed { revision, results })
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::io("embedded store", e)
}
