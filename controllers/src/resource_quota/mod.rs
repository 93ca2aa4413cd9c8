//! The resource quota controller: each ResourceQuota's `status.hard` follows its spec and
//! `status.used` is recomputed from the namespace's objects — when a quota is new or its
//! spec changed, when an object it may count is deleted (or a pod ends), and for every quota
//! every five minutes (upstream's `--resource-quota-sync-period`), which also gives back
//! what admission charged for writes that failed afterwards. Creations never trigger a
//! recomputation: admission charged them already, and a count taken while creates are in
//! flight could miss one.

pub(crate) mod usage;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolumeClaim, Pod, ReplicationController, Secret, Service,
};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use serde_json::Value;
use tokio::sync::Notify;

use crate::lenient::{Meta, Object};

/// Upstream's default `--resource-quota-sync-period`.
pub const RESYNC: Duration = Duration::from_secs(300);

/// The namespaces whose quotas need recomputing.
#[derive(Default)]
pub(crate) struct Dirty {
    namespaces: Mutex<BTreeSet<String>>,
    pub(crate) notify: Notify,
}

impl Dirty {
    pub(crate) fn mark(&self, namespace: &str) {
        self.namespaces
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(namespace.to_string());
        self.notify.notify_one();
    }

    pub(crate) fn take(&self) -> BTreeSet<String> {
        std::mem::take(&mut *self.namespaces.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Runs the controller until the process ends.
pub async fn run(client: Client) {
    let dirty = Arc::new(Dirty::default());
    tokio::join!(
        watch_quotas(client.clone(), dirty.clone()),
        watch_pods(client.clone(), dirty.clone()),
        watch_deletions::<ConfigMap>(client.clone(), dirty.clone()),
        watch_deletions::<Secret>(client.clone(), dirty.clone()),
        watch_deletions::<Service>(client.clone(), dirty.clone()),
        watch_deletions::<PersistentVolumeClaim>(client.clone(), dirty.clone()),
        watch_deletions::<ReplicationController>(client.clone(), dirty.clone()),
        resync(client.clone(), dirty.clone()),
        work(client, dirty),
    );
}

/// Quotas of `resource` whose status does not answer their spec yet (`needs_sync`): the
/// mark `mark_of` names is set for each.
pub(crate) async fn watch_unanswered(
    client: Client,
    dirty: Arc<Dirty>,
    resource: kube::core::ApiResource,
    needs_sync: fn(&Value) -> bool,
    mark_of: fn(&kube::core::DynamicObject) -> String,
) {
    let api: Api<kube::core::DynamicObject> = Api::all_with(client, &resource);
    let mut events = watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    while let Some(event) = events.next().await {
        if let Ok(watcher::Event::Apply(q) | watcher::Event::InitApply(q)) = event {
            let quota = serde_json::to_value(&q).unwrap_or_default();
            if needs_sync(&quota) {
                dirty.mark(&mark_of(&q));
            }
        }
    }
}

async fn watch_quotas(client: Client, dirty: Arc<Dirty>) {
    let namespace = |q: &kube::core::DynamicObject| q.namespace().unwrap_or_default();
    watch_unanswered(client, dirty, quota_resource(), needs_sync, namespace).await
}

fn quota_resource() -> kube::core::ApiResource {
    kube::core::ApiResource::erase::<k8s_openapi::api::core::v1::ResourceQuota>(&())
}

/// A quota whose `status.hard` is not its spec's, or that lacks a usage it limits.
fn needs_sync(quota: &Value) -> bool {
    unanswered(
        &quota["spec"]["hard"],
        &quota["status"]["hard"],
        &quota["status"]["used"],
    )
}

/// Whether a status's `hard` differs from the spec's `hard`, or its `used` lacks a
/// resource the spec limits.
pub(crate) fn unanswered(hard: &Value, status_hard: &Value, used: &Value) -> bool {
    status_hard != hard
        || hard
            .as_object()
            .into_iter()
            .flatten()
            .any(|(k, _)| used.get(k).is_none())
}

/// Pods deleted or ended give their usage back.
pub(crate) async fn watch_pods(client: Client, dirty: Arc<Dirty>) {
    let api: Api<Object<Pod>> = Api::all(client);
    let mut events = watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    while let Some(event) = events.next().await {
        let namespace = match event {
            Ok(watcher::Event::Delete(p)) => p.namespace(),
            Ok(watcher::Event::Apply(p)) if releasing(&p) => p.namespace(),
            _ => None,
        };
        if let Some(ns) = namespace {
            dirty.mark(&ns);
        }
    }
}

/// A pod that has ended or is being deleted.
fn releasing(p: &Object<Pod>) -> bool {
    let ended = p
        .object
        .as_ref()
        .and_then(|p| p.status.as_ref())
        .and_then(|s| s.phase.as_deref())
        .is_some_and(|phase| phase == "Succeeded" || phase == "Failed");
    ended || p.metadata.meta.deletion_timestamp.is_some()
}

/// Objects of a kind deleted give their count back.
pub(crate) async fn watch_deletions<K>(client: Client, dirty: Arc<Dirty>)
where
    K: kube::Resource<DynamicType = ()> + Clone + std::fmt::Debug + Send + Sync + 'static,
{
    let api: Api<Meta<K>> = Api::all(client);
    let mut events = watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    while let Some(event) = events.next().await {
        if let Ok(watcher::Event::Delete(o)) = event {
            dirty.mark(&o.namespace().unwrap_or_default());
        }
    }
}

/// Every namespace with a quota, every `RESYNC`.
async fn resync(client: Client, dirty: Arc<Dirty>) {
    let api: Api<kube::core::DynamicObject> = Api::all_with(client, &quota_resource());
    loop {
        tokio::time::sleep(RESYNC).await;
        match api.list_metadata(&Default::default()).await {
            Ok(list) => {
                for q in list.items {
                    dirty.mark(&q.namespace().unwrap_or_default());
                }
            }
            Err(e) => tracing::debug!(error = %crate::logs::describe(&e), "quota resync"),
        }
    }
}

/// Recomputes the quotas of each namespace marked, one namespace at a time; a failure marks
/// it again after a pause.
async fn work(client: Client, dirty: Arc<Dirty>) {
    loop {
        let namespaces = dirty.take();
        if namespaces.is_empty() {
            dirty.notify.notified().await;
            continue;
        }
        for ns in namespaces {
            if let Err(error) = sync_namespace(&client, &ns).await {
                tracing::debug!(namespace = %ns, %error, "resource quota controller: retrying");
                let (dirty, ns) = (dirty.clone(), ns.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    dirty.mark(&ns);
                });
            }
        }
    }
}

pub(crate) async fn get(client: &Client, path: String) -> Result<Option<Value>, String> {
    let request = http::Request::get(path)
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    match client.request::<Value>(request).await {
        Ok(v) => Ok(Some(v)),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(None),
        Err(e) => Err(crate::logs::describe(&e)),
    }
}

/// The list path of a resource in a namespace; a group's preferred version from discovery.
async fn list_path(
    client: &Client,
    ns: &str,
    (group, plural): (&str, &str),
) -> Result<Option<String>, String> {
    if group.is_empty() {
        return Ok(Some(format!("/api/v1/namespaces/{ns}/{plural}")));
    }
    let found = match kube::discovery::oneshot::group(client, group).await {
        Ok(g) => g,
        Err(kube::Error::Api(e)) if e.code == 404 => return Ok(None),
        Err(e) => return Err(crate::logs::describe(&e)),
    };
    Ok(found
        .recommended_resources()
        .into_iter()
        .find(|(r, _)| r.plural == plural)
        .map(|(r, _)| format!("/apis/{group}/{}/namespaces/{ns}/{plural}", r.version)))
}

async fn sync_namespace(client: &Client, ns: &str) -> Result<(), String> {
    let Some(list) = get(client, format!("/api/v1/namespaces/{ns}/resourcequotas")).await? else {
        return Ok(());
    };
    for quota in list["items"].as_array().into_iter().flatten() {
        sync_quota(client, ns, quota).await?;
    }
    Ok(())
}

/// What the namespace's objects add up to for the names `quota` limits (and its scopes).
pub(crate) async fn measure(
    client: &Client,
    ns: &str,
    quota: &Value,
) -> Result<api::quota::Usage, String> {
    let mut measured = api::quota::Usage::new();
    let now = jiff::Timestamp::now().as_second();
    for ((group, plural), names) in usage::tracked(quota) {
        let Some(path) = list_path(client, ns, (&group, &plural)).await? else {
            continue;
        };
        let Some(listed) = get(client, path).await? else {
            continue;
        };
        let objects = listed["items"].as_array().cloned().unwrap_or_default();
        measured.extend(usage::sum(quota, (&group, &plural), &names, &objects, now));
    }
    Ok(measured)
}

async fn sync_quota(client: &Client, ns: &str, quota: &Value) -> Result<(), String> {
    let measured = measure(client, ns, quota).await?;
    let next = usage::status(quota, &measured);
    if usage::unchanged(quota, &next) {
        return Ok(());
    }
    let mut updated = quota.clone();
    updated["status"] = next;
    updated["apiVersion"] = "v1".into();
    updated["kind"] = "ResourceQuota".into();
    let name = quota["metadata"]["name"].as_str().unwrap_or_default();
    let body = serde_json::to_vec(&updated).map_err(|e| e.to_string())?;
    let request = http::Request::put(format!(
        "/api/v1/namespaces/{ns}/resourcequotas/{name}/status"
    ))
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
