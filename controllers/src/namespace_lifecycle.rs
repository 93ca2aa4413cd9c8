//! Namespace deletion. A deleted namespace is `Terminating` and keeps the `kubernetes`
//! finalizer in `spec.finalizers`; this controller deletes everything in it (every namespaced
//! resource the server lists in discovery that can be deleted), waits until nothing is left
//! (objects with finalizers of their own leave when those are done), and then removes its
//! finalizer through the namespace's `finalize` subresource, which lets the namespace go.

use std::collections::BTreeMap;
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
use crate::backoff::Retries;
use crate::discovery::Resource;
use crate::lenient::{Meta, Object};
use crate::skipped::Skipped;

/// The finalizer the namespace controller removes when the namespace is empty.
pub const FINALIZER: &str = "kubernetes";

struct Context {
    client: Client,
    resources: OnceCell<Vec<Resource>>,
    skipped: Skipped,
    retries: Retries,
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

/// Deletes what `resource` holds in `namespace`; the finalizers of the objects left (one list
/// per object). Objects are read for their metadata only, leniently: one with fields of the
/// wrong types must not fail the lists (and so the namespace's deletion).
async fn empty(
    client: &Client,
    namespace: &str,
    resource: &Resource,
) -> Result<Vec<Vec<String>>, Error> {
    let api: Api<Meta<DynamicObject>> =
        Api::namespaced_with(client.clone(), namespace, &resource.api);
    let params = DeleteParams::background();
    if resource.delete_collection {
        api.delete_collection(&params, &ListParams::default())
            .await?;
    } else {
        for obj in api.list(&ListParams::default()).await? {
            // Without its name it cannot be deleted alone; it stays, and is reported.
            let Some(name) = &obj.metadata.meta.name else {
                continue;
            };
            match api.delete(name, &params).await {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    // Objects with finalizers stay (marked) until their finalizers are done.
    let left = api.list(&ListParams::default()).await?;
    Ok(left
        .items
        .into_iter()
        .map(|o| o.metadata.meta.finalizers.unwrap_or_default())
        .collect())
}

/// What is left in a terminating namespace: objects by resource, and objects by finalizer.
#[derive(Default)]
struct Remaining {
    resources: BTreeMap<String, usize>,
    finalizers: BTreeMap<String, usize>,
}

/// Upstream's deletion conditions for what is left.
fn conditions(remaining: &Remaining) -> Vec<(&'static str, &'static str, &'static str, String)> {
    let content = match remaining.resources.is_empty() {
        true => (
            "False",
            "ContentRemoved",
            "All content successfully removed".to_string(),
        ),
        false => {
            let parts: Vec<String> = remaining
                .resources
                .iter()
                .map(|(r, n)| format!("{r} has {n} resource instances"))
                .collect();
            (
                "True",
                "SomeResourcesRemain",
                format!("Some resources are remaining: {}", parts.join(", ")),
            )
        }
    };
    let finalizers = match remaining.finalizers.is_empty() {
        true => (
            "False",
            "ContentHasNoFinalizers",
            "All content-preserving finalizers finished".to_string(),
        ),
        false => {
            let parts: Vec<String> = remaining
                .finalizers
                .iter()
                .map(|(f, n)| format!("{f} in {n} resource instances"))
                .collect();
            (
                "True",
                "SomeFinalizersRemain",
                format!(
                    "Some content in the namespace has finalizers remaining: {}",
                    parts.join(", ")
                ),
            )
        }
    };
    vec![
        (
            "NamespaceDeletionDiscoveryFailure",
            "False",
            "ResourcesDiscovered",
            "All resources successfully discovered".to_string(),
        ),
        (
            "NamespaceDeletionContentFailure",
            "False",
            "ContentDeleted",
            "All content successfully deleted, may be waiting on finalization".to_string(),
        ),
        ("NamespaceContentRemaining", content.0, content.1, content.2),
        (
            "NamespaceFinalizersRemaining",
            finalizers.0,
            finalizers.1,
            finalizers.2,
        ),
    ]
}

/// Writes the conditions to the namespace's status if they changed.
async fn report(ctx: &Context, ns: &Namespace, remaining: &Remaining) -> Result<(), Error> {
    let wanted = conditions(remaining);
    let current = serde_json::to_value(ns.status.as_ref().and_then(|s| s.conditions.as_ref()))
        .unwrap_or_default();
    let same = wanted.len() == current.as_array().map_or(0, Vec::len)
        && wanted.iter().all(|(t, st, reason, message)| {
            current.as_array().into_iter().flatten().any(|c| {
                c["type"] == *t
                    && c["status"] == *st
                    && c["reason"] == *reason
                    && c["message"] == *message
            })
        });
    if same {
        return Ok(());
    }
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let conditions: Vec<serde_json::Value> = wanted
        .iter()
        .map(|(t, st, reason, message)| {
            serde_json::json!({"type": t, "status": st, "reason": reason, "message": message,
                "lastTransitionTime": now})
        })
        .collect();
    let mut next = serde_json::to_value(ns).map_err(|e| Error::Invalid(e.to_string()))?;
    next["status"]["conditions"] = serde_json::json!(conditions);
    let next: Namespace =
        serde_json::from_value(next).map_err(|e| Error::Invalid(e.to_string()))?;
    let namespaces: Api<Object<Namespace>> = Api::all(ctx.client.clone());
    match namespaces
        .replace_status(&ns.name_any(), &PostParams::default(), &Object::new(next))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn reconcile(ns: Arc<Object<Namespace>>, ctx: Arc<Context>) -> Result<Action, Error> {
    let name = ns.name_any();
    let action = converge(ns, &ctx).await?;
    ctx.retries.succeeded(&name);
    Ok(action)
}

async fn converge(ns: Arc<Object<Namespace>>, ctx: &Context) -> Result<Action, Error> {
    let Some(ns) = &ns.object else {
        ctx.skipped
            .skip("Namespace", &ns.metadata.meta, &ns.metadata.broken);
        return Ok(Action::await_change());
    };
    let finalizers = ns
        .spec
        .as_ref()
        .and_then(|s| s.finalizers.clone())
        .unwrap_or_default();
    if ns.metadata.deletion_timestamp.is_none() || !finalizers.iter().any(|f| f == FINALIZER) {
        return Ok(Action::await_change());
    }
    let name = ns.name_any();
    let mut remaining = Remaining::default();
    for resource in resources(ctx).await? {
        let left = empty(&ctx.client, &name, resource).await?;
        if !left.is_empty() {
            let key = format!("{}.{}", resource.api.plural, resource.api.group);
            remaining.resources.insert(key, left.len());
        }
        for finalizer in left.into_iter().flatten() {
            *remaining.finalizers.entry(finalizer).or_default() += 1;
        }
    }
    report(ctx, ns, &remaining).await?;
    if !remaining.resources.is_empty() {
        tracing::info!(namespace = %name, "namespace: waiting for its content to go");
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    let mut done = ns.clone();
    if let Some(spec) = done.spec.as_mut() {
        spec.finalizers = Some(finalizers.into_iter().filter(|f| f != FINALIZER).collect());
    }
    let namespaces: Api<Object<Namespace>> = Api::all(ctx.client.clone());
    match namespaces
        .replace_subresource(
            "finalize",
            &name,
            &PostParams::default(),
            &Object::new(done),
        )
        .await
    {
        Ok(_) => Ok(Action::await_change()),
        // Gone already, or changed since: the next event brings it back if needed.
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Ok(Action::await_change()),
        Err(e) => Err(e.into()),
    }
}

fn error_policy(ns: Arc<Object<Namespace>>, error: &Error, ctx: Arc<Context>) -> Action {
    let name = ns.name_any();
    let delay = ctx.retries.failed(&name);
    tracing::warn!(%error, namespace = %name, ?delay, "namespace lifecycle: retrying");
    Action::requeue(delay)
}

pub async fn run(client: Client) {
    let namespaces: Api<Object<Namespace>> = Api::all(client.clone());
    let ctx = Arc::new(Context {
        client,
        resources: OnceCell::new(),
        skipped: Skipped::new("namespace lifecycle"),
        retries: Retries::new(),
    });
    Controller::new(namespaces, watcher::Config::default())
        .run(reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, Reply};
    use kube::core::ApiResource;
    use serde_json::json;

    /// An object of wrong types in a terminating namespace does not fail its emptying.
    #[tokio::test]
    async fn empties_past_an_object_of_wrong_types() {
        let (client, log) = testing::client(|r| match (r.method.as_str(), r.path.as_str()) {
            ("GET", "/api/v1/namespaces/a/configmaps") => testing::list(vec![
                json!({"metadata": {"name": "bad", "namespace": "a", "uid": "1",
                    "labels": {"n": 5}, "finalizers": ["f"]}}),
            ]),
            ("DELETE", "/api/v1/namespaces/a/configmaps/bad") => Reply::Json(
                200,
                json!({"metadata": {"name": "bad", "namespace": "a", "uid": "1",
                    "labels": {"n": 5}, "finalizers": ["f"], "deletionTimestamp": "2024-01-01T00:00:00Z"}}),
            ),
            _ => testing::status(404, "NotFound"),
        });
        let resource = Resource {
            api: ApiResource {
                group: "".into(),
                version: "v1".into(),
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                plural: "configmaps".into(),
            },
            namespaced: true,
            watch: true,
            delete_collection: false,
        };
        let left = empty(&client, "a", &resource).await.unwrap();
        assert_eq!(left, [vec!["f".to_string()]]);
        assert!(
            log.lock()
                .unwrap()
                .iter()
                .any(|r| r.method == "DELETE" && r.path.ends_with("/bad"))
        );
    }
}
