//! The control plane: watches of Routes (of the shard's route labels), Services,
//! EndpointSlices, the shard's Namespaces and the service CA's bundle (through the API, with
//! the router's own identity) kept as maps; every change (bursts coalesced) builds a new table (rebuilding the
//! entries of the routes it touches only), swaps it in, and brings the routes' status in line
//! with the decisions.

use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DynamicObject, ListParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use crate::build::{self, Inputs};
use crate::certs::ServiceCa;
use crate::limits::Limiters;
use crate::metrics::Metrics;
use crate::model::{RouteRecord, route_resource};
use crate::status::StatusWriter;
use crate::table::Current;
use crate::{BoxError, Options, Selection};

/// Where the service CA's bundle is published (`ca-bundle.crt`): what reencrypt routes
/// without a destination CA trust, as upstream's router its default destination CA.
const SERVICE_CA_NAMESPACE: &str = "openshift-config-managed";
const SERVICE_CA_CONFIGMAP: &str = "service-ca";
const SERVICE_CA_KEY: &str = "ca-bundle.crt";

/// The bundle of the service CA's ConfigMap, parsed.
fn service_ca_of(map: ConfigMap) -> Option<ServiceCa> {
    ServiceCa::parse(map.data?.get(SERVICE_CA_KEY)?)
}

/// How long after a change the table is rebuilt, so that a burst of changes costs one build.
const COALESCE: Duration = Duration::from_millis(20);

type Objects<K> = Arc<Mutex<HashMap<String, Arc<K>>>>;

/// Keeps `objects` equal to what `api` holds (each object as `keep` makes it), waking
/// `changed` on every change.
async fn follow<K, T>(
    api: Api<K>,
    config: watcher::Config,
    objects: Objects<T>,
    changed: Arc<Notify>,
    keep: fn(K) -> Option<T>,
) where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    T: Send + Sync + 'static,
{
    let key = |o: &K| {
        format!(
            "{}/{}",
            o.meta().namespace.as_deref().unwrap_or_default(),
            o.meta().name.as_deref().unwrap_or_default()
        )
    };
    let mut pending: HashMap<String, Arc<T>> = HashMap::new();
    let mut events = watcher::watcher(api, config).default_backoff().boxed();
    while let Some(event) = events.next().await {
        let Ok(event) = event else {
            continue;
        };
        let mut map = objects.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            Event::Init => pending.clear(),
            Event::InitApply(o) => {
                let k = key(&o);
                if let Some(kept) = keep(o) {
                    pending.insert(k, Arc::new(kept));
                }
            }
            Event::InitDone => *map = std::mem::take(&mut pending),
            Event::Apply(o) => {
                let k = key(&o);
                match keep(o) {
                    Some(kept) => drop(map.insert(k, Arc::new(kept))),
                    None => drop(map.remove(&k)),
                }
            }
            Event::Delete(o) => drop(map.remove(&key(&o))),
        }
        drop(map);
        changed.notify_one();
    }
}

/// An object without what the router never reads and that weighs most in memory: its managed
/// fields and last-applied configuration.
fn slim<K: Resource>(mut object: K) -> Option<K> {
    let meta = object.meta_mut();
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
    Some(object)
}

pub async fn run(client: Client, options: Arc<Options>, table: Current, metrics: Arc<Metrics>) {
    let changed = Arc::new(Notify::new());
    let routes: Objects<RouteRecord> = Arc::default();
    let services: Objects<Service> = Arc::default();
    let slices: Objects<EndpointSlice> = Arc::default();
    let namespaces: Objects<Namespace> = Arc::default();
    let resource = route_resource();
    let selection = &options.selection;
    let mut route_config = watcher::Config::default();
    if let Some(labels) = &selection.route_labels {
        route_config = route_config.labels(labels);
    }
    tokio::spawn(follow(
        Api::<DynamicObject>::all_with(client.clone(), &resource),
        route_config,
        routes.clone(),
        changed.clone(),
        RouteRecord::from_object,
    ));
    tokio::spawn(follow(
        Api::<Service>::all(client.clone()),
        watcher::Config::default(),
        services.clone(),
        changed.clone(),
        slim,
    ));
    tokio::spawn(follow(
        Api::<EndpointSlice>::all(client.clone()),
        watcher::Config::default(),
        slices.clone(),
        changed.clone(),
        slim,
    ));
    // One ConfigMap, by name (the router may read that one only).
    let service_ca: Objects<ServiceCa> = Arc::default();
    tokio::spawn(follow(
        Api::<ConfigMap>::namespaced(client.clone(), SERVICE_CA_NAMESPACE),
        watcher::Config::default().fields(&format!("metadata.name={SERVICE_CA_CONFIGMAP}")),
        service_ca.clone(),
        changed.clone(),
        service_ca_of,
    ));
    if let Some(labels) = &selection.namespace_labels {
        tokio::spawn(follow(
            Api::<Namespace>::all(client.clone()),
            watcher::Config::default().labels(labels),
            namespaces.clone(),
            changed.clone(),
            slim,
        ));
    }
    let mut status = StatusWriter::new(client, options.clone());
    let mut limiters = Limiters::default();
    let mut cache = build::Cache::default();
    loop {
        changed.notified().await;
        tokio::time::sleep(COALESCE).await;
        let mut records: Vec<Arc<RouteRecord>> = lock(&routes).values().cloned().collect();
        if selection.namespace_labels.is_some() {
            // Routes of namespaces outside the shard are not this router's.
            let selected: HashSet<String> = lock(&namespaces)
                .values()
                .filter_map(|n| n.metadata.name.clone())
                .collect();
            records.retain(|r| selected.contains(&r.route.namespace));
        }
        let bundle = lock(&service_ca).values().next().cloned();
        let inputs = Inputs {
            routes: records,
            services: lock(&services).clone(),
            slices: by_service(&lock(&slices)),
            apps_domain: &options.apps_domain,
            selection,
            service_ca: bundle.as_deref(),
        };
        let (built, outcomes) = build::build(&inputs, &mut limiters, &mut cache);
        table.set(built);
        metrics.reloads.fetch_add(1, Ordering::Relaxed);
        if !status.sync(&inputs.routes, &outcomes).await {
            // Some status could not be written (a conflict): try again shortly.
            let changed = changed.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                changed.notify_one();
            });
        }
    }
}

/// The selectors as the API server reads them, so that a router given a malformed one stops
/// at once with the server's message rather than retrying its watches for ever.
pub async fn check_selectors(client: &Client, selection: &Selection) -> Result<(), BoxError> {
    if let Some(labels) = &selection.route_labels {
        let api = Api::<DynamicObject>::all_with(client.clone(), &route_resource());
        api.list_metadata(&ListParams::default().labels(labels).limit(1))
            .await
            .map_err(|e| format!("route label selector {labels:?}: {e}"))?;
    }
    if let Some(labels) = &selection.namespace_labels {
        Api::<Namespace>::all(client.clone())
            .list_metadata(&ListParams::default().labels(labels).limit(1))
            .await
            .map_err(|e| format!("namespace label selector {labels:?}: {e}"))?;
    }
    Ok(())
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
