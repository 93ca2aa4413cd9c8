//! The repair pass, as upstream's repair controllers run it: each range's bitmap is made to
//! hold exactly what the stored services use. It runs as the server starts (so services
//! stored before the bitmaps existed are taken in) and every three minutes after. A value
//! taken that no service uses is freed only when three passes in a row found it so, since a
//! value is taken just before its service is stored.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use storage::{ListOptions, Store};

use super::range::Range;
use super::stored;
use crate::error::ApiError;

const INTERVAL: Duration = Duration::from_secs(180);
/// Passes in a row that must find a value unused before it is freed.
const PASSES_BEFORE_FREEING: u8 = 3;
/// Passes tried when allocations keep landing in between.
const ATTEMPTS: usize = 5;
const SERVICES: &str = "/registry/core/services/";
/// Where the reservations of the allocator this replaces were kept.
const OLD_RESERVATIONS: &str = "/registry/oxshift.io/serviceallocations/";

/// Repairs the bitmaps now, then every three minutes for the life of the process.
pub async fn start(store: Arc<dyn Store>) -> Result<(), ApiError> {
    forget_old_reservations(store.as_ref()).await;
    let mut repair = Repair::default();
    repair.run(store.as_ref()).await?;
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(INTERVAL).await;
            if let Err(error) = repair.run(store.as_ref()).await {
                tracing::warn!(%error, "repairing the service address allocations failed");
            }
        }
    });
    Ok(())
}

/// The leak counts carried from pass to pass.
#[derive(Default)]
pub(super) struct Repair {
    /// Values found taken but unused, with the passes left before they are freed.
    suspects: HashMap<(Range, usize), u8>,
}

impl Repair {
    /// One pass over both ranges.
    pub(super) async fn run(&mut self, store: &dyn Store) -> Result<(), ApiError> {
        for range in Range::ALL {
            let mut stored = false;
            for _ in 0..ATTEMPTS {
                if self.pass(store, range).await? {
                    stored = true;
                    break;
                }
            }
            if !stored {
                return Err(ApiError::Internal(format!(
                    "the allocations of {} kept changing during their repair",
                    range.spec()
                )));
            }
        }
        Ok(())
    }

    /// Rebuilds `range`'s bitmap from the services stored at the revision it was read at;
    /// false if it changed before the result could be stored.
    async fn pass(&mut self, store: &dyn Store, range: Range) -> Result<bool, ApiError> {
        let snapshot = stored::read(store, range, None).await?;
        let at = ListOptions {
            revision: Some(snapshot.revision),
            ..Default::default()
        };
        let services = store
            .list(SERVICES, at)
            .await
            .map_err(|e| ApiError::Internal(format!("unable to refresh the services: {e}")))?;
        let mut rebuilt = range.empty();
        for kv in &services.kvs {
            let Ok(svc) = crate::registry::object::from_store(kv) else {
                continue;
            };
            let values = super::wants::held(&svc).values();
            for (_, offset) in values.into_iter().filter(|(r, _)| *r == range) {
                if !rebuilt.allocate(offset) {
                    tracing::warn!(
                        value = range.show(offset),
                        service = kv.key,
                        "a service address was assigned to multiple services; please recreate the service"
                    );
                }
                if !snapshot.bitmap.has(offset) {
                    tracing::info!(
                        value = range.show(offset),
                        service = kv.key,
                        "a service address was not allocated; repairing"
                    );
                }
            }
        }
        let mut suspects = HashMap::new();
        let unused: Vec<usize> = snapshot
            .bitmap
            .taken()
            .filter(|&o| !rebuilt.has(o))
            .collect();
        for offset in unused {
            let left = self.suspects.get(&(range, offset)).copied();
            let left = left.unwrap_or(PASSES_BEFORE_FREEING).saturating_sub(1);
            if left > 0 {
                // Still taken until the count runs out: its service may be on its way.
                rebuilt.allocate(offset);
                suspects.insert((range, offset), left);
            } else {
                tracing::info!(
                    value = range.show(offset),
                    "a service address appears to have leaked; freeing it"
                );
            }
        }
        if rebuilt != snapshot.bitmap
            && !stored::write(store, range, snapshot.mod_revision, &rebuilt).await?
        {
            return Ok(false);
        }
        self.suspects.retain(|(r, _), _| *r != range);
        self.suspects.extend(suspects);
        Ok(true)
    }
}

/// Deletes the per-value reservations the previous allocator kept (the bitmaps replace them).
async fn forget_old_reservations(store: &dyn Store) {
    let Ok(old) = store.list(OLD_RESERVATIONS, ListOptions::default()).await else {
        return;
    };
    for kv in old.kvs {
        let _ = store.delete(&kv.key, Some(kv.mod_revision)).await;
    }
}
