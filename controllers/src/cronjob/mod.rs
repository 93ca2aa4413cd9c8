//! The CronJob controller (batch/v1, kube-controller-manager's v2): at each schedule time (in
//! `timeZone`, UTC otherwise) a Job `<cronjob>-<minutes since the epoch>` from the job
//! template, unless suspended, too late, or forbidden by the concurrency policy (`Replace`
//! deletes the running ones first); the status lists the running jobs and the last schedule
//! and success times; finished jobs beyond the history limits go. The decisions are in
//! `decide.rs`; the cron job and its jobs are read through the API at each sync.

pub mod decide;

use std::sync::Arc;
use std::time::Duration;

use api::cron::Schedule;
use futures::StreamExt;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::api::{Api, DeleteParams, ListParams, PostParams, PropagationPolicy};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use crate::Error;
use crate::backoff::{Retries, key_of};
use crate::events::{self, Involved};
use crate::lenient::{self, Object};
use crate::owners;
use crate::workload_status;
use decide::{Concurrency, Decision, Facts};

const COMPONENT: &str = "cronjob-controller";
const SCHEDULED_ANNOTATION: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

struct Context {
    client: Client,
    retries: Retries,
}

fn involved(cj: &CronJob) -> Involved<'_> {
    Involved::of("batch/v1", "CronJob", &cj.metadata)
}

async fn event(ctx: &Context, cj: &CronJob, type_: &str, reason: &str, message: &str) {
    events::record(
        &ctx.client,
        COMPONENT,
        &involved(cj),
        type_,
        reason,
        message,
    )
    .await;
}

/// A job's end: `Some(true)` complete, `Some(false)` failed.
fn finished(job: &Job) -> Option<bool> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .filter(|c| c.status == "True")
        .find_map(|c| match c.type_.as_str() {
            "Complete" => Some(true),
            "Failed" => Some(false),
            _ => None,
        })
}

fn started(job: &Job) -> Timestamp {
    job.status
        .as_ref()
        .and_then(|s| s.start_time.as_ref())
        .or(job.metadata.creation_timestamp.as_ref())
        .map_or(Timestamp::UNIX_EPOCH, |t| t.0)
}

fn reference(job: &Job) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job", "name": job.name_any(),
        "namespace": job.namespace(), "uid": job.metadata.uid,
        "resourceVersion": job.metadata.resource_version})
}

fn seconds_text(t: Timestamp) -> String {
    Timestamp::from_second(t.as_second())
        .unwrap_or(t)
        .to_string()
}

async fn delete_job(ctx: &Context, cj: &CronJob, job: &Job) -> Result<(), Error> {
    let api: Api<Object<Job>> =
        Api::namespaced(ctx.client.clone(), &cj.namespace().unwrap_or_default());
    let params = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        preconditions: Some(kube::api::Preconditions {
            uid: job.metadata.uid.clone(),
            resource_version: None,
        }),
        ..Default::default()
    };
    match api.delete(&job.name_any(), &params).await {
        Ok(_) => {
            let message = format!("Deleted job {}", job.name_any());
            event(ctx, cj, "Normal", "SuccessfulDelete", &message).await;
            Ok(())
        }
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Ok(()),
        Err(e) => {
            let message = format!(
                "Error deleting job {}: {}",
                job.name_any(),
                crate::logs::describe(&e)
            );
            event(ctx, cj, "Warning", "FailedDelete", &message).await;
            Err(e.into())
        }
    }
}

/// Creates the job of `scheduled`; `None` if it existed already.
async fn create_job(
    ctx: &Context,
    cj: &CronJob,
    scheduled: Timestamp,
    tz: &TimeZone,
) -> Result<Option<Job>, Error> {
    let ns = cj.namespace().unwrap_or_default();
    let template = serde_json::to_value(&cj.spec.job_template).unwrap_or_default();
    let name = decide::job_name(&cj.name_any(), scheduled);
    let mut annotations = template["metadata"]["annotations"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let local = scheduled.to_zoned(tz.clone());
    annotations.insert(
        SCHEDULED_ANNOTATION.into(),
        json!(
            local
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
                .replace("+00:00", "Z")
        ),
    );
    let body = json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": ns,
            "labels": template["metadata"]["labels"], "annotations": annotations,
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob",
                "name": cj.name_any(), "uid": cj.metadata.uid, "controller": true,
                "blockOwnerDeletion": true}]},
        "spec": template["spec"]});
    let job: Job = serde_json::from_value(body).map_err(|e| Error::Invalid(e.to_string()))?;
    let api: Api<Object<Job>> = Api::namespaced(ctx.client.clone(), &ns);
    match api.create(&PostParams::default(), &Object::new(job)).await {
        Ok(created) => {
            event(
                ctx,
                cj,
                "Normal",
                "SuccessfulCreate",
                &format!("Created job {name}"),
            )
            .await;
            Ok(created.object)
        }
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(None),
        Err(e) => {
            let message = match &e {
                kube::Error::Api(s) => s.message.clone(),
                other => crate::logs::describe(other),
            };
            event(
                ctx,
                cj,
                "Warning",
                "FailedCreate",
                &format!("Error creating job: {message}"),
            )
            .await;
            Err(e.into())
        }
    }
}

async fn sync(cj: &CronJob, ctx: &Context) -> Result<Action, Error> {
    let spec = &cj.spec;
    if cj.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let ns = cj.namespace().unwrap_or_default();
    let uid = cj.metadata.uid.clone().unwrap_or_default();
    let status = cj.status.clone().unwrap_or_default();
    let jobs_api: Api<Object<Job>> = Api::namespaced(ctx.client.clone(), &ns);
    let mut jobs: Vec<Job> = lenient::list(&jobs_api, &ListParams::default()).await?;
    jobs.retain(|j| owners::is_controlled_by(&j.metadata, &uid));

    // Jobs that ended since the last sync: seen, and the last success recorded.
    let was_active: Vec<String> = status
        .active
        .iter()
        .flatten()
        .filter_map(|r| r.name.clone())
        .collect();
    let mut last_success = status.last_successful_time.as_ref().map(|t| t.0);
    for job in &jobs {
        let Some(complete) = finished(job) else {
            continue;
        };
        if was_active.contains(&job.name_any()) {
            let condition = if complete { "Complete" } else { "Failed" };
            let message = format!(
                "Saw completed job: {}, condition: {condition}",
                job.name_any()
            );
            event(ctx, cj, "Normal", "SawCompletedJob", &message).await;
        }
        if complete {
            let done = job
                .status
                .as_ref()
                .and_then(|s| s.completion_time.as_ref())
                .map(|t| t.0);
            if done > last_success {
                last_success = done;
            }
        }
    }

    let now = Timestamp::now();
    let tz = match spec.time_zone.as_deref() {
        Some(name) => TimeZone::get(name).map_err(|e| Error::Invalid(e.to_string())),
        None => Ok(TimeZone::UTC),
    };
    let schedule = Schedule::parse(&spec.schedule).map_err(Error::Invalid);
    let (tz, schedule) = match (tz, schedule) {
        (Ok(tz), Ok(s)) => (tz, s),
        (Err(e), _) | (_, Err(e)) => {
            let message = format!("invalid schedule: {} : {e}", spec.schedule);
            event(ctx, cj, "Warning", "InvalidSchedule", &message).await;
            return Ok(Action::await_change());
        }
    };
    let names: Vec<String> = jobs.iter().map(|j| j.name_any()).collect();
    let active_count = jobs.iter().filter(|j| finished(j).is_none()).count();
    let already_made = |t: Timestamp| names.contains(&decide::job_name(&cj.name_any(), t));
    let facts = Facts {
        schedule: &schedule,
        tz: &tz,
        created: cj.metadata.creation_timestamp.as_ref().map_or(now, |t| t.0),
        last_schedule: status.last_schedule_time.as_ref().map(|t| t.0),
        starting_deadline: spec.starting_deadline_seconds,
        suspend: spec.suspend == Some(true),
        concurrency: Concurrency::of(spec.concurrency_policy.as_deref()),
        active: active_count,
        already_made: &already_made,
        now,
    };
    let (decision, too_many, next) = decide::decide(&facts);
    if too_many {
        event(ctx, cj, "Warning", "TooManyMissedTimes",
            "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew").await;
    }
    let mut last_schedule = status.last_schedule_time.as_ref().map(|t| t.0);
    match decision {
        Decision::Wait => {}
        Decision::Missed { scheduled } => {
            let message = format!(
                "Missed scheduled time to start a job: {}",
                scheduled
                    .to_zoned(TimeZone::UTC)
                    .strftime("%a, %d %b %Y %H:%M:%S %z")
            );
            event(ctx, cj, "Warning", "MissSchedule", &message).await;
        }
        Decision::AlreadyActive { .. } => {
            event(ctx, cj, "Normal", "JobAlreadyActive",
                "Not starting job because prior execution is running and concurrency policy is Forbid").await;
        }
        Decision::Run { scheduled, replace } => {
            if replace {
                for job in jobs.iter().filter(|j| finished(j).is_none()) {
                    delete_job(ctx, cj, job).await?;
                }
                jobs.retain(|j| finished(j).is_some());
            }
            if let Some(job) = create_job(ctx, cj, scheduled, &tz).await? {
                jobs.push(job);
            }
            last_schedule = Some(scheduled);
        }
    }

    // Finished jobs beyond the history limits go, oldest first.
    let ended = |complete: bool| -> Vec<(Timestamp, String)> {
        jobs.iter()
            .filter(|j| finished(j) == Some(complete))
            .map(|j| (started(j), j.name_any()))
            .collect()
    };
    let mut gone =
        decide::beyond_limit(ended(true), spec.successful_jobs_history_limit.unwrap_or(3));
    gone.extend(decide::beyond_limit(
        ended(false),
        spec.failed_jobs_history_limit.unwrap_or(1),
    ));
    for job in jobs.iter().filter(|j| gone.contains(&j.name_any())) {
        delete_job(ctx, cj, job).await?;
    }

    let active: Vec<Value> = jobs
        .iter()
        .filter(|j| finished(j).is_none())
        .map(reference)
        .collect();
    let wanted = json!({
        "active": if active.is_empty() { Value::Null } else { json!(active) },
        "lastScheduleTime": last_schedule.map(seconds_text),
        "lastSuccessfulTime": last_success.map(seconds_text),
    });
    let have = serde_json::to_value(&status).unwrap_or_default();
    let names_of = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["name"].as_str().map(str::to_string))
            .collect()
    };
    let differs = names_of(&have["active"]) != names_of(&wanted["active"])
        || ["lastScheduleTime", "lastSuccessfulTime"].iter().any(|k| {
            let got = have.get(*k).cloned().unwrap_or(Value::Null);
            got != wanted[*k]
        });
    if differs {
        let api: Api<Object<CronJob>> = Api::namespaced(ctx.client.clone(), &ns);
        workload_status::write(&api, &cj.name_any(), &wanted).await?
    }
    Ok(match next {
        Some(t) => {
            let wait = t.as_millisecond() - Timestamp::now().as_millisecond() + 100;
            Action::requeue(Duration::from_millis(wait.max(100) as u64))
        }
        None => Action::await_change(),
    })
}

async fn reconcile(obj: Arc<Object<CronJob>>, ctx: Arc<Context>) -> Result<Action, Error> {
    let key = key_of(&obj.metadata.meta);
    ctx.retries.track(&key, sync_current(&obj, &ctx)).await
}

/// Syncs the cron job as stored now: the watch's copy may not have its last status write
/// yet (a sync woken by the job it just made), and a status computed from that copy would
/// erase the recorded schedule time and make the same minute's job again later.
async fn sync_current(obj: &Object<CronJob>, ctx: &Context) -> Result<Action, Error> {
    let meta = &obj.metadata.meta;
    let api: Api<Object<CronJob>> = Api::namespaced(
        ctx.client.clone(),
        meta.namespace.as_deref().unwrap_or_default(),
    );
    let name = meta.name.as_deref().unwrap_or_default();
    match api.get_opt(name).await?.and_then(|o| o.object) {
        Some(cj) if cj.metadata.uid == meta.uid => sync(&cj, ctx).await,
        _ => Ok(Action::await_change()),
    }
}

fn error_policy(obj: Arc<Object<CronJob>>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.retries
        .retry("cronjob", &key_of(&obj.metadata.meta), error)
}

pub async fn run(client: Client) {
    let ctx = Arc::new(Context {
        client: client.clone(),
        retries: Retries::new(),
    });
    Controller::new(
        Api::<Object<CronJob>>::all(client.clone()),
        watcher::Config::default(),
    )
    .owns(
        Api::<crate::lenient::Meta<Job>>::all(client),
        watcher::Config::default(),
    )
    .run(reconcile, error_policy, ctx)
    .for_each(|_| futures::future::ready(()))
    .await;
}
