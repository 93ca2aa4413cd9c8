//! The ReplicaSet and ReplicationController controllers: each keeps as many active pods as
//! its `replicas`, created from its template in slow-start batches and deleted in upstream's
//! preference order; adopts orphan pods its selector matches (a controller owner reference,
//! guarded by the pod's uid); and reports replicas, fully labeled, ready and available pods
//! (ready for `minReadySeconds`), the observed generation and a `ReplicaFailure` condition.
//! Pods are read through the API at each sync (never a stale cache: no double creations).

pub mod pods;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec, ReplicationController};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use serde_json::{Value, json};

use crate::Error;
use crate::backoff::{Retries, key_of};
use crate::events::{self, Involved};
use crate::lenient::{self, Meta, Object};
use crate::owners;
use crate::selector::{self, Labels};

/// What both kinds share.
struct Replicated {
    kind: &'static str,
    api_version: &'static str,
    component: &'static str,
    name: String,
    namespace: String,
    uid: String,
    generation: Option<i64>,
    replicas: i32,
    selector: Option<LabelSelector>,
    min_ready_seconds: i64,
    template: Option<PodTemplateSpec>,
    deleting: bool,
    status: Value,
}

impl Replicated {
    fn of_replica_set(rs: &ReplicaSet) -> Replicated {
        let spec = rs.spec.clone();
        Replicated {
            kind: "ReplicaSet",
            api_version: "apps/v1",
            component: "replicaset-controller",
            name: rs.name_any(),
            namespace: rs.namespace().unwrap_or_default(),
            uid: rs.metadata.uid.clone().unwrap_or_default(),
            generation: rs.metadata.generation,
            replicas: spec.replicas.unwrap_or(1),
            selector: Some(spec.selector),
            min_ready_seconds: i64::from(spec.min_ready_seconds.unwrap_or(0)),
            template: spec.template,
            deleting: rs.metadata.deletion_timestamp.is_some(),
            status: serde_json::to_value(&rs.status).unwrap_or_default(),
        }
    }

    fn of_replication_controller(rc: &ReplicationController) -> Replicated {
        let spec = rc.spec.clone().unwrap_or_default();
        // An RC without a selector selects its template's labels (upstream's defaulting).
        let labels: Labels = spec
            .selector
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| {
                spec.template
                    .as_ref()
                    .and_then(|t| t.metadata.as_ref())
                    .and_then(|m| m.labels.clone())
                    .unwrap_or_default()
            });
        Replicated {
            kind: "ReplicationController",
            api_version: "v1",
            component: "replication-controller",
            name: rc.name_any(),
            namespace: rc.namespace().unwrap_or_default(),
            uid: rc.metadata.uid.clone().unwrap_or_default(),
            generation: rc.metadata.generation,
            replicas: spec.replicas.unwrap_or(1),
            selector: (!labels.is_empty()).then_some(LabelSelector {
                match_labels: Some(labels),
                match_expressions: None,
            }),
            min_ready_seconds: i64::from(spec.min_ready_seconds.unwrap_or(0)),
            template: spec.template,
            deleting: rc.metadata.deletion_timestamp.is_some(),
            status: serde_json::to_value(&rc.status).unwrap_or_default(),
        }
    }

    fn involved(&self) -> Involved<'_> {
        Involved {
            api_version: self.api_version,
            kind: self.kind,
            namespace: &self.namespace,
            name: &self.name,
            uid: &self.uid,
        }
    }

    fn owner_reference(&self) -> Value {
        json!({"apiVersion": self.api_version, "kind": self.kind, "name": self.name,
            "uid": self.uid, "controller": true, "blockOwnerDeletion": true})
    }
}

/// A selector as a list request's `labelSelector` text.
pub(crate) fn selector_string(s: &LabelSelector) -> String {
    let mut parts: Vec<String> = s
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for e in s.match_expressions.iter().flatten() {
        let values = e.values.clone().unwrap_or_default().join(",");
        parts.push(match e.operator.as_str() {
            "In" => format!("{} in ({values})", e.key),
            "NotIn" => format!("{} notin ({values})", e.key),
            "Exists" => e.key.clone(),
            _ => format!("!{}", e.key),
        });
    }
    parts.join(",")
}

struct Context {
    client: Client,
    retries: Retries,
}

/// The pods `r` controls, adopting orphans its selector matches.
async fn claim(r: &Replicated, ctx: &Context) -> Result<Vec<Pod>, Error> {
    let Some(sel) = r.selector.as_ref().filter(|s| {
        s.match_labels.as_ref().is_some_and(|m| !m.is_empty())
            || s.match_expressions.as_ref().is_some_and(|m| !m.is_empty())
    }) else {
        return Ok(Vec::new());
    };
    let api: Api<Object<Pod>> = Api::namespaced(ctx.client.clone(), &r.namespace);
    let listed = lenient::list(&api, &ListParams::default().labels(&selector_string(sel))).await?;
    let mut owned = Vec::new();
    for pod in listed {
        let labels = pod.metadata.labels.clone().unwrap_or_default();
        let mine = match owners::controller_uid(&pod.metadata) {
            Some(uid) => uid == r.uid,
            // Orphans are adopted while their selector matches (the list may be older).
            None => {
                !r.deleting
                    && pods::is_active(&pod)
                    && selector::matches(sel, &labels)
                    && adopt(r, &pod, &api).await?
            }
        };
        if mine {
            owned.push(pod);
        }
    }
    Ok(owned)
}

async fn adopt(r: &Replicated, pod: &Pod, api: &Api<Object<Pod>>) -> Result<bool, Error> {
    adopt_pod(r.owner_reference(), pod, api).await
}

/// Makes `owner` the controller of an orphan `pod`, guarded by its uid and revision; whether
/// it took (a pod gone or changed meanwhile is not adopted).
pub(crate) async fn adopt_pod(
    owner: Value,
    pod: &Pod,
    api: &Api<Object<Pod>>,
) -> Result<bool, Error> {
    let mut refs: Vec<Value> = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .filter_map(|o| serde_json::to_value(o).ok())
        .collect();
    refs.push(owner);
    let patch = json!({"metadata": {"ownerReferences": refs,
        "uid": pod.metadata.uid, "resourceVersion": pod.metadata.resource_version}});
    match api
        .patch(
            &pod.name_any(),
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn new_pod(r: &Replicated) -> Result<Value, Error> {
    let template = r
        .template
        .as_ref()
        .ok_or_else(|| Error::Invalid("no pod template".into()))?;
    let meta = template.metadata.clone().unwrap_or_default();
    Ok(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "generateName": format!("{}-", r.name),
            "namespace": r.namespace,
            "labels": meta.labels,
            "annotations": meta.annotations,
            "finalizers": meta.finalizers,
            "ownerReferences": [r.owner_reference()],
        },
        "spec": template.spec,
    }))
}

/// Creates or deletes pods towards `replicas`; the error of a failed creation, if any.
async fn manage(r: &Replicated, active: &[&Pod], ctx: &Context) -> Result<Option<String>, Error> {
    let diff = active.len() as i64 - i64::from(r.replicas);
    let api: Api<Object<Pod>> = Api::namespaced(ctx.client.clone(), &r.namespace);
    if diff < 0 {
        let body = new_pod(r)?;
        let pod: Pod = serde_json::from_value(body).map_err(|e| Error::Invalid(e.to_string()))?;
        let pod = Object::new(pod);
        let params = PostParams::default();
        for batch in pods::batches((-diff) as usize) {
            let creations = (0..batch).map(|_| api.create(&params, &pod));
            let results = futures::future::join_all(creations).await;
            let mut failure = None;
            for result in results {
                match result {
                    Ok(created) => {
                        let name = created.metadata.meta.name.unwrap_or_default();
                        events::record(
                            &ctx.client,
                            r.component,
                            &r.involved(),
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
                            r.component,
                            &r.involved(),
                            "Warning",
                            "FailedCreate",
                            &format!("Error creating: {message}"),
                        )
                        .await;
                        failure = Some(message);
                    }
                }
            }
            // As upstream, a failed batch stops the slow start.
            if failure.is_some() {
                return Ok(failure);
            }
        }
    } else if diff > 0 {
        let mut victims: Vec<&Pod> = active.to_vec();
        pods::deletion_order(&mut victims);
        for pod in victims.into_iter().take((diff as usize).min(pods::BURST)) {
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
                    events::record(
                        &ctx.client,
                        r.component,
                        &r.involved(),
                        "Normal",
                        "SuccessfulDelete",
                        &format!("Deleted pod: {name}"),
                    )
                    .await;
                }
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => {
                    events::record(
                        &ctx.client,
                        r.component,
                        &r.involved(),
                        "Warning",
                        "FailedDelete",
                        &format!("Error deleting: {}", crate::logs::describe(&e)),
                    )
                    .await;
                    return Err(e.into());
                }
            }
        }
    }
    Ok(None)
}

fn now_text() -> String {
    jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// The status `r` should show, given its pods and the outcome of this sync.
fn status(r: &Replicated, c: &pods::Counts, failure: Option<&str>) -> Value {
    let previous = r.status["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "ReplicaFailure"))
        .cloned();
    let conditions = match (failure, previous) {
        (Some(message), Some(p)) if p["message"] == message => json!([p]),
        (Some(message), _) => json!([{"type": "ReplicaFailure", "status": "True",
            "reason": "FailedCreate", "message": message, "lastTransitionTime": now_text()}]),
        // Cleared once a sync manages without error.
        (None, _) => Value::Null,
    };
    json!({
        "replicas": c.replicas,
        "fullyLabeledReplicas": c.fully_labeled,
        "readyReplicas": c.ready,
        "availableReplicas": c.available,
        "observedGeneration": r.generation,
        "conditions": conditions,
    })
}

async fn sync(r: Replicated, ctx: &Context) -> Result<Action, Error> {
    let owned = claim(&r, ctx).await?;
    let active: Vec<&Pod> = owned.iter().filter(|p| pods::is_active(p)).collect();
    let failure = match r.deleting {
        true => None,
        false => manage(&r, &active, ctx).await?,
    };
    let template_labels = r
        .template
        .as_ref()
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let counts = pods::counts(
        &active,
        &template_labels,
        r.min_ready_seconds,
        jiff::Timestamp::now(),
    );
    let wanted = status(&r, &counts, failure.as_deref());
    let mut current = r.status.clone();
    if current.is_null() {
        current = json!({});
    }
    let differs = [
        "replicas",
        "fullyLabeledReplicas",
        "readyReplicas",
        "availableReplicas",
        "observedGeneration",
        "conditions",
    ]
    .iter()
    .any(|k| {
        let have = current.get(*k).cloned().unwrap_or(Value::Null);
        let want = wanted[*k].clone();
        // Zero counts are omitted in stored statuses.
        have != want && !(have.is_null() && want == json!(0))
    });
    if differs {
        let patch = Patch::Merge(json!({"status": wanted}));
        let params = PatchParams::default();
        let result = match r.kind {
            "ReplicaSet" => Api::<Object<ReplicaSet>>::namespaced(ctx.client.clone(), &r.namespace)
                .patch_status(&r.name, &params, &patch)
                .await
                .map(drop),
            _ => Api::<Object<ReplicationController>>::namespaced(ctx.client.clone(), &r.namespace)
                .patch_status(&r.name, &params, &patch)
                .await
                .map(drop),
        };
        match result {
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            other => other?,
        }
    }
    Ok(match (failure, counts.recheck) {
        (Some(_), _) => Action::requeue(Duration::from_secs(5)),
        (None, Some(s)) => Action::requeue(Duration::from_secs(s.max(1) as u64)),
        (None, None) => Action::await_change(),
    })
}

async fn reconcile_rs(obj: Arc<Object<ReplicaSet>>, ctx: Arc<Context>) -> Result<Action, Error> {
    let Some(rs) = obj.object.as_ref() else {
        return Ok(Action::await_change());
    };
    let key = key_of(&obj.metadata.meta);
    ctx.retries
        .track(&key, sync(Replicated::of_replica_set(rs), &ctx))
        .await
}

async fn reconcile_rc(
    obj: Arc<Object<ReplicationController>>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let Some(rc) = obj.object.as_ref() else {
        return Ok(Action::await_change());
    };
    let key = key_of(&obj.metadata.meta);
    ctx.retries
        .track(&key, sync(Replicated::of_replication_controller(rc), &ctx))
        .await
}

fn error_policy<K: Resource>(obj: Arc<K>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.retries
        .retry("replica controller", &key_of(obj.meta()), error)
}

/// The owner (of kind `kind`) a pod event concerns: its controller.
fn owner<K>(pod: &Meta<Pod>, kind: &str) -> Option<ObjectRef<K>>
where
    K: Resource<DynamicType = ()>,
{
    let ns = pod.metadata.meta.namespace.clone()?;
    let o = owners::controller_of(&pod.metadata.meta).filter(|o| o.kind == kind)?;
    Some(ObjectRef::new(&o.name).within(&ns))
}

pub async fn run(client: Client) {
    let ctx = Arc::new(Context {
        client: client.clone(),
        retries: Retries::new(),
    });
    let replica_sets = Controller::new(
        Api::<Object<ReplicaSet>>::all(client.clone()),
        watcher::Config::default(),
    );
    let rs_store = replica_sets.store();
    let replica_sets = replica_sets
        .watches(
            Api::<Meta<Pod>>::all(client.clone()),
            watcher::Config::default(),
            move |pod| {
                if let Some(o) = owner::<Object<ReplicaSet>>(&pod, "ReplicaSet") {
                    return vec![o];
                }
                orphan_owners(&pod, &rs_store.state(), |rs: &ReplicaSet| {
                    Replicated::of_replica_set(rs)
                })
            },
        )
        .run(reconcile_rs, error_policy, ctx.clone())
        .for_each(|_| futures::future::ready(()));
    let controllers = Controller::new(
        Api::<Object<ReplicationController>>::all(client.clone()),
        watcher::Config::default(),
    );
    let rc_store = controllers.store();
    let controllers = controllers
        .watches(
            Api::<Meta<Pod>>::all(client),
            watcher::Config::default(),
            move |pod| {
                if let Some(o) =
                    owner::<Object<ReplicationController>>(&pod, "ReplicationController")
                {
                    return vec![o];
                }
                orphan_owners(&pod, &rc_store.state(), |rc: &ReplicationController| {
                    Replicated::of_replication_controller(rc)
                })
            },
        )
        .run(reconcile_rc, error_policy, ctx)
        .for_each(|_| futures::future::ready(()));
    tokio::join!(replica_sets, controllers);
}

/// For a pod without a controller: the controllers of its namespace whose selector matches it.
fn orphan_owners<K>(
    pod: &Meta<Pod>,
    all: &[Arc<Object<K>>],
    view: impl Fn(&K) -> Replicated,
) -> Vec<ObjectRef<Object<K>>>
where
    Object<K>: Resource<DynamicType = ()>,
    K: Resource,
{
    let meta = &pod.metadata.meta;
    if owners::controller_of(meta).is_some() {
        return Vec::new();
    }
    let ns = meta.namespace.clone().unwrap_or_default();
    let labels = meta.labels.clone().unwrap_or_default();
    all.iter()
        .filter_map(|o| o.object.as_ref())
        .map(&view)
        .filter(|r| r.namespace == ns)
        .filter(|r| {
            r.selector
                .as_ref()
                .is_some_and(|s| selector::matches(s, &labels))
        })
        .map(|r| ObjectRef::new(&r.name).within(&ns))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_as_query_text() {
        let s: LabelSelector = serde_json::from_value(json!({"matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}))
        .unwrap();
        assert_eq!(selector_string(&s), "app=web,tier in (a,b)");
    }

    #[test]
    fn failure_condition_comes_and_goes() {
        let rs: ReplicaSet =
            serde_json::from_value(json!({"metadata": {"name": "r", "namespace": "n",
            "generation": 2}, "spec": {"selector": {"matchLabels": {"a": "b"}}}}))
            .unwrap();
        let r = Replicated::of_replica_set(&rs);
        let c = pods::Counts {
            replicas: 1,
            ..Default::default()
        };
        let s = status(&r, &c, Some("quota exceeded"));
        assert_eq!(s["conditions"][0]["reason"], "FailedCreate");
        assert_eq!(s["observedGeneration"], 2);
        assert!(status(&r, &c, None)["conditions"].is_null());
    }
}
