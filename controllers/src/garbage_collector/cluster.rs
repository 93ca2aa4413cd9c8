//! The collector's hands on the cluster: owners looked up where their references resolve,
//! dependents re-read and decided on as they are now, deletes and patches guarded by the uid
//! and resourceVersion decided on, and the work of each job of the graph.

use std::collections::HashSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{DeleteParams, ObjectMeta, Patch, PatchParams, Preconditions};
use kube::{Api, Client};
use serde_json::json;

use super::absent::{AbsentOwners, OwnerKey};
use super::decide::{Decision, Verdict, decide, to_look_up};
use super::graph::{Dependent, FOREGROUND, Job, Node, ORPHAN, Slim};
use crate::Error;
use crate::discovery::Resource;
use crate::lenient::Metadata;
use crate::skipped::Skipped;

/// Times a decision is made again on a fresh read when the object changed under it.
const ATTEMPTS: usize = 5;
pub(super) struct Shared {
    pub client: Client,
    pub resources: Vec<Resource>,
    absent: AbsentOwners,
    pub skipped: Skipped,
}

/// How a guarded write went.
enum Written {
    Done,
    /// The object is no longer the one decided on.
    Changed,
}

impl Shared {
    pub fn new(client: Client, resources: Vec<Resource>) -> Self {
        Shared {
            client,
            resources,
            absent: AbsentOwners::default(),
            skipped: Skipped::new("garbage collector"),
        }
    }

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

    /// The resource an owner reference names.
    fn owner_resource(&self, owner: &OwnerReference) -> Option<usize> {
        let group = owner.api_version.rsplit_once('/').map_or("", |(g, _)| g);
        self.resources
            .iter()
            .position(|r| r.api.group == group && r.api.kind == owner.kind)
    }

    /// The verdict on an owner of a dependent in `namespace`, from the API.
    async fn look_up(
        &self,
        owner: &OwnerReference,
        namespace: Option<&str>,
    ) -> Result<Verdict, Error> {
        let Some(resource) = self.owner_resource(owner) else {
            return Ok(Verdict::Unresolvable);
        };
        let owner_namespace = match (self.resources[resource].namespaced, namespace) {
            (false, _) => None,
            (true, Some(ns)) => Some(ns),
            // A cluster-scoped dependent cannot have a namespaced owner.
            (true, None) => return Ok(Verdict::Unresolvable),
        };
        let key = OwnerKey::new(owner, owner_namespace);
        if self.absent.contains(&key) {
            return Ok(Verdict::Absent);
        }
        let found = self
            .api(resource, owner_namespace)
            .get_opt(&owner.name)
            .await?;
        let verdict = match found {
            Some(o) if o.metadata.meta.uid.as_deref() == Some(&owner.uid) => {
                let meta = &o.metadata.meta;
                let foreground = meta.deletion_timestamp.is_some()
                    && meta.finalizers.iter().flatten().any(|f| f == FOREGROUND);
                match foreground {
                    true => Verdict::Waiting,
                    false => Verdict::Present,
                }
            }
            // Gone, or another object of that name: the referenced one never comes back.
            _ => {
                self.absent.insert(key);
                Verdict::Absent
            }
        };
        Ok(verdict)
    }

    /// Re-reads the dependent, decides on it as it is now and acts, again on a fresh read if
    /// it changed in between.
    async fn check(&self, dependent: &Dependent) -> Result<(), Error> {
        let node = &dependent.node;
        let api = self.node_api(node);
        for _ in 0..ATTEMPTS {
            let live = api.get_opt(&node.name).await?.map(|o| o.metadata);
            let mut verdicts = dependent.known.clone();
            if let Some(live) = live
                .as_ref()
                .filter(|l| l.meta.uid.as_deref() == Some(&*node.uid))
            {
                for owner in to_look_up(live, &verdicts) {
                    let verdict = self.look_up(owner, node.namespace.as_deref()).await?;
                    verdicts.insert(owner.uid.clone(), verdict);
                }
            }
            let written = match decide(&node.uid, live.as_ref(), &verdicts) {
                Decision::Keep => return Ok(()),
                Decision::Delete {
                    uid,
                    resource_version,
                    foreground,
                } => self.delete(node, uid, resource_version, foreground).await?,
                Decision::DropOwners {
                    owners,
                    resource_version,
                } => {
                    let Some(live) = &live else { return Ok(()) };
                    self.drop_owners_at(node, live, &owners, resource_version)
                        .await?
                }
            };
            if let Written::Done = written {
                return Ok(());
            }
        }
        Err(Error::Invalid(format!("{} keeps changing", node.name)))
    }

    /// Deletes `node` if it is still at `resource_version`.
    async fn delete(
        &self,
        node: &Node,
        uid: String,
        resource_version: Option<String>,
        foreground: bool,
    ) -> Result<Written, Error> {
        let params = delete_params(uid, resource_version, foreground);
        match self.node_api(node).delete(&node.name, &params).await {
            Ok(_) => Ok(Written::Done),
            // Gone already: nothing left to do.
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(Written::Done),
            // Changed (or another object of that name): decide again.
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(Written::Changed),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes the references to `owners` from `live`, if still at `resource_version`.
    async fn drop_owners_at(
        &self,
        node: &Node,
        live: &Metadata,
        owners: &HashSet<String>,
        resource_version: Option<String>,
    ) -> Result<Written, Error> {
        let value = remaining(live.meta.owner_references.iter().flatten(), owners);
        self.patch_metadata(node, "ownerReferences", value, resource_version)
            .await
    }

    /// Sets one list field of `node`'s metadata, if still at `resource_version`.
    async fn patch_metadata(
        &self,
        node: &Node,
        field: &str,
        value: serde_json::Value,
        resource_version: Option<String>,
    ) -> Result<Written, Error> {
        let patch = json!({"metadata": {field: value, "resourceVersion": resource_version}});
        match self
            .node_api(node)
            .patch(&node.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => Ok(Written::Done),
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(Written::Done),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(Written::Changed),
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
        for _ in 0..ATTEMPTS {
            let Some(current) = api.get_opt(&node.name).await? else {
                return Ok(());
            };
            if current.metadata.meta.uid.as_deref() != Some(&*node.uid) {
                return Ok(());
            }
            if current.metadata.lacks(&[field]) {
                return Err(Error::Invalid(format!(
                    "{}: its {field} cannot be decoded",
                    node.name
                )));
            }
            let value = edit(&current.metadata.meta);
            let version = current.metadata.meta.resource_version.clone();
            if let Written::Done = self.patch_metadata(node, field, value, version).await? {
                return Ok(());
            }
        }
        Err(Error::Invalid(format!("{} keeps changing", node.name)))
    }

    async fn drop_finalizer(&self, node: &Node, finalizer: &str) -> Result<(), Error> {
        self.edit_metadata(node, "finalizers", |current| {
            let left: Vec<&String> = current
                .finalizers
                .iter()
                .flatten()
                .filter(|f| *f != finalizer)
                .collect();
            empty_as_null(json!(left))
        })
        .await
    }

    /// Does one job of the graph.
    pub async fn work(&self, job: Job) -> Result<(), Error> {
        match job {
            Job::Check(dependent) => self.check(&dependent).await,
            Job::Orphan(node, dependents) => {
                let owner: HashSet<String> = [node.uid.to_string()].into();
                for dependent in &dependents {
                    self.edit_metadata(dependent, "ownerReferences", |current| {
                        remaining(current.owner_references.iter().flatten(), &owner)
                    })
                    .await?;
                }
                self.drop_finalizer(&node, ORPHAN).await
            }
            Job::Foreground(node, dependents) => {
                let mut blocking = false;
                for dependent in &dependents {
                    blocking |= dependent.node.blocks(&node.uid);
                    if !dependent.node.deleting {
                        self.check(dependent).await?;
                    }
                }
                if blocking {
                    // Their deletions (or releases) bring the owner back here.
                    return Ok(());
                }
                self.drop_finalizer(&node, FOREGROUND).await
            }
        }
    }
}

/// Delete options that let the delete through only for the object decided on.
fn delete_params(uid: String, resource_version: Option<String>, foreground: bool) -> DeleteParams {
    let mut params = match foreground {
        true => DeleteParams::foreground(),
        false => DeleteParams::background(),
    };
    params.preconditions = Some(Preconditions {
        uid: Some(uid),
        resource_version,
    });
    params
}

/// The owner references left once `gone` are removed (null when none: an emptied list goes
/// away, as upstream's omitempty fields do).
fn remaining<'a>(
    references: impl Iterator<Item = &'a OwnerReference>,
    gone: &HashSet<String>,
) -> serde_json::Value {
    let left: Vec<&OwnerReference> = references.filter(|o| !gone.contains(&o.uid)).collect();
    empty_as_null(json!(left))
}

fn empty_as_null(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Array(a) if a.is_empty() => serde_json::Value::Null,
        v => v,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::garbage_collector::graph::Owner;
    use crate::testing::{self, Reply};
    use kube::core::ApiResource;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

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

    pub(in crate::garbage_collector) fn shared(client: Client) -> Arc<Shared> {
        Arc::new(Shared::new(client, vec![config_maps()]))
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
            shared.look_up(&owner, Some("a")).await.unwrap(),
            Verdict::Present
        );
    }

    /// The dependent `d`, whose owner `old` is gone, as a fake server holds it: read once at
    /// resourceVersion 1, then changed by `change` to resourceVersion 2 before the collector
    /// acts. Deletes and patches honour their resourceVersion preconditions.
    fn changing_dependent(
        change: impl Fn(&mut serde_json::Value) + Send + Sync + 'static,
    ) -> (Client, testing::Log) {
        let owner =
            |uid: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "name": uid, "uid": uid});
        let current = Mutex::new(
            json!({"metadata": {"name": "d", "namespace": "a", "uid": "d1",
            "resourceVersion": "1", "ownerReferences": [owner("old")]}}),
        );
        testing::client(move |r| {
            let mut current = current.lock().unwrap();
            let rv = current["metadata"]["resourceVersion"].clone();
            match (r.method.as_str(), r.path.as_str()) {
                ("GET", "/api/v1/namespaces/a/configmaps/d") => {
                    let read = current.clone();
                    if rv == "1" {
                        change(&mut current);
                        current["metadata"]["resourceVersion"] = json!("2");
                    }
                    Reply::Json(200, read)
                }
                ("GET", "/api/v1/namespaces/a/configmaps/new") => Reply::Json(
                    200,
                    json!({"metadata": {"name": "new", "namespace": "a", "uid": "new"}}),
                ),
                ("DELETE", "/api/v1/namespaces/a/configmaps/d") => {
                    let pre = &r.body["preconditions"];
                    if pre["uid"] != "d1" || pre["resourceVersion"] != rv {
                        return testing::status(409, "Conflict");
                    }
                    Reply::Json(200, current.clone())
                }
                ("PATCH", "/api/v1/namespaces/a/configmaps/d") => {
                    if r.body["metadata"]["resourceVersion"] != rv {
                        return testing::status(409, "Conflict");
                    }
                    current["metadata"]["ownerReferences"] =
                        r.body["metadata"]["ownerReferences"].clone();
                    Reply::Json(200, current.clone())
                }
                _ => testing::status(404, "NotFound"),
            }
        })
    }

    fn dependent() -> Dependent {
        Dependent {
            node: Node {
                resource: 0,
                namespace: Some("a".into()),
                name: "d".into(),
                uid: "d1".into(),
                owners: [Owner {
                    uid: "old".into(),
                    name: "old".into(),
                    blocks: false,
                }]
                .into(),
                orphan: false,
                foreground: false,
                deleting: false,
                blind: false,
            },
            known: HashMap::new(),
        }
    }

    fn deletes(log: &testing::Log) -> Vec<testing::Request> {
        let log = log.lock().unwrap();
        log.iter()
            .filter(|r| r.method == "DELETE")
            .cloned()
            .collect()
    }

    /// Adopted by a new owner after the collector decided to delete it: the guarded delete
    /// fails, the fresh read shows the new owner, and only the gone owner's reference goes.
    #[tokio::test]
    async fn an_object_adopted_meanwhile_is_not_deleted() {
        let (client, log) = changing_dependent(|d| {
            d["metadata"]["ownerReferences"]
                .as_array_mut()
                .unwrap()
                .push(
                    json!({"apiVersion": "v1", "kind": "ConfigMap", "name": "new", "uid": "new"}),
                );
        });
        let shared = shared(client);
        shared.check(&dependent()).await.unwrap();
        let deletes = deletes(&log);
        assert_eq!(deletes.len(), 1);
        assert_eq!(deletes[0].body["preconditions"]["resourceVersion"], "1");
        let log = log.lock().unwrap();
        let patch = log.iter().find(|r| r.method == "PATCH").unwrap();
        assert_eq!(patch.body["metadata"]["resourceVersion"], "2");
        let owners = &patch.body["metadata"]["ownerReferences"];
        assert_eq!(owners.as_array().unwrap().len(), 1);
        assert_eq!(owners[0]["uid"], "new");
    }

    /// Changed otherwise after the decision: the stale delete is refused, and the object is
    /// deleted only on a decision made on its new version.
    #[tokio::test]
    async fn a_delete_is_guarded_by_the_resource_version_decided_on() {
        let (client, log) = changing_dependent(|d| {
            d["metadata"]["labels"] = json!({"touched": "yes"});
        });
        let shared = shared(client);
        shared.check(&dependent()).await.unwrap();
        let deletes = deletes(&log);
        let versions: Vec<_> = deletes
            .iter()
            .map(|d| d.body["preconditions"]["resourceVersion"].clone())
            .collect();
        assert_eq!(versions, [json!("1"), json!("2")]);
        assert!(
            deletes
                .iter()
                .all(|d| d.body["preconditions"]["uid"] == "d1")
        );
        // The gone owner was looked up once, then remembered.
        let lookups = log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path.ends_with("/configmaps/old"))
            .count();
        assert_eq!(lookups, 1);
        assert_eq!(shared.absent.len(), 1);
    }

    #[test]
    fn delete_options_carry_both_preconditions() {
        let params = delete_params("u".into(), Some("9".into()), false);
        let pre = params.preconditions.unwrap();
        assert_eq!(pre.uid.as_deref(), Some("u"));
        assert_eq!(pre.resource_version.as_deref(), Some("9"));
    }

    /// A reference from another namespace finds no owner there; the owner's own dependents,
    /// in its namespace, still find it (the absent owner is remembered per namespace).
    #[tokio::test]
    async fn an_owner_absent_elsewhere_is_present_at_home() {
        let (client, _) = testing::client(|r| match r.path.as_str() {
            "/api/v1/namespaces/home/configmaps/o" => Reply::Json(
                200,
                json!({"metadata": {"name": "o", "namespace": "home", "uid": "o1"}}),
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
        let elsewhere = shared.look_up(&owner, Some("elsewhere")).await.unwrap();
        assert_eq!(elsewhere, Verdict::Absent);
        let home = shared.look_up(&owner, Some("home")).await.unwrap();
        assert_eq!(home, Verdict::Present);
        // A cluster-scoped dependent cannot name a namespaced owner: nothing is decided.
        let cluster = shared.look_up(&owner, None).await.unwrap();
        assert_eq!(cluster, Verdict::Unresolvable);
    }
}
