//! The Job controller: a Job's pods run until enough succeed (`completions`, `parallelism` at
//! a time) or too many fail (`backoffLimit`) or it runs too long (`activeDeadlineSeconds`);
//! its status counts them and ends with upstream's conditions (SuccessCriteriaMet then
//! Complete; FailureTarget then Failed). A finished Job with `ttlSecondsAfterFinished` is
//! deleted (with its pods) once that time has passed.

pub mod decide;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use crate::Error;
use crate::backoff::{Retries, key_of};
use crate::events::{self, Involved};
use crate::lenient::{self, Meta, Object};
use crate::owners;
use crate::replicaset::pods::{deletion_order, is_active, is_ready};
use crate::workload_status;
use decide::{Next, Pods};

const COMPONENT: &str = "job-controller";

struct Context {
    client: Client,
    retries: Retries,
}

fn involved(job: &Job) -> Involved<'_> {
    Involved::of("batch/v1", "Job", &job.metadata)
}

fn now_text() -> String {
    jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
        .map(|t| t.to_string())
        .unwrap_or_default()
}

fn finished_at(job: &Job) -> Option<jiff::Timestamp> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
        .map(|c| {
            c.last_transition_time
                .as_ref()
                .map(|t| t.0)
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        })
}

/// Deletes a finished job whose time to live has passed; how long until then otherwise.
async fn expire(job: &Job, ctx: &Context, done: jiff::Timestamp) -> Result<Action, Error> {
    let Some(ttl) = job.spec.as_ref().and_then(|s| s.ttl_seconds_after_finished) else {
        return Ok(Action::await_change());
    };
    let left = done.as_second() + i64::from(ttl) - jiff::Timestamp::now().as_second();
    if left > 0 {
        return Ok(Action::requeue(Duration::from_secs(left as u64)));
    }
    let api: Api<Object<Job>> =
        Api::namespaced(ctx.client.clone(), &job.namespace().unwrap_or_default());
    let params = DeleteParams {
        propagation_policy: Some(kube::api::PropagationPolicy::Foreground),
        preconditions: Some(kube::api::Preconditions {
            uid: job.metadata.uid.clone(),
            resource_version: None,
        }),
        ..Default::default()
    };
    match api.delete(&job.name_any(), &params).await {
        Ok(_) | Err(kube::Error::Api(_)) => Ok(Action::await_change()),
        Err(e) => Err(e.into()),
    }
}

fn count(pods: &[Pod]) -> Pods {
    let mut c = Pods::default();
    for p in pods {
        match p.status.as_ref().and_then(|s| s.phase.as_deref()) {
            Some("Succeeded") => c.succeeded += 1,
            Some("Failed") => c.failed += 1,
            _ if p.metadata.deletion_timestamp.is_some() => c.terminating += 1,
            _ => {
                c.active += 1;
                if is_ready(p) {
                    c.ready += 1;
                }
            }
        }
    }
    c
}

async fn create_pods(job: &Job, ctx: &Context, n: i32) -> Result<(), Error> {
    let ns = job.namespace().unwrap_or_default();
    let template = job
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let meta = template.metadata.clone().unwrap_or_default();
    let body = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": format!("{}-", job.name_any()), "namespace": ns,
            "labels": meta.labels, "annotations": meta.annotations,
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": job.name_any(),
                "uid": job.metadata.uid, "controller": true, "blockOwnerDeletion": true}]},
        "spec": template.spec});
    let pod: Pod = serde_json::from_value(body).map_err(|e| Error::Invalid(e.to_string()))?;
    let api: Api<Object<Pod>> = Api::namespaced(ctx.client.clone(), &ns);
    for _ in 0..n {
        match api
            .create(&PostParams::default(), &Object::new(pod.clone()))
            .await
        {
            Ok(created) => {
                let name = created.metadata.meta.name.unwrap_or_default();
                events::record(
                    &ctx.client,
                    COMPONENT,
                    &involved(job),
                    "Normal",
                    "SuccessfulCreate",
                    &format!("Created pod: {name}"),
                )
                .await;
            }
            Err(e) => {
                let message = match &e {
                    kube::Error::Api(s) => s.message.clone(),
                    other => crate::logs::describe(other),
                };
                events::record(
                    &ctx.client,
                    COMPONENT,
                    &involved(job),
                    "Warning",
                    "FailedCreate",
                    &format!("Error creating: {message}"),
                )
                .await;
                return Err(e.into());
            }
        }
    }
    Ok(())
}

async fn delete_pods(job: &Job, ctx: &Context, pods: &[&Pod]) -> Result<(), Error> {
    let api: Api<Object<Pod>> =
        Api::namespaced(ctx.client.clone(), &job.namespace().unwrap_or_default());
    for pod in pods {
        match api.delete(&pod.name_any(), &DeleteParams::default()).await {
            Ok(_) => {
                let message = format!("Deleted pod: {}", pod.name_any());
                events::record(
                    &ctx.client,
                    COMPONENT,
                    &involved(job),
                    "Normal",
                    "SuccessfulDelete",
                    &message,
                )
                .await;
            }
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn condition(type_: &str, reason: &str, message: &str, now: &str) -> Value {
    json!({"type": type_, "status": "True", "reason": reason, "message": message,
        "lastProbeTime": now, "lastTransitionTime": now})
}

async fn sync(job: &Job, ctx: &Context) -> Result<Action, Error> {
    if job.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    if let Some(done) = finished_at(job) {
        return expire(job, ctx, done).await;
    }
    let Some(spec) = job.spec.as_ref() else {
        return Ok(Action::await_change());
    };
    let uid = job.metadata.uid.clone().unwrap_or_default();
    let ns = job.namespace().unwrap_or_default();
    let api: Api<Object<Pod>> = Api::namespaced(ctx.client.clone(), &ns);
    let pods: Vec<Pod> = lenient::list(
        &api,
        &ListParams::default().labels(&format!("batch.kubernetes.io/controller-uid={uid}")),
    )
    .await?
    .into_iter()
    .filter(|p| owners::is_controlled_by(&p.metadata, &uid))
    .collect();
    let counts = count(&pods);
    let previous = serde_json::to_value(&job.status).unwrap_or_default();
    let started = previous["startTime"].as_str().map(str::to_string);
    let now = now_text();
    let active_for = started
        .as_deref()
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .map(|s| jiff::Timestamp::now().as_second() - s.as_second());
    let mut conditions: Vec<Value> = previous["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut status = json!({"startTime": started.unwrap_or_else(|| now.clone()), "ready": counts.ready,
        "terminating": counts.terminating, "uncountedTerminatedPods": {}});
    let mut active: Vec<&Pod> = pods.iter().filter(|p| is_active(p)).collect();
    let mut requeue = None;
    match decide::next(spec, counts, active_for) {
        Next::Run { want } => {
            if want > counts.active {
                create_pods(job, ctx, want - counts.active).await?;
            } else if want < counts.active {
                deletion_order(&mut active);
                delete_pods(job, ctx, &active[..(counts.active - want) as usize]).await?;
            }
            if let Some(deadline) = spec.active_deadline_seconds {
                requeue = Some(deadline - active_for.unwrap_or(0));
            }
            status["active"] = json!(want.max(0));
        }
        Next::Complete => {
            if !conditions.iter().any(|c| c["type"] == "SuccessCriteriaMet") {
                conditions.push(condition(
                    "SuccessCriteriaMet",
                    decide::COMPLETE_REASON,
                    decide::COMPLETE_MESSAGE,
                    &now,
                ));
            }
            if counts.active > 0 {
                delete_pods(job, ctx, &active).await?;
            } else {
                conditions.push(condition(
                    "Complete",
                    decide::COMPLETE_REASON,
                    decide::COMPLETE_MESSAGE,
                    &now,
                ));
                status["completionTime"] = json!(now);
                events::record(
                    &ctx.client,
                    COMPONENT,
                    &involved(job),
                    "Normal",
                    "Completed",
                    "Job completed",
                )
                .await;
            }
            status["active"] = json!(0);
        }
        Next::Failed { reason, message } => {
            if !conditions.iter().any(|c| c["type"] == "FailureTarget") {
                conditions.push(condition("FailureTarget", reason, message, &now));
            }
            if counts.active > 0 {
                delete_pods(job, ctx, &active).await?;
            } else {
                conditions.push(condition("Failed", reason, message, &now));
                events::record(
                    &ctx.client,
                    COMPONENT,
                    &involved(job),
                    "Warning",
                    reason,
                    message,
                )
                .await;
            }
            status["active"] = json!(0);
        }
    }
    if counts.succeeded > 0 {
        status["succeeded"] = json!(counts.succeeded);
    }
    if counts.failed > 0 {
        status["failed"] = json!(counts.failed);
    }
    if !conditions.is_empty() {
        status["conditions"] = json!(conditions);
    }
    if status["active"] == json!(0) {
        status["active"] = Value::Null;
    }
    let changed = status.as_object().is_some_and(|m| {
        m.iter().any(|(k, v)| {
            previous.get(k).unwrap_or(&Value::Null) != v
                && !(v.is_null() && previous.get(k).is_none())
        })
    });
    if changed {
        let jobs: Api<Object<Job>> = Api::namespaced(ctx.client.clone(), &ns);
        workload_status::write(&jobs, &job.name_any(), &status).await?
    }
    Ok(workload_status::next_sync(requeue))
}

async fn reconcile(obj: Arc<Object<Job>>, ctx: Arc<Context>) -> Result<Action, Error> {
    let Some(job) = obj.object.as_ref() else {
        return Ok(Action::await_change());
    };
    let key = key_of(&obj.metadata.meta);
    ctx.retries.track(&key, sync(job, &ctx)).await
}

fn error_policy(obj: Arc<Object<Job>>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.retries.retry("job", &key_of(&obj.metadata.meta), error)
}

pub async fn run(client: Client) {
    let ctx = Arc::new(Context {
        client: client.clone(),
        retries: Retries::new(),
    });
    Controller::new(
        Api::<Object<Job>>::all(client.clone()),
        watcher::Config::default(),
    )
    .owns(Api::<Meta<Pod>>::all(client), watcher::Config::default())
    .run(reconcile, error_policy, ctx)
    .for_each(|_| futures::future::ready(()))
    .await;
}
