//! The owner graph: every watched object by uid, and its dependents. It only tells where to
//! look; decisions are made on objects re-read from the API (`decide.rs`).
//!
//! It holds every object of the cluster, so a node keeps only what the graph's questions
//! need: uids shared between the index and the node, namespaces interned, and of each owner
//! reference its uid, name and whether it blocks.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use kube::ResourceExt;
use kube::api::DynamicObject;

use super::decide::{NEEDED, Verdict};
use crate::lenient::Meta;

/// Any object, read for its metadata only (leniently): the rest of a watched object is
/// skipped while decoding, not built (the collector sees every write of every resource).
pub type Slim = Meta<DynamicObject>;

pub const ORPHAN: &str = "orphan";
pub const FOREGROUND: &str = "foregroundDeletion";

/// An owner reference as the graph uses it (a decision reads the live object's own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub uid: Arc<str>,
    pub name: Box<str>,
    /// `blockOwnerDeletion: true`.
    pub blocks: bool,
}

/// An object of the graph.
#[derive(Clone, Debug)]
pub struct Node {
    pub resource: usize,
    pub namespace: Option<Arc<str>>,
    pub name: Box<str>,
    pub uid: Arc<str>,
    pub owners: Box<[Owner]>,
    /// It has the `orphan` finalizer.
    pub orphan: bool,
    /// It has the `foregroundDeletion` finalizer.
    pub foreground: bool,
    pub deleting: bool,
    /// Some of its fields could not be read: it exists, but nothing is decided about it.
    pub blind: bool,
}

impl Node {
    pub fn of(resource: usize, obj: &Slim) -> Node {
        let metadata = &obj.metadata.meta;
        let finalizers = metadata.finalizers.as_deref().unwrap_or_default();
        Node {
            blind: obj.metadata.lacks(&NEEDED),
            resource,
            namespace: metadata.namespace.as_deref().map(Arc::from),
            name: obj.name_any().into(),
            uid: metadata.uid.as_deref().unwrap_or_default().into(),
            owners: metadata
                .owner_references
                .iter()
                .flatten()
                .map(|o| Owner {
                    uid: o.uid.as_str().into(),
                    name: o.name.as_str().into(),
                    blocks: o.block_owner_deletion == Some(true),
                })
                .collect(),
            orphan: finalizers.iter().any(|f| f == ORPHAN),
            foreground: finalizers.iter().any(|f| f == FOREGROUND),
            deleting: metadata.deletion_timestamp.is_some(),
        }
    }

    /// Being deleted and held by the `orphan` finalizer.
    pub fn orphaning(&self) -> bool {
        self.deleting && self.orphan
    }

    /// Being deleted in the foreground: waits for its dependents.
    pub fn waiting(&self) -> bool {
        self.deleting && self.foreground
    }

    /// Whether its reference to `owner` blocks that owner's foreground deletion.
    pub fn blocks(&self, owner: &str) -> bool {
        self.owners.iter().any(|o| &*o.uid == owner && o.blocks)
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
    pub nodes: HashMap<Arc<str>, Node>,
    /// Dependents by owner uid.
    dependents: HashMap<Arc<str>, HashSet<Arc<str>>>,
    /// One copy of each namespace name the nodes hold.
    namespaces: Interned,
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
                    .map(|o| o.uid.to_string()),
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

    pub fn insert(&mut self, mut node: Node) {
        self.remove(&node.uid);
        node.namespace = node.namespace.map(|ns| self.namespaces.get(ns));
        for owner in node.owners.iter_mut() {
            let entry = self.dependents.entry(owner.uid.clone());
            // The index and the reference share one uid.
            owner.uid = entry.key().clone();
            entry.or_default().insert(node.uid.clone());
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
        if node.namespace.is_some() {
            self.namespaces.released();
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
                let verdict = match owner.waiting() {
                    true => Verdict::Waiting,
                    false => Verdict::Present,
                };
                Some((o.uid.to_string(), verdict))
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
        if node.orphaning() {
            return Some(Job::Orphan(node.clone(), self.dependents_of(uid)));
        }
        if node.waiting() {
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
        let mut uids = vec![node.uid.to_string()];
        if gone || node.deleting {
            uids.extend(
                self.dependents
                    .get(&node.uid)
                    .into_iter()
                    .flatten()
                    .map(|d| d.to_string()),
            );
        }
        uids.extend(
            node.owners
                .iter()
                .filter(|o| self.nodes.get(&o.uid).is_some_and(|n| n.deleting))
                .map(|o| o.uid.to_string()),
        );
        uids
    }
}

/// Names held once however many nodes share them; those no node holds any more are dropped
/// now and then, so that namespaces come and go without the set growing.
#[derive(Default)]
struct Interned {
    names: HashSet<Arc<str>>,
    /// Releases since the last sweep.
    releases: usize,
}

impl Interned {
    fn get(&mut self, name: Arc<str>) -> Arc<str> {
        match self.names.get(&name) {
            Some(held) => held.clone(),
            None => {
                self.names.insert(name.clone());
                name
            }
        }
    }

    /// A node let go of a name: after releases as many as half the names (at least 64), the
    /// unheld ones go, so sweeps cost O(1) per release.
    fn released(&mut self) {
        self.releases += 1;
        if self.releases >= (self.names.len() / 2).max(64) {
            self.names.retain(|n| Arc::strong_count(n) > 1);
            self.releases = 0;
        }
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
                .map(|o| Owner {
                    uid: (*o).into(),
                    name: (*o).into(),
                    blocks: false,
                })
                .collect(),
            orphan: finalizers.contains(&ORPHAN),
            foreground: finalizers.contains(&FOREGROUND),
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

    /// Each node holds every object of the cluster: a namespace is held once, an owner's uid
    /// once for the index and its references, and names no node holds any more go.
    #[test]
    fn nodes_share_namespaces_and_owner_uids() {
        let mut g = Graph::default();
        g.insert(node("a", &["owner"], false, &[]));
        g.insert(node("b", &["owner"], false, &[]));
        let (a, b) = (&g.nodes["a"], &g.nodes["b"]);
        let (Some(ns_a), Some(ns_b)) = (&a.namespace, &b.namespace) else {
            panic!("namespaced nodes");
        };
        assert!(Arc::ptr_eq(ns_a, ns_b));
        assert!(Arc::ptr_eq(&a.owners[0].uid, &b.owners[0].uid));
        for i in 0..100 {
            let mut n = node(&format!("n{i}"), &[], false, &[]);
            n.namespace = Some(format!("ns{i}").into());
            g.insert(n);
            g.delete(&format!("n{i}"));
        }
        assert!(g.namespaces.names.len() < 64);
        assert!(g.namespaces.names.contains("ns"));
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
