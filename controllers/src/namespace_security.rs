//! Namespace security allocation: every namespace gets a UID block
//! (`openshift.io/sa.scc.uid-range`, also its `sa.scc.supplemental-groups`) and an SELinux MCS
//! label (`openshift.io/sa.scc.mcs`), unique across namespaces. Blocks are taken from a
//! bitmap persisted in the `scc-uid` RangeAllocation and claimed by compare-and-swap, so
//! concurrent allocations (or controller replicas) never hand out a block twice.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use serde_json::json;

use crate::Error;
use crate::lenient::{Meta, Object};
use crate::skipped::Skipped;

pub const UID_RANGE: &str = "openshift.io/sa.scc.uid-range";
pub const SUPPLEMENTAL_GROUPS: &str = "openshift.io/sa.scc.supplemental-groups";
pub const MCS: &str = "openshift.io/sa.scc.mcs";

/// Upstream's default UID allocator range: `1000000000-1999999999/10000`.
const FIRST_UID: u64 = 1_000_000_000;
const BLOCK_SIZE: u64 = 10_000;
const BLOCKS: usize = 100_000;
const ALLOCATION: &str = "scc-uid";

fn allocations(client: &Client) -> Api<Object<DynamicObject>> {
    let resource = ApiResource {
        group: "security.openshift.io".into(),
        version: "v1".into(),
        api_version: "security.openshift.io/v1".into(),
        kind: "RangeAllocation".into(),
        plural: "rangeallocations".into(),
    };
    Api::all_with(client.clone(), &resource)
}

/// The MCS label of block `n`: the n-th pair of distinct categories (`s0:c1,c0`,
/// `s0:c2,c0`, `s0:c2,c1`, ...), highest first as upstream writes them.
pub fn mcs_label(n: usize) -> String {
    let mut high = 1;
    let mut start = 0;
    while start + high <= n {
        start += high;
        high += 1;
    }
    format!("s0:c{high},c{}", n - start)
}

/// The first free bit of `bitmap`, set.
fn claim(bitmap: &mut Vec<u8>) -> Option<usize> {
    bitmap.resize(BLOCKS.div_ceil(8), 0);
    let index = (0..BLOCKS).find(|i| bitmap[i / 8] & (1 << (i % 8)) == 0)?;
    bitmap[index / 8] |= 1 << (index % 8);
    Some(index)
}

/// Claims a free block in the persisted allocation.
async fn allocate(client: &Client) -> Result<usize, Error> {
    let api = allocations(client);
    loop {
        let Some(current) = api.get_opt(ALLOCATION).await? else {
            let mut fresh = DynamicObject::new(
                ALLOCATION,
                &ApiResource {
                    group: "security.openshift.io".into(),
                    version: "v1".into(),
                    api_version: "security.openshift.io/v1".into(),
                    kind: "RangeAllocation".into(),
                    plural: "rangeallocations".into(),
                },
            );
            fresh.data = json!({"range": format!("{FIRST_UID}-{}/{BLOCK_SIZE}", FIRST_UID + BLOCK_SIZE * BLOCKS as u64 - 1), "data": ""});
            match api
                .create(&PostParams::default(), &Object::new(fresh))
                .await
            {
                Ok(_) | Err(kube::Error::Api(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        };
        let Some(mut current) = current.object else {
            return Err(Error::Invalid(format!(
                "RangeAllocation {ALLOCATION} cannot be decoded"
            )));
        };
        let mut bitmap = STANDARD
            .decode(current.data["data"].as_str().unwrap_or_default())
            .map_err(|e| Error::Invalid(format!("RangeAllocation {ALLOCATION}: {e}")))?;
        let block = claim(&mut bitmap)
            .ok_or_else(|| Error::Invalid("no UID blocks left to allocate".into()))?;
        current.data["data"] = json!(STANDARD.encode(&bitmap));
        // The resourceVersion read above makes this a compare-and-swap.
        match api
            .replace(ALLOCATION, &PostParams::default(), &Object::new(current))
            .await
        {
            Ok(_) => return Ok(block),
            Err(kube::Error::Api(e)) if e.code == 409 => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

struct Context {
    client: Client,
    skipped: Skipped,
}

async fn reconcile(ns: Arc<Meta<Namespace>>, ctx: Arc<Context>) -> Result<Action, Error> {
    // Unreadable annotations are not missing ones: allocating again would replace a range
    // that is in use.
    if ns
        .metadata
        .lacks(&["name", "annotations", "deletionTimestamp"])
    {
        ctx.skipped
            .skip("Namespace", &ns.metadata.meta, &ns.metadata.broken);
        return Ok(Action::await_change());
    }
    let client = &ctx.client;
    let annotations = ns.annotations();
    if ns.metadata.meta.deletion_timestamp.is_some()
        || [UID_RANGE, SUPPLEMENTAL_GROUPS, MCS]
            .iter()
            .all(|a| annotations.contains_key(*a))
    {
        return Ok(Action::await_change());
    }
    let block = allocate(client).await?;
    let range = format!("{}/{BLOCK_SIZE}", FIRST_UID + block as u64 * BLOCK_SIZE);
    let patch = json!({"metadata": {"annotations": {
        UID_RANGE: range, SUPPLEMENTAL_GROUPS: range, MCS: mcs_label(block),
    }}});
    // The answer is read for its metadata only: a namespace with other fields of the wrong
    // types is still patched once, not patched again with a new block.
    let namespaces: Api<Meta<Namespace>> = Api::all(client.clone());
    namespaces
        .patch(
            &ns.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
    Ok(Action::await_change())
}

fn error_policy(_: Arc<Meta<Namespace>>, error: &Error, _: Arc<Context>) -> Action {
    tracing::warn!(%error, "namespace security allocation: retrying");
    Action::requeue(Duration::from_secs(2))
}

pub async fn run(client: Client) {
    let namespaces: Api<Meta<Namespace>> = Api::all(client.clone());
    let ctx = Arc::new(Context {
        client,
        skipped: Skipped::new("namespace security allocation"),
    });
    Controller::new(namespaces, watcher::Config::default())
        .run(reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcs_labels_are_distinct_pairs() {
        assert_eq!(mcs_label(0), "s0:c1,c0");
        assert_eq!(mcs_label(1), "s0:c2,c0");
        assert_eq!(mcs_label(2), "s0:c2,c1");
        assert_eq!(mcs_label(3), "s0:c3,c0");
        let labels: std::collections::HashSet<String> = (0..5000).map(mcs_label).collect();
        assert_eq!(labels.len(), 5000);
    }

    #[test]
    fn blocks_are_claimed_in_order_once() {
        let mut bitmap = Vec::new();
        assert_eq!(claim(&mut bitmap), Some(0));
        assert_eq!(claim(&mut bitmap), Some(1));
        bitmap[0] &= !1;
        assert_eq!(claim(&mut bitmap), Some(0));
        assert_eq!(claim(&mut bitmap), Some(2));
    }
}
