//! The owner graph: every watched object by uid, and its dependents. It only tells where to
//! look; decisions are made on objects re-read from the API (`decide.rs`).

use std::collections::{HashMap, HashSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::ResourceExt;
use kube::api::DynamicObject;

use super::decide::{NEEDED, Verdict};
use crate::lenient::Meta;

/// Any object, read for its metadata only (leniently): the rest of a watched object is
/// skipped while decoding, not built (the collector sees every write of every resource).
pub type Slim = Meta<DynamicObject>;

pub const ORPHAN: &str = "orphan";
pub const FOREGROUND: &str = "foregroundDeletion";

/// An object of the graph.
#[derive(Clone, Debug)]
pub struct Node {
    pub resource: usize,
    pub namespace: Option<String>,
    pub name: String,
    pub uid: String,
    pub owners: Vec<OwnerReference>,
    pub finalizers: Vec<String>,
    pub deleting: bool,
    /// Some of its fields could not be read: it exists, but nothing is decided about it.
    pub blind: bool,
}

impl Node {
    pub fn of(resource: usize, obj: &Slim) -> Node {
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

    pub fn waits_for(&self, finalizer: &str) -> bool {
        self.deleting && self.finalizers.iter().any(|f| f == finalizer)
    }

    /// Whether its reference to `owner` blocks that owner's foreground deletion.
    pub fn blocks(&self, owner: &str) -> bool {
        self.owners
            .iter()
            .any(|o| o.uid == owner && o.block_owner_deletion == Some(true))
    }
}

/// A dependent to decide on, with the verdicts the graph already gives for its owners.
#[derive(Clone, Debug)]
pub struct Dependent {
    pub node: Node,
    pub known: HashMap<String, Verdict>,
}

/// What a worker does for one object.
#[derive(Debug)]
pub enum Job {
    /// Decide on a dependent some of whose owners the graph does not hold.
    Check(Dependent),
    /// Release the dependents, then drop the `orphan` finalizer.
    Orphan(Node, Vec<Node>),
    /// Decide on the dependents (their owner waits for them), then drop `foregroundDeletion`
    /// once none blocks.
    Foreground(Node, Vec<Dependent>),
}

#[derive(Default)]
pub struct Graph {
    pub nodes: HashMap<String, Node>,
    /// Dependents by owner uid.
    dependents: HashMap<String, HashSet<String>>,
}

impl Graph {
    /// Adds or replaces `node`; the uids to look at again.
    pub fn apply(&mut self, node: Node) -> Vec<String> {
        let mut touched = self.affected(&node, false);
        // Owners it no longer references may have been waiting for it.
        if let Some(old) = self.nodes.get(&node.uid) {
            touched.extend(
                old.owners
                    .iter()
                    .filter(|o| self.nodes.get(&o.uid).is_some_and(|n| n.deleting))
                    .map(|o| o.uid.clone()),
            );
        }
        self.insert(node);
        touched
    }

    /// Removes `uid`; the uids to look at again.
    pub fn delete(&mut self, uid: &str) -> Vec<String> {
        match self.remove(uid) {
            Some(node) => self.affected(&node, true),
            None => Vec::new(),
        }
    }

    pub fn insert(&mut self, node: Node) {
        self.remove(&node.uid);
        for owner in &node.owners {
            self.dependents
                .entry(owner.uid.clone())
                .or_default()
                .insert(node.uid.clone());
        }
        self.nodes.insert(node.uid.clone(), node);
    }

    pub fn remove(&mut self, uid: &str) -> Option<Node> {
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

    pub fn dependents_of(&self, uid: &str) -> Vec<Node> {
        self.dependents
            .get(uid)
            .into_iter()
            .flatten()
            .filter_map(|d| self.nodes.get(d).cloned())
            .collect()
    }

    /// The verdicts the graph gives for `node`'s owners: those it holds where the reference
    /// resolves (the dependent's namespace, or cluster-scoped). The others are looked up.
    pub fn verdicts(&self, node: &Node) -> HashMap<String, Verdict> {
        node.owners
            .iter()
            .filter_map(|o| {
                let owner = self.nodes.get(&o.uid)?;
                let resolves = owner.namespace.is_none() || owner.namespace == node.namespace;
                // A reference that names another object of that uid is left to the lookup.
                if !resolves || owner.name != o.name {
                    return None;
                }
                let verdict = match owner.waits_for(FOREGROUND) {
                    true => Verdict::Waiting,
                    false => Verdict::Present,
                };
                Some((o.uid.clone(), verdict))
            })
            .collect()
    }

    fn dependent(&self, node: &Node) -> Dependent {
        Dependent {
            node: node.clone(),
            known: self.verdicts(node),
        }
    }

    /// The work `uid` needs now, if any.
    pub fn job(&self, uid: &str) -> Option<Job> {
        let node = self.nodes.get(uid).filter(|n| !n.blind)?;
        if node.waits_for(ORPHAN) {
            return Some(Job::Orphan(node.clone(), self.dependents_of(uid)));
        }
        if node.waits_for(FOREGROUND) {
            let dependents = self
                .dependents_of(uid)
                .iter()
                .map(|d| self.dependent(d))
                .collect();
            return Some(Job::Foreground(node.clone(), dependents));
        }
        if !node.owners.is_empty() && !node.deleting {
            let dependent = self.dependent(node);
            if dependent.known.len() == node.owners.len()
                && dependent.known.values().all(|v| *v == Verdict::Present)
            {
                return None;
            }
            return Some(Job::Check(dependent));
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut touched = g.delete("owner");
        touched.sort();
        assert_eq!(touched, ["a", "b", "owner"]);
        assert!(matches!(g.job("a"), Some(Job::Check(d)) if d.known.is_empty()));
        // Orphan and foreground deletions wait for their finalizers' work.
        g.insert(node("o", &[], true, &[ORPHAN]));
        g.insert(node("c", &["o"], false, &[]));
        assert!(matches!(g.job("o"), Some(Job::Orphan(_, d)) if d.len() == 1));
        g.insert(node("f", &[], true, &[FOREGROUND]));
        assert!(matches!(g.job("f"), Some(Job::Foreground(_, d)) if d.is_empty()));
        // A dependent that changes brings back the owner that waits for it, also when it no
        // longer references it.
        assert!(
            g.apply(node("c", &["o"], false, &[]))
                .contains(&"o".to_string())
        );
        assert!(
            g.apply(node("c", &[], false, &[]))
                .contains(&"o".to_string())
        );
        assert!(g.dependents_of("o").is_empty());
    }

    /// An owner in another namespace does not hold a dependent (upstream: a namespaced owner
    /// must be in its dependent's namespace); in its own namespace it does.
    #[test]
    fn owners_count_only_where_the_reference_resolves() {
        let mut g = Graph::default();
        let mut owner = node("owner", &[], false, &[]);
        owner.namespace = Some("home".into());
        g.insert(owner);
        let mut here = node("here", &["owner"], false, &[]);
        here.namespace = Some("home".into());
        g.insert(here.clone());
        let mut away = node("away", &["owner"], false, &[]);
        away.namespace = Some("elsewhere".into());
        g.insert(away.clone());
        assert_eq!(g.verdicts(&here)["owner"], Verdict::Present);
        assert!(g.job("here").is_none());
        assert!(g.verdicts(&away).is_empty());
        assert!(matches!(g.job("away"), Some(Job::Check(_))));
    }

    #[test]
    fn a_foreground_owner_is_waiting_and_blind_nodes_get_no_work() {
        let mut g = Graph::default();
        g.insert(node("f", &[], true, &[FOREGROUND]));
        g.insert(node("d", &["f"], false, &[]));
        assert_eq!(g.verdicts(&g.nodes["d"].clone())["f"], Verdict::Waiting);
        assert!(matches!(g.job("d"), Some(Job::Check(_))));
        let mut blind = node("b", &["gone"], false, &[]);
        blind.blind = true;
        g.insert(blind);
        assert!(g.job("b").is_none());
    }
}
