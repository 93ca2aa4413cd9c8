//! The garbage collector: objects whose owners (`metadata.ownerReferences`) are all gone are
//! deleted; `Orphan` deletions (the `orphan` finalizer) first release the owner's dependents;
//! `Foreground` deletions (the `foregroundDeletion` finalizer) first delete the dependents and
//! wait for those that block their owner's deletion (`blockOwnerDeletion`).
//!
//! It watches every resource that can be watched and deleted and keeps a graph of owners and
//! dependents by uid. The graph only tells where to look: an owner missing from it is looked
//! up in the API before anything is deleted, and every write is guarded by the object's uid or
//! resourceVersion, so a stale graph never deletes what it should not. An owner reference
//! resolves in the dependent's namespace (a namespaced owner elsewhere counts as absent); a
//! cluster-scoped dependent with a namespaced owner is never collected, as upstream.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{DeleteParams, DynamicObject, ObjectMeta, Patch, PatchParams, Preconditions};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use tokio::sync::mpsc;

use crate::Error;
use crate::discovery::Resource;
use crate::lenient::Meta;
use crate::skipped::Skipped;

const ORPHAN: &str = "orphan";
const FOREGROUND: &str = "foregroundDeletion";
/// Objects worked on at once.
const WORKERS: usize = 32;

/// Any object, read for its metadata only (leniently): the rest of a watched object is
/// skipped while decoding, not built (the collector sees every write of every resource).
type Slim = Meta<DynamicObject>;

/// The metadata fields the collector decides on: an object missing one of them is never
/// collected or worked on, only known to exist.
const NEEDED: [&str; 5] = [
    "name",
    "uid",
    "ownerReferences",
    "finalizers",
    "deletionTimestamp",
];

/// An object of the graph.
#[derive(Clone, Debug)]
struct Node {
    resource: usize,
    namespace: Option<String>,
    name: String,
    uid: String,
    owners: Vec<OwnerReference>,
    finalizers: Vec<String>,
    deleting: bool,
    /// Some of its fields could not be read: it exists, but nothing is decided about it.
    blind: bool,
}

impl Node {
    fn of(resource: usize, obj: &Slim) -> Node {
        let metadata = &obj.metadata.meta;
        Node {
            blind: obj.metadata.lacks(&NEEDED),
            resource,
            namespace: metadata.namespace.clone(),
            name: obj.name_any(),
            uid: metadata.uid.clone().unwrap_or_default(),
            owners: metadata.owner_references.clone().unwrap_or_default(),
            finalizers: metadata.finalizers.clone().unwrap_or_default(),
            deleting: metadata.deletion_timestamp.is_some(),
        }
    }

    fn waits_for(&self, finalizer: &str) -> bool {
        self.deleting && self.finalizers.iter().any(|f| f == finalizer)
    }
}

/// What a worker does for one object.
enum Job {
    /// Delete the node if all its owners are gone; drop references to the ones that are. The
    /// owners the graph holds exist: only the others are looked up.
    CheckOwners(Node, HashSet<String>),
    /// Release the dependents, then drop the `orphan` finalizer.
    Orphan(Node, Vec<Node>),
    /// Delete the dependents, then drop `foregroundDeletion` once none blocks.
    Foreground(Node, Vec<Node>),
}

struct Shared {
    client: Client,
    resources: Vec<Resource>,
    /// Owner uids known to be gone (uids never come back).
    absent: Mutex<HashSet<String>>,
    skipped: Skipped,
}

#[derive(Default)]
struct Graph {
    nodes: HashMap<String, Node>,
    /// Dependents by owner uid.
    dependents: HashMap<String, HashSet<String>>,
}

impl Graph {
    fn insert(&mut self, node: Node) {
        self.remove(&node.uid);
        for owner in &node.owners {
            self.dependents
                .entry(owner.uid.clone())
                .or_default()
                .insert(node.uid.clone());
        }
        self.nodes.insert(node.uid.clone(), node);
    }

    fn remove(&mut self, uid: &str) -> Option<Node> {
        let node = self.nodes.remove(uid)?;
        for owner in &node.owners {
            if let Some(set) = self.dependents.get_mut(&owner.uid) {
                set.remove(uid);
                if set.is_empty() {
                    self.dependents.remove(&owner.uid);
                }
            }
        }
        Some(node)
    }

    fn dependents_of(&self, uid: &str) -> Vec<Node> {
        self.dependents
            .get(uid)
            .into_iter()
            .flatten()
            .filter_map(|d| self.nodes.get(d).cloned())
            .collect()
    }

    /// The work `uid` needs now, if any.
    fn job(&self, uid: &str) -> Option<Job> {
        let node = self.nodes.get(uid).filter(|n| !n.blind)?;
        if node.waits_for(ORPHAN) {
            return Some(Job::Orphan(node.clone(), self.dependents_of(uid)));
        }
        if node.waits_for(FOREGROUND) {
            return Some(Job::Foreground(node.clone(), self.dependents_of(uid)));
        }
        if !node.owners.is_empty() && !node.deleting {
            let present = node
                .owners
                .iter()
                // Owners resolve in the dependent's namespace (or are cluster-scoped).
                .filter(|o| {
                    self.nodes.get(&o.uid).is_some_and(|owner| {
                        owner.namespace.is_none() || owner.namespace == node.namespace
                    })
                })
                .map(|o| o.uid.clone())
                .collect::<HashSet<_>>();
            if present.len() == node.owners.len() {
                return None;
            }
            return Some(Job::CheckOwners(node.clone(), present));
        }
        None
    }

    /// The objects to look at again after `node` changed or went: itself, its dependents if
    /// it went or is going, and owners that wait for their dependents.
    fn affected(&self, node: &Node, gone: bool) -> Vec<String> {
        let mut uids = vec![node.uid.clone()];
        if gone || node.deleting {
            uids.extend(
                self.dependents
                    .get(&node.uid)
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
        }
        uids.extend(
            node.owners
                .iter()
                .filter(|o| self.nodes.get(&o.uid).is_some_and(|n| n.deleting))
                .map(|o| o.uid.clone()),
        );
        uids
    }
}

enum Message {
    Applied(usize, Slim),
    Deleted(Slim),
    /// A (re)list of a resource ended with these uids: others of it were deleted meanwhile.
    Listed(usize, HashSet<String>),
    /// A worker finished with a uid; `false` when it failed and must be retried.
    Done(String, bool),
}

impl Shared {
    /// Every request reads answers leniently (metadata only): an object with fields of the
    /// wrong types must not fail them.
    fn api(&self, resource: usize, namespace: Option<&str>) -> Api<Slim> {
        let r = &self.resources[resource].api;
        match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, r),
            None => Api::all_with(self.client.clone(), r),
        }
    }

    fn node_api(&self, node: &Node) -> Api<Slim> {
        self.api(node.resource, node.namespace.as_deref())
    }

    /// The resource an owner reference names, and whether it is namespaced.
    fn owner_resource(&self, owner: &OwnerReference) -> Option<usize> {
        let group = owner.api_version.rsplit_once('/').map_or("", |(g, _)| g);
        self.resources
            .iter()
            .position(|r| r.api.group == group && r.api.kind == owner.kind)
    }

    /// Whether the owner exists for a dependent in `namespace` (None: cannot be resolved).
    async fn owner_exists(
        &self,
        owner: &OwnerReference,
        namespace: Option<&str>,
    ) -> Result<Option<bool>, Error> {
        if self
            .absent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&owner.uid)
        {
            return Ok(Some(false));
        }
        let Some(resource) = self.owner_resource(owner) else {
            return Ok(None);
        };
        let owner_namespace = match (self.resources[resource].namespaced, namespace) {
            (false, _) => None,
            (true, Some(ns)) => Some(ns),
            // A cluster-scoped dependent cannot have a namespaced owner.
            (true, None) => return Ok(None),
        };
        let found = self
            .api(resource, owner_namespace)
            .get_opt(&owner.name)
            .await?;
        let exists = found.is_some_and(|o| o.metadata.meta.uid.as_deref() == Some(&owner.uid));
        if !exists {
            self.absent
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(owner.uid.clone());
        }
        Ok(Some(exists))
    }

    async fn delete(&self, node: &Node, foreground: bool) -> Result<(), Error> {
        let mut params = match foreground {
            true => DeleteParams::foreground(),
            false => DeleteParams::background(),
        };
        params.preconditions = Some(Preconditions {
            uid: Some(node.uid.clone()),
            resource_version: None,
        });
        match self.node_api(node).delete(&node.name, &params).await {
            Ok(_) => Ok(()),
            // Gone already, or another object of the same name now.
            Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Rewrites a list field of `node`'s metadata (`ownerReferences` or `finalizers`) from its
    /// current value, guarded by its resourceVersion.
    async fn edit_metadata(
        &self,
        node: &Node,
        field: &'static str,
        edit: impl Fn(&ObjectMeta) -> serde_json::Value,
    ) -> Result<(), Error> {
        let api = self.node_api(node);
        for _ in 0..5 {
            let Some(current) = api.get_opt(&node.name).await? else {
                return Ok(());
            };
            if current.metadata.meta.uid.as_deref() != Some(&node.uid) {
                return Ok(());
            }
            if current.metadata.lacks(&[field]) {
                return Err(Error::Invalid(format!(
                    "{}: its {field} cannot be decoded",
                    node.name
                )));
            }
            // An emptied list goes away, as upstream's omitempty fields do.
            let value = match edit(&current.metadata.meta) {
                serde_json::Value::Array(a) if a.is_empty() => serde_json::Value::Null,
                v => v,
            };
            let patch = json!({"metadata": {
                field: value,
                "resourceVersion": current.metadata.meta.resource_version,
            }});
            match api
                .patch(&node.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => return Ok(()),
                Err(kube::Error::Api(e)) if e.code == 409 => continue,
                Err(kube::Error::Api(e)) if e.code == 404 => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Invalid(format!("{} keeps changing", node.name)))
    }

    async fn drop_finalizer(&self, node: &Node, finalizer: &str) -> Result<(), Error> {
        self.edit_metadata(node, "finalizers", |current| {
            json!(
                current
                    .finalizers
                    .iter()
                    .flatten()
                    .filter(|f| *f != finalizer)
                    .collect::<Vec<_>>()
            )
        })
        .await
    }

    async fn drop_owners(&self, node: &Node, gone: &HashSet<String>) -> Result<(), Error> {
        self.edit_metadata(node, "ownerReferences", |current| {
            json!(
                current
                    .owner_references
                    .iter()
                    .flatten()
                    .filter(|o| !gone.contains(&o.uid))
                    .collect::<Vec<_>>()
            )
        })
        .await
    }

    async fn work(&self, job: Job) -> Result<(), Error> {
        match job {
            Job::CheckOwners(node, present) => {
                let mut gone = HashSet::new();
                let mut unresolved = false;
                for owner in node.owners.iter().filter(|o| !present.contains(&o.uid)) {
                    match self.owner_exists(owner, node.namespace.as_deref()).await? {
                        Some(false) => drop(gone.insert(owner.uid.clone())),
                        Some(true) => {}
                        None => unresolved = true,
                    }
                }
                if gone.len() == node.owners.len() {
                    self.delete(&node, false).await
                } else if !gone.is_empty() && !unresolved {
                    self.drop_owners(&node, &gone).await
                } else {
                    Ok(())
                }
            }
            Job::Orphan(node, dependents) => {
                let owner: HashSet<String> = [node.uid.clone()].into();
                for dependent in &dependents {
                    self.drop_owners(dependent, &owner).await?;
                }
                self.drop_finalizer(&node, ORPHAN).await
            }
            Job::Foreground(node, dependents) => {
                let mut blocking = false;
                for dependent in &dependents {
                    let blocks = dependent
                        .owners
                        .iter()
                        .any(|o| o.uid == node.uid && o.block_owner_deletion == Some(true));
                    blocking |= blocks;
                    if !dependent.deleting {
                        self.delete(dependent, blocks).await?;
                    }
                }
                if blocking {
                    // Their deletions bring the owner back here.
                    return Ok(());
                }
                self.drop_finalizer(&node, FOREGROUND).await
            }
        }
    }
}

/// Feeds one resource's watch events into the graph's channel.
async fn follow(shared: Arc<Shared>, resource: usize, tx: mpsc::Sender<Message>) {
    let api: Api<Slim> = Api::all_with(shared.client.clone(), &shared.resources[resource].api);
    let mut events = watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut listed = HashSet::new();
    let kind = &shared.resources[resource].api.kind;
    while let Some(event) = events.next().await {
        if let Ok(
            watcher::Event::Apply(obj)
            | watcher::Event::InitApply(obj)
            | watcher::Event::Delete(obj),
        ) = &event
            && obj.metadata.lacks(&NEEDED)
        {
            shared
                .skipped
                .skip(kind, &obj.metadata.meta, &obj.metadata.broken);
            if obj.metadata.lacks(&["uid"]) {
                // Not even known to exist: a uid is what the graph holds.
                continue;
            }
        }
        let message = match event {
            Ok(watcher::Event::Apply(obj)) => Message::Applied(resource, obj),
            Ok(watcher::Event::InitApply(obj)) => {
                listed.insert(obj.uid().unwrap_or_default());
                Message::Applied(resource, obj)
            }
            Ok(watcher::Event::Delete(obj)) => Message::Deleted(obj),
            Ok(watcher::Event::Init) => {
                listed.clear();
                continue;
            }
            Ok(watcher::Event::InitDone) => Message::Listed(resource, std::mem::take(&mut listed)),
            Err(error) => {
                let error = crate::logs::describe_watch(&error);
                tracing::debug!(%error, "garbage collector: watch restarting");
                continue;
            }
        };
        if tx.send(message).await.is_err() {
            return;
        }
    }
}

pub async fn run(client: Client) {
    let resources = loop {
        match crate::discovery::deletable(&client).await {
            Ok(r) => break r,
            Err(error) => {
                tracing::warn!(%error, "garbage collector: discovery failed, retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    };
    let shared = Arc::new(Shared {
        client,
        resources,
        absent: Mutex::default(),
        skipped: Skipped::new("garbage collector"),
    });
    let (tx, mut rx) = mpsc::channel::<Message>(4096);
    // Owned here, so that the watches and workers stop when this future is dropped (a lost
    // leader election).
    let mut tasks = tokio::task::JoinSet::new();
    for (i, r) in shared.resources.iter().enumerate() {
        if r.watch {
            tasks.spawn(follow(shared.clone(), i, tx.clone()));
        }
    }
    let mut graph = Graph::default();
    // Queued uids, and the ones being worked on (queued again if they change meanwhile).
    let mut queue: std::collections::VecDeque<String> = Default::default();
    let mut queued: HashSet<String> = HashSet::new();
    let mut running: HashSet<String> = HashSet::new();
    let mut dirty: HashSet<String> = HashSet::new();
    loop {
        // Start work while workers are free.
        while running.len() < WORKERS
            && let Some(uid) = queue.pop_front()
        {
            queued.remove(&uid);
            let Some(job) = graph.job(&uid) else {
                continue;
            };
            running.insert(uid.clone());
            let (shared, tx) = (shared.clone(), tx.clone());
            tasks.spawn(async move {
                let ok = match shared.work(job).await {
                    Ok(()) => true,
                    Err(error) => {
                        tracing::warn!(%error, uid, "garbage collector: retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        false
                    }
                };
                let _ = tx.send(Message::Done(uid, ok)).await;
            });
        }
        while tasks.try_join_next().is_some() {}
        let Some(message) = rx.recv().await else {
            return;
        };
        let touched = match message {
            Message::Applied(resource, obj) => {
                let node = Node::of(resource, &obj);
                let touched = graph.affected(&node, false);
                graph.insert(node);
                touched
            }
            Message::Deleted(obj) => match graph.remove(&obj.uid().unwrap_or_default()) {
                Some(node) => graph.affected(&node, true),
                None => Vec::new(),
            },
            Message::Listed(resource, uids) => {
                let missing: Vec<String> = graph
                    .nodes
                    .values()
                    .filter(|n| n.resource == resource && !uids.contains(&n.uid))
                    .map(|n| n.uid.clone())
                    .collect();
                let mut touched = Vec::new();
                for uid in missing {
                    if let Some(node) = graph.remove(&uid) {
                        touched.extend(graph.affected(&node, true));
                    }
                }
                touched
            }
            Message::Done(uid, ok) => {
                running.remove(&uid);
                match dirty.remove(&uid) || !ok {
                    true => vec![uid],
                    false => Vec::new(),
                }
            }
        };
        for uid in touched {
            if running.contains(&uid) {
                dirty.insert(uid);
            } else if queued.insert(uid.clone()) {
                queue.push_back(uid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, Reply};
    use kube::core::ApiResource;
    use serde_json::json;

    fn config_maps() -> Resource {
        Resource {
            api: ApiResource {
                group: "".into(),
                version: "v1".into(),
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                plural: "configmaps".into(),
            },
            namespaced: true,
            watch: true,
            delete_collection: true,
        }
    }

    fn shared(client: Client) -> Arc<Shared> {
        Arc::new(Shared {
            client,
            resources: vec![config_maps()],
            absent: Mutex::default(),
            skipped: Skipped::new("test"),
        })
    }

    /// An owner whose labels hold a number is found (the lookup's answer is read leniently),
    /// not an error retried forever with the body logged.
    #[tokio::test]
    async fn an_owner_of_wrong_types_is_found() {
        let (client, _) = testing::client(|r| match r.path.as_str() {
            "/api/v1/namespaces/a/configmaps/o" => Reply::Json(
                200,
                json!({"metadata": {"name": "o", "namespace": "a", "uid": "o1", "labels": {"n": 5}},
                    "data": {"k": 1}}),
            ),
            _ => testing::status(404, "NotFound"),
        });
        let shared = shared(client);
        let owner = OwnerReference {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: "o".into(),
            uid: "o1".into(),
            ..Default::default()
        };
        assert_eq!(
            shared.owner_exists(&owner, Some("a")).await.unwrap(),
            Some(true)
        );
    }

    /// A config map whose labels hold a number neither stops the watch nor hides the others.
    #[tokio::test]
    async fn the_watch_lists_past_an_object_of_wrong_types() {
        let (client, _) = testing::client(|r| match r.path.as_str() {
            "/api/v1/configmaps" if r.is_watch() => Reply::Open,
            "/api/v1/configmaps" => testing::list(vec![
                json!({"metadata": {"name": "bad", "namespace": "a", "uid": "1", "labels": {"n": 5}}}),
                json!({"metadata": {"name": "bad-owners", "namespace": "a", "uid": "2",
                    "ownerReferences": "x"}}),
                json!({"metadata": {"name": "good", "namespace": "a", "uid": "3"}}),
            ]),
            _ => testing::status(404, "NotFound"),
        });
        let shared = shared(client);
        let (tx, mut rx) = mpsc::channel(16);
        let watch = tokio::spawn(follow(shared.clone(), 0, tx));
        let mut graph = Graph::default();
        let listed = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match rx.recv().await {
                    Some(Message::Applied(r, obj)) => graph.insert(Node::of(r, &obj)),
                    Some(Message::Listed(_, uids)) => return uids,
                    _ => {}
                }
            }
        })
        .await;
        watch.abort();
        let uids = listed.expect("the list never completed");
        assert_eq!(uids.len(), 3);
        assert!(!graph.nodes["1"].blind);
        // Owners it cannot read: known to exist, never collected.
        assert!(graph.nodes["2"].blind);
        assert!(graph.job("2").is_none());
        assert_eq!(shared.skipped.count(), 1);
    }

    fn node(uid: &str, owners: &[&str], deleting: bool, finalizers: &[&str]) -> Node {
        Node {
            resource: 0,
            namespace: Some("ns".into()),
            name: uid.into(),
            uid: uid.into(),
            owners: owners
                .iter()
                .map(|o| OwnerReference {
                    api_version: "v1".into(),
                    kind: "ConfigMap".into(),
                    name: o.to_string(),
                    uid: o.to_string(),
                    ..Default::default()
                })
                .collect(),
            finalizers: finalizers.iter().map(|f| f.to_string()).collect(),
            deleting,
            blind: false,
        }
    }

    #[test]
    fn the_graph_knows_owners_and_dependents() {
        let mut g = Graph::default();
        g.insert(node("owner", &[], false, &[]));
        g.insert(node("a", &["owner"], false, &[]));
        g.insert(node("b", &["owner"], false, &[]));
        assert_eq!(g.dependents_of("owner").len(), 2);
        // Owners in the graph exist: nothing to check.
        assert!(g.job("a").is_none());
        assert!(g.job("owner").is_none());
        // An owner going away touches its dependents.
        let owner = g.remove("owner").unwrap();
        let mut touched = g.affected(&owner, true);
        touched.sort();
        assert_eq!(touched, ["a", "b", "owner"]);
        assert!(matches!(g.job("a"), Some(Job::CheckOwners(_, p)) if p.is_empty()));
        // Orphan and foreground deletions wait for their finalizers' work.
        g.insert(node("o", &[], true, &[ORPHAN]));
        g.insert(node("c", &["o"], false, &[]));
        assert!(matches!(g.job("o"), Some(Job::Orphan(_, d)) if d.len() == 1));
        g.insert(node("f", &[], true, &[FOREGROUND]));
        assert!(matches!(g.job("f"), Some(Job::Foreground(_, d)) if d.is_empty()));
        // A dependent that changes brings back the owner that waits for it.
        let c = g.nodes["c"].clone();
        assert!(g.affected(&c, false).contains(&"o".to_string()));
        // Re-inserting replaces the edges.
        g.insert(node("c", &[], false, &[]));
        assert!(g.dependents_of("o").is_empty());
    }
}
