//! The cluster quota controller (openshift-controller-manager's
//! `ClusterQuotaReconciliationController`): each ClusterResourceQuota's status holds, for
//! every project its selector picks, that project's usage of what the quota limits, and their
//! sum as the total. A quota is recomputed whole when it is new or its spec changed, when
//! projects' labels or annotations change, and every five minutes; a project's share is
//! recomputed when an object it may count is deleted (or a pod ends). As for ResourceQuotas,
//! creations never trigger a recomputation: admission charged them already. Status writes
//! carry the resourceVersion read, so a charge made meanwhile is never overwritten.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, PersistentVolumeClaim, ReplicationController, Secret, Service,
};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use serde_json::Value;

use crate::lenient::Meta;
use crate::resource_quota::{
    Dirty, RESYNC, get, measure, unanswered, watch_deletions, watch_pods, watch_unanswered,
};

/// The mark that stands for every project: each quota is recomputed whole.
const ALL: &str = "";

const PATH: &str = "/apis/quota.openshift.io/v1/clusterresourcequotas";

/// Runs the controller until the process ends.
pub async fn run(client: Client) {
    let dirty = Arc::new(Dirty::default());
    dirty.mark(ALL);
    tokio::join!(
        watch_quotas(client.clone(), dirty.clone()),
        watch_namespaces(client.clone(), dirty.clone()),
        watch_pods(client.clone(), dirty.clone()),
        watch_deletions::<ConfigMap>(client.clone(), dirty.clone()),
        watch_deletions::<Secret>(client.clone(), dirty.clone()),
        watch_deletions::<Service>(client.clone(), dirty.clone()),
        watch_deletions::<PersistentVolumeClaim>(client.clone(), dirty.clone()),
        watch_deletions::<ReplicationController>(client.clone(), dirty.clone()),
        resync(dirty.clone()),
        work(client, dirty),
    );
}

fn quota_resource() -> kube::core::ApiResource {
    kube::core::ApiResource {
        group: "quota.openshift.io".into(),
        version: "v1".into(),
        api_version: "quota.openshift.io/v1".into(),
        kind: "ClusterResourceQuota".into(),
        plural: "clusterresourcequotas".into(),
    }
}

async fn watch_quotas(client: Client, dirty: Arc<Dirty>) {
    let all = |_: &kube::core::DynamicObject| ALL.to_string();
    watch_unanswered(client, dirty, quota_resource(), needs_sync, all).await
}

/// A quota whose total's `hard` is not its spec's, or that lacks a usage it limits.
fn needs_sync(quota: &Value) -> bool {
    let total = &quota["status"]["total"];
    unanswered(
        &quota["spec"]["quota"]["hard"],
        &total["hard"],
        &total["used"],
    )
}

/// Projects labelled, annotated, created or deleted may change what quotas select.
async fn watch_namespaces(client: Client, dirty: Arc<Dirty>) {
    let api: Api<Meta<Namespace>> = Api::all(client);
    let mut events = watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    while let Some(event) = events.next().await {
        match event {
            Ok(watcher::Event::Apply(ns)) => {
                let meta = &ns.metadata.meta;
                let name = meta.name.clone().unwrap_or_default();
                let selected_by = format!("{:?}{:?}", meta.labels, meta.annotations);
                if seen.insert(name, selected_by.clone()).as_ref() != Some(&selected_by) {
                    dirty.mark(ALL);
                }
            }
            Ok(watcher::Event::InitApply(ns)) => {
                let meta = &ns.metadata.meta;
                let selected_by = format!("{:?}{:?}", meta.labels, meta.annotations);
                seen.insert(meta.name.clone().unwrap_or_default(), selected_by);
            }
            Ok(watcher::Event::Delete(ns)) => {
                seen.remove(ns.metadata.meta.name.as_deref().unwrap_or_default());
                dirty.mark(ALL);
            }
            _ => {}
        }
    }
}

/// Every quota, every `RESYNC`.
async fn resync(dirty: Arc<Dirty>) {
    loop {
        tokio::time::sleep(RESYNC).await;
        dirty.mark(ALL);
    }
}

/// Recomputes the quotas touched by what was marked; a failure marks it again after a pause.
async fn work(client: Client, dirty: Arc<Dirty>) {
    loop {
        let marked = dirty.take();
        if marked.is_empty() {
            dirty.notify.notified().await;
            continue;
        }
        if let Err(error) = sync(&client, &marked).await {
            tracing::debug!(%error, "cluster quota controller: retrying");
            let dirty = dirty.clone();
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                for ns in marked {
                    dirty.mark(&ns);
                }
            });
        }
    }
}

async fn sync(client: &Client, marked: &BTreeSet<String>) -> Result<(), String> {
    let Some(quotas) = get(client, PATH.into()).await? else {
        return Ok(());
    };
    let quotas = quotas["items"].as_array().cloned().unwrap_or_default();
    if quotas.is_empty() {
        return Ok(());
    }
    let namespaces = get(client, "/api/v1/namespaces".into())
        .await?
        .unwrap_or_default();
    let namespaces = namespaces["items"].as_array().cloned().unwrap_or_default();
    let mut failed = None;
    for quota in &quotas {
        if let Err(e) = sync_quota(client, quota, &namespaces, marked).await {
            failed = Some(e);
        }
    }
    failed.map_or(Ok(()), Err)
}

async fn sync_quota(
    client: &Client,
    quota: &Value,
    namespaces: &[Value],
    marked: &BTreeSet<String>,
) -> Result<(), String> {
    let judged = api::quota::cluster::as_resource_quota(quota);
    let whole = marked.contains(ALL) || needs_sync(quota);
    let mut measured = BTreeMap::new();
    for ns in namespaces {
        if !api::quota::cluster::selects(quota, ns) {
            continue;
        }
        let name = ns["metadata"]["name"].as_str().unwrap_or_default();
        let usage = if whole || marked.contains(name) {
            measure(client, name, &judged).await?
        } else {
            api::quota::cluster::namespace_used(quota, name)
        };
        measured.insert(name.to_string(), usage);
    }
    let next = api::quota::cluster::status(quota, &measured);
    if api::quota::cluster::same_status(&quota["status"], &next) {
        return Ok(());
    }
    let mut updated = quota.clone();
    updated["status"] = next;
    updated["apiVersion"] = "quota.openshift.io/v1".into();
    updated["kind"] = "ClusterResourceQuota".into();
    let name = quota["metadata"]["name"].as_str().unwrap_or_default();
    let body = serde_json::to_vec(&updated).map_err(|e| e.to_string())?;
    let request = http::Request::put(format!("{PATH}/{name}/status"))
        .header("content-type", "application/json")
        .body(body)
        .map_err(|e| e.to_string())?;
    match client.request::<Value>(request).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(kube::Error::Api(e)) => Err(e.message),
        Err(e) => Err(crate::logs::describe(&e)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn quotas_whose_total_lags_their_spec_are_synced() {
        let q = |total: Value| json!({"spec": {"quota": {"hard": {"pods": "2"}}}, "status": {"total": total}});
        assert!(needs_sync(&q(json!({}))));
        assert!(needs_sync(&q(json!({"hard": {"pods": "2"}}))));
        assert!(!needs_sync(&q(
            json!({"hard": {"pods": "2"}, "used": {"pods": "0"}})
        )));
        assert!(needs_sync(&q(
            json!({"hard": {"pods": "3"}, "used": {"pods": "0"}})
        )));
    }
}
