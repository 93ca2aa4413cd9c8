//! The loop of the controllers the server runs in its own process (custom resource
//! definitions, APIServices): each pass reads every object of one kind from the store, acts on
//! them, then waits for the kind's next change, a change of the other objects the pass named,
//! or for as long as the pass asked, before the next pass. A failed pass is retried after a
//! pause.

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use crate::ApiServer;
use crate::error::{ApiError, from_storage};
use crate::registry::object;

/// The pause after a failed pass.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// When the pass after one comes: on a change of the kind, of one of `keys` (the storage
/// keys of other objects the pass depends on) or of anything under `prefixes`, or after
/// `within` at the latest.
pub(crate) struct Next {
    pub within: Duration,
    pub keys: Vec<String>,
    pub prefixes: Vec<String>,
}

impl From<Duration> for Next {
    fn from(within: Duration) -> Next {
        Next {
            within,
            keys: Vec::new(),
            prefixes: Vec::new(),
        }
    }
}

/// Runs `pass` over the objects of `<group>/v1` `plural` until the process ends; `pass`
/// says what to wait for before the next one.
pub(crate) async fn run<F, N>(server: &ApiServer, group: &str, plural: &str, mut pass: F)
where
    F: AsyncFnMut(&ApiServer, &api::scheme::ResourceDef, &[Value]) -> Result<N, ApiError>,
    N: Into<Next>,
{
    loop {
        if let Err(e) = once(server, group, plural, &mut pass).await {
            tracing::warn!(error = %e, "{plural}: retrying");
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }
}

async fn once<F, N>(
    server: &ApiServer,
    group: &str,
    plural: &str,
    pass: &mut F,
) -> Result<(), ApiError>
where
    F: AsyncFnMut(&ApiServer, &api::scheme::ResourceDef, &[Value]) -> Result<N, ApiError>,
    N: Into<Next>,
{
    let def = *server
        .scheme
        .lookup(group, "v1", plural)
        .ok_or(ApiError::PathNotFound)?;
    let prefix = def.key_prefix();
    let storage_error = |e| from_storage(e, object::target(&def, ""));
    let listed = server
        .store
        .list(&prefix, Default::default())
        .await
        .map_err(storage_error)?;
    let objects: Vec<Value> = listed
        .kvs
        .iter()
        .filter_map(|kv| object::from_store(kv).ok())
        .collect();
    let next: Next = pass(server, &def, &objects).await?.into();
    // Every watch from the list's revision: a change between the pass's reads and now is not
    // missed.
    let mut watches = vec![
        server
            .store
            .watch(&prefix, listed.revision)
            .await
            .map_err(storage_error)?,
    ];
    for watched in next.keys.iter().chain(&next.prefixes) {
        watches.push(
            server
                .store
                .watch(watched, listed.revision)
                .await
                .map_err(storage_error)?,
        );
    }
    // Progress notices (no events) are no change; a key is a prefix to the store, so only
    // its own object counts.
    let counts = |key: &str| {
        key.starts_with(&prefix)
            || next.keys.iter().any(|k| k == key)
            || next.prefixes.iter().any(|p| key.starts_with(p.as_str()))
    };
    let mut changes = futures::stream::select_all(watches).filter(|response| {
        std::future::ready(match response {
            Ok(r) => r.events.iter().any(|e| counts(&e.kv.key)),
            Err(_) => true,
        })
    });
    // Any change, the end of a watch or the time running out: look again.
    let _ = tokio::time::timeout(next.within, changes.next()).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::testing::Cluster;

    /// A pass that asks to wait a minute, or for a change of `watched`.
    async fn pass_then_change(cluster: &Cluster, watched: &str, changed: &str) -> Duration {
        let keys = vec![watched.to_string()];
        let store = cluster.store.clone();
        let changed = changed.to_string();
        let started = Instant::now();
        let mut pass = async move |_: &ApiServer, _: &api::scheme::ResourceDef, _: &[Value]| {
            let store = store.clone();
            let changed = changed.clone();
            // The change comes after the pass, while the loop waits.
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                storage::Store::create(store.as_ref(), &changed, bytes::Bytes::from_static(b"{}"))
                    .await
                    .ok();
            });
            Ok::<_, ApiError>(Next {
                within: Duration::from_secs(60),
                keys: keys.clone(),
                prefixes: Vec::new(),
            })
        };
        let server = cluster.server.clone();
        let waited = tokio::time::timeout(
            Duration::from_secs(5),
            once(&server, "apiregistration.k8s.io", "apiservices", &mut pass),
        )
        .await;
        match waited {
            Ok(result) => {
                result.unwrap();
                started.elapsed()
            }
            Err(_) => Duration::MAX,
        }
    }

    #[tokio::test]
    async fn a_change_of_a_named_object_starts_the_next_pass() {
        let cluster = Cluster::new();
        let key = "/registry/core/endpoints/ns/api";
        assert!(pass_then_change(&cluster, key, key).await < Duration::from_secs(5));
        // Another object under the same prefix is not the one named.
        let other = "/registry/core/endpoints/ns/api-other";
        assert_eq!(pass_then_change(&cluster, key, other).await, Duration::MAX);
    }
}
