//! One object followed by its name: the callback gets its state after each list and each
//! change (`None` when it is deleted or absent from a list). Watch failures are logged and
//! the watch retried with back-off, so the last state holds meanwhile.

use std::fmt::Debug;

use futures::StreamExt;
use kube::Api;
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;

/// Follows `name` in `api` for as long as the watch lasts; `what` names it in log lines.
pub async fn follow_named<K>(
    api: Api<K>,
    name: &str,
    what: &str,
    mut changed: impl FnMut(Option<K>),
) where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut events = watcher(api, config).default_backoff().boxed();
    let mut listed = None;
    while let Some(event) = events.next().await {
        let object = match event {
            Ok(watcher::Event::Init) => {
                listed = None;
                continue;
            }
            Ok(watcher::Event::InitApply(object)) => {
                listed = Some(object);
                continue;
            }
            Ok(watcher::Event::InitDone) => listed.take(),
            Ok(watcher::Event::Apply(object)) => Some(object),
            Ok(watcher::Event::Delete(_)) => None,
            Err(e) => {
                tracing::warn!(
                    error = %controllers::logs::describe_watch(&e),
                    "the watch of {what} failed"
                );
                continue;
            }
        };
        changed(object);
    }
}
