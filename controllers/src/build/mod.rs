//! Builds (build.openshift.io): each build runs as a pod `<build>-build`.
//!
//! - this module, the build controller: starts a new build's pod when its config's run
//!   policy lets it (`policy.rs`), with its output resolved through its image stream and the
//!   `builder` account's push secret (`pod.rs` makes the pod), then follows the pod into the
//!   build's phase (`phase.rs`), cancels on request and records completion data;
//! - `config`: the build config controller: the first build on creation (ConfigChange), builds
//!   on a new image of the builder's stream (ImageChange), and pruning past the history limits.

pub mod config;
pub mod phase;
pub mod pod;
pub mod policy;
pub mod types;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, ServiceAccount};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use crate::Error;
use crate::backoff::{Backoffs, Retries, key_of};
use crate::events::{self, Involved};
use crate::lenient::{Meta, Object};
use crate::owners;
use phase::Phase;
use types::{Build, ImageStream, is_terminal};

const COMPONENT: &str = "build-controller";
/// How soon a build waiting for its upload looks again.
const WAIT: Duration = Duration::from_secs(1);
/// How soon a build that cannot start for want of its account's secret or its output's stream
/// looks again: doubling from `WAIT` up to this, since a change of either wakes it at once
/// (the watches in `run_builds`) and every waiting build polling each second made the server's
/// load grow with the builds waiting.
const MAX_WAIT: Duration = Duration::from_secs(60);
/// The annotation naming an account's pull secret for the integrated registry.
const REGISTRY_SECRET_REF: &str = "openshift.io/internal-registry-pull-secret-ref";

struct Context {
    client: Client,
    retries: Retries,
    /// Every build, from the controller's own watch (run policies read siblings here).
    builds: Store<Object<Build>>,
    /// How long each build that stays New waits before looking again.
    waits: Mutex<Backoffs<String>>,
}

fn now() -> String {
    jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}

fn involved(build: &Build) -> Involved<'_> {
    Involved {
        api_version: "build.openshift.io/v1",
        kind: "Build",
        namespace: build.namespace(),
        name: build.name(),
        uid: build.metadata.uid.as_deref().unwrap_or_default(),
    }
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(r) if r.code == 404)
}

async fn patch_build(ctx: &Context, build: &Build, patch: Value) -> Result<(), Error> {
    let api: Api<Object<Build>> = Api::namespaced(ctx.client.clone(), build.namespace());
    match api
        .patch(build.name(), &PatchParams::default(), &Patch::Merge(patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Moves `build` to `next`, with the event upstream records for it.
async fn transition(
    ctx: &Context,
    build: &Build,
    next: &Phase,
    pod: Option<&Pod>,
) -> Result<(), Error> {
    let patch = phase::status_patch(&build.status, next, pod, &now());
    patch_build(ctx, build, json!({"status": patch})).await?;
    let id = format!("{}/{}", build.namespace(), build.name());
    let (reason, message) = match next.phase {
        "Running" => ("BuildStarted", format!("Build {id} is now running")),
        "Complete" => (
            "BuildCompleted",
            format!("Build {id} completed successfully"),
        ),
        "Failed" | "Error" => ("BuildFailed", format!("Build {id} failed")),
        "Cancelled" => ("BuildCancelled", format!("Build {id} has been cancelled")),
        _ => return Ok(()),
    };
    let kind = if matches!(next.phase, "Failed" | "Error") {
        "Warning"
    } else {
        "Normal"
    };
    events::record(
        &ctx.client,
        COMPONENT,
        &involved(build),
        kind,
        reason,
        &message,
    )
    .await;
    Ok(())
}

/// Builds the controller must not move back to (upstream's isValidTransition).
fn valid_transition(from: &str, to: &str) -> bool {
    if from == to {
        return true;
    }
    if is_terminal(from) {
        return false;
    }
    !matches!(
        (from, to),
        ("Pending", "New") | ("Running", "New" | "Pending")
    )
}

/// A reason for a build that stays New for now.
async fn stays_new(
    ctx: &Context,
    build: &Build,
    reason: &str,
    message: &str,
) -> Result<Action, Error> {
    if build.status["reason"] != reason {
        patch_build(
            ctx,
            build,
            json!({"status": {"reason": reason, "message": message}}),
        )
        .await?;
    }
    let key = format!("{}/{}", build.namespace(), build.name());
    let delay = ctx
        .waits
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .failed(&key);
    Ok(Action::requeue(delay))
}

/// The New builds of `namespace` that `concerns` picks, to look again.
fn waiting(
    builds: &Store<Object<Build>>,
    namespace: &str,
    concerns: impl Fn(&Build) -> bool,
) -> Vec<ObjectRef<Object<Build>>> {
    builds
        .state()
        .iter()
        .filter_map(|o| o.object.as_ref())
        .filter(|b| b.phase() == "New" && b.namespace() == namespace && concerns(b))
        .map(|b| ObjectRef::new(b.name()).within(b.namespace()))
        .collect()
}

/// The pull spec the build pushes to: an image stream tag's repository and tag, or the
/// named image. `Ok(None)`: the stream (or its repository) is not there yet.
async fn output_reference(ctx: &Context, build: &Build) -> Result<Option<String>, Error> {
    let to = &build.spec["output"]["to"];
    let name = to["name"].as_str().unwrap_or_default();
    match to["kind"].as_str() {
        Some("ImageStreamTag") => {
            let ns = to["namespace"]
                .as_str()
                .filter(|n| !n.is_empty())
                .unwrap_or(build.namespace());
            let (stream, tag) = name.split_once(':').unwrap_or((name, "latest"));
            let api: Api<Object<ImageStream>> = Api::namespaced(ctx.client.clone(), ns);
            let Some(found) = api.get_opt(stream).await?.and_then(|o| o.object) else {
                return Ok(None);
            };
            Ok(found.status["dockerImageRepository"]
                .as_str()
                .filter(|r| !r.is_empty())
                .map(|r| format!("{r}:{tag}")))
        }
        Some("DockerImage") => Ok(Some(name.to_string())),
        _ => Ok(Some(String::new())),
    }
}

/// The build account's secret for the integrated registry.
async fn account_secret(ctx: &Context, build: &Build) -> Result<Option<String>, Error> {
    let account = build.spec["serviceAccount"]
        .as_str()
        .filter(|s| !s.is_empty())
        .unwrap_or("builder");
    let api: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), build.namespace());
    let Some(sa) = api.get_opt(account).await? else {
        return Ok(None);
    };
    if let Some(reference) = sa
        .annotations()
        .get(REGISTRY_SECRET_REF)
        .filter(|r| !r.is_empty())
    {
        return Ok(Some(reference.clone()));
    }
    Ok(sa
        .image_pull_secrets
        .iter()
        .flatten()
        .map(|s| s.name.clone())
        .find(|n| !n.is_empty()))
}

/// Ends a Custom strategy build: its pod would run the builder image the build names as a
/// privileged container, which the nodes never do (they run only their own build steps
/// privileged). The event says why; the build ends with upstream's reason for a pod spec
/// that cannot be made.
async fn refuse_custom(ctx: &Context, build: &Build) -> Result<Action, Error> {
    events::record(
        &ctx.client,
        COMPONENT,
        &involved(build),
        "Warning",
        "FailedCreate",
        "Error creating build pod spec: the Custom build strategy is not run by this cluster: \
         its nodes run only their own build steps privileged, not a builder image",
    )
    .await;
    transition(ctx, build, &phase::NO_POD_SPEC, None).await?;
    Ok(Action::await_change())
}

/// Starts a New build whose turn it is: its pod, then Pending.
async fn start(ctx: &Context, build: &Build) -> Result<Action, Error> {
    if !build.config().is_empty() {
        let cached = types::of_config(&ctx.builds, build.namespace(), build.config());
        let all: Vec<&Build> = cached.iter().filter_map(|o| o.object.as_ref()).collect();
        for older in policy::superseded(build, &all) {
            patch_build(ctx, older, json!({"status": {"cancelled": true}})).await?;
        }
        if build.policy() == "SerialLatestOnly" && !policy::is_latest_queued(build, &all) {
            return Ok(Action::await_change());
        }
        // Its turn comes when another build of the config ends (see `run_builds`).
        if !policy::runnable(build, &all) {
            return Ok(Action::await_change());
        }
    }
    if build.spec["strategy"]["customStrategy"].is_object() {
        return refuse_custom(ctx, build).await;
    }
    let Some(output) = output_reference(ctx, build).await? else {
        events::record(&ctx.client, COMPONENT, &involved(build), "Warning", "InvalidOutput",
            "Error starting build: an image stream cannot be used as build output because the integrated container image registry is not configured").await;
        return stays_new(
            ctx,
            build,
            "InvalidOutputReference",
            "Output image could not be resolved.",
        )
        .await;
    };
    let secret = account_secret(ctx, build).await?;
    let push = match build.spec["output"]["pushSecret"]["name"].as_str() {
        Some(name) if !name.is_empty() => Some(name.to_string()),
        _ if output.is_empty() => None,
        _ => match secret.clone() {
            Some(s) => Some(s),
            None => {
                return stays_new(
                    ctx,
                    build,
                    "CannotRetrieveServiceAccount",
                    "Unable to look up the service account secrets for this build.",
                )
                .await;
            }
        },
    };
    let pull = ["dockerStrategy", "sourceStrategy", "customStrategy"]
        .iter()
        .find_map(|f| {
            build.spec["strategy"][*f]["pullSecret"]["name"]
                .as_str()
                .map(String::from)
        })
        .or(secret);
    if build.spec["source"]["binary"].is_object() {
        let maps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), build.namespace());
        if maps
            .get_opt(&format!("{}-binary", build.name()))
            .await?
            .is_none()
        {
            return Ok(Action::requeue(WAIT));
        }
    }
    let mut resolved = serde_json::to_value(build).map_err(|e| Error::Invalid(e.to_string()))?;
    if !output.is_empty() {
        resolved["spec"]["output"]["to"] = json!({"kind": "DockerImage", "name": output});
        resolved["status"]["outputDockerImageReference"] = json!(output);
    }
    if let Some(push) = &push {
        resolved["spec"]["output"]["pushSecret"] = json!({"name": push});
    }
    let secrets = pod::Secrets {
        push: push.as_deref(),
        pull: pull.as_deref(),
    };
    let manifest = pod::build_pod(build, &resolved, &secrets);
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), build.namespace());
    let new_pod: Pod =
        serde_json::from_value(manifest).map_err(|e| Error::Invalid(e.to_string()))?;
    match pods.create(&PostParams::default(), &new_pod).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 409 => {}
        Err(e) => {
            events::record(
                &ctx.client,
                COMPONENT,
                &involved(build),
                "Warning",
                "FailedCreate",
                &format!("Error creating build pod: {}", crate::logs::describe(&e)),
            )
            .await;
            patch_build(
                ctx,
                build,
                json!({"status": {"reason": "CannotCreateBuildPod",
                "message": "Failed creating build pod."}}),
            )
            .await?;
            return Err(e.into());
        }
    }
    let mut patch = json!({
        "metadata": {"annotations": {types::POD_NAME: build.pod_name()}},
        "status": {"phase": "Pending", "reason": null, "message": null},
    });
    if !output.is_empty() {
        patch["status"]["outputDockerImageReference"] = json!(output);
    }
    if let Some(push) = push {
        patch["spec"] = json!({"output": {"pushSecret": {"name": push}}});
    }
    patch_build(ctx, build, patch).await?;
    Ok(Action::await_change())
}

/// The build follows its pod.
async fn follow_pod(ctx: &Context, build: &Build, pod: &Pod) -> Result<Action, Error> {
    let next = phase::from_pod(pod);
    if next.phase == build.phase() || !valid_transition(build.phase(), next.phase) {
        return Ok(Action::await_change());
    }
    transition(ctx, build, &next, Some(pod)).await?;
    Ok(Action::await_change())
}

async fn sync(build: &Build, ctx: &Context) -> Result<Action, Error> {
    if build.metadata.deletion_timestamp.is_some()
        || build.spec["strategy"]["jenkinsPipelineStrategy"].is_object()
    {
        return Ok(Action::await_change());
    }
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), build.namespace());
    let pod_name = build.pod_name();
    let current = build.phase();
    if is_terminal(current) {
        let no_snippet = matches!(current, "Failed" | "Error")
            && build.status["logSnippet"]
                .as_str()
                .unwrap_or_default()
                .is_empty();
        if build.status["completionTimestamp"].is_null() {
            let pod = pods.get_opt(&pod_name).await?;
            let same = Phase {
                phase: types_phase(current),
                reason: "",
                message: "",
            };
            let mut patch = phase::status_patch(&build.status, &same, pod.as_ref(), &now());
            if let Some(map) = patch.as_object_mut() {
                map.remove("reason");
                map.remove("message");
            }
            patch_build(ctx, build, json!({"status": patch})).await?;
        } else if no_snippet
            // The builder reported the failure before its container ended: the snippet
            // comes from the termination message once the pod has it.
            && let Some(pod) = pods.get_opt(&pod_name).await?
        {
            let snippet = phase::log_snippet(&pod);
            if !snippet.is_empty() {
                patch_build(ctx, build, json!({"status": {"logSnippet": snippet}})).await?;
            }
        }
        return Ok(Action::await_change());
    }
    if build.status["cancelled"] == true {
        match pods.delete(&pod_name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e.into()),
        }
        transition(ctx, build, &phase::CANCELLED, None).await?;
        return Ok(Action::await_change());
    }
    let pod = pods.get_opt(&pod_name).await?;
    let owned = |p: &Pod| owners::controller_uid(&p.metadata) == build.metadata.uid.as_deref();
    match (current, pod) {
        ("New", None) => start(ctx, build).await,
        ("New", Some(p)) if !owned(&p) => {
            transition(ctx, build, &phase::POD_EXISTS, None).await?;
            Ok(Action::await_change())
        }
        (_, Some(p)) => follow_pod(ctx, build, &p).await,
        (_, None) => {
            transition(ctx, build, &phase::POD_DELETED, None).await?;
            Ok(Action::await_change())
        }
    }
}

/// A terminal phase as the static string `Phase` holds.
fn types_phase(phase: &str) -> &'static str {
    match phase {
        "Complete" => "Complete",
        "Failed" => "Failed",
        "Cancelled" => "Cancelled",
        _ => "Error",
    }
}

async fn reconcile(obj: Arc<Object<Build>>, ctx: Arc<Context>) -> Result<Action, Error> {
    let Some(build) = obj.object.as_ref() else {
        return Ok(Action::await_change());
    };
    let key = key_of(&obj.metadata.meta);
    ctx.retries.track(&key, sync(build, &ctx)).await
}

fn error_policy(obj: Arc<Object<Build>>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.retries
        .retry("build", &key_of(&obj.metadata.meta), error)
}

async fn run_builds(client: Client) {
    let controller = Controller::new(
        Api::<Object<Build>>::all(client.clone()),
        watcher::Config::default(),
    );
    let builds = controller.store();
    let ctx = Arc::new(Context {
        client: client.clone(),
        retries: Retries::new(),
        builds: builds.clone(),
        waits: Mutex::new(Backoffs::new(WAIT, MAX_WAIT)),
    });
    let (for_accounts, for_streams) = (builds.clone(), builds.clone());
    controller
        .owns(
            Api::<Meta<Pod>>::all(client.clone()),
            watcher::Config::default(),
        )
        // An account's change (its registry secret) concerns the builds waiting that run as
        // it; a stream's change (its repository) those waiting to push to it.
        .watches(
            Api::<Meta<ServiceAccount>>::all(client.clone()),
            watcher::Config::default(),
            move |sa| {
                let name = sa.metadata.meta.name.clone().unwrap_or_default();
                let ns = sa.metadata.meta.namespace.clone().unwrap_or_default();
                waiting(&for_accounts, &ns, |b| {
                    b.spec["serviceAccount"].as_str().unwrap_or("builder") == name
                })
            },
        )
        .watches(
            Api::<Meta<ImageStream>>::all(client.clone()),
            watcher::Config::default(),
            move |stream| {
                let name = stream.metadata.meta.name.clone().unwrap_or_default();
                let ns = stream.metadata.meta.namespace.clone().unwrap_or_default();
                waiting(&for_streams, &ns, |b| {
                    let to = &b.spec["output"]["to"];
                    let target = to["name"].as_str().unwrap_or_default();
                    to["kind"] == "ImageStreamTag"
                        && target.split(':').next() == Some(name.as_str())
                })
            },
        )
        // A build that ends may let the queued (New) builds of its config start.
        .watches(
            Api::<Object<Build>>::all(client),
            watcher::Config::default(),
            move |ended| {
                let Some(ended) = ended.object.as_ref().filter(|b| is_terminal(b.phase())) else {
                    return Vec::new();
                };
                builds
                    .state()
                    .iter()
                    .filter_map(|o| o.object.as_ref())
                    .filter(|b| {
                        b.phase() == "New"
                            && b.namespace() == ended.namespace()
                            && b.config() == ended.config()
                    })
                    .map(|b| ObjectRef::new(b.name()).within(b.namespace()))
                    .collect::<Vec<_>>()
            },
        )
        .run(reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}

/// Runs the build controller and the build config controller.
pub async fn run(client: Client) {
    tokio::join!(run_builds(client.clone()), config::run(client));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_never_go_back() {
        assert!(valid_transition("New", "Running"));
        assert!(!valid_transition("Running", "Pending"));
        assert!(!valid_transition("Complete", "Running"));
    }
}
