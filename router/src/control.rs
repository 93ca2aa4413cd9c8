//! The control plane: watches of Routes (of the shard's route labels), Services,
//! EndpointSlices, the shard's Namespaces and the service CA's bundle (through the API, with
//! the router's own identity) kept as maps. A change of routes is applied to the table host
//! by host (`update.rs`), any other builds it all again (rebuilding the entries of the routes
//! it touches only); the new table is swapped in at once, and the routes' status brought in
//! line with the decisions apart from that.

use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
use crate::update::Served;
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

/// What a watch holds, and which keys changed since the control loop last looked.
struct Watched<T> {
    objects: imbl::HashMap<String, Arc<T>>,
    changed: HashSet<String>,
    /// Replaced whole (a first list or a relist): anything may have changed.
    relisted: bool,
}

impl<T> Default for Watched<T> {
    fn default() -> Self {
        Watched {
            objects: imbl::HashMap::new(),
            changed: HashSet::new(),
            relisted: false,
        }
    }
}

impl<T> Watched<T> {
    /// Whether anything changed since the last look; forgets the changes.
    fn take_changed(&mut self) -> bool {
        let any = self.relisted || !self.changed.is_empty();
        self.relisted = false;
        self.changed.clear();
        any
    }
}

type Objects<K> = Arc<Mutex<Watched<K>>>;

/// Keeps `objects` equal to what `api` holds (each object as `keep` makes it), noting what
/// changed and waking `changed` on every change.
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
    let mut pending: imbl::HashMap<String, Arc<T>> = imbl::HashMap::new();
    let mut events = watcher::watcher(api, config).default_backoff().boxed();
    while let Some(event) = events.next().await {
        let Ok(event) = event else {
            continue;
        };
        let mut watched = objects.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            Event::Init => pending.clear(),
            Event::InitApply(o) => {
                let k = key(&o);
                if let Some(kept) = keep(o) {
                    pending.insert(k, Arc::new(kept));
                }
            }
            Event::InitDone => {
                watched.objects = std::mem::take(&mut pending);
                watched.relisted = true;
            }
            Event::Apply(o) => {
                let k = key(&o);
                match keep(o) {
                    Some(kept) => drop(watched.objects.insert(k.clone(), Arc::new(kept))),
                    None => drop(watched.objects.remove(&k)),
                }
                watched.changed.insert(k);
            }
            Event::Delete(o) => {
                let k = key(&o);
                watched.objects.remove(&k);
                watched.changed.insert(k);
            }
        }
        drop(watched);
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
    let (publish, published) = tokio::sync::watch::channel(None);
    tokio::spawn(write_status(
        StatusWriter::new(client, options.clone()),
        published,
    ));
    let mut limiters = Limiters::default();
    let mut cache = build::Cache::counting_into(metrics.routes.clone());
    let mut served = Served::default();
    // The routes this router serves (of its namespaces), kept in step with the watch.
    let mut mine: imbl::HashMap<String, Arc<RouteRecord>> = imbl::HashMap::new();
    let mut selected: HashSet<String> = HashSet::new();
    let mut first = true;
    loop {
        changed.notified().await;
        let started = Instant::now();
        // What changed: routes alone are applied host by host; anything else builds all.
        let mut full = std::mem::take(&mut first);
        full |= lock(&services).take_changed();
        full |= lock(&slices).take_changed();
        full |= lock(&service_ca).take_changed();
        if selection.namespace_labels.is_some() && lock(&namespaces).take_changed() {
            selected = lock(&namespaces)
                .objects
                .values()
                .filter_map(|n| n.metadata.name.clone())
                .collect();
            full = true;
        }
        let (all_routes, route_changes) = {
            let mut watched = lock(&routes);
            full |= std::mem::take(&mut watched.relisted);
            (
                watched.objects.clone(),
                std::mem::take(&mut watched.changed),
            )
        };
        // Routes of namespaces outside the shard are not this router's.
        let ours = |r: &RouteRecord| {
            selection.namespace_labels.is_none() || selected.contains(&r.route.namespace)
        };
        if full {
            mine = match selection.namespace_labels {
                None => all_routes,
                Some(_) => all_routes.into_iter().filter(|(_, r)| ours(r)).collect(),
            };
        } else {
            for key in &route_changes {
                match all_routes.get(key).filter(|r| ours(r)) {
                    Some(record) => drop(mine.insert(key.clone(), record.clone())),
                    None => drop(mine.remove(key)),
                }
            }
        }
        let bundle = lock(&service_ca).objects.values().next().cloned();
        let mut inputs = Inputs {
            routes: Vec::new(),
            services: lock(&services)
                .objects
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            slices: by_service(&lock(&slices).objects),
            apps_domain: &options.apps_domain,
            selection,
            service_ca: bundle.as_deref(),
        };
        let applied = !full
            && served.routes_changed(&route_changes, &mine, &inputs, &mut limiters, &mut cache);
        if !applied {
            inputs.routes = mine.values().cloned().collect();
            served = Served::full(&inputs, &mut limiters, &mut cache);
        }
        table.set(served.table.clone());
        metrics.reloads.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            routes = route_changes.len(),
            full = !applied,
            took = ?started.elapsed(),
            "route table updated"
        );
        publish.send_replace(Some((mine.clone(), served.outcomes.clone())));
    }
}

/// The routes and the decisions on them, as last published to the status writer.
type Decided = Option<(
    imbl::HashMap<String, Arc<RouteRecord>>,
    imbl::HashMap<String, build::Outcome>,
)>;

/// Brings the routes' status in line with the latest decisions, apart from the table's
/// updates so that a status write never delays serving a change; a write that failed (a
/// conflict) is tried again shortly with what is then the latest.
async fn write_status(
    mut status: StatusWriter,
    mut decided: tokio::sync::watch::Receiver<Decided>,
) {
    let mut again = false;
    loop {
        if !again && decided.changed().await.is_err() {
            return;
        }
        let latest = decided.borrow_and_update().clone();
        let Some((routes, outcomes)) = latest else {
            continue;
        };
        again = !status.sync(&routes, &outcomes).await;
        if again {
            tokio::time::sleep(Duration::from_secs(1)).await;
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

fn lock<K>(objects: &Objects<K>) -> std::sync::MutexGuard<'_, Watched<K>> {
    objects.lock().unwrap_or_else(|p| p.into_inner())
}

/// Endpoint slices by `namespace/service` (their `kubernetes.io/service-name` label).
fn by_service(
    slices: &imbl::HashMap<String, Arc<EndpointSlice>>,
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
