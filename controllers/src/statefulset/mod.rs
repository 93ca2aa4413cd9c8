//! The StatefulSet controller (kube-controller-manager's): pods `<set>-<ordinal>` with stable
//! identities and claims, created in order or in parallel (`podManagementPolicy`), removed
//! from the highest ordinal, rolled to a new template from the highest ordinal down to the
//! partition (`RollingUpdate`) or left for the user to delete (`OnDelete`); each template is
//! kept as a ControllerRevision. Pods and revisions are read through the API at each sync;
//! the decisions are in `plan.rs`, names and bodies in `identity.rs` and `revisions.rs`.

pub mod identity;
pub mod plan;

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use crate::Error;
use crate::backoff::{Retries, key_of};
use crate::events::{self, Involved};
use crate::history::{self, Outcome, Parent, revisions};
use crate::lenient::{self, Meta, Object};
use crate::owners;
use crate::replicaset::pods::{available, is_ready};
use crate::replicaset::{adopt_pod, selector_string};
use crate::selector::{self, Labels};
use crate::workload_status;
use identity::Owner;
use plan::{PodFacts, Revision, SetFacts, Step, Strategy};

const COMPONENT: &str = "statefulset-controller";

struct Context {
    client: Client,
    retries: Retries,
}

fn involved(set: &StatefulSet) -> Involved<'_> {
    Involved::of("apps/v1", "StatefulSet", &set.metadata)
}

/// One sync's view of a set.
struct View<'a> {
    set: &'a StatefulSet,
    name: String,
    namespace: String,
    uid: String,
    selector_labels: Labels,
    claim_templates: Vec<Value>,
    ctx: &'a Context,
}

impl View<'_> {
    fn owner(&self) -> Owner<'_> {
        Owner {
            name: &self.name,
            namespace: &self.namespace,
            uid: &self.uid,
            service_name: self.set.spec.service_name.as_deref(),
            selector_labels: &self.selector_labels,
            claim_templates: &self.claim_templates,
        }
    }

    async fn event(&self, type_: &str, reason: &str, message: &str) {
        events::record(
            &self.ctx.client,
            COMPONENT,
            &involved(self.set),
            type_,
            reason,
            message,
        )
        .await;
    }
}

fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => crate::logs::describe(other),
    }
}

/// The set's pods (by ordinal), adopting orphans named as its pods that its selector matches.
async fn owned_pods(v: &View<'_>) -> Result<Vec<(i32, Pod)>, Error> {
    let spec = &v.set.spec;
    let api: Api<Object<Pod>> = Api::namespaced(v.ctx.client.clone(), &v.namespace);
    let listed = lenient::list(
        &api,
        &ListParams::default().labels(&selector_string(&spec.selector)),
    )
    .await?;
    let mut owned = Vec::new();
    for pod in listed {
        let Some(ordinal) = identity::ordinal_of(&v.name, &pod.name_any()) else {
            continue;
        };
        let mine = match owners::controller_uid(&pod.metadata) {
            Some(uid) => uid == v.uid,
            None => {
                let labels = pod.labels().clone();
                pod.metadata.deletion_timestamp.is_none()
                    && v.set.metadata.deletion_timestamp.is_none()
                    && selector::matches(&spec.selector, &labels)
                    && adopt_pod(
                        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "name": v.name,
                            "uid": v.uid, "controller": true, "blockOwnerDeletion": true}),
                        &pod,
                        &api,
                    )
                    .await?
            }
        };
        if mine {
            owned.push((ordinal, pod));
        }
    }
    Ok(owned)
}

fn facts(ordinal: i32, pod: &Pod, min_ready: i64, now: jiff::Timestamp) -> (PodFacts, Option<i64>) {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    let running_ready = phase == Some("Running") && is_ready(pod);
    let (avail, wait) = available(pod, min_ready, now);
    (
        PodFacts {
            ordinal,
            revision: pod
                .labels()
                .get(identity::REVISION_LABEL)
                .cloned()
                .unwrap_or_default(),
            terminating: pod.metadata.deletion_timestamp.is_some(),
            finished: matches!(phase, Some("Succeeded" | "Failed")),
            running_ready,
            available: running_ready && avail,
        },
        wait.filter(|_| running_ready),
    )
}

/// Creates the claims of the pod at `ordinal` that do not exist yet.
async fn create_claims(v: &View<'_>, ordinal: i32) -> Result<(), Error> {
    let owned = v
        .set
        .spec
        .persistent_volume_claim_retention_policy
        .as_ref()
        .and_then(|p| p.when_deleted.as_deref())
        == Some("Delete");
    let api: Api<Object<PersistentVolumeClaim>> =
        Api::namespaced(v.ctx.client.clone(), &v.namespace);
    let pod = identity::pod_name(&v.name, ordinal);
    for (name, body) in identity::claims(&v.owner(), ordinal, owned) {
        match api.get_opt(&name).await? {
            Some(existing) if existing.metadata.meta.deletion_timestamp.is_some() => {
                return Err(Error::Invalid(format!(
                    "pvc {name} is being deleted, cannot create pod {pod} until it is gone"
                )));
            }
            Some(_) => continue,
            None => {}
        }
        let claim: PersistentVolumeClaim =
            serde_json::from_value(body).map_err(|e| Error::Invalid(e.to_string()))?;
        match api
            .create(&PostParams::default(), &Object::new(claim))
            .await
        {
            Ok(_) => {
                let message = format!(
                    "create Claim {name} Pod {pod} in StatefulSet {} success",
                    v.name
                );
                v.event("Normal", "SuccessfulCreate", &message).await;
            }
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => {
                let message = format!(
                    "create Claim {name} for Pod {pod} in StatefulSet {} failed error: {}",
                    v.name,
                    api_message(&e)
                );
                v.event("Warning", "FailedCreate", &message).await;
                return Err(e.into());
            }
        }
    }
    Ok(())
}

async fn create_pod(
    v: &View<'_>,
    template: &Value,
    ordinal: i32,
    revision: &str,
) -> Result<(), Error> {
    create_claims(v, ordinal).await?;
    let body = identity::pod(&v.owner(), template, ordinal, revision);
    let pod: Pod = serde_json::from_value(body).map_err(|e| Error::Invalid(e.to_string()))?;
    let api: Api<Object<Pod>> = Api::namespaced(v.ctx.client.clone(), &v.namespace);
    let name = identity::pod_name(&v.name, ordinal);
    match api.create(&PostParams::default(), &Object::new(pod)).await {
        Ok(_) => {
            let message = format!("create Pod {name} in StatefulSet {} successful", v.name);
            v.event("Normal", "SuccessfulCreate", &message).await;
            Ok(())
        }
        // Made meanwhile (or still going): the next sync sees it.
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
        Err(e) => {
            let message = format!(
                "create Pod {name} in StatefulSet {} failed error: {}",
                v.name,
                api_message(&e)
            );
            v.event("Warning", "FailedCreate", &message).await;
            Err(e.into())
        }
    }
}

/// Gives the claims of a pod leaving by a scale down to that pod, so that they go with it
/// (`whenScaled: Delete`).
async fn hand_claims_to(v: &View<'_>, pod: &Pod, ordinal: i32) -> Result<(), Error> {
    let api: Api<Object<PersistentVolumeClaim>> =
        Api::namespaced(v.ctx.client.clone(), &v.namespace);
    for (name, _) in identity::claims(&v.owner(), ordinal, false) {
        let Some(claim) = api.get_opt(&name).await? else {
            continue;
        };
        let pod_uid = pod.metadata.uid.clone().unwrap_or_default();
        let mut refs: Vec<Value> = claim
            .metadata
            .meta
            .owner_references
            .iter()
            .flatten()
            .filter_map(|o| serde_json::to_value(o).ok())
            .collect();
        if refs.iter().any(|r| r["uid"] == pod_uid.as_str()) {
            continue;
        }
        refs.push(
            json!({"apiVersion": "v1", "kind": "Pod", "name": pod.name_any(),
            "uid": pod_uid}),
        );
        let patch = json!({"metadata": {"ownerReferences": refs,
            "resourceVersion": claim.metadata.meta.resource_version}});
        match api
            .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

async fn delete_pod(v: &View<'_>, pod: &Pod) -> Result<(), Error> {
    let api: Api<Object<Pod>> = Api::namespaced(v.ctx.client.clone(), &v.namespace);
    let name = pod.name_any();
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: pod.metadata.uid.clone(),
            resource_version: None,
        }),
        ..Default::default()
    };
    match api.delete(&name, &params).await {
        Ok(_) => {
            let message = format!("delete Pod {name} in StatefulSet {} successful", v.name);
            v.event("Normal", "SuccessfulDelete", &message).await;
            Ok(())
        }
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Ok(()),
        Err(e) => {
            let message = format!(
                "delete Pod {name} in StatefulSet {} failed error: {}",
                v.name,
                api_message(&e)
            );
            v.event("Warning", "FailedDelete", &message).await;
            Err(e.into())
        }
    }
}

fn strategy_of(set: &StatefulSet) -> Strategy {
    let strategy = set.spec.update_strategy.as_ref();
    match strategy.and_then(|s| s.type_.as_deref()) {
        Some("OnDelete") => Strategy::OnDelete,
        _ => Strategy::RollingUpdate {
            partition: strategy
                .and_then(|s| s.rolling_update.as_ref())
                .and_then(|r| r.partition)
                .unwrap_or(0),
        },
    }
}

async fn sync(set: &StatefulSet, ctx: &Context) -> Result<Action, Error> {
    let spec = &set.spec;
    // Its pods go with it by the garbage collector.
    if set.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let v = View {
        set,
        name: set.name_any(),
        namespace: set.namespace().unwrap_or_default(),
        uid: set.metadata.uid.clone().unwrap_or_default(),
        selector_labels: spec.selector.match_labels.clone().unwrap_or_default(),
        claim_templates: spec
            .volume_claim_templates
            .iter()
            .flatten()
            .filter_map(|t| serde_json::to_value(t).ok())
            .collect(),
        ctx,
    };
    let template =
        serde_json::to_value(&spec.template).map_err(|e| Error::Invalid(e.to_string()))?;
    let status = set.status.clone().unwrap_or_default();
    let selector = selector_string(&spec.selector);
    let parent = Parent {
        kind: "StatefulSet",
        name: &v.name,
        namespace: &v.namespace,
        uid: &v.uid,
        selector: &selector,
        template_labels: spec
            .template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.clone())
            .unwrap_or_default(),
        collision_count: status.collision_count,
    };
    let found = match history::ensure(&ctx.client, &parent, &template).await? {
        Outcome::Found(found) => found,
        Outcome::Collision => {
            let sets: Api<Object<StatefulSet>> = Api::namespaced(ctx.client.clone(), &v.namespace);
            return history::bump_collision_count(&sets, &v.name, status.collision_count).await;
        }
    };
    let update = found.update().name.clone();
    let current = status
        .current_revision
        .clone()
        .filter(|c| found.named(c).is_some())
        .unwrap_or_else(|| update.clone());
    let facts_of_set = SetFacts {
        replicas: spec.replicas.unwrap_or(1),
        start: spec
            .ordinals
            .as_ref()
            .and_then(|o| o.start)
            .unwrap_or(0)
            .max(0),
        ordered: spec.pod_management_policy.as_deref() != Some("Parallel"),
        strategy: strategy_of(set),
        current_revision: current.clone(),
        update_revision: update.clone(),
    };

    let pods = owned_pods(&v).await?;
    let min_ready = i64::from(spec.min_ready_seconds.unwrap_or(0));
    let now = jiff::Timestamp::now();
    let mut recheck: Option<i64> = None;
    let pod_facts: Vec<PodFacts> = pods
        .iter()
        .map(|(ordinal, pod)| {
            let (f, wait) = facts(*ordinal, pod, min_ready, now);
            if let Some(w) = wait {
                recheck = Some(recheck.map_or(w, |r| r.min(w)));
            }
            f
        })
        .collect();
    let pod_at = |ordinal: i32| pods.iter().find(|(o, _)| *o == ordinal).map(|(_, p)| p);
    let scaled_delete = spec
        .persistent_volume_claim_retention_policy
        .as_ref()
        .and_then(|p| p.when_scaled.as_deref())
        == Some("Delete");
    for step in plan::plan(&facts_of_set, &pod_facts) {
        match step {
            Step::Create { ordinal, revision } => {
                let (name, template) = match revision {
                    Revision::Current => {
                        let old = found
                            .named(&current)
                            .and_then(|k| revisions::template_of(&k.data));
                        match old {
                            Some(t) => (current.as_str(), t),
                            None => (update.as_str(), template.clone()),
                        }
                    }
                    Revision::Update => (update.as_str(), template.clone()),
                };
                create_pod(&v, &template, ordinal, name).await?;
            }
            Step::Replace { ordinal } | Step::Update { ordinal } => {
                if let Some(pod) = pod_at(ordinal) {
                    delete_pod(&v, pod).await?;
                }
            }
            Step::Condemn { ordinal } => {
                if let Some(pod) = pod_at(ordinal) {
                    if scaled_delete {
                        hand_claims_to(&v, pod, ordinal).await?;
                    }
                    delete_pod(&v, pod).await?;
                }
            }
        }
    }

    // Revisions nothing uses beyond the history limit go.
    let mut live: BTreeSet<String> = pod_facts.iter().map(|p| p.revision.clone()).collect();
    live.insert(current.clone());
    live.insert(update.clone());
    let old = revisions::pruned(
        &found.known,
        &live,
        spec.revision_history_limit.unwrap_or(10),
    );
    history::prune(&ctx.client, &v.namespace, &old).await?;

    let counts = plan::counts(&facts_of_set, &pod_facts);
    let (current_revision, current_replicas) = plan::settled(&facts_of_set, &counts);
    let wanted = json!({
        "observedGeneration": set.metadata.generation,
        "replicas": counts.replicas,
        "readyReplicas": counts.ready,
        "currentReplicas": current_replicas,
        "updatedReplicas": counts.updated,
        "availableReplicas": counts.available,
        "currentRevision": current_revision,
        "updateRevision": update,
    });
    let have = serde_json::to_value(&status).unwrap_or_default();
    let differs = wanted.as_object().is_some_and(|m| {
        m.iter().any(|(k, want)| {
            let got = have.get(k).cloned().unwrap_or(Value::Null);
            got != *want && !(got.is_null() && *want == json!(0))
        })
    });
    if differs {
        let sets: Api<Object<StatefulSet>> = Api::namespaced(ctx.client.clone(), &v.namespace);
        workload_status::write(&sets, &v.name, &wanted).await?
    }
    Ok(workload_status::next_sync(recheck))
}

async fn reconcile(obj: Arc<Object<StatefulSet>>, ctx: Arc<Context>) -> Result<Action, Error> {
    let Some(set) = obj.object.as_ref() else {
        return Ok(Action::await_change());
    };
    let key = key_of(&obj.metadata.meta);
    ctx.retries.track(&key, sync(set, &ctx)).await
}

fn error_policy(obj: Arc<Object<StatefulSet>>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.retries
        .retry("statefulset", &key_of(&obj.metadata.meta), error)
}

pub async fn run(client: Client) {
    let ctx = Arc::new(Context {
        client: client.clone(),
        retries: Retries::new(),
    });
    Controller::new(
        Api::<Object<StatefulSet>>::all(client.clone()),
        watcher::Config::default(),
    )
    .owns(Api::<Meta<Pod>>::all(client), watcher::Config::default())
    .run(reconcile, error_policy, ctx)
    .for_each(|_| futures::future::ready(()))
    .await;
}
