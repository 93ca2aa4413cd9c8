//! `ResourceQuota`: an object created in a namespace (or a service or claim updated) is
//! charged to the quotas that track it, refused with upstream's `exceeded quota` message when
//! it would pass one. The charge is written into the quota's `status.used` by compare-and-swap
//! before the object is stored, so concurrent creates never over-admit; a lost swap is read
//! again and retried for the quotas not yet charged (upstream's `checkQuotas`). Writes of one
//! namespace take turns here, so swaps are rarely lost; the quota controller later recomputes
//! usage from what is stored, giving back charges of writes that failed afterwards.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use super::{Attributes, Operation};
use crate::ApiServer;
use crate::error::ApiError;
use crate::watch::cache::Cache;

pub const NAME: &str = "ResourceQuota";

/// How often a charge lost to a concurrent change of a quota is evaluated again.
const RETRIES: usize = 5;

/// The namespaces whose charges are being evaluated, one at a time each.
#[derive(Default)]
pub struct State {
    turns: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl State {
    fn turn(&self, namespace: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut turns = self.turns.lock().unwrap_or_else(|e| e.into_inner());
        // Namespaces no one waits on are forgotten, so the map stays small.
        turns.retain(|_, t| Arc::strong_count(t) > 1);
        turns.entry(namespace.to_string()).or_default().clone()
    }
}

pub fn applies(a: &Attributes<'_>) -> bool {
    let charged_on_update =
        a.def.group.is_empty() && matches!(a.def.plural, "services" | "persistentvolumeclaims");
    a.subresource.is_empty()
        && a.def.stored
        && a.namespace.is_some()
        && match a.operation {
            Operation::Create => true,
            Operation::Update => charged_on_update,
            _ => false,
        }
}

pub async fn check(server: &ApiServer, a: &Attributes<'_>, obj: &Value) -> Result<(), ApiError> {
    let Some(namespace) = a.namespace else {
        return Ok(());
    };
    let (def, cache) = server
        .named_cache("", "v1", "resourcequotas")
        .await?
        .ok_or(ApiError::PathNotFound)?;
    if !tracked(&cache, def, namespace, a) {
        return Ok(());
    }
    let request = api::quota::Request {
        group: a.def.group,
        plural: a.def.plural,
        obj,
        old: a.old,
        now: jiff::Timestamp::now().as_second(),
    };
    let turn = server.admission.state.quotas.turn(namespace);
    let _turn = turn.lock().await;
    let read = || async move {
        let mut quotas = server.list_objects(def, Some(namespace)).await?;
        quotas.sort_by(|x, y| name_of(x).cmp(name_of(y)));
        Ok(quotas)
    };
    let charged = |quota: &Value, charge: &api::quota::Charge| {
        let mut quota = quota.clone();
        quota["status"]["used"] = used_json(&charge.used);
        quota
    };
    charge_by_swap(server, def, a, obj, &request, read, Value::clone, charged).await
}

/// Charges `request` to the quotas `read` gives (as stored, in the order they are judged),
/// each judged as the ResourceQuota `judged` makes of it; each charge is written as
/// `charged` makes it, by compare-and-swap. A lost swap reads the quotas again and retries
/// those not yet charged (upstream's `checkQuotas`); dry runs only judge.
#[allow(clippy::too_many_arguments)]
pub(super) async fn charge_by_swap<Read>(
    server: &ApiServer,
    def: &api::ResourceDef,
    a: &Attributes<'_>,
    obj: &Value,
    request: &api::quota::Request<'_>,
    read: impl Fn() -> Read,
    judged: impl Fn(&Value) -> Value,
    charged: impl Fn(&Value, &api::quota::Charge) -> Value,
) -> Result<(), ApiError>
where
    Read: std::future::Future<Output = Result<Vec<Value>, ApiError>>,
{
    let mut done = BTreeSet::new();
    let mut lost = None;
    for _ in 0..RETRIES {
        let mut quotas = read().await?;
        quotas.retain(|q| !done.contains(name_of(q)));
        let as_quotas: Vec<Value> = quotas.iter().map(&judged).collect();
        let charges = api::quota::check(&as_quotas, request).map_err(|m| a.forbidden(obj, m))?;
        if a.dry_run {
            return Ok(());
        }
        lost = None;
        for charge in charges {
            let Some(quota) = quotas.iter().find(|q| name_of(q) == charge.quota) else {
                continue;
            };
            match server.update_object(def, charged(quota, &charge)).await {
                Ok(_) => {
                    done.insert(charge.quota);
                }
                Err(e @ (ApiError::Conflict(_) | ApiError::NotFound(_))) => lost = Some(e),
                Err(e) => return Err(e),
            }
        }
        if lost.is_none() {
            return Ok(());
        }
    }
    Err(lost.unwrap_or_else(|| ApiError::Internal("quota charges kept conflicting".into())))
}

/// Whether any quota of the namespace (as the watch cache has them) tracks the kind: most
/// writes meet none, and skip the store.
fn tracked(cache: &Cache, def: &api::ResourceDef, namespace: &str, a: &Attributes<'_>) -> bool {
    let (objects, _) = def.with_namespace_prefix(Some(namespace), |p| cache.snapshot(p));
    objects.iter().any(|(_, o)| {
        serde_json::from_slice::<Value>(&o.json).is_ok_and(|q| {
            let spec = q["spec"]["hard"].as_object().into_iter().flatten();
            let status = q["status"]["hard"].as_object().into_iter().flatten();
            spec.chain(status)
                .any(|(n, _)| api::quota::matches(n, a.def.group, a.def.plural))
        })
    })
}

pub(super) fn name_of(q: &Value) -> &str {
    q["metadata"]["name"].as_str().unwrap_or_default()
}

fn used_json(used: &api::quota::Usage) -> Value {
    let list: Map<String, Value> = used
        .iter()
        .map(|(k, v)| (k.clone(), json!(v.to_string())))
        .collect();
    Value::Object(list)
}
