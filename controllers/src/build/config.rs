//! The build config controller: a config's first build when it has a ConfigChange trigger
//! (`status.lastVersion` still 0), a build whenever an ImageChange trigger's image stream tag
//! points at an image the config has not built from yet, and the pruning of its finished
//! builds past `successfulBuildsHistoryLimit` / `failedBuildsHistoryLimit`. Builds are made
//! through the API's `instantiate`, which moves `lastVersion` on by compare-and-swap, so two
//! triggers firing at once make one build each or a refusal, never a duplicate.

use std::borrow::Borrow;
use std::sync::Arc;

use futures::StreamExt;
use kube::api::{Api, DeleteParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use serde_json::{Value, json};

use super::types::{Build, BuildConfig, ImageStream};
use crate::Error;
use crate::backoff::{Retries, key_of};
use crate::events::{self, Involved};
use crate::lenient::Object;

const COMPONENT: &str = "buildconfig-controller";

struct Context {
    client: Client,
    retries: Retries,
    /// Every build, from a watch of its own (pruning reads a config's builds here).
    builds: Store<Object<Build>>,
}

fn involved(bc: &BuildConfig) -> Involved<'_> {
    Involved {
        api_version: "build.openshift.io/v1",
        kind: "BuildConfig",
        namespace: bc.namespace(),
        name: bc.name(),
        uid: bc.metadata.uid.as_deref().unwrap_or_default(),
    }
}

/// The builds to delete: finished ones past the limits, oldest first (upstream's pruning).
pub fn to_prune<'a, B: Borrow<Build>>(bc: &BuildConfig, builds: &'a [B]) -> Vec<&'a Build> {
    let mut out = Vec::new();
    for (limit, phases) in [
        ("successfulBuildsHistoryLimit", &["Complete"][..]),
        (
            "failedBuildsHistoryLimit",
            &["Failed", "Error", "Cancelled"][..],
        ),
    ] {
        let Some(limit) = bc.spec[limit].as_i64() else {
            continue;
        };
        let mut done: Vec<&Build> = builds
            .iter()
            .map(Borrow::borrow)
            .filter(|b: &&Build| phases.contains(&b.phase()))
            .collect();
        done.sort_by(|a, b| {
            b.metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0)
                .cmp(&a.metadata.creation_timestamp.as_ref().map(|t| t.0))
                .then(b.number().cmp(&a.number()))
        });
        out.extend(done.into_iter().skip(limit.max(0) as usize));
    }
    out
}

/// The pull spec a tag of `stream` points at now (its newest event; the integrated
/// registry's repository by digest when the tag's reference policy is Local).
pub fn tag_image(stream: &ImageStream, tag: &str) -> Option<String> {
    let event = stream.status["tags"]
        .as_array()?
        .iter()
        .find(|t| t["tag"] == tag)?["items"]
        .as_array()?
        .first()?;
    let local = stream.spec["tags"]
        .as_array()
        .and_then(|tags| tags.iter().find(|t| t["name"] == tag))
        .is_some_and(|t| t["referencePolicy"]["type"] == "Local");
    let repository = stream.status["dockerImageRepository"]
        .as_str()
        .unwrap_or_default();
    let image = event["image"].as_str().unwrap_or_default();
    let resolved = if local && !repository.is_empty() && !image.is_empty() {
        format!("{repository}@{image}")
    } else {
        event["dockerImageReference"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    Some(resolved).filter(|r| !r.is_empty())
}

/// The image stream tag each ImageChange trigger follows: its own `from` or the strategy's.
fn image_triggers(bc: &BuildConfig) -> Vec<Value> {
    let strategy_from = ["sourceStrategy", "dockerStrategy", "customStrategy"]
        .iter()
        .map(|f| &bc.spec["strategy"][*f]["from"])
        .find(|f| f["kind"] == "ImageStreamTag")
        .cloned();
    bc.spec["triggers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["type"] == "ImageChange")
        .filter_map(|t| {
            let own = &t["imageChange"]["from"];
            if own.is_object() {
                Some(own.clone())
            } else {
                strategy_from.clone()
            }
        })
        .collect()
}

async fn instantiate(client: &Client, bc: &BuildConfig, request: Value) -> Result<(), String> {
    let url = format!(
        "/apis/build.openshift.io/v1/namespaces/{}/buildconfigs/{}/instantiate",
        bc.namespace(),
        bc.name()
    );
    let body = serde_json::to_vec(&request).map_err(|e| e.to_string())?;
    let request = http::Request::post(url)
        .header("content-type", "application/json")
        .body(body)
        .map_err(|e| e.to_string())?;
    match client.request::<Value>(request).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) => Err(e.message),
        Err(e) => Err(crate::logs::describe(&e)),
    }
}

async fn fire_image_triggers(ctx: &Context, bc: &BuildConfig) -> Result<(), Error> {
    let recorded = bc.status["imageChangeTriggers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for from in image_triggers(bc) {
        let name = from["name"].as_str().unwrap_or_default();
        let given_ns = from["namespace"].as_str().unwrap_or_default();
        let ns = if given_ns.is_empty() {
            bc.namespace()
        } else {
            given_ns
        };
        let (stream, tag) = name.split_once(':').unwrap_or((name, "latest"));
        let api: Api<Object<ImageStream>> = Api::namespaced(ctx.client.clone(), ns);
        let Some(found) = api.get_opt(stream).await?.and_then(|o| o.object) else {
            continue;
        };
        let Some(latest) = tag_image(&found, tag) else {
            continue;
        };
        let last = recorded
            .iter()
            .find(|r| {
                r["from"]["name"] == name
                    && r["from"]["namespace"].as_str().unwrap_or_default() == given_ns
            })
            .and_then(|r| r["lastTriggeredImageID"].as_str());
        if last == Some(latest.as_str()) {
            continue;
        }
        let from_ref = json!({"kind": "ImageStreamTag", "name": name, "namespace": given_ns});
        let request = json!({"kind": "BuildRequest", "apiVersion": "build.openshift.io/v1",
            "metadata": {"name": bc.name()},
            "triggeredByImage": {"kind": "DockerImage", "name": latest},
            "from": from_ref,
            "triggeredBy": [{"message": "Image change",
                "imageChangeBuild": {"imageID": latest, "fromRef": from_ref}}]});
        if let Err(message) = instantiate(&ctx.client, bc, request).await
            && !message.contains("has already instantiated a build")
        {
            events::record(
                &ctx.client,
                COMPONENT,
                &involved(bc),
                "Warning",
                "BuildConfigTriggerFailed",
                &format!(
                    "error triggering Build for BuildConfig {}/{}: {message}",
                    bc.namespace(),
                    bc.name()
                ),
            )
            .await;
        }
    }
    Ok(())
}

async fn fire_config_change(ctx: &Context, bc: &BuildConfig) {
    let has_trigger = bc.spec["triggers"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t["type"] == "ConfigChange"));
    if !has_trigger || bc.status["lastVersion"].as_i64().unwrap_or(0) != 0 {
        return;
    }
    let request = json!({"kind": "BuildRequest", "apiVersion": "build.openshift.io/v1",
        "metadata": {"name": bc.name()}, "lastVersion": 0,
        "triggeredBy": [{"message": "Build configuration change"}]});
    if let Err(message) = instantiate(&ctx.client, bc, request).await
        && !message.contains("does not match the build request LastVersion(0)")
        && !message.contains("the object has been modified")
    {
        events::record(
            &ctx.client,
            COMPONENT,
            &involved(bc),
            "Warning",
            "BuildConfigInstantiateFailed",
            &format!(
                "gave up on Build for BuildConfig {}/{} (0) due to fatal error: {message}",
                bc.namespace(),
                bc.name()
            ),
        )
        .await;
    }
}

async fn sync(bc: &BuildConfig, ctx: &Context) -> Result<Action, Error> {
    if bc.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let api: Api<Object<Build>> = Api::namespaced(ctx.client.clone(), bc.namespace());
    let cached = super::types::of_config(&ctx.builds, bc.namespace(), bc.name());
    let builds: Vec<&Build> = cached.iter().filter_map(|o| o.object.as_ref()).collect();
    for old in to_prune(bc, &builds) {
        match api.delete(old.name(), &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    let paused = bc
        .annotation("openshift.io/build-config.paused")
        .eq_ignore_ascii_case("true");
    if !paused {
        fire_image_triggers(ctx, bc).await?;
        fire_config_change(ctx, bc).await;
    }
    Ok(Action::await_change())
}

async fn reconcile(obj: Arc<Object<BuildConfig>>, ctx: Arc<Context>) -> Result<Action, Error> {
    let Some(bc) = obj.object.as_ref() else {
        return Ok(Action::await_change());
    };
    let key = key_of(&obj.metadata.meta);
    ctx.retries.track(&key, sync(bc, &ctx)).await
}

fn error_policy(obj: Arc<Object<BuildConfig>>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.retries
        .retry("buildconfig", &key_of(&obj.metadata.meta), error)
}

pub async fn run(client: Client) {
    let (builds, writer) = reflector::store();
    let build_feed = reflector::reflector(
        writer,
        watcher::watcher(
            Api::<Object<Build>>::all(client.clone()),
            watcher::Config::default(),
        ),
    )
    .default_backoff()
    .for_each(|_| futures::future::ready(()));
    let ctx = Arc::new(Context {
        client: client.clone(),
        retries: Retries::new(),
        builds,
    });
    let controller = Controller::new(
        Api::<Object<BuildConfig>>::all(client.clone()),
        watcher::Config::default(),
    );
    let configs = controller.store();
    let controller = controller
        .owns(
            Api::<Object<Build>>::all(client.clone()),
            watcher::Config::default(),
        )
        // An image stream's change concerns the configs of its namespace (and those naming
        // it from elsewhere) that follow one of its tags.
        .watches(
            Api::<Object<ImageStream>>::all(client),
            watcher::Config::default(),
            move |stream| {
                let ns = stream.meta().namespace.clone().unwrap_or_default();
                let name = stream.meta().name.clone().unwrap_or_default();
                configs
                    .state()
                    .iter()
                    .filter_map(|o| o.object.as_ref())
                    .filter(|bc| {
                        image_triggers(bc).iter().any(|from| {
                            let from_ns = from["namespace"]
                                .as_str()
                                .filter(|n| !n.is_empty())
                                .unwrap_or(bc.namespace());
                            let stream_name = from["name"]
                                .as_str()
                                .unwrap_or_default()
                                .split(':')
                                .next()
                                .unwrap_or_default();
                            from_ns == ns && stream_name == name
                        })
                    })
                    .map(|bc| ObjectRef::new(bc.name()).within(bc.namespace()))
                    .collect::<Vec<_>>()
            },
        )
        .run(reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()));
    tokio::join!(build_feed, controller);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(n: i64, phase: &str) -> Build {
        serde_json::from_value(json!({"metadata": {"name": format!("web-{n}"),
            "creationTimestamp": format!("2026-01-01T00:00:{n:02}Z"),
            "annotations": {"openshift.io/build.number": n.to_string()}},
            "status": {"phase": phase}}))
        .unwrap()
    }

    #[test]
    fn finished_builds_past_the_limits_are_pruned_oldest_first() {
        let bc: BuildConfig = serde_json::from_value(json!({"spec": {
            "successfulBuildsHistoryLimit": 1, "failedBuildsHistoryLimit": 2}}))
        .unwrap();
        let builds = vec![
            build(1, "Complete"),
            build(2, "Complete"),
            build(3, "Failed"),
            build(4, "Cancelled"),
            build(5, "Error"),
            build(6, "Running"),
        ];
        let mut gone: Vec<&str> = to_prune(&bc, &builds).iter().map(|b| b.name()).collect();
        gone.sort();
        assert_eq!(gone, vec!["web-1", "web-3"]);
    }

    #[test]
    fn triggers_follow_their_own_tag_or_the_strategys() {
        let bc: BuildConfig = serde_json::from_value(json!({"spec": {
            "strategy": {"sourceStrategy": {"from": {"kind": "ImageStreamTag", "name": "base:1"}}},
            "triggers": [{"type": "ImageChange", "imageChange": {}},
                {"type": "ImageChange", "imageChange": {"from": {"kind": "ImageStreamTag", "name": "other:2"}}}]}})).unwrap();
        let names: Vec<Value> = image_triggers(&bc)
            .iter()
            .map(|f| f["name"].clone())
            .collect();
        assert_eq!(names, vec![json!("base:1"), json!("other:2")]);
    }
}
