//! WATCH: newline-delimited JSON events from the resource's watch cache (or, for a start
//! older than the cache's history, from the store), with bookmarks, initial events and the
//! watch-list protocol.

use std::pin::Pin;
use std::time::Duration;

use api::scheme::ResourceDef;
use async_stream::stream;
use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde_json::{Value, json};
use storage::{ListOptions, Revision};

use crate::ApiServer;
use crate::error::{ApiError, from_storage};
use crate::http::negotiation::Format;
use crate::registry::generic::list::parse_resource_version;
use crate::registry::object::target;
use crate::registry::query::Params;
use crate::registry::response::Output;
use crate::registry::selection::Selection;
use crate::watch::cache::{self, CacheEvent, Cached, Message};
use crate::watch::encoded;

/// How long a watch lasts when the client does not say.
const DEFAULT_WATCH_SECONDS: u64 = 1800;
/// Least time between two bookmarks of one watch.
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(30);

type Feed = Pin<Box<dyn Stream<Item = Result<Message, storage::Error>> + Send>>;

pub(crate) async fn watch(
    server: &ApiServer,
    def: &ResourceDef,
    namespace: Option<&str>,
    params: &Params,
    out: Output,
) -> Result<Response, ApiError> {
    let selection = Selection::parse(def, params)?;
    let prefix = def.namespace_prefix(namespace);
    let initial_events = params.send_initial_events == Some(true);
    let cache = server.watch_caches.of(def).await?;
    let from_store = |prefix: String, after: Revision| async move {
        let feed: Feed = match server.store.watch(&prefix, after).await {
            Ok(events) => Box::pin(cache::direct(events)),
            Err(e) => Box::pin(futures::stream::once(std::future::ready(Err(e)))),
        };
        feed
    };
    let requested = params
        .resource_version
        .as_deref()
        .filter(|rv| !rv.is_empty());
    // The objects to send as ADDED first, the revision they are current at, and the changes
    // after it.
    let (initial, from, feed): (cache::Objects, Revision, Feed) = match requested {
        // Any recent state will do: the cache's.
        Some("0") => {
            let (objects, revision, subscription) = cache.snapshot_and_subscribe(&prefix);
            (
                objects,
                revision,
                Box::pin(subscription.into_stream().map(Ok)),
            )
        }
        // Changes after a known revision.
        Some(rv) if !initial_events => {
            let after = parse_resource_version(Some(rv))?;
            let feed: Feed = match cache.subscribe(&prefix, after) {
                Some(subscription) => Box::pin(subscription.into_stream().map(Ok)),
                None => from_store(prefix.clone(), after).await,
            };
            (Vec::new(), after, feed)
        }
        // The current state, read consistently from the store, then its changes.
        _ => {
            let wanted = requested
                .map(|rv| parse_resource_version(Some(rv)))
                .transpose()?;
            // The initial state must not be older than the revision asked for: waited for,
            // else the stream carries upstream's 504 as an ERROR event.
            if let Some(wanted) = wanted
                && let Err(e) =
                    crate::registry::generic::freshness::wait_for(server.store.as_ref(), wanted)
                        .await
            {
                let body = line("ERROR", &e.status_value());
                return Ok((
                    [(header::CONTENT_TYPE, "application/json")],
                    Body::from(body),
                )
                    .into_response());
            }
            let list = server
                .store
                .list(&prefix, ListOptions::default())
                .await
                .map_err(|e| from_storage(e, target(def, "")))?;
            let objects = list
                .kvs
                .iter()
                .map(|kv| (kv.key.clone(), cache::cached(kv)))
                .collect();
            let feed: Feed = match cache.subscribe(&prefix, list.revision) {
                Some(subscription) => Box::pin(subscription.into_stream().map(Ok)),
                None => from_store(prefix.clone(), list.revision).await,
            };
            (objects, list.revision, feed)
        }
    };

    // `sendInitialEvents=false`: the changes only, whatever the start.
    let initial = match params.send_initial_events {
        Some(false) => Vec::new(),
        _ => initial,
    };
    // Objects and events in another version than the request's are shown in its version.
    let view = crate::registry::conversion::View::of(server, def);
    let initial = match &view {
        Some(view) => view.objects(initial).await?,
        None => initial,
    };

    let timeout = Duration::from_secs(
        params
            .timeout_seconds
            .and_then(|t| u64::try_from(t).ok())
            .filter(|t| *t > 0)
            .unwrap_or(DEFAULT_WATCH_SECONDS),
    );
    let bookmarks = params.allow_watch_bookmarks.unwrap_or(false);
    let def = *def;
    let bookmark = move |revision: Revision, initial_end: bool| {
        let mut mark = json!({"kind": def.kind, "apiVersion": def.api_version(),
            "metadata": {"resourceVersion": revision.to_string()}});
        if initial_end {
            mark["metadata"]["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        line("BOOKMARK", &mark)
    };
    let open = server.metrics.watch_opened(crate::metrics::ResourceLabels {
        group: def.group.to_string(),
        version: def.version.to_string(),
        resource: def.plural.to_string(),
    });
    let closing = server.closing();
    let body = stream! {
        // Counted as an open watch until the stream is dropped.
        let _open = open;
        let mut render = Render { def, out, selection, first: true };
        for (_, obj) in &initial {
            match render.initial(obj) {
                Ok(Some(event)) => yield Ok::<_, std::convert::Infallible>(event),
                Ok(None) => {}
                Err(e) => { yield Ok(line("ERROR", &e.status_value())); return; }
            }
        }
        // The end of the initial state is marked for clients that take bookmarks.
        if initial_events && bookmarks {
            yield Ok(bookmark(from, true));
        }
        let mut feed = feed;
        let mut last = from;
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        tokio::pin!(closing);
        let mut last_bookmark = tokio::time::Instant::now();
        loop {
            let next = tokio::select! {
                next = feed.next() => next,
                _ = &mut deadline => return,
                // The server is shutting down: the stream ends cleanly and the client
                // watches again from its last resourceVersion.
                _ = &mut closing => return,
            };
            match next {
                Some(Ok(Message::Event(event))) => {
                    last = event.revision;
                    let event = match &view {
                        Some(view) => match view.event(event).await {
                            Ok(event) => event,
                            Err(e) => { yield Ok(line("ERROR", &e.status_value())); return; }
                        },
                        None => event,
                    };
                    match render.event(&event) {
                        Ok(Some(event)) => yield Ok(event),
                        Ok(None) => {}
                        Err(e) => { yield Ok(line("ERROR", &e.status_value())); return; }
                    }
                }
                Some(Ok(Message::Progress(revision))) => {
                    if bookmarks && revision >= last && last_bookmark.elapsed() >= BOOKMARK_INTERVAL {
                        last_bookmark = tokio::time::Instant::now();
                        last = revision;
                        yield Ok(bookmark(revision, false));
                    }
                }
                Some(Err(storage::Error::Compacted { compacted, requested })) => {
                    let status = ApiError::Expired(format!("too old resource version: {requested} ({compacted})"));
                    yield Ok(line("ERROR", &status.status_value()));
                    return;
                }
                // The client re-watches from its last resourceVersion.
                Some(Err(_)) | None => return,
            }
        }
    };
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response())
}

/// One line of the stream for a parsed value (statuses, bookmarks, tables).
pub(crate) fn line(kind: &str, object: &Value) -> Bytes {
    encoded::watch_event(kind, object.to_string().as_bytes())
}

/// How one watcher renders events: its selectors and representation.
struct Render {
    def: ResourceDef,
    out: Output,
    selection: Selection,
    /// Table watches send column definitions with the first row only.
    first: bool,
}

impl Render {
    /// An object of the initial state, as ADDED.
    fn initial(&mut self, obj: &Cached) -> Result<Option<Bytes>, ApiError> {
        if self.selection.is_empty() && self.out.format == Format::Json {
            return Ok(Some(encoded::watch_event("ADDED", &obj.json)));
        }
        let value: Value = serde_json::from_slice(&obj.json)
            .map_err(|e| ApiError::Internal(format!("cached object is not JSON: {e}")))?;
        if !self.selection.matches(&value) {
            return Ok(None);
        }
        Ok(Some(self.value_line("ADDED", value)))
    }

    /// A change as this watcher sees it: an object entering the selection is ADDED, one
    /// leaving it DELETED (with its new state), as upstream.
    fn event(&mut self, event: &CacheEvent) -> Result<Option<Bytes>, ApiError> {
        let kind = if self.selection.is_empty() {
            event.kind
        } else {
            let (obj, prev) = event.parsed();
            let obj = obj.ok_or_else(|| ApiError::Internal("cached object is not JSON".into()))?;
            let now = self.selection.matches(obj);
            if event.kind == "DELETED" {
                if !now {
                    return Ok(None);
                }
                "DELETED"
            } else {
                match (prev.is_some_and(|p| self.selection.matches(p)), now) {
                    (true, true) => "MODIFIED",
                    (false, true) => "ADDED",
                    (true, false) => "DELETED",
                    (false, false) => return Ok(None),
                }
            }
        };
        if matches!(self.out.format, Format::Json | Format::Yaml) {
            return Ok(Some(if kind == event.kind {
                event.line.clone()
            } else {
                encoded::watch_event(kind, &event.object)
            }));
        }
        let (obj, _) = event.parsed();
        let obj = obj
            .cloned()
            .ok_or_else(|| ApiError::Internal("cached object is not JSON".into()))?;
        Ok(Some(self.value_line(kind, obj)))
    }

    fn value_line(&mut self, kind: &str, obj: Value) -> Bytes {
        line(kind, &self.out.event(&self.def, obj, &mut self.first))
    }
}
