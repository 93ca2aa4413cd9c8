//! The disruption controller: each PodDisruptionBudget's status from the pods its selector
//! picks in its namespace (`expectedPods`, `desiredHealthy`, `currentHealthy`,
//! `disruptionsAllowed`, the `DisruptionAllowed` condition), keeping the `disruptedPods` that
//! evictions recorded until those pods go or their time runs out. Pods are read from the
//! controller's cache of pods by namespace (`watch_cache.rs`), never listed per sync.

pub mod decide;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use crate::Error;
use crate::backoff::{Retries, key_of};
use crate::lenient::{Meta, Object};
use crate::owners;
use crate::replicaset::pods::is_ready;
use crate::watch_cache::WatchCache;
use crate::{selector, workload_status};

struct Context {
    client: Client,
    pods: Arc<WatchCache<Pod>>,
    retries: Retries,
}

/// The replicas its controllers want for the pods (`None` when no pod has one): a
/// ReplicaSet owned by a Deployment counts the Deployment's scale, as upstream's finders do.
async fn scale(client: &Client, ns: &str, pods: &[&Pod]) -> Result<Option<i32>, Error> {
    let mut controllers = BTreeMap::new();
    for pod in pods {
        if let Some(o) = owners::controller_of(&pod.metadata) {
            controllers.insert(
                o.uid.clone(),
                (o.api_version.clone(), o.kind.clone(), o.name.clone()),
            );
        }
    }
    if controllers.is_empty() {
        return Ok(None);
    }
    let mut seen = BTreeSet::new();
    let mut total = 0;
    for (api_version, kind, name) in controllers.into_values() {
        let Some(obj) = get(client, ns, &api_version, &kind, &name).await? else {
            continue;
        };
        let top = match owners::controller_of(&obj.metadata)
            .filter(|o| o.kind == "Deployment" && kind == "ReplicaSet")
        {
            Some(d) => get(client, ns, &d.api_version, &d.kind, &d.name)
                .await?
                .unwrap_or(obj),
            None => obj,
        };
        if seen.insert(top.metadata.uid.clone().unwrap_or_default()) {
            total += top.data["spec"]["replicas"].as_i64().unwrap_or(1) as i32;
        }
    }
    Ok(Some(total))
}

async fn get(
    client: &Client,
    ns: &str,
    api_version: &str,
    kind: &str,
    name: &str,
) -> Result<Option<DynamicObject>, Error> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let plural = format!("{}s", kind.to_ascii_lowercase());
    let gvk = kube::api::GroupVersionKind::gvk(group, version, kind);
    let resource = ApiResource::from_gvk_with_plural(&gvk, &plural);
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &resource);
    Ok(api.get_opt(name).await?)
}

async fn sync(pdb: &PodDisruptionBudget, ctx: &Context) -> Result<Action, Error> {
    if pdb.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let ns = pdb.namespace().unwrap_or_default();
    let spec = pdb.spec.clone().unwrap_or_default();
    ctx.pods.caught_up(&[&ns]).await;
    let cached = ctx.pods.get(&ns);
    let all: Vec<&Pod> = cached.iter().filter_map(|o| o.object.as_ref()).collect();
    // A budget without a selector picks no pod; an empty one picks them all.
    let pods: Vec<&Pod> = match &spec.selector {
        Some(sel) => all
            .into_iter()
            .filter(|p| {
                selector::matches(sel, p.metadata.labels.as_ref().unwrap_or(&BTreeMap::new()))
            })
            .collect(),
        None => Vec::new(),
    };
    let now = jiff::Timestamp::now();
    let previous = pdb.status.clone().unwrap_or_default();
    // Recorded evictions hold their pods out until the pod is deleted or the entry expires.
    let mut disrupted = BTreeMap::new();
    let mut next_expiry: Option<i64> = None;
    for (name, at) in previous.disrupted_pods.iter().flatten() {
        let live = pods
            .iter()
            .any(|p| p.name_any() == *name && p.metadata.deletion_timestamp.is_none());
        if live && decide::still_disrupted(at.0, now) {
            let left = at.0.as_second() + decide::DISRUPTED_POD_TIMEOUT_SECONDS - now.as_second();
            next_expiry = Some(next_expiry.map_or(left, |n| n.min(left)));
            disrupted.insert(name.clone(), at.clone());
        }
    }
    let healthy = pods
        .iter()
        .filter(|p| {
            p.metadata.deletion_timestamp.is_none()
                && is_ready(p)
                && !disrupted.contains_key(&p.name_any())
        })
        .count() as i32;
    let integer_min = matches!(spec.min_available, Some(IntOrString::Int(_)));
    let scale = if integer_min {
        None
    } else {
        scale(&ctx.client, &ns, &pods).await?
    };
    let b = decide::budget(
        spec.min_available.as_ref(),
        spec.max_unavailable.as_ref(),
        pods.len() as i32,
        scale,
        healthy,
    );
    let (cond_status, reason) = decide::allowed_condition(b.disruptions_allowed);
    let old_condition = previous
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "DisruptionAllowed");
    let transition = match old_condition {
        Some(c) if c.status == cond_status => {
            serde_json::to_value(&c.last_transition_time).unwrap_or_default()
        }
        _ => json!(
            jiff::Timestamp::from_second(now.as_second())
                .map(|t| t.to_string())
                .unwrap_or_default()
        ),
    };
    let status = json!({
        "observedGeneration": pdb.metadata.generation,
        "disruptedPods": if disrupted.is_empty() { Value::Null } else { serde_json::to_value(&disrupted).unwrap_or_default() },
        "disruptionsAllowed": b.disruptions_allowed,
        "currentHealthy": b.current_healthy,
        "desiredHealthy": b.desired_healthy,
        "expectedPods": b.expected_pods,
        "conditions": [{"type": "DisruptionAllowed", "status": cond_status, "reason": reason,
            "message": "", "observedGeneration": pdb.metadata.generation,
            "lastTransitionTime": transition}],
    });
    let before = serde_json::to_value(&previous).unwrap_or_default();
    let changed = status.as_object().is_some_and(|m| {
        m.iter()
            .any(|(k, v)| before.get(k).unwrap_or(&Value::Null) != v)
    });
    if changed {
        let pdbs: Api<Object<PodDisruptionBudget>> = Api::namespaced(ctx.client.clone(), &ns);
        workload_status::write(&pdbs, &pdb.name_any(), &status).await?;
    }
    Ok(workload_status::next_sync(next_expiry))
}

async fn reconcile(
    obj: Arc<Object<PodDisruptionBudget>>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let Some(pdb) = obj.object.as_ref() else {
        return Ok(Action::await_change());
    };
    let key = key_of(&obj.metadata.meta);
    ctx.retries.track(&key, sync(pdb, &ctx)).await
}

fn error_policy(obj: Arc<Object<PodDisruptionBudget>>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.retries
        .retry("disruption", &key_of(&obj.metadata.meta), error)
}

pub async fn run(client: Client) {
    let (pod_cache, pod_feed) =
        WatchCache::<Pod>::start(client.clone(), |meta| meta.namespace.clone());
    let ctx = Arc::new(Context {
        client: client.clone(),
        pods: Arc::clone(&pod_cache),
        retries: Retries::new(),
    });
    let controller = Controller::new(
        Api::<Object<PodDisruptionBudget>>::all(client.clone()),
        watcher::Config::default(),
    );
    let budgets = controller.store();
    let controller = controller
        .watches(
            Api::<Meta<Pod>>::all(client),
            watcher::Config::default(),
            move |pod| {
                let m = &pod.metadata.meta;
                pod_cache.expect(m);
                let empty = BTreeMap::new();
                let labels = m.labels.as_ref().unwrap_or(&empty);
                budgets
                    .state()
                    .iter()
                    .filter(|b| b.metadata.meta.namespace == m.namespace)
                    .filter(|b| {
                        b.object
                            .as_ref()
                            .and_then(|o| o.spec.as_ref()?.selector.as_ref())
                            .is_some_and(|s| selector::matches(s, labels))
                    })
                    .filter_map(|b| {
                        let bm = &b.metadata.meta;
                        Some(ObjectRef::new(bm.name.as_deref()?).within(bm.namespace.as_deref()?))
                    })
                    .collect::<Vec<_>>()
            },
        )
        .run(reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()));
    tokio::join!(pod_feed, controller);
}
