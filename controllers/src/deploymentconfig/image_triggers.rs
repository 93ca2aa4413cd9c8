//! The image trigger controller: objects that follow image stream tags get the tags' images.
//! DeploymentConfigs follow through their automatic image change triggers; Deployments,
//! StatefulSets, DaemonSets, CronJobs and Jobs through the `image.openshift.io/triggers`
//! annotation. An index from each image stream to the objects following it is kept from
//! their watches, so a stream's change touches only its followers (no scans). The watches
//! are read all along; followers are brought up to date by workers off a work queue, each
//! retried with a growing delay until it succeeds (a follower whose one chance failed would
//! otherwise wait for its stream's next change). The streams, and the followers, are kept
//! whole from their watches, so that a worker reads nothing again before its guarded patch
//! (one refused because the kept copy was behind is computed again from a fresh read).
//! Decisions are in `trigger_fields.rs`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use futures::stream::{BoxStream, StreamExt};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use serde_json::Value;

use super::trigger_fields::{self, Tag};
use super::types::{DeploymentConfig, ImageStream};
use crate::Error;
use crate::lenient::Raw;
use crate::work_queue::Scheduler;
use crate::work_queue::workers::{Outcome, Workers};

/// How many times an update is tried again at once when the object changed under it.
const ATTEMPTS: usize = 3;
/// How many followers are brought up to date at once.
const CONCURRENT: usize = 16;
/// The delay before a failed follower is tried again, doubling per failure up to the last.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(30);

/// An object that may follow tags: its kind's API and its namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Follower {
    kind: &'static str,
    namespace: String,
    name: String,
}

/// What the watches report.
enum Seen {
    /// An object follows these image streams (`<ns>/<stream>`) now (none when deleted), by
    /// triggers summed up in the signature (what it follows, not what it last resolved);
    /// the object whole when it follows something.
    Follows(Follower, HashSet<String>, String, Option<Arc<Value>>),
    /// An image stream changed (its content), or went (none).
    Stream(String, Option<Arc<Value>>),
}

/// The newest copies the watches gave of the streams and of the followers,
/// shared by the loop (which writes them before it touches anyone) and the workers.
#[derive(Default)]
struct Copies {
    streams: RwLock<HashMap<String, Arc<Value>>>,
    objects: RwLock<HashMap<Follower, Arc<Value>>>,
}

impl Copies {
    fn stream(&self, key: &str) -> Option<Arc<Value>> {
        let streams = self.streams.read().unwrap_or_else(|e| e.into_inner());
        streams.get(key).cloned()
    }

    fn object(&self, who: &Follower) -> Option<Arc<Value>> {
        let objects = self.objects.read().unwrap_or_else(|e| e.into_inner());
        objects.get(who).cloned()
    }

    /// Keeps what an event carries, before anyone it touches is worked on.
    fn keep(&self, event: &Seen) {
        match event {
            Seen::Stream(key, stream) => {
                let mut streams = self.streams.write().unwrap_or_else(|e| e.into_inner());
                match stream {
                    Some(s) => streams.insert(key.clone(), Arc::clone(s)),
                    None => streams.remove(key),
                };
            }
            Seen::Follows(who, streams, _, object) => {
                let mut objects = self.objects.write().unwrap_or_else(|e| e.into_inner());
                match object {
                    Some(o) if !streams.is_empty() => objects.insert(who.clone(), Arc::clone(o)),
                    _ => objects.remove(who),
                };
            }
        }
    }
}

/// Image streams → their followers, and back.
#[derive(Default)]
struct Index {
    followers: HashMap<String, HashSet<Follower>>,
    follows: HashMap<Follower, HashSet<String>>,
}

impl Index {
    /// Records what `who` follows; true when that changed.
    fn set(&mut self, who: &Follower, streams: HashSet<String>) -> bool {
        let before = self.follows.remove(who).unwrap_or_default();
        for stream in before.difference(&streams) {
            if let Some(set) = self.followers.get_mut(stream) {
                set.remove(who);
                if set.is_empty() {
                    self.followers.remove(stream);
                }
            }
        }
        for stream in &streams {
            self.followers
                .entry(stream.clone())
                .or_default()
                .insert(who.clone());
        }
        let changed = before != streams;
        if !streams.is_empty() {
            self.follows.insert(who.clone(), streams);
        }
        changed
    }

    fn of(&self, stream: &str) -> Vec<Follower> {
        self.followers
            .get(stream)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }
}

fn api_resource(kind: &str) -> ApiResource {
    match kind {
        "DeploymentConfig" => ApiResource::erase::<DeploymentConfig>(&()),
        "StatefulSet" => ApiResource::erase::<StatefulSet>(&()),
        "DaemonSet" => ApiResource::erase::<DaemonSet>(&()),
        "CronJob" => ApiResource::erase::<CronJob>(&()),
        "Job" => ApiResource::erase::<Job>(&()),
        _ => ApiResource::erase::<Deployment>(&()),
    }
}

/// The watch of a workload kind, as what each object follows by its annotation, with the
/// object whole (as the JSON it came as) when it follows something.
fn annotated<K>(client: &Client, kind: &'static str) -> BoxStream<'static, Seen>
where
    K: Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    watcher(
        Api::<Raw<K>>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .filter_map(move |event| {
        let seen = match event {
            Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => Some((o, false)),
            Ok(watcher::Event::Delete(o)) => Some((o, true)),
            _ => None,
        }
        .map(|(o, deleted)| {
            let meta = &o.metadata.meta;
            let namespace = meta.namespace.clone().unwrap_or_default();
            let annotation = meta
                .annotations
                .as_ref()
                .and_then(|a| a.get(trigger_fields::TRIGGERS_ANNOTATION));
            let streams: HashSet<String> = match (deleted, annotation) {
                (false, Some(a)) => trigger_fields::annotation_triggers(a, &namespace)
                    .unwrap_or_default()
                    .iter()
                    .map(|(tag, _)| tag.stream_key())
                    .collect(),
                _ => HashSet::new(),
            };
            let who = Follower {
                kind,
                namespace,
                name: meta.name.clone().unwrap_or_default(),
            };
            let signature = annotation.cloned().unwrap_or_default();
            let whole = (!streams.is_empty()).then(|| Arc::new(o.value));
            Seen::Follows(who, streams, signature, whole)
        });
        futures::future::ready(seen)
    })
    .boxed()
}

/// The watch of configs, as what each follows by its automatic image change triggers, with
/// the config whole (as the JSON it came as: never typed, nor encoded again).
fn configs(client: &Client) -> BoxStream<'static, Seen> {
    watcher(
        Api::<Raw<DeploymentConfig>>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .filter_map(|event| {
        let seen = match event {
            Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => Some((o, false)),
            Ok(watcher::Event::Delete(o)) => Some((o, true)),
            _ => None,
        }
        .map(|(o, deleted)| {
            let meta = &o.metadata.meta;
            let namespace = meta.namespace.clone().unwrap_or_default();
            let spec = &o.value["spec"];
            let streams = match deleted {
                false => trigger_fields::config_tags(spec, &namespace)
                    .iter()
                    .map(Tag::stream_key)
                    .collect(),
                true => HashSet::new(),
            };
            let who = Follower {
                kind: "DeploymentConfig",
                namespace,
                name: meta.name.clone().unwrap_or_default(),
            };
            let signature = signature(spec);
            let whole = (!deleted).then(|| Arc::new(o.value));
            Seen::Follows(who, streams, signature, whole)
        });
        futures::future::ready(seen)
    })
    .boxed()
}

/// A config's image triggers without what they last resolved to (which the controller's own
/// writes change).
fn signature(spec: &Value) -> String {
    let mut triggers = spec["triggers"].clone();
    for t in triggers.as_array_mut().into_iter().flatten() {
        if let Some(params) = t["imageChangeParams"].as_object_mut() {
            params.remove("lastTriggeredImage");
        }
    }
    triggers.to_string()
}

/// The watch of image streams, each kept as the JSON it came as.
fn streams(client: &Client) -> BoxStream<'static, Seen> {
    watcher(
        Api::<Raw<ImageStream>>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .filter_map(|event| {
        let seen = match event {
            Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => Some((o, false)),
            Ok(watcher::Event::Delete(o)) => Some((o, true)),
            _ => None,
        }
        .map(|(o, deleted)| {
            let meta = &o.metadata.meta;
            let key = format!(
                "{}/{}",
                meta.namespace.as_deref().unwrap_or_default(),
                meta.name.as_deref().unwrap_or_default()
            );
            let whole = (!deleted).then(|| Arc::new(o.value));
            Seen::Stream(key, whole)
        });
        futures::future::ready(seen)
    })
    .boxed()
}

/// The current images of the tags an object follows (each stream read once, from the
/// watch's copy when there is one). A stream that does not exist resolves nothing; one that
/// cannot be read fails the whole (to be retried).
async fn resolver(
    client: &Client,
    copies: &Copies,
    tags: &[Tag],
) -> Result<HashMap<Tag, String>, kube::Error> {
    let mut images = HashMap::new();
    let mut streams: HashMap<String, Option<Arc<Value>>> = HashMap::new();
    for tag in tags {
        let key = tag.stream_key();
        if !streams.contains_key(&key) {
            let found = match copies.stream(&key) {
                Some(kept) => Some(kept),
                None => {
                    let api: Api<Raw<ImageStream>> =
                        Api::namespaced(client.clone(), &tag.namespace);
                    api.get_opt(&tag.stream).await?.map(|o| Arc::new(o.value))
                }
            };
            streams.insert(key.clone(), found);
        }
        if let Some(image) = streams[&key]
            .as_ref()
            .and_then(|s| trigger_fields::resolve(s, &tag.tag))
        {
            images.insert(tag.clone(), image);
        }
    }
    Ok(images)
}

/// Brings one follower up to date with its tags' images. The images are written by a JSON
/// patch guarded by what they were computed from (uid, generation, triggers), so that the
/// status and annotation writes of the workload's own controller, frequent while it rolls
/// out, never make it conflict; a patch refused because the object changed is computed
/// again from a fresh read, and a failure leaves the follower to be retried.
async fn react(client: &Client, copies: &Copies, who: &Follower) -> Result<(), Error> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &who.namespace, &api_resource(who.kind));
    // The watch's copy first; after a refusal (it was behind), a fresh read.
    let mut kept = copies.object(who);
    for _ in 0..ATTEMPTS {
        let value = match kept.take() {
            Some(value) => Value::clone(&value),
            None => match api.get_opt(&who.name).await? {
                Some(object) => serde_json::to_value(&object).unwrap_or_default(),
                None => return Ok(()),
            },
        };
        let annotation = value["metadata"]["annotations"][trigger_fields::TRIGGERS_ANNOTATION]
            .as_str()
            .map(str::to_string);
        let tags: Vec<Tag> = if who.kind == "DeploymentConfig" {
            trigger_fields::config_tags(&value["spec"], &who.namespace)
        } else {
            trigger_fields::annotation_triggers(
                annotation.as_deref().unwrap_or("[]"),
                &who.namespace,
            )
            .unwrap_or_default()
            .into_iter()
            .map(|(t, _)| t)
            .collect()
        };
        let images = resolver(client, copies, &tags).await?;
        let lookup = |t: &Tag| images.get(t).cloned();
        let next = if who.kind == "DeploymentConfig" {
            trigger_fields::update_config(&value, lookup)
        } else {
            match trigger_fields::update_annotated(&value, who.kind, lookup) {
                Ok(next) => next,
                Err(why) => {
                    tracing::debug!(kind = who.kind, namespace = %who.namespace, name = %who.name, %why, "image triggers not applied");
                    return Ok(());
                }
            }
        };
        let Some(next) = next else { return Ok(()) };
        let patch = trigger_fields::guarded_patch(&value, &next);
        let url = format!("{}/{}", api.resource_url(), who.name);
        let request = http::Request::patch(url)
            .header("content-type", "application/json-patch+json")
            .body(patch.to_string().into_bytes())
            .map_err(|e| Error::Invalid(e.to_string()))?;
        match client.request::<Value>(request).await {
            Ok(_) => return Ok(()),
            // Changed since read (a guard's test failed, or the object went and came back).
            Err(kube::Error::Api(e)) if e.code == 409 || e.code == 422 => continue,
            Err(kube::Error::Api(e)) if e.code == 404 => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Invalid(format!(
        "{} {}/{} kept changing while its images were written",
        who.kind, who.namespace, who.name
    )))
}

/// Which followers an event asks to look at, with the index and the signatures brought up
/// to date.
fn touched(
    event: Seen,
    index: &mut Index,
    signatures: &mut HashMap<Follower, String>,
) -> Vec<Follower> {
    match event {
        Seen::Follows(who, streams, signature, _) => {
            let follows = !streams.is_empty();
            index.set(&who, streams);
            // A follower whose triggers changed may need an image its streams already
            // have; its other changes (the images this controller wrote) need nothing.
            let changed = match follows {
                true => signatures.insert(who.clone(), signature.clone()) != Some(signature),
                false => {
                    signatures.remove(&who);
                    false
                }
            };
            if changed { vec![who] } else { Vec::new() }
        }
        Seen::Stream(stream, _) => index.of(&stream),
    }
}

/// Follows the watches and works on the followers they touch: never more than `CONCURRENT`
/// at once, each once however often it is touched meanwhile (again after, when touched while
/// worked on), and failures retried with a growing delay. The watches are read all along,
/// whatever the workers wait for.
pub async fn run(client: Client) {
    let mut seen = futures::stream::select_all(vec![
        configs(&client),
        annotated::<Deployment>(&client, "Deployment"),
        annotated::<StatefulSet>(&client, "StatefulSet"),
        annotated::<DaemonSet>(&client, "DaemonSet"),
        annotated::<CronJob>(&client, "CronJob"),
        annotated::<Job>(&client, "Job"),
        streams(&client),
    ]);
    let mut index = Index::default();
    let copies = Arc::new(Copies::default());
    let mut signatures: HashMap<Follower, String> = HashMap::new();
    let mut queue = Scheduler::<Follower>::new([]).with(CONCURRENT, FIRST_RETRY, LAST_RETRY);
    let mut workers = Workers::<Follower>::default();
    loop {
        let now = Instant::now();
        while let Some(who) = queue.next(now) {
            let (client, copies, target) = (client.clone(), Arc::clone(&copies), who.clone());
            workers.spawn(who, async move { react(&client, &copies, &target).await });
        }
        let retry = queue.next_retry();
        tokio::select! {
            event = seen.next() => {
                let Some(event) = event else { return };
                copies.keep(&event);
                for who in touched(event, &mut index, &mut signatures) {
                    queue.touch(who);
                }
            }
            Some((who, outcome)) = workers.next(), if !workers.is_empty() => {
                let ok = match outcome {
                    Outcome::Done => true,
                    Outcome::Failed(error) => {
                        tracing::warn!(%error, kind = who.kind, namespace = %who.namespace, name = %who.name, "image triggers not applied; retrying");
                        false
                    }
                    Outcome::Panicked => {
                        tracing::error!(kind = who.kind, namespace = %who.namespace, name = %who.name, "image triggers: a worker panicked; retrying");
                        false
                    }
                };
                queue.finished(&who, ok, Instant::now());
            }
            () = sleep_until(retry), if retry.is_some() => {}
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at.into()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, Reply};
    use serde_json::json;

    #[test]
    fn the_index_follows_changes() {
        let mut index = Index::default();
        let who = Follower {
            kind: "Deployment",
            namespace: "p".into(),
            name: "web".into(),
        };
        assert!(index.set(&who, HashSet::from(["p/web".to_string()])));
        assert_eq!(index.of("p/web"), vec![who.clone()]);
        assert!(!index.set(&who, HashSet::from(["p/web".to_string()])));
        assert!(index.set(&who, HashSet::new()));
        assert!(index.of("p/web").is_empty());
        assert!(index.follows.is_empty() && index.followers.is_empty());
    }

    /// A follower is looked at when its triggers change and when a stream it follows
    /// changes; not when only what the controller wrote (its images) changed.
    #[test]
    fn what_an_event_touches() {
        let mut index = Index::default();
        let mut signatures = HashMap::new();
        let who = Follower {
            kind: "Deployment",
            namespace: "p".into(),
            name: "web".into(),
        };
        let follows = |sig: &str| {
            Seen::Follows(
                who.clone(),
                HashSet::from(["p/app".to_string()]),
                sig.into(),
                None,
            )
        };
        let unannotated = Seen::Follows(who.clone(), HashSet::new(), String::new(), None);
        assert!(touched(unannotated, &mut index, &mut signatures).is_empty());
        assert_eq!(
            touched(follows("a"), &mut index, &mut signatures),
            vec![who.clone()]
        );
        assert!(touched(follows("a"), &mut index, &mut signatures).is_empty());
        let stream = || Seen::Stream("p/app".into(), None);
        assert_eq!(
            touched(stream(), &mut index, &mut signatures),
            vec![who.clone()]
        );
        assert!(
            touched(
                Seen::Stream("p/other".into(), None),
                &mut index,
                &mut signatures
            )
            .is_empty()
        );
        assert_eq!(
            touched(follows("b"), &mut index, &mut signatures),
            vec![who.clone()]
        );
    }

    /// The watches report a Deployment following `app:latest`; its first update fails (as
    /// any request may under load) and is tried again, alone, until it lands; both from the
    /// watch's copy.
    #[tokio::test]
    async fn a_failed_update_is_tried_again() {
        let annotation = r#"[{"from":{"kind":"ImageStreamTag","name":"app:latest"},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image"}]"#;
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "p", "uid": "u", "generation": 2,
                "resourceVersion": "5", "annotations": {trigger_fields::TRIGGERS_ANNOTATION: annotation}},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "img:1"}]}}}});
        let stream = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
            "metadata": {"name": "app", "namespace": "p", "resourceVersion": "3"},
            "status": {"tags": [{"tag": "latest", "items": [{"dockerImageReference": "img:2", "image": ""}]}]}});
        let patches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = patches.clone();
        let (object, listed_stream) = (deployment.clone(), stream.clone());
        let (client, log) = testing::client(move |r| {
            if r.is_watch() {
                return Reply::Open;
            }
            match (r.method.as_str(), r.path.as_str()) {
                ("GET", "/apis/apps/v1/deployments") => testing::list(vec![object.clone()]),
                ("GET", "/apis/image.openshift.io/v1/imagestreams") => {
                    testing::list(vec![listed_stream.clone()])
                }
                ("GET", "/apis/apps/v1/namespaces/p/deployments/web") => {
                    Reply::Json(200, object.clone())
                }
                ("GET", "/apis/image.openshift.io/v1/namespaces/p/imagestreams/app") => {
                    Reply::Json(200, listed_stream.clone())
                }
                ("PATCH", "/apis/apps/v1/namespaces/p/deployments/web") => {
                    match count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                        0 => testing::status(500, "InternalError"),
                        _ => Reply::Json(200, object.clone()),
                    }
                }
                ("GET", _) => testing::list(Vec::new()),
                _ => testing::status(404, "NotFound"),
            }
        });
        let controller = tokio::spawn(run(client));
        let deadline = Instant::now() + Duration::from_secs(10);
        while patches.load(std::sync::atomic::Ordering::SeqCst) < 2 {
            assert!(
                Instant::now() < deadline,
                "the failed update was not tried again"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        controller.abort();
        let log = log.lock().unwrap();
        // Patched from the watch's copy, never read again.
        assert!(
            !log.iter().any(
                |r| r.method == "GET" && r.path == "/apis/apps/v1/namespaces/p/deployments/web"
            )
        );
        let patch = log.iter().rfind(|r| r.method == "PATCH").unwrap();
        assert_eq!(
            patch.body,
            json!([
                {"op": "test", "path": "/metadata/uid", "value": "u"},
                {"op": "test", "path": "/metadata/generation", "value": 2},
                {"op": "test", "path": "/metadata/annotations/image.openshift.io~1triggers", "value": annotation},
                {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "img:2"},
            ])
        );
    }
}
