//! Kubernetes Ingresses served as Routes, as openshift-controller-manager's ingress-to-route
//! controller does: each Ingress of no class (or of a class whose controller is
//! `openshift.io/ingress-to-route`) gets one route per rule host and path, named
//! `<ingress>-<5 random>` and owned by it (so that they go with it), created, patched and
//! deleted as it changes, its services' ports and its TLS secrets change; the Ingress's
//! `status.loadBalancer.ingress` lists the routers that admitted them. Decisions are in
//! `decide.rs`.

mod decide;

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Secret, Service};
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::api::{ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};

use crate::Error;
use crate::backoff::{Retries, key_of};
use crate::lenient::{Meta, Object};

struct Context {
    client: Client,
    retries: Retries,
}

fn routes_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("route.openshift.io", "v1", "Route"),
        "routes",
    )
}

/// Whether this controller serves the Ingress's class.
async fn handled(client: &Client, ingress: &Ingress) -> Result<bool, Error> {
    let Some(class) = decide::class_of(ingress) else {
        return Ok(true);
    };
    let classes: Api<IngressClass> = Api::all(client.clone());
    Ok(classes.get_opt(&class).await?.is_some_and(|c| {
        c.spec.and_then(|s| s.controller).as_deref() == Some(decide::CLASS_CONTROLLER)
    }))
}

async fn sync(ingress: &Ingress, ctx: &Context) -> Result<Action, Error> {
    let (Some(ns), Some(uid)) = (ingress.namespace(), ingress.uid()) else {
        return Ok(Action::await_change());
    };
    if ingress.metadata.deletion_timestamp.is_some() || !handled(&ctx.client, ingress).await? {
        return Ok(Action::await_change());
    }
    let name = ingress.name_any();
    let routes: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), &ns, &routes_resource());
    let mut old: Vec<Value> = routes
        .list(&Default::default())
        .await?
        .items
        .into_iter()
        .filter_map(|r| serde_json::to_value(r).ok())
        .filter(|r| decide::owning_ingress(r) == Some(name.as_str()))
        .collect();
    let services: Api<Service> = Api::namespaced(ctx.client.clone(), &ns);
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    let owner = json!([{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "name": name, "uid": uid, "controller": true}]);
    let annotations = json!(ingress.metadata.annotations.clone().unwrap_or_default());
    let mut matched = Vec::new();
    for wanted in decide::wanted(ingress) {
        let existing = old
            .iter()
            .position(|r| {
                r["spec"]["host"] == wanted.host()
                    && r["spec"]["path"].as_str().unwrap_or_default() == wanted.path()
            })
            .map(|i| old.swap_remove(i));
        let spec = desired(ingress, &wanted, &services, &secrets).await?;
        match (existing, spec) {
            // Not computable (service, port or secret missing): no route for now.
            (Some(route), None) => old.push(route),
            (None, None) => {}
            (None, Some(spec)) => {
                create(&routes, ingress, &ns, spec, &owner, &annotations).await?;
            }
            (Some(route), Some(spec)) if decide::matches(&route, ingress, &spec) => {
                matched.push(route)
            }
            (Some(mut route), Some(mut spec)) => {
                decide::preserve(&mut spec, &route["spec"]);
                route["spec"] = spec;
                route["metadata"]["annotations"] = annotations.clone();
                route["metadata"]["ownerReferences"] = owner.clone();
                let route_name = route["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let route: DynamicObject =
                    serde_json::from_value(route).map_err(|e| Error::Invalid(e.to_string()))?;
                // Guarded by the route's revision: a concurrent change makes a retry.
                routes
                    .replace(&route_name, &PostParams::default(), &route)
                    .await?;
            }
        }
    }
    for route in &old {
        let route_name = route["metadata"]["name"].as_str().unwrap_or_default();
        match routes.delete(route_name, &Default::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    write_status(ingress, &ns, &old, &matched, ctx).await?;
    Ok(Action::await_change())
}

/// The spec of the route for `wanted`, if it can be computed now.
async fn desired(
    ingress: &Ingress,
    wanted: &decide::Wanted<'_>,
    services: &Api<Service>,
    secrets: &Api<Secret>,
) -> Result<Option<Value>, Error> {
    let service = services.get_opt(wanted.service()).await?;
    let Ok(port) = decide::target_port(wanted, service.as_ref()) else {
        return Ok(None);
    };
    let pair = match decide::secret_name(ingress, wanted.host()) {
        None => None,
        Some(secret) => match secrets
            .get_opt(secret)
            .await?
            .as_ref()
            .and_then(decide::tls_pair)
        {
            Some(pair) => Some(pair),
            None => return Ok(None),
        },
    };
    let tls = decide::tls_config(ingress, pair.as_ref());
    Ok(Some(decide::spec(wanted, port.as_deref(), tls)))
}

async fn create(
    routes: &Api<DynamicObject>,
    ingress: &Ingress,
    ns: &str,
    spec: Value,
    owner: &Value,
    annotations: &Value,
) -> Result<(), Error> {
    let mut last = None;
    // A generated name may collide: a few tries, as upstream.
    for _ in 0..3 {
        let name = decide::route_name(&ingress.name_any(), |n| rand::random_range(0..n));
        let route = json!({
            "apiVersion": "route.openshift.io/v1",
            "kind": "Route",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": ingress.metadata.labels.clone().unwrap_or_default(),
                "annotations": annotations,
                "ownerReferences": owner,
            },
            "spec": spec,
        });
        let route: DynamicObject =
            serde_json::from_value(route).map_err(|e| Error::Invalid(e.to_string()))?;
        match routes.create(&PostParams::default(), &route).await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(e)) if e.code == 409 => last = Some(kube::Error::Api(e)),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last.map_or_else(|| Error::Invalid("route not created".into()), Error::from))
}

/// The Ingress's load balancer host names: what it had, less the routers of deleted routes,
/// plus those that admitted its current ones (other controllers' entries are kept).
async fn write_status(
    ingress: &Ingress,
    ns: &str,
    deleted: &[Value],
    matched: &[Value],
    ctx: &Context,
) -> Result<(), Error> {
    let current: BTreeSet<String> = ingress
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|l| l.ingress.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|i| i.hostname.clone())
        .collect();
    let mut wanted = current.clone();
    for host in deleted.iter().flat_map(decide::admitted_by) {
        wanted.remove(&host);
    }
    wanted.extend(matched.iter().flat_map(decide::admitted_by));
    if wanted == current {
        return Ok(());
    }
    let entries: Vec<Value> = wanted.iter().map(|h| json!({"hostname": h})).collect();
    let patch = json!({"status": {"loadBalancer": {"ingress": entries}}});
    let api: Api<Ingress> = Api::namespaced(ctx.client.clone(), ns);
    api.patch_status(
        &ingress.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}

async fn reconcile(obj: Arc<Object<Ingress>>, ctx: Arc<Context>) -> Result<Action, Error> {
    let Some(ingress) = obj.object.as_ref() else {
        return Ok(Action::await_change());
    };
    let key = key_of(&obj.metadata.meta);
    ctx.retries.track(&key, sync(ingress, &ctx)).await
}

fn error_policy(obj: Arc<Object<Ingress>>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.retries
        .retry("ingress to route", &key_of(&obj.metadata.meta), error)
}

pub async fn run(client: Client) {
    let ctx = Arc::new(Context {
        client: client.clone(),
        retries: Retries::new(),
    });
    let controller = Controller::new(
        Api::<Object<Ingress>>::all(client.clone()),
        watcher::Config::default(),
    );
    let store = controller.store();
    // A service's or secret's change concerns every Ingress of its namespace.
    let of_namespace = move |ns: Option<String>| {
        let ns = ns.unwrap_or_default();
        store
            .state()
            .iter()
            .filter(|o| o.metadata.meta.namespace.as_deref() == Some(ns.as_str()))
            .filter_map(|o| o.metadata.meta.name.clone())
            .map(|name| ObjectRef::new(&name).within(&ns))
            .collect::<Vec<_>>()
    };
    let for_secrets = of_namespace.clone();
    controller
        .owns_with(
            Api::<DynamicObject>::all_with(client.clone(), &routes_resource()),
            routes_resource(),
            watcher::Config::default(),
        )
        .watches(
            Api::<Meta<Service>>::all(client.clone()),
            watcher::Config::default(),
            move |svc| of_namespace(svc.metadata.meta.namespace.clone()),
        )
        .watches(
            Api::<Meta<Secret>>::all(client),
            watcher::Config::default(),
            move |secret| for_secrets(secret.metadata.meta.namespace.clone()),
        )
        .run(reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}
