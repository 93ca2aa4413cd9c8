//! The control plane: watches of Routes, Services and EndpointSlices (through the API, with
//! the router's own identity) kept as maps; every change (bursts coalesced) rebuilds the
//! table, swaps it in, and brings the routes' status in line with the decisions.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use crate::Options;
use crate::build::{self, Inputs};
use crate::metrics::Metrics;
use crate::model::Route;
use crate::status::StatusWriter;
use crate::table::Current;

/// How long after a change the table is rebuilt, so that a burst of changes costs one build.
const COALESCE: Duration = Duration::from_millis(20);

pub fn route_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("route.openshift.io", "v1", "Route"),
        "routes",
    )
}

type Objects<K> = Arc<Mutex<HashMap<String, Arc<K>>>>;

/// Keeps `objects` equal to what `api` holds, waking `changed` on every change.
async fn follow<K>(api: Api<K>, objects: Objects<K>, changed: Arc<Notify>)
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let key = |o: &K| {
        format!(
            "{}/{}",
            o.meta().namespace.as_deref().unwrap_or_default(),
            o.meta().name.as_deref().unwrap_or_default()
        )
    };
    let mut pending: HashMap<String, Arc<K>> = HashMap::new();
    let mut events = watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    while let Some(event) = events.next().await {
        let Ok(event) = event else {
            continue;
        };
        let mut map = objects.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            Event::Init => pending.clear(),
            Event::InitApply(o) => drop(pending.insert(key(&o), Arc::new(o))),
            Event::InitDone => *map = std::mem::take(&mut pending),
            Event::Apply(o) => drop(map.insert(key(&o), Arc::new(o))),
            Event::Delete(o) => drop(map.remove(&key(&o))),
        }
        drop(map);
        changed.notify_one();
    }
}

pub async fn run(client: Client, options: Arc<Options>, table: Current, metrics: Arc<Metrics>) {
    let changed = Arc::new(Notify::new());
    let routes: Objects<DynamicObject> = Arc::default();
    let services: Objects<Service> = Arc::default();
    let slices: Objects<EndpointSlice> = Arc::default();
    let resource = route_resource();
    tokio::spawn(follow(
        Api::<DynamicObject>::all_with(client.clone(), &resource),
        routes.clone(),
        changed.clone(),
    ));
    tokio::spawn(follow(
        Api::<Service>::all(client.clone()),
        services.clone(),
        changed.clone(),
    ));
    tokio::spawn(follow(
        Api::<EndpointSlice>::all(client.clone()),
        slices.clone(),
        changed.clone(),
    ));
    let mut status = StatusWriter::new(client, options.clone());
    loop {
        changed.notified().await;
        tokio::time::sleep(COALESCE).await;
        let objects: Vec<Arc<DynamicObject>> = lock(&routes).values().cloned().collect();
        let inputs = Inputs {
            routes: objects
                .iter()
                .filter_map(|o| Route::from_object(o))
                .collect(),
            services: lock(&services).clone(),
            slices: by_service(&lock(&slices)),
            apps_domain: &options.apps_domain,
        };
        let (built, outcomes) = build::build(&inputs);
        table.set(built);
        metrics.reloads.fetch_add(1, Ordering::Relaxed);
        if !status.sync(&objects, &outcomes).await {
            // Some status could not be written (a conflict): try again shortly.
            let changed = changed.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                changed.notify_one();
            });
        }
    }
}

fn lock<K>(objects: &Objects<K>) -> std::sync::MutexGuard<'_, HashMap<String, Arc<K>>> {
    objects.lock().unwrap_or_else(|p| p.into_inner())
}

/// Endpoint slices by `namespace/service` (their `kubernetes.io/service-name` label).
fn by_service(
    slices: &HashMap<String, Arc<EndpointSlice>>,
) -> HashMap<String, Vec<Arc<EndpointSlice>>> {
    let mut by = HashMap::<String, Vec<Arc<EndpointSlice>>>::new();
    for slice in slices.values() {
        let meta = &slice.metadata;
        let service = meta
            .labels
            .as_ref()
            .and_then(|l| l.get("kubernetes.io/service-name"));
        if let (Some(ns), Some(service)) = (&meta.namespace, service) {
            by.entry(format!("{ns}/{service}"))
                .or_default()
                .push(slice.clone());
        }
    }
    by
}
