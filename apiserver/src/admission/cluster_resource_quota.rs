//! `quota.openshift.io/ClusterResourceQuota`: an object written in a project is charged to
//! every ClusterResourceQuota whose selector picks the project, each judged as the
//! ResourceQuota it stands for (`api::quota::cluster`), so refusals read as upstream's
//! (`exceeded quota: <cluster quota>, requested: ...`). The charge moves the quota's total and
//! the project's share by compare-and-swap before the object is stored; a lost swap is read
//! again and retried for the quotas not yet charged. Charges take turns across the cluster
//! (a quota spans projects), so swaps are rarely lost; the cluster quota controller later
//! recomputes usage from what is stored.

use serde_json::Value;

use super::Attributes;
use super::resource_quota::{charge_by_swap, name_of};
use crate::ApiServer;
use crate::error::ApiError;
use crate::watch::cache::Cache;

pub const NAME: &str = "quota.openshift.io/ClusterResourceQuota";

/// The turn charges take.
#[derive(Default)]
pub struct State {
    turn: tokio::sync::Mutex<()>,
}

/// The same writes as a namespace's quotas are charged for.
pub fn applies(a: &Attributes<'_>) -> bool {
    super::resource_quota::applies(a)
}

fn definition(server: &ApiServer) -> Result<&api::ResourceDef, ApiError> {
    server
        .scheme
        .lookup("quota.openshift.io", "v1", "clusterresourcequotas")
        .ok_or(ApiError::PathNotFound)
}

/// The cluster quotas whose selector picks `namespace`, as stored, by name.
pub(crate) async fn cluster_quotas_selecting(
    server: &ApiServer,
    namespace: &str,
) -> Result<Vec<Value>, ApiError> {
    let namespaces = server
        .scheme
        .lookup("", "v1", "namespaces")
        .ok_or(ApiError::PathNotFound)?;
    let Some(ns) = server.get_object(namespaces, None, namespace).await? else {
        return Ok(Vec::new());
    };
    let mut quotas = server.list_objects(definition(server)?, None).await?;
    quotas.retain(|q| api::quota::cluster::selects(q, &ns));
    quotas.sort_by(|x, y| name_of(x).cmp(name_of(y)));
    Ok(quotas)
}

pub async fn check(server: &ApiServer, a: &Attributes<'_>, obj: &Value) -> Result<(), ApiError> {
    let Some(namespace) = a.namespace else {
        return Ok(());
    };
    let (def, cache) = server
        .named_cache("quota.openshift.io", "v1", "clusterresourcequotas")
        .await?
        .ok_or(ApiError::PathNotFound)?;
    if !tracked(&cache, def, a) {
        return Ok(());
    }
    let request = api::quota::Request {
        group: a.def.group,
        plural: a.def.plural,
        obj,
        old: a.old,
        now: jiff::Timestamp::now().as_second(),
    };
    let _turn = server.admission.state.cluster_quotas.turn.lock().await;
    let read = || cluster_quotas_selecting(server, namespace);
    let charged = |quota: &Value, charge: &api::quota::Charge| {
        api::quota::cluster::charge(quota, namespace, &charge.used)
    };
    let judged = api::quota::cluster::as_resource_quota;
    charge_by_swap(server, def, a, obj, &request, read, judged, charged).await
}

/// Whether any cluster quota (as the watch cache has them) limits the kind: most writes meet
/// none, and skip the store.
fn tracked(cache: &Cache, def: &api::ResourceDef, a: &Attributes<'_>) -> bool {
    let (objects, _) = def.with_key_prefix(|p| cache.snapshot(p));
    objects.iter().any(|(_, o)| {
        serde_json::from_slice::<Value>(&o.json).is_ok_and(|q| {
            q["spec"]["quota"]["hard"]
                .as_object()
                .into_iter()
                .flatten()
                .any(|(n, _)| api::quota::matches(n, a.def.group, a.def.plural))
        })
    })
}
