//! A range's allocations as the store keeps them: one RangeAllocation object under the
//! range's own key, changed only by compare-and-swap on its revision, so that concurrent
//! writers (in this process or another API server) never both take a value.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde_json::{Value, json};
use storage::{Revision, Store};

use super::bitmap::Bitmap;
use super::range::Range;
use crate::error::ApiError;

/// A range's bitmap as read, with the revisions that make a write of it a compare-and-swap.
pub(super) struct Snapshot {
    pub(super) bitmap: Bitmap,
    /// The object's mod revision; 0 when it is not stored yet.
    pub(super) mod_revision: Revision,
    /// The store revision it was read at.
    pub(super) revision: Revision,
}

/// This process's writers of a range take turns, so that they do not spin on each other's
/// compare-and-swap; other API servers are kept apart by the compare-and-swap itself.
static TURNS: [tokio::sync::Mutex<()>; 2] = [
    tokio::sync::Mutex::const_new(()),
    tokio::sync::Mutex::const_new(()),
];

fn failed(range: Range, e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!("the allocations of {}: {e}", range.spec()))
}

fn storage_error(range: Range, e: storage::Error) -> ApiError {
    match e {
        storage::Error::Unavailable(m) => ApiError::ServiceUnavailable(m),
        e => failed(range, e),
    }
}

/// The range's allocations at the latest revision, or at `revision`.
pub(super) async fn read(
    store: &dyn Store,
    range: Range,
    revision: Option<Revision>,
) -> Result<Snapshot, ApiError> {
    let (found, revision) = store
        .get(range.key(), revision)
        .await
        .map_err(|e| storage_error(range, e))?;
    let Some(kv) = found else {
        return Ok(Snapshot {
            bitmap: range.empty(),
            mod_revision: 0,
            revision,
        });
    };
    let object: Value = serde_json::from_slice(&kv.value).map_err(|e| failed(range, e))?;
    if object["range"] != range.spec() {
        return Err(failed(
            range,
            format!("stored for the range {}", object["range"]),
        ));
    }
    let data = STANDARD
        .decode(object["data"].as_str().unwrap_or_default())
        .map_err(|e| failed(range, e))?;
    Ok(Snapshot {
        bitmap: range.decode(&data).map_err(|e| failed(range, e))?,
        mod_revision: kv.mod_revision,
        revision,
    })
}

/// Stores `bitmap` if the range is still at `mod_revision`; false if it changed meanwhile.
pub(super) async fn write(
    store: &dyn Store,
    range: Range,
    mod_revision: Revision,
    bitmap: &Bitmap,
) -> Result<bool, ApiError> {
    let name = range.key().rsplit('/').next().unwrap_or_default();
    let object = json!({
        "apiVersion": "v1",
        "kind": "RangeAllocation",
        "metadata": {"name": name},
        "range": range.spec(),
        "data": STANDARD.encode(bitmap.to_bytes()),
    });
    let value = Bytes::from(object.to_string());
    let written = match mod_revision {
        0 => store.create(range.key(), value).await,
        revision => store.update(range.key(), value, revision).await,
    };
    match written {
        Ok(_) => Ok(true),
        Err(
            storage::Error::Conflict { .. }
            | storage::Error::KeyExists { .. }
            | storage::Error::NotFound { .. },
        ) => Ok(false),
        Err(e) => Err(storage_error(range, e)),
    }
}

/// Applies `change` to the range's allocations and stores the result, taking turns with
/// this process's other writers. `change` may run more than once (on a fresh read each time);
/// what it returns on the run that was stored is returned. Nothing is written when `change`
/// fails or changes nothing.
pub(super) async fn update<T>(
    store: &dyn Store,
    range: Range,
    change: impl FnMut(&mut Bitmap) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let _turn = TURNS[range as usize].lock().await;
    swap_until_stored(store, range, change).await
}

/// `update` without taking turns: the compare-and-swap loop alone.
pub(super) async fn swap_until_stored<T>(
    store: &dyn Store,
    range: Range,
    mut change: impl FnMut(&mut Bitmap) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    loop {
        let mut snapshot = read(store, range, None).await?;
        let before = snapshot.bitmap.clone();
        let result = change(&mut snapshot.bitmap)?;
        if snapshot.bitmap == before
            || write(store, range, snapshot.mod_revision, &snapshot.bitmap).await?
        {
            return Ok(result);
        }
    }
}

/// What `change` would do to the range's allocations now, without storing it (dry runs).
pub(super) async fn preview<T>(
    store: &dyn Store,
    range: Range,
    change: impl FnOnce(&mut Bitmap) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    change(&mut read(store, range, None).await?.bitmap)
}
