//! The Deployment controller: each template gets a ReplicaSet named `<deployment>-<hash>`
//! (upstream's pod-template-hash label and revision annotations); a changed template rolls out
//! by RollingUpdate (maxSurge/maxUnavailable) or Recreate; a template equal to an old one
//! (`kubectl rollout undo`) brings that ReplicaSet back under a new revision; old ReplicaSets
//! beyond `revisionHistoryLimit` go; the status carries the replica counts and the
//! Available/Progressing conditions `kubectl rollout status` reads. ReplicaSets are read from
//! the controller's cache, indexed by their controlling owner (`watch_cache.rs`), never listed
//! per sync; each write to one is expected there before the next sync reads it.

pub mod hash;
pub mod plan;
pub mod status;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
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
use crate::workload_status;

pub const HASH_LABEL: &str = "pod-template-hash";
pub const REVISION: &str = "deployment.kubernetes.io/revision";
const DESIRED: &str = "deployment.kubernetes.io/desired-replicas";
const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
const COMPONENT: &str = "deployment-controller";

struct Context {
    client: Client,
    retries: Retries,
    /// Every ReplicaSet, by the uid of its controller (`orphan/<namespace>` without one).
    replica_sets: Arc<WatchCache<ReplicaSet>>,
}

/// What a ReplicaSet is filed under in the cache: its controller's uid, or its namespace's
/// orphans (which a Deployment may adopt).
fn filed_under(meta: &ObjectMeta) -> Option<String> {
    Some(match owners::controller_uid(meta) {
        Some(uid) => uid.to_string(),
        None => orphans_of(meta.namespace.as_deref().unwrap_or_default()),
    })
}

fn orphans_of(namespace: &str) -> String {
    format!("orphan/{namespace}")
}

/// A template without the hash label, as JSON, to compare templates (upstream's
/// EqualIgnoreHash).
fn template_key(template: &Value) -> String {
    let mut t = template.clone();
    if let Some(labels) = t
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(HASH_LABEL);
        if labels.is_empty() {
            t["metadata"].as_object_mut().map(|m| m.remove("labels"));
        }
    }
    hash::canonical_text(&t)
}

fn revision(rs: &ReplicaSet) -> i64 {
    rs.annotations()
        .get(REVISION)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn spec_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.replicas.unwrap_or(1)
}

fn status_of(rs: &ReplicaSet) -> (i32, i32, i32) {
    let s = rs.status.clone().unwrap_or_default();
    (
        s.replicas,
        s.ready_replicas.unwrap_or(0),
        s.available_replicas.unwrap_or(0),
    )
}

fn involved(d: &Deployment) -> Involved<'_> {
    Involved::of("apps/v1", "Deployment", &d.metadata)
}

/// Sets an RS's size (and the annotations that record the deployment's), with an event.
async fn scale(
    ctx: &Context,
    d: &Deployment,
    rs: &ReplicaSet,
    to: i32,
    max_surge: i32,
) -> Result<(), Error> {
    let from = spec_replicas(rs);
    let replicas = d.spec.replicas.unwrap_or(1);
    let desired = replicas.to_string();
    let max = (replicas + max_surge).to_string();
    let annotated = rs.annotations().get(DESIRED) == Some(&desired)
        && rs.annotations().get(MAX_REPLICAS) == Some(&max);
    if from == to && annotated {
        return Ok(());
    }
    let api: Api<Object<ReplicaSet>> =
        Api::namespaced(ctx.client.clone(), &rs.namespace().unwrap_or_default());
    let patch = json!({"metadata": {"annotations": {DESIRED: desired, MAX_REPLICAS: max}},
        "spec": {"replicas": to}});
    let patched = api
        .patch(
            &rs.name_any(),
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await?;
    ctx.replica_sets.expect(&patched.metadata.meta);
    if from != to {
        let way = if to > from { "up" } else { "down" };
        let message = format!(
            "Scaled {way} replica set {} from {from} to {to}",
            rs.name_any()
        );
        events::record(
            &ctx.client,
            COMPONENT,
            &involved(d),
            "Normal",
            "ScalingReplicaSet",
            &message,
        )
        .await;
    }
    Ok(())
}

/// The ReplicaSets the deployment controls, oldest first, from the cache once it has seen
/// every change expected.
async fn owned(ctx: &Context, d: &Deployment) -> Result<Vec<ReplicaSet>, Error> {
    let ns = d.namespace().unwrap_or_default();
    let api: Api<Object<ReplicaSet>> = Api::namespaced(ctx.client.clone(), &ns);
    let uid = d.metadata.uid.clone().unwrap_or_default();
    let orphans = orphans_of(&ns);
    ctx.replica_sets.caught_up(&[&uid, &orphans]).await;
    let cached = [ctx.replica_sets.get(&uid), ctx.replica_sets.get(&orphans)];
    let mut list = Vec::new();
    for rs in cached
        .iter()
        .flatten()
        .filter(|o| o.metadata.meta.namespace.as_deref() == Some(ns.as_str()))
        .filter_map(|o| o.object.clone())
    {
        match owners::controller_uid(&rs.metadata) {
            Some(owner) if owner == uid => list.push(rs),
            Some(_) => {}
            // An orphan the selector matches is adopted (guarded by its uid).
            None if d.metadata.deletion_timestamp.is_none()
                && crate::selector::matches(&d.spec.selector, rs.labels())
                && !d
                    .spec
                    .selector
                    .match_labels
                    .as_ref()
                    .is_none_or(|m| m.is_empty()) =>
            {
                let mut refs: Vec<Value> = rs
                    .owner_references()
                    .iter()
                    .filter_map(|o| serde_json::to_value(o).ok())
                    .collect();
                refs.push(
                    json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": d.name_any(),
                    "uid": uid, "controller": true, "blockOwnerDeletion": true}),
                );
                let patch = json!({"metadata": {"ownerReferences": refs, "uid": rs.metadata.uid}});
                match api
                    .patch(
                        &rs.name_any(),
                        &PatchParams::default(),
                        &Patch::Merge(patch),
                    )
                    .await
                {
                    Ok(adopted) => {
                        ctx.replica_sets.expect(&adopted.metadata.meta);
                        list.extend(adopted.object)
                    }
                    Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {}
                    Err(e) => return Err(e.into()),
                }
            }
            None => {}
        }
    }
    list.sort_by_key(|rs| {
        (
            rs.metadata.creation_timestamp.as_ref().map(|t| t.0),
            rs.name_any(),
        )
    });
    Ok(list)
}

/// Creates the new ReplicaSet; `None` when the name is taken by another template (the
/// collision count was raised: try again).
async fn create_new(
    ctx: &Context,
    d: &Deployment,
    template: &Value,
    revision: i64,
    replicas: i32,
    max_surge: i32,
) -> Result<Option<ReplicaSet>, Error> {
    let ns = d.namespace().unwrap_or_default();
    let collisions = d.status.as_ref().and_then(|s| s.collision_count);
    let hash = hash::pod_template_hash(template, collisions);
    let name = format!("{}-{hash}", d.name_any());
    let mut template = template.clone();
    template["metadata"]["labels"][HASH_LABEL] = json!(hash);
    let mut selector = serde_json::to_value(&d.spec.selector).unwrap_or_default();
    selector["matchLabels"][HASH_LABEL] = json!(hash);
    let mut labels = template["metadata"]["labels"].clone();
    labels[HASH_LABEL] = json!(hash);
    let mut annotations: serde_json::Map<String, Value> = d
        .annotations()
        .iter()
        .filter(|(k, _)| {
            !k.starts_with("deployment.kubernetes.io/")
                && *k != "kubectl.kubernetes.io/last-applied-configuration"
        })
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let desired = d.spec.replicas.unwrap_or(1);
    annotations.insert(REVISION.into(), json!(revision.to_string()));
    annotations.insert(DESIRED.into(), json!(desired.to_string()));
    annotations.insert(
        MAX_REPLICAS.into(),
        json!((desired + max_surge).to_string()),
    );
    let body = json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": ns, "labels": labels, "annotations": annotations,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": d.name_any(),
                "uid": d.metadata.uid, "controller": true, "blockOwnerDeletion": true}]},
        "spec": {"replicas": replicas, "minReadySeconds": d.spec.min_ready_seconds.unwrap_or(0),
            "selector": selector, "template": template},
    });
    let rs: ReplicaSet = serde_json::from_value(body).map_err(|e| Error::Invalid(e.to_string()))?;
    let api: Api<Object<ReplicaSet>> = Api::namespaced(ctx.client.clone(), &ns);
    match api.create(&PostParams::default(), &Object::new(rs)).await {
        Ok(created) => {
            ctx.replica_sets.expect(&created.metadata.meta);
            let message = format!("Scaled up replica set {name} from 0 to {replicas}");
            events::record(
                &ctx.client,
                COMPONENT,
                &involved(d),
                "Normal",
                "ScalingReplicaSet",
                &message,
            )
            .await;
            Ok(created.object)
        }
        Err(kube::Error::Api(e)) if e.code == 409 => {
            let existing = api.get(&name).await?.object;
            let same = existing.as_ref().is_some_and(|rs| {
                let t = serde_json::to_value(&rs.spec.template).unwrap_or_default();
                template_key(&t) == template_key(&template)
            });
            if same {
                return Ok(existing);
            }
            let count = collisions.unwrap_or(0) + 1;
            let deployments: Api<Object<Deployment>> = Api::namespaced(ctx.client.clone(), &ns);
            deployments
                .patch_status(
                    &d.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(json!({"status": {"collisionCount": count}})),
                )
                .await?;
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

async fn sync(d: &Deployment, ctx: &Context) -> Result<Action, Error> {
    if d.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let ns = d.namespace().unwrap_or_default();
    let replicas = d.spec.replicas.unwrap_or(1);
    let template = serde_json::to_value(&d.spec.template).unwrap_or_default();
    let key = template_key(&template);
    let mut all = owned(ctx, d).await?;
    let new_index = all.iter().position(|rs| {
        template_key(&serde_json::to_value(&rs.spec.template).unwrap_or_default()) == key
    });
    let recreate = d.spec.strategy.as_ref().and_then(|s| s.type_.as_deref()) == Some("Recreate");
    let rolling = d
        .spec
        .strategy
        .as_ref()
        .and_then(|s| s.rolling_update.clone())
        .unwrap_or_default();
    let (max_surge, max_unavailable) = match recreate {
        true => (0, 0),
        false => plan::fenceposts(
            rolling.max_surge.as_ref(),
            rolling.max_unavailable.as_ref(),
            replicas,
        ),
    };
    let paused = d.spec.paused == Some(true);
    let max_old_revision = all
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != new_index)
        .map(|(_, rs)| revision(rs))
        .max()
        .unwrap_or(0);
    let mut created = false;
    let mut new_rs = match new_index {
        Some(i) => {
            let rs = all.remove(i);
            // A template brought back (a rollback) takes the next revision.
            if revision(&rs) <= max_old_revision && !paused {
                let api: Api<Object<ReplicaSet>> = Api::namespaced(ctx.client.clone(), &ns);
                let patch = json!({"metadata": {"annotations": {REVISION: (max_old_revision + 1).to_string()}}});
                let patched = api
                    .patch(
                        &rs.name_any(),
                        &PatchParams::default(),
                        &Patch::Merge(patch),
                    )
                    .await?;
                ctx.replica_sets.expect(&patched.metadata.meta);
                return Ok(Action::requeue(Duration::from_millis(100)));
            }
            Some(rs)
        }
        None if paused => None,
        None => {
            let all_spec: i32 = all.iter().map(spec_replicas).sum();
            let size = match recreate {
                true => 0,
                false => plan::new_replicas(replicas, max_surge, all_spec, 0),
            };
            let size = if all.is_empty() { replicas } else { size };
            created = true;
            match create_new(ctx, d, &template, max_old_revision + 1, size, max_surge).await? {
                Some(rs) => Some(rs),
                None => return Ok(Action::requeue(Duration::from_millis(100))),
            }
        }
    };
    let old = all;
    // The deployment's revision is its new ReplicaSet's.
    if let Some(rs) = &new_rs {
        let rev = revision(rs).to_string();
        if d.annotations().get(REVISION) != Some(&rev) && revision(rs) > 0 {
            let api: Api<Object<Deployment>> = Api::namespaced(ctx.client.clone(), &ns);
            let patch = json!({"metadata": {"annotations": {REVISION: rev}}});
            api.patch(&d.name_any(), &PatchParams::default(), &Patch::Merge(patch))
                .await?;
        }
    }
    if !paused
        && !created
        && let Some(rs) = new_rs.take()
    {
        rollout(ctx, d, &rs, &old, recreate, max_surge, max_unavailable).await?;
        // Read again: the sizes changed.
        let fresh = owned(ctx, d).await?;
        let (new, old): (Vec<ReplicaSet>, Vec<ReplicaSet>) = fresh
            .into_iter()
            .partition(|r| r.name_any() == rs.name_any());
        let new_rs = new.into_iter().next();
        cleanup(ctx, d, &old).await?;
        return finish(ctx, d, new_rs.as_ref(), &old, max_unavailable, created).await;
    }
    finish(ctx, d, new_rs.as_ref(), &old, max_unavailable, created).await
}

async fn rollout(
    ctx: &Context,
    d: &Deployment,
    new_rs: &ReplicaSet,
    old: &[ReplicaSet],
    recreate: bool,
    max_surge: i32,
    max_unavailable: i32,
) -> Result<(), Error> {
    let replicas = d.spec.replicas.unwrap_or(1);
    if recreate {
        for rs in old {
            scale(ctx, d, rs, 0, max_surge).await?;
        }
        let old_running: i32 = old.iter().map(|rs| status_of(rs).0).sum();
        if old_running == 0 {
            scale(ctx, d, new_rs, replicas, max_surge).await?;
        }
        return Ok(());
    }
    let new_spec = spec_replicas(new_rs);
    let all_spec: i32 = old.iter().map(spec_replicas).sum::<i32>() + new_spec;
    // Scaling the deployment down shrinks the new RS at once.
    let target = if new_spec > replicas {
        replicas
    } else {
        plan::new_replicas(replicas, max_surge, all_spec, new_spec)
    };
    scale(ctx, d, new_rs, target, max_surge).await?;
    let olds: Vec<plan::Old> = old
        .iter()
        .map(|rs| plan::Old {
            spec: spec_replicas(rs),
            available: status_of(rs).2,
        })
        .collect();
    let sizes = plan::scale_down_old(
        replicas,
        max_unavailable,
        target,
        status_of(new_rs).2.min(target),
        &olds,
    );
    for (rs, size) in old.iter().zip(sizes) {
        scale(ctx, d, rs, size, max_surge).await?;
    }
    Ok(())
}

/// Deletes old, empty ReplicaSets beyond the history limit, lowest revision first.
async fn cleanup(ctx: &Context, d: &Deployment, old: &[ReplicaSet]) -> Result<(), Error> {
    let limit = d.spec.revision_history_limit.unwrap_or(10).max(0) as usize;
    let mut empty: Vec<&ReplicaSet> = old
        .iter()
        .filter(|rs| spec_replicas(rs) == 0 && status_of(rs).0 == 0)
        .collect();
    if empty.len() <= limit {
        return Ok(());
    }
    empty.sort_by_key(|rs| revision(rs));
    let api: Api<Object<ReplicaSet>> =
        Api::namespaced(ctx.client.clone(), &d.namespace().unwrap_or_default());
    for rs in &empty[..empty.len() - limit] {
        match api.delete(&rs.name_any(), &DeleteParams::default()).await {
            Ok(_) | Err(kube::Error::Api(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

async fn finish(
    ctx: &Context,
    d: &Deployment,
    new_rs: Option<&ReplicaSet>,
    old: &[ReplicaSet],
    max_unavailable: i32,
    created: bool,
) -> Result<Action, Error> {
    let now = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let (wanted, recheck) = status::compute(d, new_rs, old, max_unavailable, created, now);
    let current = serde_json::to_value(&d.status).unwrap_or_default();
    if !status::same(&current, &wanted) {
        let api: Api<Object<Deployment>> =
            Api::namespaced(ctx.client.clone(), &d.namespace().unwrap_or_default());
        workload_status::write(&api, &d.name_any(), &wanted).await?
    }
    Ok(workload_status::next_sync(recheck))
}

async fn reconcile(obj: Arc<Object<Deployment>>, ctx: Arc<Context>) -> Result<Action, Error> {
    let Some(d) = obj.object.as_ref() else {
        return Ok(Action::await_change());
    };
    let key = key_of(&obj.metadata.meta);
    ctx.retries.track(&key, sync(d, &ctx)).await
}

fn error_policy(obj: Arc<Object<Deployment>>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.retries
        .retry("deployment", &key_of(&obj.metadata.meta), error)
}

/// The Deployments controlling a ReplicaSet (as kube-runtime's `owns` finds them).
fn controlling(rs: &Meta<ReplicaSet>) -> Vec<ObjectRef<Object<Deployment>>> {
    let meta = &rs.metadata.meta;
    meta.owner_references
        .iter()
        .flatten()
        .filter(|o| o.kind == "Deployment" && o.api_version == "apps/v1")
        .map(|o| ObjectRef::new(&o.name).within(meta.namespace.as_deref().unwrap_or_default()))
        .collect()
}

pub async fn run(client: Client) {
    let (replica_sets, feed) = WatchCache::start(client.clone(), filed_under);
    let ctx = Arc::new(Context {
        client: client.clone(),
        retries: Retries::new(),
        replica_sets: Arc::clone(&replica_sets),
    });
    let controller = Controller::new(
        Api::<Object<Deployment>>::all(client.clone()),
        watcher::Config::default(),
    )
    .watches(
        Api::<Meta<ReplicaSet>>::all(client),
        watcher::Config::default(),
        move |rs| {
            replica_sets.expect(&rs.metadata.meta);
            controlling(&rs)
        },
    )
    .run(reconcile, error_policy, ctx)
    .for_each(|_| futures::future::ready(()));
    let mut tasks = Tasks::default();
    tasks.spawn(feed).spawn(controller);
    tasks.join().await;
}
