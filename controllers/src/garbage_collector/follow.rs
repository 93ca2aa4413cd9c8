//! One resource's watch, fed into the collector's channel: objects read leniently, those it
//! cannot read skipped (and, without a uid, left out), and the end of each (re)list told with
//! the uids it held.

use std::collections::HashSet;
use std::sync::Arc;

use futures::StreamExt;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, ResourceExt};
use tokio::sync::mpsc;

use super::cluster::Shared;
use super::decide::NEEDED;
use super::graph::Slim;

pub(super) enum Message {
    Applied(usize, Slim),
    Deleted(Slim),
    /// A (re)list of a resource ended with these uids: others of it were deleted meanwhile.
    Listed(usize, HashSet<String>),
}

/// Feeds one resource's watch events into the graph's channel.
pub(super) async fn follow(shared: Arc<Shared>, resource: usize, tx: mpsc::Sender<Message>) {
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::garbage_collector::cluster::tests::shared;
    use crate::garbage_collector::graph::{Graph, Node};
    use crate::testing::{self, Reply};

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
                    Some(Message::Applied(r, obj)) => drop(graph.apply(Node::of(r, &obj))),
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
}
