//! The garbage collector: objects whose owners (`metadata.ownerReferences`) are all gone are
//! deleted; `Orphan` deletions (the `orphan` finalizer) first release the owner's dependents;
//! `Foreground` deletions (the `foregroundDeletion` finalizer) first delete the dependents and
//! wait for those that block their owner's deletion (`blockOwnerDeletion`).
//!
//! It watches every resource that can be watched and deleted and keeps a graph of owners and
//! dependents by uid (`graph.rs`), and decides nothing before every resource has been listed
//! once (`crate::work_queue`). The graph only tells where to look: a dependent is re-read before
//! anything is done to it, owners the graph does not hold are looked up where the reference
//! resolves (the dependent's namespace for a namespaced kind; a namespaced owner elsewhere
//! counts as absent, and a cluster-scoped dependent with a namespaced owner is never
//! collected, as upstream), the decision is made on the object as read (`decide.rs`), and the
//! delete or patch is guarded by the uid and resourceVersion it was made on (`cluster.rs`).
//! Each resource's watch feeds the graph through one channel (`follow.rs`).

mod absent;
mod cluster;
mod decide;
mod follow;
mod graph;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::{Client, ResourceExt};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::work_queue::Scheduler;
use crate::work_queue::workers::{Outcome, Workers};
use cluster::Shared;
use follow::{Message, follow};
use graph::{Graph, Node};

/// How long the graph may take to sync before the resources still listing are named.
const SYNC_WARNING: Duration = Duration::from_secs(60);

pub async fn run(client: Client) {
    let resources = loop {
        match crate::discovery::deletable(&client).await {
            // `events.k8s.io` serves the core Events again under another schema: followed
            // once (upstream's collector ignores events altogether).
            Ok(mut r) => {
                r.retain(|r| !(r.api.group == "events.k8s.io" && r.api.plural == "events"));
                break r;
            }
            Err(error) => {
                tracing::warn!(%error, "garbage collector: discovery failed, retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    };
    collect(Arc::new(Shared::new(client, resources))).await;
}

/// Follows every watchable resource and works on what changes, until dropped.
async fn collect(shared: Arc<Shared>) {
    let (tx, mut rx) = mpsc::channel::<Message>(4096);
    // Owned here, so that the watches and workers stop when this future is dropped (a lost
    // leader election).
    let mut watches = JoinSet::new();
    let mut watched = HashMap::new();
    let followed: Vec<usize> = (0..shared.resources.len())
        .filter(|i| shared.resources[*i].watch)
        .collect();
    for &i in &followed {
        let handle = watches.spawn(follow(shared.clone(), i, tx.clone()));
        watched.insert(handle.id(), i);
    }
    let mut scheduler = Scheduler::<String>::new(followed);
    let mut workers = Workers::<String>::default();
    let mut graph = Graph::default();
    let started = Instant::now();
    let mut warned = false;
    loop {
        let now = Instant::now();
        while let Some(uid) = scheduler.next(now) {
            match graph.job(&uid) {
                Some(job) => {
                    let shared = shared.clone();
                    workers.spawn(uid, async move { shared.work(job).await });
                }
                None => scheduler.finished(&uid, true, now),
            }
        }
        let retry = scheduler.next_retry();
        let touched = tokio::select! {
            message = rx.recv() => match message {
                Some(Message::Applied(resource, obj)) => graph.apply(Node::of(resource, &obj)),
                Some(Message::Deleted(obj)) => graph.delete(&obj.uid().unwrap_or_default()),
                Some(Message::Listed(resource, uids)) => {
                    scheduler.listed(resource);
                    let missing: Vec<String> = graph
                        .nodes
                        .values()
                        .filter(|n| n.resource == resource && !uids.contains(&*n.uid))
                        .map(|n| n.uid.to_string())
                        .collect();
                    missing.iter().flat_map(|uid| graph.delete(uid)).collect()
                }
                None => return,
            },
            Some((uid, outcome)) = workers.next(), if !workers.is_empty() => {
                let ok = match outcome {
                    Outcome::Done => true,
                    Outcome::Failed(error) => {
                        tracing::warn!(%error, uid, "garbage collector: retrying");
                        false
                    }
                    Outcome::Panicked => {
                        tracing::error!(uid, "garbage collector: a worker panicked; retrying");
                        false
                    }
                };
                scheduler.finished(&uid, ok, Instant::now());
                Vec::new()
            }
            Some(ended) = watches.join_next_with_id(), if !watches.is_empty() => {
                // A watch only ends by panicking (or when nothing listens): start it again.
                let id = match &ended {
                    Ok((id, ())) => *id,
                    Err(e) => e.id(),
                };
                if let Some(i) = watched.remove(&id) {
                    tracing::error!(resource = %shared.resources[i].api.plural, "garbage collector: a watch ended; restarting it");
                    let handle = watches.spawn(follow(shared.clone(), i, tx.clone()));
                    watched.insert(handle.id(), i);
                }
                Vec::new()
            }
            () = sleep_until(retry), if retry.is_some() => Vec::new(),
            () = tokio::time::sleep_until((started + SYNC_WARNING).into()), if !warned && !scheduler.synced() => {
                warned = true;
                let waiting: Vec<&str> = scheduler
                    .unsynced()
                    .map(|i| shared.resources[i].api.plural.as_str())
                    .collect();
                tracing::warn!(resources = waiting.join(","), "garbage collector: still waiting for the first lists; nothing is collected until they end");
                Vec::new()
            }
        };
        for uid in touched {
            scheduler.touch(uid);
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at.into()).await;
    }
}
