//! The loop of the controllers the server runs in its own process (custom resource
//! definitions, APIServices): each pass reads every object of one kind from the store, acts on
//! them, then waits for the kind's next change, or for as long as the pass asked, before the
//! next pass. A failed pass is retried after a pause.

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use crate::ApiServer;
use crate::error::{ApiError, from_storage};
use crate::registry::object;

/// The pause after a failed pass.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// Runs `pass` over the objects of `<group>/v1` `plural` until the process ends; `pass`
/// returns how long to wait at most for a change before the next one.
pub(crate) async fn run<F>(server: &ApiServer, group: &str, plural: &str, mut pass: F)
where
    F: AsyncFnMut(&ApiServer, &api::scheme::ResourceDef, &[Value]) -> Result<Duration, ApiError>,
{
    loop {
        if let Err(e) = once(server, group, plural, &mut pass).await {
            tracing::warn!(error = %e, "{plural}: retrying");
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }
}

async fn once<F>(
    server: &ApiServer,
    group: &str,
    plural: &str,
    pass: &mut F,
) -> Result<(), ApiError>
where
    F: AsyncFnMut(&ApiServer, &api::scheme::ResourceDef, &[Value]) -> Result<Duration, ApiError>,
{
    let def = *server
        .scheme
        .lookup(group, "v1", plural)
        .ok_or(ApiError::PathNotFound)?;
    let prefix = def.key_prefix();
    let storage_error = |e| from_storage(e, object::target(&def, ""));
    let listed = server
        .store
        .list(&prefix, Default::default())
        .await
        .map_err(storage_error)?;
    let objects: Vec<Value> = listed
        .kvs
        .iter()
        .filter_map(|kv| object::from_store(kv).ok())
        .collect();
    let wait = pass(server, &def, &objects).await?;
    let mut changes = server
        .store
        .watch(&prefix, listed.revision)
        .await
        .map_err(storage_error)?;
    // Any event, the end of the watch or the time running out: look again.
    let _ = tokio::time::timeout(wait, changes.next()).await;
    Ok(())
}
