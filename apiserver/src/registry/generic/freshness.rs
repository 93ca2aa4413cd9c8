//! Reads "not older than" a resourceVersion: the store is given upstream's 3 s to reach it
//! (a client may have seen a revision of another replica that this one's store has not
//! caught up with yet); past that the answer is upstream's 504 `Too large resource version`,
//! with `Retry-After: 1`.

use std::time::Duration;

use storage::{Revision, Store};

use crate::error::{ApiError, from_storage};

/// How long a read waits for the store to reach the revision it asks for.
const WAIT: Duration = Duration::from_secs(3);
const POLL: Duration = Duration::from_millis(20);

/// Waits until `store` has reached `wanted`; the refusal to answer if it does not in time.
pub async fn wait_for(store: &dyn Store, wanted: Revision) -> Result<(), ApiError> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let current = store
            .current_revision()
            .await
            .map_err(|e| from_storage(e, Default::default()))?;
        if current >= wanted {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ApiError::TooLargeResourceVersion {
                requested: wanted,
                current,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}
