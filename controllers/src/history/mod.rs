//! The ControllerRevisions of stateful and daemon sets (upstream's `controller/history`):
//! the revision of a set's current template found, renumbered or made, and old ones pruned.
//! The pure rules are in `revisions.rs`.

pub mod revisions;

use k8s_openapi::api::apps::v1::ControllerRevision;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use crate::Error;
use crate::lenient::{self, Object};
use crate::owners;
use crate::selector::Labels;
pub use revisions::Known;

/// The set whose revisions these are.
pub struct Parent<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    pub namespace: &'a str,
    pub uid: &'a str,
    /// Its selector, as a list request's `labelSelector`.
    pub selector: &'a str,
    /// Its template's labels, which its revisions carry.
    pub template_labels: Labels,
    pub collision_count: Option<i32>,
}

/// The revisions of a set and the one of its template.
pub struct Revisions {
    pub known: Vec<Known>,
    /// The revision of the set's template (an index into `known`).
    pub update: usize,
}

impl Revisions {
    pub fn update(&self) -> &Known {
        &self.known[self.update]
    }

    pub fn named(&self, name: &str) -> Option<&Known> {
        self.known.iter().find(|k| k.name == name)
    }
}

/// What finding the template's revision came to.
pub enum Outcome {
    Found(Revisions),
    /// Another revision holds the name its hash gives: the set's collision count goes up
    /// and the set is synced again.
    Collision,
}

/// What a set does on `Outcome::Collision`: its `status.collisionCount` goes up by one (so the
/// next hash differs) and it is synced again shortly.
pub async fn bump_collision_count<K>(
    api: &Api<K>,
    name: &str,
    collision_count: Option<i32>,
) -> Result<Action, Error>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let count = collision_count.unwrap_or(0) + 1;
    let patch = Patch::Merge(json!({"status": {"collisionCount": count}}));
    api.patch_status(name, &PatchParams::default(), &patch)
        .await?;
    Ok(Action::requeue(std::time::Duration::from_millis(100)))
}

/// The revisions of `parent`, with the one of `template` made if missing, or made the newest
/// if an older template came back (a rollback).
pub async fn ensure(
    client: &Client,
    parent: &Parent<'_>,
    template: &Value,
) -> Result<Outcome, Error> {
    let api: Api<Object<ControllerRevision>> = Api::namespaced(client.clone(), parent.namespace);
    let mut known: Vec<Known> = lenient::list(&api, &ListParams::default().labels(parent.selector))
        .await?
        .into_iter()
        .filter(|r| owners::is_controlled_by(&r.metadata, parent.uid))
        .map(|r| Known {
            name: r.name_any(),
            hash: r
                .labels()
                .get(revisions::HASH_LABEL)
                .cloned()
                .unwrap_or_default(),
            revision: r.revision.unwrap_or(0),
            data: r.data.0,
        })
        .collect();
    let data = revisions::data_of(template);
    let next = revisions::next_number(&known);
    if let Some(i) = known
        .iter()
        .position(|k| revisions::same_data(&k.data, &data))
    {
        if known[i].revision != next - 1 {
            api.patch(
                &known[i].name,
                &PatchParams::default(),
                &Patch::Merge(json!({"revision": next})),
            )
            .await?;
            known[i].revision = next;
        }
        return Ok(Outcome::Found(Revisions { known, update: i }));
    }
    let (name, hash) = revisions::name_of(parent.name, &data, parent.collision_count);
    let mut labels = parent.template_labels.clone();
    labels.insert(revisions::HASH_LABEL.into(), hash.clone());
    let body: ControllerRevision = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "ControllerRevision",
        "metadata": {"name": name, "namespace": parent.namespace, "labels": labels,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": parent.kind,
                "name": parent.name, "uid": parent.uid, "controller": true,
                "blockOwnerDeletion": true}]},
        "data": data, "revision": next,
    }))
    .map_err(|e| Error::Invalid(e.to_string()))?;
    match api.create(&PostParams::default(), &Object::new(body)).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 409 => {
            let existing = api.get(&name).await?;
            let same = existing.object.as_ref().is_some_and(|r| {
                owners::is_controlled_by(&r.metadata, parent.uid)
                    && revisions::same_data(&r.data.0, &data)
            });
            if !same {
                return Ok(Outcome::Collision);
            }
        }
        Err(e) => return Err(e.into()),
    }
    known.push(Known {
        name,
        hash,
        revision: next,
        data,
    });
    let update = known.len() - 1;
    Ok(Outcome::Found(Revisions { known, update }))
}

/// Deletes the revisions named.
pub async fn prune(client: &Client, namespace: &str, names: &[String]) -> Result<(), Error> {
    let api: Api<Object<ControllerRevision>> = Api::namespaced(client.clone(), namespace);
    for name in names {
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
