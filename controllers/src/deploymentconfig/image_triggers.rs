//! The image trigger controller: objects that follow image stream tags get the tags' images.
//! DeploymentConfigs follow through their automatic image change triggers; Deployments,
//! StatefulSets, DaemonSets, CronJobs and Jobs through the `image.openshift.io/triggers`
//! annotation. An index from each image stream to the objects following it is kept from
//! their watches, so a stream's change touches only its followers (no scans). Decisions are
//! in `trigger_fields.rs`.

use std::collections::{HashMap, HashSet};

use futures::stream::{BoxStream, StreamExt};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use serde_json::Value;

use super::trigger_fields::{self, Tag};
use super::types::{DeploymentConfig, ImageStream};
use crate::lenient::{Meta, Object};

/// How many times an update is tried again when the object changed under it.
const ATTEMPTS: usize = 3;
/// How many followers are brought up to date at once.
const CONCURRENT: usize = 16;

/// An object that may follow tags: its kind's API and its namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Follower {
    kind: &'static str,
    namespace: String,
    name: String,
}

/// What the watches report.
enum Seen {
    /// An object follows these image streams (`<ns>/<stream>`) now (none when deleted), by
    /// triggers summed up in the signature (what it follows, not what it last resolved).
    Follows(Follower, HashSet<String>, String),
    /// An image stream changed.
    Stream(String),
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

/// The watch of a workload kind, as what each object follows by its annotation.
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
        Api::<Meta<K>>::all(client.clone()),
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
            let streams = match (deleted, annotation) {
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
            Seen::Follows(who, streams, annotation.cloned().unwrap_or_default())
        });
        futures::future::ready(seen)
    })
    .boxed()
}

fn configs(client: &Client) -> BoxStream<'static, Seen> {
    watcher(
        Api::<Object<DeploymentConfig>>::all(client.clone()),
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
            let streams = match (&o.object, deleted) {
                (Some(dc), false) => trigger_fields::config_tags(&dc.spec, &namespace)
                    .iter()
                    .map(Tag::stream_key)
                    .collect(),
                _ => HashSet::new(),
            };
            let who = Follower {
                kind: "DeploymentConfig",
                namespace,
                name: meta.name.clone().unwrap_or_default(),
            };
            let signature = o
                .object
                .as_ref()
                .map(|dc| signature(&dc.spec))
                .unwrap_or_default();
            Seen::Follows(who, streams, signature)
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

fn streams(client: &Client) -> BoxStream<'static, Seen> {
    watcher(
        Api::<Meta<ImageStream>>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .filter_map(|event| {
        let seen = match event {
            Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => {
                let meta = &o.metadata.meta;
                Some(Seen::Stream(format!(
                    "{}/{}",
                    meta.namespace.as_deref().unwrap_or_default(),
                    meta.name.as_deref().unwrap_or_default()
                )))
            }
            _ => None,
        };
        futures::future::ready(seen)
    })
    .boxed()
}

/// The current images of the tags `object` follows (each stream read once).
async fn resolver(client: &Client, tags: &[Tag]) -> HashMap<Tag, String> {
    let mut images = HashMap::new();
    let mut streams: HashMap<String, Option<Value>> = HashMap::new();
    for tag in tags {
        let key = tag.stream_key();
        if !streams.contains_key(&key) {
            let api: Api<Object<ImageStream>> = Api::namespaced(client.clone(), &tag.namespace);
            let found = api
                .get_opt(&tag.stream)
                .await
                .ok()
                .flatten()
                .and_then(|o| o.object)
                .and_then(|s| serde_json::to_value(s).ok());
            streams.insert(key.clone(), found);
        }
        if let Some(image) = streams[&key]
            .as_ref()
            .and_then(|s| trigger_fields::resolve(s, &tag.tag))
        {
            images.insert(tag.clone(), image);
        }
    }
    images
}

/// Brings one follower up to date with its tags' images.
async fn react(client: &Client, who: &Follower) -> Result<(), kube::Error> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &who.namespace, &api_resource(who.kind));
    for _ in 0..ATTEMPTS {
        let Some(object) = api.get_opt(&who.name).await? else {
            return Ok(());
        };
        let value = serde_json::to_value(&object).unwrap_or_default();
        let tags: Vec<Tag> = if who.kind == "DeploymentConfig" {
            trigger_fields::config_tags(&value["spec"], &who.namespace)
        } else {
            let annotation = value["metadata"]["annotations"][trigger_fields::TRIGGERS_ANNOTATION]
                .as_str()
                .unwrap_or("[]");
            trigger_fields::annotation_triggers(annotation, &who.namespace)
                .unwrap_or_default()
                .into_iter()
                .map(|(t, _)| t)
                .collect()
        };
        let images = resolver(client, &tags).await;
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
        let Ok(next) = serde_json::from_value::<DynamicObject>(next) else {
            return Ok(());
        };
        match api.replace(&who.name, &PostParams::default(), &next).await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(e)) if e.code == 409 => continue,
            Err(kube::Error::Api(e)) if e.code == 404 => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

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
    let mut signatures: HashMap<Follower, String> = HashMap::new();
    while let Some(event) = seen.next().await {
        let followers = match event {
            Seen::Follows(who, streams, signature) => {
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
            Seen::Stream(stream) => index.of(&stream),
        };
        futures::stream::iter(followers)
            .for_each_concurrent(CONCURRENT, |who| {
                let client = client.clone();
                async move {
                    if let Err(error) = react(&client, &who).await {
                        tracing::warn!(error = %crate::logs::describe(&error), kind = who.kind, namespace = %who.namespace, name = %who.name, "image triggers not applied");
                    }
                }
            })
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
