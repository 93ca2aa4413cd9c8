//! The endpoints and endpointslice controllers: every Service with a selector (and not of
//! type ExternalName) has an Endpoints object of its name listing its pods' addresses
//! (`subsets`), labelled as the service (and `service.kubernetes.io/headless` for headless
//! ones), annotated with the time of the last change; and EndpointSlices of its pods
//! (`slices`), made from the same read of its pods.

pub mod slices;
pub mod subsets;

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use kube::api::{Api, ListParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use crate::Error;
use crate::backoff::{Retries, key_of};
use crate::lenient::{self, Meta, Object};
use crate::selector::{self, Labels};

pub const TRIGGER_TIME: &str = "endpoints.kubernetes.io/last-change-trigger-time";
const HEADLESS: &str = "service.kubernetes.io/headless";

struct Context {
    client: Client,
    retries: Retries,
}

fn selector_of(svc: &Service) -> Option<Labels> {
    let spec = svc.spec.as_ref()?;
    if spec.type_.as_deref() == Some("ExternalName") {
        return None;
    }
    spec.selector.clone().filter(|s| !s.is_empty())
}

fn labels_of(svc: &Service) -> Labels {
    let mut labels = svc.labels().clone();
    if svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None") {
        labels.insert(HEADLESS.into(), String::new());
    } else {
        labels.remove(HEADLESS);
    }
    labels
}

async fn sync(svc: &Service, ctx: &Context) -> Result<Action, Error> {
    let Some(sel) = selector_of(svc) else {
        return Ok(Action::await_change());
    };
    if svc.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let ns = svc.namespace().unwrap_or_default();
    let name = svc.name_any();
    let pods: Api<Object<Pod>> = Api::namespaced(ctx.client.clone(), &ns);
    let query: Vec<String> = sel.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let pods: Vec<Pod> =
        lenient::list(&pods, &ListParams::default().labels(&query.join(","))).await?;
    // The service's EndpointSlices from the same pods (upstream's endpointslice controller).
    slices::reconcile(&ctx.client, svc, &pods).await?;
    let subsets = subsets::subsets(svc, &pods);
    let labels = labels_of(svc);
    let api: Api<Object<Endpoints>> = Api::namespaced(ctx.client.clone(), &ns);
    let current = api.get_opt(&name).await?;
    let now = jiff::Timestamp::now().to_string();
    let (current_subsets, current_labels, mut body) = match &current {
        Some(Object {
            object: Some(e), ..
        }) => (
            serde_json::to_value(&e.subsets).unwrap_or_default(),
            e.labels().clone(),
            serde_json::to_value(e).unwrap_or_default(),
        ),
        _ => (
            Value::Null,
            Labels::new(),
            json!({"metadata": {"name": name, "namespace": ns}}),
        ),
    };
    let wanted_subsets = if subsets.is_empty() {
        Value::Null
    } else {
        json!(subsets)
    };
    let same_subsets = current_subsets == wanted_subsets
        || (current_subsets.as_array().is_some_and(|a| a.is_empty()) && wanted_subsets.is_null());
    if current.is_some() && same_subsets && current_labels == labels {
        return Ok(Action::await_change());
    }
    body["apiVersion"] = json!("v1");
    body["kind"] = json!("Endpoints");
    body["metadata"]["labels"] = json!(labels);
    body["metadata"]["annotations"][TRIGGER_TIME] = json!(now);
    body["subsets"] = if subsets.is_empty() {
        json!([])
    } else {
        json!(subsets)
    };
    let endpoints: Endpoints =
        serde_json::from_value(body).map_err(|e| Error::Invalid(e.to_string()))?;
    let result = match current {
        Some(_) => api
            .replace(&name, &PostParams::default(), &Object::new(endpoints))
            .await
            .map(drop),
        None => api
            .create(&PostParams::default(), &Object::new(endpoints))
            .await
            .map(drop),
    };
    match result {
        Ok(()) => Ok(Action::await_change()),
        Err(kube::Error::Api(e)) if e.code == 409 => {
            Ok(Action::requeue(std::time::Duration::from_millis(200)))
        }
        Err(e) => Err(e.into()),
    }
}

async fn reconcile(obj: Arc<Object<Service>>, ctx: Arc<Context>) -> Result<Action, Error> {
    let Some(svc) = obj.object.as_ref() else {
        return Ok(Action::await_change());
    };
    let key = key_of(&obj.metadata.meta);
    ctx.retries.track(&key, sync(svc, &ctx)).await
}

fn error_policy(obj: Arc<Object<Service>>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.retries
        .retry("endpoints", &key_of(&obj.metadata.meta), error)
}

/// A deleted Service's Endpoints go with it (upstream deletes them when the service is not
/// found; the reconcile loop only sees services that exist).
async fn delete_with_services(client: Client) {
    let services: Api<Meta<Service>> = Api::all(client.clone());
    let mut events = watcher::watcher(services, watcher::Config::default())
        .default_backoff()
        .boxed();
    while let Some(event) = events.next().await {
        let Ok(watcher::Event::Delete(svc)) = event else {
            continue;
        };
        let meta = &svc.metadata.meta;
        let (Some(ns), Some(name)) = (meta.namespace.as_deref(), meta.name.as_deref()) else {
            continue;
        };
        let api: Api<Object<Endpoints>> = Api::namespaced(client.clone(), ns);
        if let Err(error) = api.delete(name, &Default::default()).await
            && !matches!(&error, kube::Error::Api(e) if e.code == 404)
        {
            tracing::warn!(error = %crate::logs::describe(&error), "endpoints: not deleted with their service");
        }
    }
}

pub async fn run(client: Client) {
    tokio::join!(
        delete_with_services(client.clone()),
        reconcile_services(client)
    );
}

async fn reconcile_services(client: Client) {
    let ctx = Arc::new(Context {
        client: client.clone(),
        retries: Retries::new(),
    });
    let controller = Controller::new(
        Api::<Object<Service>>::all(client.clone()),
        watcher::Config::default(),
    );
    let services = controller.store();
    controller
        // A pod's change concerns the services of its namespace that select it.
        .watches(
            Api::<Meta<Pod>>::all(client),
            watcher::Config::default(),
            move |pod| {
                let ns = pod.metadata.meta.namespace.clone().unwrap_or_default();
                let labels = pod.metadata.meta.labels.clone().unwrap_or_default();
                services
                    .state()
                    .iter()
                    .filter_map(|o| o.object.as_ref())
                    .filter(|s| s.namespace().as_deref() == Some(ns.as_str()))
                    .filter(|s| {
                        selector_of(s).is_some_and(|sel| selector::map_matches(&sel, &labels))
                    })
                    .map(|s| ObjectRef::new(&s.name_any()).within(&ns))
                    .collect::<Vec<_>>()
            },
        )
        .run(reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}
