//! Namespace security allocation: every namespace gets a UID block
//! (`openshift.io/sa.scc.uid-range`, also its `sa.scc.supplemental-groups`) and an SELinux MCS
//! label (`openshift.io/sa.scc.mcs`), unique across namespaces. Blocks are taken from a
//! bitmap persisted in the `scc-uid` RangeAllocation and claimed by compare-and-swap, so
//! concurrent allocations (or controller replicas) never hand out a block twice.

use std::sync::Arc;

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
use crate::backoff::Retries;
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

/// Compare-and-swap attempts on the allocation before giving up (to retry later).
const ATTEMPTS: usize = 16;

/// Frees bit `index` of `bitmap`.
fn free(bitmap: &mut [u8], index: usize) {
    if let Some(byte) = bitmap.get_mut(index / 8) {
        *byte &= !(1 << (index % 8));
    }
}

/// Applies `edit` to the persisted allocation's bitmap by compare-and-swap (creating the
/// allocation first if there is none); what `edit` returned.
async fn update<T>(
    client: &Client,
    edit: impl Fn(&mut Vec<u8>) -> Result<T, Error>,
) -> Result<T, Error> {
    let api = allocations(client);
    for _ in 0..ATTEMPTS {
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
                // Made here or by another: read it.
                Ok(_) => continue,
                Err(kube::Error::Api(e)) if e.code == 409 => continue,
                // Anything else (forbidden, invalid) is not cured by asking again at once.
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
        let result = edit(&mut bitmap)?;
        current.data["data"] = json!(STANDARD.encode(&bitmap));
        // The resourceVersion read above makes this a compare-and-swap.
        match api
            .replace(ALLOCATION, &PostParams::default(), &Object::new(current))
            .await
        {
            Ok(_) => return Ok(result),
            Err(kube::Error::Api(e)) if e.code == 409 => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Invalid(format!(
        "RangeAllocation {ALLOCATION} keeps changing"
    )))
}

/// Claims a free block in the persisted allocation.
async fn allocate(client: &Client) -> Result<usize, Error> {
    update(client, |bitmap| {
        claim(bitmap).ok_or_else(|| Error::Invalid("no UID blocks left to allocate".into()))
    })
    .await
}

/// Gives a claimed block back (it was not recorded on its namespace).
async fn release(client: &Client, block: usize) {
    if let Err(error) = update(client, |bitmap| {
        free(bitmap, block);
        Ok(())
    })
    .await
    {
        tracing::warn!(%error, block, "namespace security allocation: a block could not be released");
    }
}

struct Context {
    client: Client,
    skipped: Skipped,
    retries: Retries,
}

async fn reconcile(ns: Arc<Meta<Namespace>>, ctx: Arc<Context>) -> Result<Action, Error> {
    let name = ns.name_any();
    let action = converge(ns, &ctx).await?;
    ctx.retries.succeeded(&name);
    Ok(action)
}

async fn converge(ns: Arc<Meta<Namespace>>, ctx: &Context) -> Result<Action, Error> {
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
    // Guarded by the version decided on: a namespace annotated meanwhile (a stale view, or
    // another replica) keeps its range, and this block goes back.
    let patch = json!({"metadata": {
        "resourceVersion": ns.metadata.meta.resource_version,
        "annotations": {UID_RANGE: range, SUPPLEMENTAL_GROUPS: range, MCS: mcs_label(block)},
    }});
    // The answer is read for its metadata only: a namespace with other fields of the wrong
    // types is still patched once, not patched again with a new block.
    let namespaces: Api<Meta<Namespace>> = Api::all(client.clone());
    let patched = namespaces
        .patch(
            &ns.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await;
    match patched {
        Ok(_) => {}
        // Changed or gone since: its next version (if any) comes through the watch.
        Err(kube::Error::Api(e)) if e.code == 409 || e.code == 404 => release(client, block).await,
        // Refused: the block was not recorded anywhere.
        Err(kube::Error::Api(e)) if (400..500).contains(&e.code) => {
            release(client, block).await;
            return Err(kube::Error::Api(e).into());
        }
        // Perhaps applied (a lost answer, a server error): keeping the block leaks it at
        // worst, where giving it back could hand it to two namespaces.
        Err(e) => return Err(e.into()),
    }
    Ok(Action::await_change())
}

fn error_policy(ns: Arc<Meta<Namespace>>, error: &Error, ctx: Arc<Context>) -> Action {
    let name = ns.name_any();
    let delay = ctx.retries.failed(&name);
    tracing::warn!(%error, namespace = %name, ?delay, "namespace security allocation: retrying");
    Action::requeue(delay)
}

pub async fn run(client: Client) {
    let namespaces: Api<Meta<Namespace>> = Api::all(client.clone());
    let ctx = Arc::new(Context {
        client,
        skipped: Skipped::new("namespace security allocation"),
        retries: Retries::new(),
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

#[cfg(test)]
mod allocation_tests {
    use super::*;
    use crate::testing::{self, Reply};
    use std::sync::Mutex;
    use std::time::Duration;

    fn context(client: Client) -> Context {
        Context {
            client,
            skipped: Skipped::new("test"),
            retries: Retries::new(),
        }
    }

    fn namespace(rv: &str) -> Arc<Meta<Namespace>> {
        Arc::new(
            serde_json::from_value(
                json!({"metadata": {"name": "p", "uid": "p", "resourceVersion": rv}}),
            )
            .unwrap(),
        )
    }

    /// A server that keeps the allocation, and answers the namespace's patch with `patched`.
    fn server(patched: u16) -> (Client, testing::Log, Arc<Mutex<serde_json::Value>>) {
        let allocation = Arc::new(Mutex::new(json!({
            "apiVersion": "security.openshift.io/v1", "kind": "RangeAllocation",
            "metadata": {"name": ALLOCATION, "resourceVersion": "1"}, "range": "", "data": ""})));
        let stored = allocation.clone();
        let (client, log) = testing::client(move |r| {
            let mut allocation = stored.lock().unwrap();
            match (r.method.as_str(), r.path.as_str()) {
                ("GET", p) if p.ends_with("/rangeallocations/scc-uid") => {
                    Reply::Json(200, allocation.clone())
                }
                ("PUT", p) if p.ends_with("/rangeallocations/scc-uid") => {
                    if r.body["metadata"]["resourceVersion"]
                        != allocation["metadata"]["resourceVersion"]
                    {
                        return testing::status(409, "Conflict");
                    }
                    let rv: u64 = allocation["metadata"]["resourceVersion"]
                        .as_str()
                        .unwrap()
                        .parse()
                        .unwrap();
                    *allocation = r.body.clone();
                    allocation["metadata"]["resourceVersion"] = json!((rv + 1).to_string());
                    Reply::Json(200, allocation.clone())
                }
                ("PATCH", "/api/v1/namespaces/p") if patched == 200 => {
                    Reply::Json(200, json!({"metadata": {"name": "p"}}))
                }
                ("PATCH", "/api/v1/namespaces/p") => testing::status(patched, "Refused"),
                _ => testing::status(404, "NotFound"),
            }
        });
        (client, log, allocation)
    }

    fn claimed(allocation: &Mutex<serde_json::Value>) -> Vec<u8> {
        let data = allocation.lock().unwrap()["data"]
            .as_str()
            .unwrap()
            .to_string();
        STANDARD.decode(data).unwrap()
    }

    #[tokio::test]
    async fn the_patch_is_guarded_and_a_refused_block_goes_back() {
        let (client, log, allocation) = server(409);
        converge(namespace("5"), &context(client)).await.unwrap();
        let patch = log
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.method == "PATCH")
            .cloned()
            .unwrap();
        assert_eq!(patch.body["metadata"]["resourceVersion"], "5");
        assert!(claimed(&allocation).iter().all(|b| *b == 0));
    }

    #[tokio::test]
    async fn a_recorded_block_stays_claimed() {
        let (client, _, allocation) = server(200);
        converge(namespace("5"), &context(client)).await.unwrap();
        assert_eq!(claimed(&allocation)[0], 1);
    }

    /// Before, any API error creating the allocation was retried at once, forever.
    #[tokio::test]
    async fn a_refused_allocation_fails_instead_of_spinning() {
        let (client, log) = testing::client(|r| match r.method.as_str() {
            "POST" => testing::status(403, "Forbidden"),
            _ => testing::status(404, "NotFound"),
        });
        let result = tokio::time::timeout(Duration::from_secs(5), allocate(&client)).await;
        assert!(matches!(result, Ok(Err(_))));
        assert_eq!(log.lock().unwrap().len(), 2);
    }
}
