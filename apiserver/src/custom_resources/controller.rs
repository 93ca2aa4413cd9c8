//! The in-process controller of CustomResourceDefinitions (upstream runs its naming,
//! establishing and finalizing controllers inside the API server too): on every change of a
//! definition it reads them all, serves the resources of those whose names are accepted,
//! then writes the conditions that changed, and finishes the deletion of definitions being
//! deleted (`cleanup.rs`). Serving comes first, so a client that sees `Established` can use
//! the resource at once.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use super::{cleanup, definition, names};
use crate::ApiServer;
use crate::error::{ApiError, from_storage};
use crate::registry::object;

pub const GROUP: &str = "apiextensions.k8s.io";
pub const PLURAL: &str = "customresourcedefinitions";

/// How long the controller waits for a change before looking again anyway.
const RESYNC: Duration = Duration::from_secs(30);
/// How soon a definition still waiting for its instances to go is looked at again.
const CLEANUP_RETRY: Duration = Duration::from_millis(500);
/// The pause after a failed pass.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

pub async fn run(server: Arc<ApiServer>) {
    loop {
        if let Err(e) = pass(&server).await {
            tracing::warn!(error = %e, "custom resource definitions: retrying");
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }
}

/// One look at every definition, then the wait for the next change.
async fn pass(server: &ApiServer) -> Result<(), ApiError> {
    let def = *server
        .scheme
        .lookup(GROUP, "v1", PLURAL)
        .ok_or(ApiError::PathNotFound)?;
    let prefix = def.key_prefix();
    let listed = server
        .store
        .list(&prefix, Default::default())
        .await
        .map_err(|e| from_storage(e, object::target(&def, "")))?;
    let crds: Vec<Value> = listed
        .kvs
        .iter()
        .filter_map(|kv| object::from_store(kv).ok())
        .collect();
    let decisions = names::decide(&crds, &object::now());
    let serving = decisions
        .iter()
        .filter(|d| d.serves)
        .filter_map(|d| crds.iter().find(|c| object::meta_str(c, "name") == d.name))
        .flat_map(definition::served)
        .collect();
    server.custom_resources.replace(serving);
    for decision in &decisions {
        let Some(crd) = crds
            .iter()
            .find(|c| object::meta_str(c, "name") == decision.name)
        else {
            continue;
        };
        if crd["status"] != decision.status {
            let mut next = crd.clone();
            next["status"] = decision.status.clone();
            // A conflict means someone else wrote it: the next pass sees their write.
            if let Err(e) = server.update_object(&def, next).await {
                tracing::debug!(error = %e, crd = %decision.name, "status not written");
            }
        }
    }
    let mut pending = false;
    for crd in crds.iter().filter(|c| cleanup::being_deleted(c)) {
        pending |= !cleanup::finish(server, &def, crd).await?;
    }
    let mut changes = server
        .store
        .watch(&prefix, listed.revision)
        .await
        .map_err(|e| from_storage(e, object::target(&def, "")))?;
    let wait = if pending { CLEANUP_RETRY } else { RESYNC };
    // Any event, the end of the watch or the time running out: look again.
    let _ = tokio::time::timeout(wait, changes.next()).await;
    Ok(())
}
