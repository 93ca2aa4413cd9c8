//! The in-process controller of CustomResourceDefinitions (upstream runs its naming,
//! establishing and finalizing controllers inside the API server too): on every change of a
//! definition it reads them all, serves the resources of those whose names are accepted,
//! then writes the conditions that changed, checks again the admission policies naming
//! custom kinds (`admission/policy/recheck.rs`), and finishes the deletion of definitions being
//! deleted (`cleanup.rs`). Serving comes first, so a client that sees `Established` can use
//! the resource at once.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::{cleanup, definition, names};
use crate::ApiServer;
use api::scheme::ResourceDef;

use crate::error::ApiError;
use crate::registry::object;

pub const GROUP: &str = "apiextensions.k8s.io";
pub const PLURAL: &str = "customresourcedefinitions";

/// How long the controller waits for a change before looking again anyway.
const RESYNC: Duration = Duration::from_secs(30);
/// How soon a definition still waiting for its instances to go is looked at again.
const CLEANUP_RETRY: Duration = Duration::from_millis(500);

pub async fn run(server: Arc<ApiServer>) {
    crate::kind_loop::run(&server, GROUP, PLURAL, pass).await
}

/// One look at every definition; how long to wait for the next change.
async fn pass(server: &ApiServer, def: &ResourceDef, crds: &[Value]) -> Result<Duration, ApiError> {
    let def = *def;
    let decisions = names::decide(crds, &object::now());
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
    // The policies that name custom kinds, checked against what is served now.
    if let Err(e) = crate::admission::policy_recheck::custom_kinds_served(server).await {
        tracing::debug!(error = %e, "policies not checked again");
    }
    let mut pending = false;
    for crd in crds.iter().filter(|c| cleanup::being_deleted(c)) {
        pending |= !cleanup::finish(server, &def, crd).await?;
    }
    Ok(if pending { CLEANUP_RETRY } else { RESYNC })
}
