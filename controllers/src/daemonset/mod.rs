//! The DaemonSet controller (kube-controller-manager's): one pod on each node that fits the
//! template (node name, selector, required affinity, taints against the tolerations every
//! daemon pod gets), each pinned to its node by node affinity for the scheduler to bind;
//! pods off nodes that no longer fit go; a new template rolls out node by node within
//! `maxUnavailable` (`RollingUpdate`) or waits for the user's deletions (`OnDelete`). Each
//! template is a ControllerRevision; pods carry its hash. Nodes and pods are read through the
//! API at each sync; the decisions are in `nodes.rs` and `plan.rs`.

pub mod nodes;
pub mod plan;

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, DeleteParams, ListParams, PostParams, Preconditions};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
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
use crate::replicaset::selector_string;
use crate::workload_status;
use plan::{DaemonPod, NodeState, Step, Strategy};

const COMPONENT: &str = "daemonset-controller";
/// The label of a daemon pod's revision hash.
pub const REVISION_LABEL: &str = "controller-revision-hash";
/// The (deprecated) label of the set's generation a pod was made at.
const GENERATION_LABEL: &str = "pod-template-generation";

struct Context {
    client: Client,
    retries: Retries,
}

fn involved(ds: &DaemonSet) -> Involved<'_> {
    Involved::of("apps/v1", "DaemonSet", &ds.metadata)
}

fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => crate::logs::describe(other),
    }
}

/// The node a daemon pod is for: its node, or the one its node affinity pins it to.
fn node_of(pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    if let Some(n) = spec.node_name.as_ref().filter(|n| !n.is_empty()) {
        return Some(n.clone());
    }
    spec.affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms
        .iter()
        .flat_map(|t| t.match_fields.iter().flatten())
        .find(|r| r.key == "metadata.name" && r.operator == "In")
        .and_then(|r| r.values.as_ref()?.first().cloned())
}

fn daemon_pod(pod: &Pod, min_ready: i64, now: jiff::Timestamp) -> (DaemonPod, Option<i64>) {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    let ready = is_ready(pod) && phase == Some("Running");
    let (avail, wait) = available(pod, min_ready, now);
    (
        DaemonPod {
            name: pod.name_any(),
            hash: pod
                .labels()
                .get(REVISION_LABEL)
                .cloned()
                .unwrap_or_default(),
            created: pod
                .metadata
                .creation_timestamp
                .as_ref()
                .map_or(0, |t| t.0.as_second()),
            terminating: pod.metadata.deletion_timestamp.is_some(),
            failed: phase == Some("Failed"),
            ready,
            available: ready && avail,
        },
        wait.filter(|_| ready),
    )
}

async fn create_pod(
    ds: &DaemonSet,
    ctx: &Context,
    template: &Value,
    node: &str,
    hash: &str,
) -> Result<(), Error> {
    let ns = ds.namespace().unwrap_or_default();
    let meta = template["metadata"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut labels = meta
        .get("labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    labels.insert(REVISION_LABEL.into(), json!(hash));
    if let Some(g) = ds.metadata.generation {
        labels.insert(GENERATION_LABEL.into(), json!(g.to_string()));
    }
    let mut spec = template["spec"].clone();
    nodes::add_daemon_tolerations(&mut spec);
    nodes::pin_to_node(&mut spec, node);
    let body = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": format!("{}-", ds.name_any()), "namespace": ns,
            "labels": labels, "annotations": meta.get("annotations"),
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet",
                "name": ds.name_any(), "uid": ds.metadata.uid, "controller": true,
                "blockOwnerDeletion": true}]},
        "spec": spec});
    let pod: Pod = serde_json::from_value(body).map_err(|e| Error::Invalid(e.to_string()))?;
    let api: Api<Object<Pod>> = Api::namespaced(ctx.client.clone(), &ns);
    match api.create(&PostParams::default(), &Object::new(pod)).await {
        Ok(created) => {
            let name = created.metadata.meta.name.unwrap_or_default();
            let message = format!("Created pod: {name}");
            events::record(
                &ctx.client,
                COMPONENT,
                &involved(ds),
                "Normal",
                "SuccessfulCreate",
                &message,
            )
            .await;
            Ok(())
        }
        Err(e) => {
            let message = format!("Error creating: {}", api_message(&e));
            events::record(
                &ctx.client,
                COMPONENT,
                &involved(ds),
                "Warning",
                "FailedCreate",
                &message,
            )
            .await;
            Err(e.into())
        }
    }
}

async fn delete_pod(ds: &DaemonSet, ctx: &Context, pod: &Pod) -> Result<(), Error> {
    let api: Api<Object<Pod>> =
        Api::namespaced(ctx.client.clone(), &ds.namespace().unwrap_or_default());
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
            let message = format!("Deleted pod: {name}");
            events::record(
                &ctx.client,
                COMPONENT,
                &involved(ds),
                "Normal",
                "SuccessfulDelete",
                &message,
            )
            .await;
            Ok(())
        }
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Ok(()),
        Err(e) => {
            let message = format!("Error deleting: {}", api_message(&e));
            events::record(
                &ctx.client,
                COMPONENT,
                &involved(ds),
                "Warning",
                "FailedDelete",
                &message,
            )
            .await;
            Err(e.into())
        }
    }
}

async fn sync(ds: &DaemonSet, ctx: &Context) -> Result<Action, Error> {
    let spec = &ds.spec;
    // Its pods go with it by the garbage collector.
    if ds.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let name = ds.name_any();
    let ns = ds.namespace().unwrap_or_default();
    let uid = ds.metadata.uid.clone().unwrap_or_default();
    let template =
        serde_json::to_value(&spec.template).map_err(|e| Error::Invalid(e.to_string()))?;
    let status = ds.status.clone().unwrap_or_default();
    let selector = selector_string(&spec.selector);
    let parent = Parent {
        kind: "DaemonSet",
        name: &name,
        namespace: &ns,
        uid: &uid,
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
            let sets: Api<Object<DaemonSet>> = Api::namespaced(ctx.client.clone(), &ns);
            return history::bump_collision_count(&sets, &name, status.collision_count).await;
        }
    };
    let hash = found.update().hash.clone();

    // The template's pod spec as its pods get it, to judge which nodes fit.
    let mut pod_spec = template["spec"].clone();
    nodes::add_daemon_tolerations(&mut pod_spec);
    let pod_spec: PodSpec =
        serde_json::from_value(pod_spec).map_err(|e| Error::Invalid(e.to_string()))?;
    let all_nodes: Vec<Node> = lenient::list(
        &Api::<Object<Node>>::all(ctx.client.clone()),
        &ListParams::default(),
    )
    .await?;
    let mut pods: Vec<Pod> = lenient::list(
        &Api::<Object<Pod>>::namespaced(ctx.client.clone(), &ns),
        &ListParams::default().labels(&selector),
    )
    .await?;
    pods.retain(|p| owners::is_controlled_by(&p.metadata, &uid));
    let min_ready = i64::from(spec.min_ready_seconds.unwrap_or(0));
    let now = jiff::Timestamp::now();
    let mut recheck: Option<i64> = None;
    let mut by_node: BTreeMap<String, Vec<DaemonPod>> = BTreeMap::new();
    for pod in &pods {
        let (p, wait) = daemon_pod(pod, min_ready, now);
        if let Some(w) = wait {
            recheck = Some(recheck.map_or(w, |r| r.min(w)));
        }
        // A pod for no node (or a node gone) is left to the pod garbage collector.
        if let Some(node) = node_of(pod) {
            by_node.entry(node).or_default().push(p);
        }
    }
    let states: Vec<NodeState> = all_nodes
        .iter()
        .map(|n| {
            let node = n.name_any();
            NodeState {
                fit: nodes::fit(&pod_spec, n),
                pods: by_node.remove(&node).unwrap_or_default(),
                node,
            }
        })
        .collect();
    let desired = states.iter().filter(|s| s.fit.should_run).count() as i32;
    let strategy = spec.update_strategy.as_ref();
    let strategy = match strategy.and_then(|s| s.type_.as_deref()) {
        Some("OnDelete") => Strategy::OnDelete,
        _ => {
            let rolling = strategy.and_then(|s| s.rolling_update.as_ref());
            let value = |v: Option<&IntOrString>| v.and_then(|v| serde_json::to_value(v).ok());
            plan::rolling_update(
                value(rolling.and_then(|r| r.max_unavailable.as_ref())).as_ref(),
                value(rolling.and_then(|r| r.max_surge.as_ref())).as_ref(),
                desired,
            )
        }
    };
    for step in plan::plan(&states, &hash, strategy) {
        match step {
            Step::Create { node } => create_pod(ds, ctx, &template, &node, &hash).await?,
            Step::Delete { pod } => {
                if let Some(p) = pods.iter().find(|p| p.name_any() == pod) {
                    delete_pod(ds, ctx, p).await?;
                }
            }
        }
    }

    let mut live: std::collections::BTreeSet<String> = found
        .known
        .iter()
        .filter(|k| {
            pods.iter()
                .any(|p| p.labels().get(REVISION_LABEL) == Some(&k.hash))
        })
        .map(|k| k.name.clone())
        .collect();
    live.insert(found.update().name.clone());
    let old = revisions::pruned(
        &found.known,
        &live,
        spec.revision_history_limit.unwrap_or(10),
    );
    history::prune(&ctx.client, &ns, &old).await?;

    let c = plan::counts(&states, &hash);
    let mut wanted = json!({
        "observedGeneration": ds.metadata.generation,
        "desiredNumberScheduled": c.desired,
        "currentNumberScheduled": c.current,
        "numberMisscheduled": c.misscheduled,
        "numberReady": c.ready,
        "numberAvailable": c.available,
        "updatedNumberScheduled": c.updated,
        "numberUnavailable": c.desired - c.available,
    });
    let have = serde_json::to_value(&status).unwrap_or_default();
    let differs = wanted.as_object().is_some_and(|m| {
        m.iter().any(|(k, want)| {
            let got = have.get(k).cloned().unwrap_or(Value::Null);
            got != *want && !(got.is_null() && *want == json!(0))
        })
    });
    if differs {
        // Zero counts the API omits are cleared.
        for k in [
            "numberAvailable",
            "updatedNumberScheduled",
            "numberUnavailable",
        ] {
            if wanted[k] == json!(0) {
                wanted[k] = Value::Null;
            }
        }
        let sets: Api<Object<DaemonSet>> = Api::namespaced(ctx.client.clone(), &ns);
        workload_status::write(&sets, &name, &wanted).await?
    }
    Ok(workload_status::next_sync(recheck))
}

async fn reconcile(obj: Arc<Object<DaemonSet>>, ctx: Arc<Context>) -> Result<Action, Error> {
    let Some(ds) = obj.object.as_ref() else {
        return Ok(Action::await_change());
    };
    let key = key_of(&obj.metadata.meta);
    ctx.retries.track(&key, sync(ds, &ctx)).await
}

fn error_policy(obj: Arc<Object<DaemonSet>>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.retries
        .retry("daemonset", &key_of(&obj.metadata.meta), error)
}

/// What of a node decides which daemon pods it runs.
fn placement_key(node: &Object<Node>) -> String {
    let Some(n) = node.object.as_ref() else {
        return String::new();
    };
    let ready = n
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status.clone());
    json!([
        n.metadata.labels,
        n.spec.as_ref().map(|s| (&s.taints, s.unschedulable)),
        ready
    ])
    .to_string()
}

pub async fn run(client: Client) {
    let ctx = Arc::new(Context {
        client: client.clone(),
        retries: Retries::new(),
    });
    let controller = Controller::new(
        Api::<Object<DaemonSet>>::all(client.clone()),
        watcher::Config::default(),
    );
    let sets = controller.store();
    // A node's labels, taints or readiness decide where every set's pods belong; its
    // heartbeats do not (they would sync every set every few seconds).
    let seen = std::sync::Mutex::new(BTreeMap::<String, String>::new());
    controller
        .owns(
            Api::<Meta<Pod>>::all(client.clone()),
            watcher::Config::default(),
        )
        .watches(
            Api::<Object<Node>>::all(client),
            watcher::Config::default(),
            move |node| {
                let key = placement_key(&node);
                let name = node.metadata.meta.name.clone().unwrap_or_default();
                let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                if seen.get(&name) == Some(&key) {
                    return Vec::new();
                }
                seen.insert(name, key);
                sets.state()
                    .iter()
                    .filter_map(|ds| {
                        let m = &ds.metadata.meta;
                        Some(ObjectRef::new(m.name.as_deref()?).within(m.namespace.as_deref()?))
                    })
                    .collect::<Vec<_>>()
            },
        )
        .run(reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}
