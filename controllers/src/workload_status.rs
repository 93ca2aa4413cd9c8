//! How a workload controller ends a sync: its status written as a merge patch of `status`
//! (an object deleted meanwhile is no error: there is nothing left to report on), and the
//! next sync asked for when a deadline is pending.

use std::fmt::Debug;
use std::time::Duration;

use kube::Api;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

/// Writes `status` into object `name`'s status subresource.
pub async fn write<K>(api: &Api<K>, name: &str, status: &impl Serialize) -> Result<(), kube::Error>
where
    K: Clone + DeserializeOwned + Debug,
{
    let patch = Patch::Merge(json!({ "status": status }));
    match api
        .patch_status(name, &PatchParams::default(), &patch)
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// Synced again after `seconds` (at least one) when something is due then, else on the next
/// change of what the controller watches.
pub fn next_sync(seconds: Option<i64>) -> Action {
    match seconds {
        Some(s) => Action::requeue(Duration::from_secs(s.max(1) as u64)),
        None => Action::await_change(),
    }
}
