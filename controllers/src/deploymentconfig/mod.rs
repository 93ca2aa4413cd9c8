//! DeploymentConfigs (apps.openshift.io): each deployment of a config is a replication
//! controller `<config>-<version>`.
//!
//! - this module, the config controller: starts a deployment when a trigger fires (moving
//!   `status.latestVersion` on), makes its replication controller, and once the latest
//!   deployment is final runs the newest complete one at full scale and every other at zero
//!   (a failed deployment thus hands back to its predecessor), prunes old deployments past
//!   `revisionHistoryLimit`, and reports the status and conditions;
//! - `deployer`: rolls each deployment out (Rolling or Recreate), moving its phase from New
//!   to Complete or Failed and writing the deployer's log; its lifecycle hooks in `hooks`
//!   (the hook pods as upstream's in `hook_pod.rs`);
//! - `image_triggers`: image stream tags followed by configs' image change triggers and by
//!   workloads' `image.openshift.io/triggers` annotations, resolved into their templates.
//!
//! Decisions are in `decide.rs` (the config controller's) and `rollout.rs` (the
//! strategies'); this module and `deployer.rs` only read and write. Both read a config's
//! replication controllers from one cache indexed by config (`watch_cache.rs`), never listed
//! per sync; each write to one is expected there before the next sync reads it.

pub mod decide;
pub mod deployer;
pub mod hook_pod;
pub mod hooks;
pub mod image_triggers;
pub mod keys;
pub mod rollout;
pub mod trigger_fields;
pub mod types;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ReplicationController;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use crate::Error;
use crate::backoff::{Retries, key_of};
use crate::events::{self, Involved};
use crate::lenient::{Meta, Object};
use crate::owners;
use crate::tasks::Tasks;
use crate::watch_cache::WatchCache;
use decide::Deployment;
use types::DeploymentConfig;

const COMPONENT: &str = "deploymentconfig-controller";

/// Every replication controller made for a config, by `<namespace>/<config>`.
pub type Deployments = WatchCache<ReplicationController>;

struct Context {
    client: Client,
    retries: Retries,
    deployments: Arc<Deployments>,
}

/// What a replication controller is filed under: its config's name label in its namespace.
fn filed_under(meta: &ObjectMeta) -> Option<String> {
    let config = meta.labels.as_ref()?.get(keys::CONFIG_NAME)?;
    Some(format!(
        "{}/{config}",
        meta.namespace.as_deref().unwrap_or_default()
    ))
}

fn now() -> String {
    jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}

fn involved(dc: &DeploymentConfig) -> Involved<'_> {
    Involved {
        api_version: "apps.openshift.io/v1",
        kind: "DeploymentConfig",
        namespace: dc.namespace(),
        name: dc.name(),
        uid: dc.metadata.uid.as_deref().unwrap_or_default(),
    }
}

/// What the controllers read of a replication controller of a config.
pub fn deployment_of(rc: &ReplicationController) -> Deployment {
    let annotations = rc.annotations();
    let get = |k: &str| annotations.get(k).cloned().unwrap_or_default();
    let status = rc.status.clone().unwrap_or_default();
    let template = rc.spec.as_ref().and_then(|s| s.template.as_ref());
    let images = template
        .and_then(|t| t.spec.as_ref())
        .map(|s| {
            s.init_containers
                .iter()
                .flatten()
                .chain(s.containers.iter())
                .filter_map(|c| c.image.clone())
                .collect()
        })
        .unwrap_or_default();
    Deployment {
        name: rc.name_any(),
        version: get(keys::LATEST_VERSION).parse().unwrap_or(0),
        phase: get(keys::PHASE),
        cancelled: get(keys::CANCELLED).eq_ignore_ascii_case("true"),
        spec_replicas: rc.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
        replicas: status.replicas,
        ready: status.ready_replicas.unwrap_or(0),
        available: status.available_replicas.unwrap_or(0),
        images,
        encoded_config: annotations.get(keys::ENCODED_CONFIG).cloned(),
    }
}

/// The replication controllers of config `name` (those it controls when its `uid` is
/// given), by version, from the cache once it has seen every change expected.
async fn deployments(
    cache: &Deployments,
    namespace: &str,
    name: &str,
    uid: Option<&str>,
) -> Vec<ReplicationController> {
    let key = format!("{namespace}/{name}");
    cache.caught_up(&[&key]).await;
    let mut list: Vec<ReplicationController> = cache
        .get(&key)
        .iter()
        .filter_map(|o| o.object.clone())
        .filter(|rc| uid.is_none_or(|uid| owners::is_controlled_by(&rc.metadata, uid)))
        .collect();
    list.sort_by_key(|rc| deployment_of(rc).version);
    list
}

/// Merges `status` into the config's; the config as patched (`None` when it is gone).
async fn patch_status(
    ctx: &Context,
    dc: &DeploymentConfig,
    status: Value,
) -> Result<Option<DeploymentConfig>, Error> {
    let api: Api<Object<DeploymentConfig>> = Api::namespaced(ctx.client.clone(), dc.namespace());
    match api
        .patch_status(
            dc.name(),
            &PatchParams::default(),
            &Patch::Merge(json!({"status": status})),
        )
        .await
    {
        Ok(patched) => Ok(patched.object),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Writes the computed status if it changed.
async fn report(
    ctx: &Context,
    dc: &DeploymentConfig,
    list: &[Deployment],
    created: bool,
    observe: bool,
) -> Result<(), Error> {
    let wanted = decide::status(dc, list, created, observe, &now());
    if decide::same_status(&dc.status, &wanted) {
        return Ok(());
    }
    patch_status(ctx, dc, wanted).await.map(drop)
}

async fn scale(
    ctx: &Context,
    dc: &DeploymentConfig,
    rc: &str,
    from: i32,
    to: i32,
) -> Result<(), Error> {
    let api: Api<Object<ReplicationController>> =
        Api::namespaced(ctx.client.clone(), dc.namespace());
    let patched = api
        .patch(
            rc,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": to}})),
        )
        .await?;
    ctx.deployments.expect(&patched.metadata.meta);
    let message = format!("Scaled replication controller \"{rc}\" from {from} to {to}");
    events::record(
        &ctx.client,
        COMPONENT,
        &involved(dc),
        "Normal",
        "ReplicationControllerScaled",
        &message,
    )
    .await;
    Ok(())
}

async fn prune(ctx: &Context, dc: &DeploymentConfig, list: &[Deployment]) -> Result<(), Error> {
    let api: Api<Object<ReplicationController>> =
        Api::namespaced(ctx.client.clone(), dc.namespace());
    for name in decide::pruned(dc, list) {
        match api.delete(&name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Marks older deployments still running as cancelled (a newer one is to start).
async fn cancel_running(
    ctx: &Context,
    dc: &DeploymentConfig,
    list: &[Deployment],
) -> Result<bool, Error> {
    let api: Api<Object<ReplicationController>> =
        Api::namespaced(ctx.client.clone(), dc.namespace());
    let mut waiting = false;
    for d in list.iter().filter(|d| !d.terminal()) {
        waiting = true;
        if d.cancelled {
            continue;
        }
        let patch = json!({"metadata": {"annotations": {keys::CANCELLED: "true", keys::STATUS_REASON: keys::SUPERSEDED}}});
        let patched = api
            .patch(&d.name, &PatchParams::default(), &Patch::Merge(patch))
            .await?;
        ctx.deployments.expect(&patched.metadata.meta);
        let message = format!(
            "Cancelled deployment \"{}\" superceded by version {}",
            d.name,
            dc.latest_version()
        );
        events::record(
            &ctx.client,
            COMPONENT,
            &involved(dc),
            "Normal",
            "DeploymentCancelled",
            &message,
        )
        .await;
    }
    Ok(waiting)
}

/// Makes the replication controller of the config's latest version. With `moved`, `dc` is
/// the stored config moved on to a version it has not recorded yet: the version, and why,
/// are recorded with the status that follows the creation (one write fewer before the
/// replication controller; one made before a crash is recorded at the next sync).
async fn create_deployment(
    ctx: &Context,
    dc: &DeploymentConfig,
    list: &[Deployment],
    moved: bool,
) -> Result<Action, Error> {
    let version = dc.latest_version();
    if cancel_running(ctx, dc, list).await? {
        if moved {
            let status = json!({"latestVersion": version, "details": dc.status["details"]});
            patch_status(ctx, dc, status).await?;
        }
        let message = format!(
            "Deployment of version {version} awaiting cancellation of older running deployments"
        );
        events::record(
            &ctx.client,
            COMPONENT,
            &involved(dc),
            "Normal",
            "DeploymentAwaitingCancellation",
            &message,
        )
        .await;
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    let api: Api<Object<ReplicationController>> =
        Api::namespaced(ctx.client.clone(), dc.namespace());
    let rc: ReplicationController =
        serde_json::from_value(decide::replication_controller(dc, version))
            .map_err(|e| Error::Invalid(format!("replication controller of {}: {e}", dc.name())))?;
    match api.create(&PostParams::default(), &Object::new(rc)).await {
        Ok(created) => {
            ctx.deployments.expect(&created.metadata.meta);
            let message = format!(
                "Created new replication controller \"{}\" for version {version}",
                keys::rc_name(dc.name(), version)
            );
            events::record(
                &ctx.client,
                COMPONENT,
                &involved(dc),
                "Normal",
                "DeploymentCreated",
                &message,
            )
            .await;
            let mut list = list.to_vec();
            list.extend(created.object.as_ref().map(deployment_of));
            prune(ctx, dc, &list).await?;
            if moved {
                let status = decide::status(dc, &list, true, true, &now());
                patch_status(ctx, dc, status).await?;
            } else {
                report(ctx, dc, &list, true, true).await?;
            }
            Ok(Action::await_change())
        }
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(Action::requeue(Duration::from_secs(1))),
        Err(e) => {
            let message = format!(
                "Couldn't deploy version {version}: {}",
                crate::logs::describe(&e)
            );
            events::record(
                &ctx.client,
                COMPONENT,
                &involved(dc),
                "Warning",
                "DeploymentCreationFailed",
                &message,
            )
            .await;
            let mut status = decide::status(dc, list, false, false, &now());
            if let Some(conditions) = status["conditions"].as_array_mut() {
                conditions.retain(|c| c["type"] != "Progressing");
                conditions.push(json!({"type": "Progressing", "status": "False",
                    "reason": "ReplicationControllerCreateError", "message": message,
                    "lastTransitionTime": now(), "lastUpdateTime": now()}));
            }
            patch_status(ctx, dc, status).await?;
            Err(e.into())
        }
    }
}

async fn sync(dc: &DeploymentConfig, ctx: &Context) -> Result<Action, Error> {
    let rcs = deployments(
        &ctx.deployments,
        dc.namespace(),
        dc.name(),
        dc.metadata.uid.as_deref(),
    )
    .await;
    let list: Vec<Deployment> = rcs.iter().map(deployment_of).collect();
    let version = dc.latest_version();
    // A deployment made before its version was recorded (a crash in between, or a copy of
    // the config older than the write that recorded it): record it, with why it was made.
    if let Some(ahead) = list
        .iter()
        .filter(|d| d.version > version)
        .max_by_key(|d| d.version)
    {
        let mut status = json!({"latestVersion": ahead.version});
        if let Some(details) = ahead
            .config()
            .map(|mut c| c["status"]["details"].take())
            .filter(|d| !d.is_null())
        {
            status["details"] = details;
        }
        patch_status(ctx, dc, status).await?;
        return Ok(Action::await_change());
    }
    if dc.metadata.deletion_timestamp.is_some() {
        report(ctx, dc, &list, false, true).await?;
        return Ok(Action::await_change());
    }
    if dc.paused() {
        prune(ctx, dc, &list).await?;
        report(ctx, dc, &list, false, true).await?;
        return Ok(Action::await_change());
    }
    let latest = list.iter().find(|d| d.version == version);
    if version > 0 && latest.is_none() {
        return create_deployment(ctx, dc, &list, false).await;
    }
    if decide::waits_for_image(dc) {
        report(ctx, dc, &list, false, false).await?;
        return Ok(Action::await_change());
    }
    if let Some(details) = decide::triggered(dc, latest) {
        // The new version's replication controller at once, from the config moved on (its
        // name is the version's: made twice, the second is refused), the version recorded
        // after it.
        let mut moved = dc.clone();
        moved.status["latestVersion"] = json!(version + 1);
        moved.status["details"] = details;
        return create_deployment(ctx, &moved, &list, true).await;
    }
    match latest {
        Some(d) if !d.terminal() => {
            report(ctx, dc, &list, false, false).await?;
        }
        Some(_) => {
            for (rc, from, to) in decide::scales(dc, &list) {
                scale(ctx, dc, &rc, from, to).await?;
            }
            prune(ctx, dc, &list).await?;
            report(ctx, dc, &list, false, true).await?;
        }
        None => report(ctx, dc, &list, false, true).await?,
    }
    Ok(Action::await_change())
}

async fn reconcile(obj: Arc<Object<DeploymentConfig>>, ctx: Arc<Context>) -> Result<Action, Error> {
    let Some(dc) = obj.object.as_ref() else {
        return Ok(Action::await_change());
    };
    let key = key_of(&obj.metadata.meta);
    ctx.retries.track(&key, sync(dc, &ctx)).await
}

fn error_policy(obj: Arc<Object<DeploymentConfig>>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.retries
        .retry("deploymentconfig", &key_of(&obj.metadata.meta), error)
}

/// The configs controlling a replication controller (as kube-runtime's `owns` finds them).
fn controlling(rc: &Meta<ReplicationController>) -> Vec<ObjectRef<Object<DeploymentConfig>>> {
    let meta = &rc.metadata.meta;
    meta.owner_references
        .iter()
        .flatten()
        .filter(|o| o.kind == "DeploymentConfig" && o.api_version == "apps.openshift.io/v1")
        .map(|o| ObjectRef::new(&o.name).within(meta.namespace.as_deref().unwrap_or_default()))
        .collect()
}

/// The config controller.
async fn run_configs(client: Client, deployments: Arc<Deployments>) {
    let ctx = Arc::new(Context {
        client: client.clone(),
        retries: Retries::new(),
        deployments: Arc::clone(&deployments),
    });
    Controller::new(
        Api::<Object<DeploymentConfig>>::all(client.clone()),
        watcher::Config::default(),
    )
    .watches(
        Api::<Meta<ReplicationController>>::all(client),
        watcher::Config::default(),
        move |rc| {
            deployments.expect(&rc.metadata.meta);
            controlling(&rc)
        },
    )
    .run(reconcile, error_policy, ctx)
    .for_each(|_| futures::future::ready(()))
    .await;
}

/// Runs the config controller, the deployer and the image trigger controller, each a task.
pub async fn run(client: Client) {
    let (deployments, feed) = Deployments::start(client.clone(), filed_under);
    let mut tasks = Tasks::default();
    tasks
        .spawn(feed)
        .spawn(run_configs(client.clone(), Arc::clone(&deployments)))
        .spawn(deployer::run(client.clone(), deployments))
        .spawn(image_triggers::run(client));
    tasks.join().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, Reply};

    fn config(image: &str, version: i64) -> DeploymentConfig {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "p", "uid": "u", "generation": 2},
            "spec": {"replicas": 1, "selector": {"app": "web"},
                "strategy": {"type": "Recreate"},
                "triggers": [{"type": "ImageChange", "imageChangeParams": {"automatic": true,
                    "containerNames": ["web"], "lastTriggeredImage": image,
                    "from": {"kind": "ImageStreamTag", "name": "web:latest"}}}],
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": image}]}}},
            "status": {"latestVersion": version}}))
        .unwrap()
    }

    /// An image change makes the next version's replication controller first, from the
    /// config moved on, and records the version and why in the status write after it.
    #[tokio::test]
    async fn a_trigger_makes_the_replication_controller_before_recording_its_version() {
        let mut first = decide::replication_controller(&config("img:1", 1), 1);
        first["metadata"]["annotations"][keys::PHASE] = json!(keys::COMPLETE);
        first["metadata"]["resourceVersion"] = json!("3");
        let (client, log) = testing::client(move |r| match (r.method.as_str(), r.path.as_str()) {
            (_, "/api/v1/replicationcontrollers") if r.is_watch() => Reply::Open,
            ("GET", "/api/v1/replicationcontrollers") => testing::list(vec![first.clone()]),
            ("POST", "/api/v1/namespaces/p/replicationcontrollers") => {
                let mut made = r.body.clone();
                made["metadata"]["resourceVersion"] = json!("7");
                Reply::Json(201, made)
            }
            ("PATCH", "/apis/apps.openshift.io/v1/namespaces/p/deploymentconfigs/web/status") => {
                Reply::Json(200, serde_json::to_value(config("img:2", 2)).unwrap())
            }
            _ => Reply::Json(201, json!({})),
        });
        let (deployments, feed) = Deployments::start(client.clone(), filed_under);
        let feed = tokio::spawn(feed);
        let ctx = Context {
            client,
            retries: Retries::new(),
            deployments,
        };
        sync(&config("img:2", 1), &ctx).await.unwrap();
        feed.abort();
        let log = log.lock().unwrap();
        let writes: Vec<_> = log
            .iter()
            .filter(|r| r.method != "GET" && !r.path.contains("/events"))
            .collect();
        assert_eq!(writes.len(), 2, "{writes:?}");
        assert_eq!(writes[0].method, "POST");
        let made = &writes[0].body;
        assert_eq!(made["metadata"]["name"], "web-2");
        let encoded: Value = serde_json::from_str(
            made["metadata"]["annotations"][keys::ENCODED_CONFIG]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(encoded["status"]["latestVersion"], 2);
        assert!(writes[1].path.ends_with("/status"));
        let status = &writes[1].body["status"];
        assert_eq!(status["latestVersion"], 2);
        assert_eq!(status["details"]["message"], "image change");
        assert_eq!(
            status["details"]["causes"][0]["imageTrigger"]["from"]["name"],
            "img:2"
        );
    }
}
