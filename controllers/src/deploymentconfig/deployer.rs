//! The deployer: rolls each deployment of a config out. It runs in the controller manager
//! rather than as a deployer pod, with the same observable contract: the replication
//! controller's phase moves New → Pending → Running → Complete | Failed with upstream's
//! annotations, the strategy's steps (`rollout.rs`) resize the deployments, and the lines a
//! deployer pod would print are kept on the replication controller (`deploymentconfigs/log`
//! serves them). Each reconcile takes one step from what is stored, so a restart carries on
//! where the last one stopped. A deployment marked cancelled ends Failed; one that makes no
//! progress for the strategy's `timeoutSeconds` fails, and the config controller hands back
//! to the last complete deployment. Lifecycle hooks (`hooks.rs`) run where upstream's
//! strategies run them: `pre` first, `mid` once a Recreate's old pods are gone, `post` once
//! the deployment is at full size; one that fails without `failurePolicy: Ignore` fails the
//! deployment.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ReplicationController;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::{Map, Value, json};

use super::hook_pod::{self, Point};
use super::hooks::{self, Hook, Progress};
use super::keys;
use super::rollout::{self, Rc, Strategy};
use super::{Deployments, deployment_of, deployments};
use crate::Error;
use crate::backoff::{Retries, key_of};
use crate::events::{self, Involved};
use crate::lenient::{Meta, Object};

const COMPONENT: &str = "deployer-controller";
/// The most of a deployer's log kept (its end is kept).
const LOG_LIMIT: usize = 64 * 1024;
const DEFAULT_TIMEOUT: i64 = 600;

struct Context {
    client: Client,
    retries: Retries,
    /// The configs' replication controllers, shared with the config controller.
    deployments: Arc<Deployments>,
}

/// Go's `metav1.Time.String()`, as upstream writes the deployer's timestamps.
fn go_time(now: jiff::Timestamp) -> String {
    now.strftime("%Y-%m-%d %H:%M:%S +0000 UTC").to_string()
}

fn rc_of(d: &ReplicationController) -> Rc {
    let s = deployment_of(d);
    Rc {
        name: s.name,
        spec: s.spec_replicas,
        replicas: s.replicas,
        available: s.available,
    }
}

/// The strategy and its timeout from the config a deployment was made from.
fn strategy_of(config: &Value) -> (Strategy, i64) {
    let strategy = &config["spec"]["strategy"];
    let (params, kind) = match strategy["type"].as_str() {
        Some("Recreate") => (&strategy["recreateParams"], Strategy::Recreate),
        _ => {
            let p = &strategy["rollingParams"];
            (
                p,
                Strategy::Rolling {
                    max_surge: p["maxSurge"].clone(),
                    max_unavailable: p["maxUnavailable"].clone(),
                },
            )
        }
    };
    (
        kind,
        params["timeoutSeconds"].as_i64().unwrap_or(DEFAULT_TIMEOUT),
    )
}

/// Appends lines to a log, keeping its end within the limit.
fn appended(log: &str, lines: &[String]) -> String {
    let mut text = log.to_string();
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    if text.len() > LOG_LIMIT {
        let mut cut = text.len() - LOG_LIMIT;
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        text = text[cut..].to_string();
    }
    text
}

async fn annotate(
    ctx: &Context,
    rc: &ReplicationController,
    annotations: Map<String, Value>,
) -> Result<(), Error> {
    let api: Api<Object<ReplicationController>> =
        Api::namespaced(ctx.client.clone(), &rc.namespace().unwrap_or_default());
    match api
        .patch(
            &rc.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": annotations}})),
        )
        .await
    {
        Ok(patched) => {
            ctx.deployments.expect(&patched.metadata.meta);
            Ok(())
        }
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn involved_config<'a>(rc: &'a ReplicationController, name: &'a str) -> Involved<'a> {
    let uid = rc
        .owner_references()
        .iter()
        .find(|o| o.kind == "DeploymentConfig")
        .map(|o| o.uid.as_str())
        .unwrap_or_default();
    Involved {
        api_version: "apps.openshift.io/v1",
        kind: "DeploymentConfig",
        namespace: rc.metadata.namespace.as_deref().unwrap_or_default(),
        name,
        uid,
    }
}

/// Ends the deployment: Complete (its replica count recorded) or Failed.
async fn finish(
    ctx: &Context,
    rc: &ReplicationController,
    phase: &str,
    lines: &[String],
) -> Result<(), Error> {
    let get = |k: &str| rc.annotations().get(k).cloned().unwrap_or_default();
    let mut a = Map::new();
    a.insert(keys::PHASE.into(), json!(phase));
    a.insert(
        keys::COMPLETED_AT.into(),
        json!(go_time(jiff::Timestamp::now())),
    );
    a.insert(
        keys::DEPLOYER_LOG.into(),
        json!(appended(&get(keys::DEPLOYER_LOG), lines)),
    );
    if phase == keys::COMPLETE {
        a.insert(keys::REPLICAS.into(), json!(get(keys::DESIRED_REPLICAS)));
        a.insert(keys::DESIRED_REPLICAS.into(), Value::Null);
    }
    annotate(ctx, rc, a).await
}

/// Reads the replication controller afresh (the watch's copy may not show the deployer's
/// last step yet), then takes the next step.
async fn sync(namespace: &str, name: &str, ctx: &Context) -> Result<Action, Error> {
    let api: Api<Object<ReplicationController>> = Api::namespaced(ctx.client.clone(), namespace);
    let Some(rc) = api.get_opt(name).await?.and_then(|o| o.object) else {
        return Ok(Action::await_change());
    };
    next(&rc, ctx).await
}

async fn next(rc: &ReplicationController, ctx: &Context) -> Result<Action, Error> {
    let annotations = rc.annotations();
    let get = |k: &str| annotations.get(k).cloned().unwrap_or_default();
    let config_name = get(keys::CONFIG_NAME);
    let phase = get(keys::PHASE);
    if config_name.is_empty()
        || phase.is_empty()
        || keys::terminal(&phase)
        || annotations.contains_key(keys::IGNORE_DEPLOYER)
    {
        return Ok(Action::await_change());
    }
    let name = rc.name_any();
    let namespace = rc.namespace().unwrap_or_default();
    let now = jiff::Timestamp::now();
    if get(keys::CANCELLED).eq_ignore_ascii_case("true") {
        finish(ctx, rc, keys::FAILED, &[]).await?;
        let message = format!("Rollout for \"{namespace}/{name}\" cancelled");
        events::record(
            &ctx.client,
            COMPONENT,
            &involved_config(rc, &config_name),
            "Normal",
            "RolloutCancelled",
            &message,
        )
        .await;
        return Ok(Action::await_change());
    }
    let mut a = Map::new();
    match phase.as_str() {
        keys::NEW => {
            // A retried deployment runs its hooks again, in new pods.
            hooks::delete_pods(&ctx.client, &namespace, &name).await?;
            a.insert(keys::HOOKS_DONE.into(), Value::Null);
            a.insert(keys::STRATEGY_STARTED.into(), Value::Null);
            a.insert(keys::PHASE.into(), json!(keys::PENDING));
            a.insert(keys::DEPLOYER_POD.into(), json!(format!("{name}-deploy")));
            a.insert(keys::CREATED_AT.into(), json!(go_time(now)));
            // A retried deployment starts a new log, as a new deployer pod would.
            a.insert(keys::DEPLOYER_LOG.into(), Value::Null);
            annotate(ctx, rc, a).await?;
            return Ok(Action::await_change());
        }
        keys::PENDING => {
            a.insert(keys::PHASE.into(), json!(keys::RUNNING));
            a.insert(keys::STARTED_AT.into(), json!(go_time(now)));
            a.insert(keys::PROGRESS_AT.into(), json!(now.to_string()));
            annotate(ctx, rc, a).await?;
            return Ok(Action::await_change());
        }
        _ => {}
    }
    let config: Value = serde_json::from_str(&get(keys::ENCODED_CONFIG)).unwrap_or_default();
    let (strategy, timeout) = strategy_of(&config);
    let interval = config["spec"]["strategy"]["rollingParams"]["intervalSeconds"]
        .as_i64()
        .unwrap_or(1)
        .max(1);
    let desired: i32 = get(keys::DESIRED_REPLICAS)
        .parse()
        .unwrap_or_else(|_| config["spec"]["replicas"].as_i64().unwrap_or(0) as i32);
    let version = deployment_of(rc).version;
    let siblings = deployments(&ctx.deployments, &namespace, &config_name, None).await;
    let from = siblings
        .iter()
        .map(deployment_of)
        .filter(|d| d.version < version && d.phase == keys::COMPLETE)
        .max_by_key(|d| d.version)
        .map(|d| d.name);
    let from_rc = siblings
        .iter()
        .find(|s| Some(s.name_any()) == from)
        .map(rc_of);
    let others: Vec<Rc> = siblings
        .iter()
        .filter(|s| s.name_any() != name && Some(s.name_any()) != from)
        .map(rc_of)
        .collect();
    let log = get(keys::DEPLOYER_LOG);
    let hooks_done = get(keys::HOOKS_DONE);
    let due = |point: Point| {
        hook_pod::hook(&config, point)
            .filter(|_| !hooks_done.split(',').any(|h| h == point.label()))
    };
    if let Some(hook) = due(Point::Pre) {
        return run_hook(ctx, rc, &config, hook, Point::Pre).await;
    }
    let to = rc_of(rc);
    let step = rollout::step(&rollout::Input {
        strategy: &strategy,
        to: &to,
        from: from_rc.as_ref(),
        others: &others,
        desired,
        // A log of hooks only is not the strategy's.
        started: annotations.contains_key(keys::STRATEGY_STARTED)
            || (!log.is_empty() && hooks_done.is_empty()),
        mid: due(Point::Mid).is_some(),
    });
    if step.mid
        && let Some(hook) = due(Point::Mid)
    {
        return run_hook(ctx, rc, &config, hook, Point::Mid).await;
    }
    let api: Api<Object<ReplicationController>> = Api::namespaced(ctx.client.clone(), &namespace);
    // The others first; the deployment's own size goes with its log, in one write.
    let mut own_size = None;
    for (target, replicas) in &step.scale {
        if *target == name {
            own_size = Some(*replicas);
            continue;
        }
        let patched = api
            .patch(
                target,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"replicas": replicas}})),
            )
            .await?;
        ctx.deployments.expect(&patched.metadata.meta);
    }
    let post = due(Point::Post);
    // The post hook runs once the deployment is at full size, before it is complete.
    if step.done
        && own_size.is_none()
        && step.log.is_empty()
        && let Some(hook) = post
    {
        return run_hook(ctx, rc, &config, hook, Point::Post).await;
    }
    if step.done && post.is_none() {
        if let Some(replicas) = own_size {
            let size = json!({"spec": {"replicas": replicas}});
            let patched = api
                .patch(&name, &PatchParams::default(), &Patch::Merge(size))
                .await?;
            ctx.deployments.expect(&patched.metadata.meta);
        }
        let mut lines = step.log;
        lines.push("--> Success".into());
        finish(ctx, rc, keys::COMPLETE, &lines).await?;
        hooks::delete_pods(&ctx.client, &namespace, &name).await?;
        return Ok(Action::await_change());
    }
    let progressed: Option<jiff::Timestamp> = get(keys::PROGRESS_AT).parse().ok();
    let stalled = !step.done
        && step.scale.is_empty()
        && progressed.is_some_and(|at| now.duration_since(at).as_secs() > timeout);
    if stalled {
        let error = match strategy {
            Strategy::Rolling { .. } if from_rc.is_some() => {
                "timed out waiting for any update progress to be made".to_string()
            }
            _ => format!(
                "update acceptor rejected {name}: pods for rc '{namespace}/{name}' took longer than {timeout} seconds to become available"
            ),
        };
        let mut lines = step.log;
        lines.push(format!("error: {error}"));
        finish(ctx, rc, keys::FAILED, &lines).await?;
        return Ok(Action::await_change());
    }
    if !step.log.is_empty() || !step.scale.is_empty() {
        a.insert(keys::DEPLOYER_LOG.into(), json!(appended(&log, &step.log)));
        a.insert(keys::STRATEGY_STARTED.into(), json!("true"));
        if !step.scale.is_empty() {
            a.insert(keys::PROGRESS_AT.into(), json!(now.to_string()));
        }
        let mut patch = json!({"metadata": {"annotations": a}});
        if let Some(replicas) = own_size {
            patch["spec"] = json!({"replicas": replicas});
        }
        match api
            .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
            .await
        {
            Ok(patched) => ctx.deployments.expect(&patched.metadata.meta),
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Action::requeue(Duration::from_secs(interval as u64)))
}

/// How long the rollout of `rc` has run, by its deployer's start.
fn elapsed(rc: &ReplicationController) -> i64 {
    let started = rc
        .annotations()
        .get(keys::STARTED_AT)
        .and_then(|t| jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S +0000 UTC", t).ok())
        .and_then(|t| t.to_zoned(jiff::tz::TimeZone::UTC).ok());
    started.map_or(0, |t| {
        jiff::Timestamp::now()
            .duration_since(t.timestamp())
            .as_secs()
    })
}

/// Takes one look at a lifecycle hook: its lines go to the deployer's log; once it is over
/// it is recorded as done (the strategy's timeout counting from then), and a failure it may
/// not ignore fails the deployment.
async fn run_hook(
    ctx: &Context,
    rc: &ReplicationController,
    config: &Value,
    hook: &Value,
    point: Point,
) -> Result<Action, Error> {
    let config_name = rc
        .annotations()
        .get(keys::CONFIG_NAME)
        .cloned()
        .unwrap_or_default();
    let on = involved_config(rc, &config_name);
    let progress = Hook {
        client: &ctx.client,
        rc,
        config,
        hook,
        point,
        elapsed: elapsed(rc),
        on: &on,
    }
    .look()
    .await?;
    let log = rc
        .annotations()
        .get(keys::DEPLOYER_LOG)
        .cloned()
        .unwrap_or_default();
    let mut a = Map::new();
    match progress {
        Progress::Waiting(lines) => {
            if !lines.is_empty() {
                a.insert(keys::DEPLOYER_LOG.into(), json!(appended(&log, &lines)));
                annotate(ctx, rc, a).await?;
            }
            Ok(Action::requeue(Duration::from_secs(1)))
        }
        Progress::Done(lines) => {
            let done = rc
                .annotations()
                .get(keys::HOOKS_DONE)
                .filter(|d| !d.is_empty())
                .map_or(point.label().to_string(), |d| {
                    format!("{d},{}", point.label())
                });
            a.insert(keys::HOOKS_DONE.into(), json!(done));
            a.insert(keys::DEPLOYER_LOG.into(), json!(appended(&log, &lines)));
            a.insert(
                keys::PROGRESS_AT.into(),
                json!(jiff::Timestamp::now().to_string()),
            );
            annotate(ctx, rc, a).await?;
            Ok(Action::await_change())
        }
        Progress::Failed(mut lines, error) => {
            lines.push(format!("error: {error}"));
            finish(ctx, rc, keys::FAILED, &lines).await?;
            Ok(Action::await_change())
        }
    }
}

/// Woken by a replication controller's change, seen by its metadata only: each step reads
/// it whole afresh.
async fn reconcile(
    obj: Arc<Meta<ReplicationController>>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let meta = &obj.metadata.meta;
    let key = key_of(meta);
    let (namespace, name) = (
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default(),
    );
    ctx.retries.track(&key, sync(namespace, name, &ctx)).await
}

fn error_policy(obj: Arc<Meta<ReplicationController>>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.retries
        .retry("deployer", &key_of(&obj.metadata.meta), error)
}

pub async fn run(client: Client, deployments: Arc<Deployments>) {
    let ctx = Arc::new(Context {
        client: client.clone(),
        retries: Retries::new(),
        deployments,
    });
    Controller::new(
        Api::<Meta<ReplicationController>>::all(client),
        watcher::Config::default(),
    )
    .run(reconcile, error_policy, ctx)
    .for_each(|_| futures::future::ready(()))
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_logs_as_upstream() {
        let t: jiff::Timestamp = "2024-05-01T10:00:00Z".parse().unwrap();
        assert_eq!(go_time(t), "2024-05-01 10:00:00 +0000 UTC");
        assert_eq!(appended("a\n", &["b".into()]), "a\nb\n");
        let (kind, timeout) = strategy_of(
            &json!({"spec": {"strategy": {"type": "Recreate", "recreateParams": {"timeoutSeconds": 5}}}}),
        );
        assert_eq!((kind, timeout), (Strategy::Recreate, 5));
    }
}
