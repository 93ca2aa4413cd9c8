//! Namespace deletion. A deleted namespace is `Terminating` and keeps the `kubernetes`
//! finalizer in `spec.finalizers`; this controller deletes everything in it (every namespaced
//! resource the server lists in discovery that can be deleted), waits until nothing is left
//! (objects with finalizers of their own leave when those are done), and then removes its
//! finalizer through the namespace's `finalize` subresource, which lets the namespace go.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{DeleteParams, DynamicObject, ListParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use tokio::sync::OnceCell;

use crate::Error;
use crate::discovery::Resource;

/// The finalizer the namespace controller removes when the namespace is empty.
pub const FINALIZER: &str = "kubernetes";

struct Context {
    client: Client,
    resources: OnceCell<Vec<Resource>>,
}

/// The namespaced resources that can be listed and deleted (discovered once: the server's
/// resources do not change while it runs).
async fn resources(ctx: &Context) -> Result<&[Resource], Error> {
    let found = ctx
        .resources
        .get_or_try_init(|| async {
            let all = crate::discovery::deletable(&ctx.client).await?;
            Ok::<_, Error>(all.into_iter().filter(|r| r.namespaced).collect())
        })
        .await?;
    Ok(found)
}

/// Deletes what `resource` holds in `namespace`; how many objects are left.
async fn empty(client: &Client, namespace: &str, resource: &Resource) -> Result<usize, Error> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource.api);
    let params = DeleteParams::background();
    if resource.delete_collection {
        api.delete_collection(&params, &ListParams::default())
            .await?;
    } else {
        for obj in api.list_metadata(&ListParams::default()).await? {
            match api.delete(&obj.name_any(), &params).await {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    // Objects with finalizers stay (marked) until their finalizers are done.
    Ok(api.list_metadata(&ListParams::default()).await?.items.len())
}

async fn reconcile(ns: Arc<Namespace>, ctx: Arc<Context>) -> Result<Action, Error> {
    let finalizers = ns
        .spec
        .as_ref()
        .and_then(|s| s.finalizers.clone())
        .unwrap_or_default();
    if ns.metadata.deletion_timestamp.is_none() || !finalizers.iter().any(|f| f == FINALIZER) {
        return Ok(Action::await_change());
    }
    let name = ns.name_any();
    let mut remaining = 0;
    for resource in resources(&ctx).await? {
        remaining += empty(&ctx.client, &name, resource).await?;
    }
    if remaining > 0 {
        tracing::info!(namespace = %name, remaining, "namespace: waiting for its content to go");
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    let mut done = (*ns).clone();
    if let Some(spec) = done.spec.as_mut() {
        spec.finalizers = Some(finalizers.into_iter().filter(|f| f != FINALIZER).collect());
    }
    let namespaces: Api<Namespace> = Api::all(ctx.client.clone());
    match namespaces
        .replace_subresource("finalize", &name, &PostParams::default(), &done)
        .await
    {
        Ok(_) => Ok(Action::await_change()),
        // Gone already, or changed since: the next event brings it back if needed.
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Ok(Action::await_change()),
        Err(e) => Err(e.into()),
    }
}

fn error_policy(_: Arc<Namespace>, error: &Error, _: Arc<Context>) -> Action {
    tracing::warn!(%error, "namespace lifecycle: retrying");
    Action::requeue(Duration::from_secs(2))
}

pub async fn run(client: Client) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ctx = Arc::new(Context {
        client,
        resources: OnceCell::new(),
    });
    Controller::new(namespaces, watcher::Config::default())
        .run(reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}
