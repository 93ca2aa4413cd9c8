//! WATCH of `projects`: the namespaces the caller may see, as Projects, as upstream's
//! project watch serves them. A project is ADDED when it becomes visible (created, or the
//! caller was granted access), MODIFIED when its namespace changes, DELETED (a Project naming
//! only itself) when it goes or access is lost. Access is re-evaluated whenever the RBAC
//! policy changes. With `resourceVersion=0` the visible projects come first, as ADDED.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use api::scheme::ResourceDef;
use async_stream::stream;
use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::ApiServer;
use crate::authz::authorizer::user_info;
use crate::error::ApiError;
use crate::http::serve::User;
use crate::registry::query::Params;
use crate::registry::response::Output;
use crate::registry::selection::Selection;
use crate::watch::cache::Message;

/// How long a watch lasts when the client does not say.
const DEFAULT_SECONDS: u64 = 1800;
/// How often a watch looks for a new RBAC policy.
const POLICY_CHECK: Duration = Duration::from_millis(500);

pub async fn watch(
    server: &ApiServer,
    def: &ResourceDef,
    params: &Params,
    user: &User,
    out: Output,
) -> Result<Response, ApiError> {
    let ns_def = server
        .scheme
        .lookup("", "v1", "namespaces")
        .ok_or(ApiError::PathNotFound)?;
    let selection = Selection::parse(def, params)?;
    let cache = server.watch_caches.of(ns_def).await?;
    let prefix = ns_def.key_prefix();
    let (current, _, subscription) = cache.snapshot_and_subscribe(&prefix);
    let mut namespaces: HashMap<String, Value> = HashMap::new();
    for (_, cached) in current {
        if let Ok(ns) = serde_json::from_slice::<Value>(&cached.json) {
            namespaces.insert(
                crate::registry::object::meta_str(&ns, "name").to_string(),
                ns,
            );
        }
    }
    let who = user_info(user);
    let authorizer = server.authorizer.clone();
    let mut policy = authorizer.policy().await;
    let everything_first = params.resource_version.as_deref() == Some("0");
    let timeout = Duration::from_secs(
        params
            .timeout_seconds
            .and_then(|t| u64::try_from(t).ok())
            .filter(|t| *t > 0)
            .unwrap_or(DEFAULT_SECONDS),
    );
    let def = *def;
    let closing = server.closing();
    let body = stream! {
        let mut render = Render { def, out, first: true, selection };
        // What the caller sees now: these are its projects' starting point.
        let mut seen: HashMap<String, Value> = namespaces
            .iter()
            .filter(|(name, _)| crate::registry::project::projects::visible(&policy, &who, name))
            .map(|(name, ns)| (name.clone(), ns.clone()))
            .collect();
        if everything_first {
            let mut names: Vec<&String> = seen.keys().collect();
            names.sort();
            for name in names {
                if let Some(line) = render.project("ADDED", &seen[name]) {
                    yield Ok::<Bytes, std::convert::Infallible>(line);
                }
            }
        }
        let mut feed = subscription.into_stream();
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval(POLICY_CHECK);
        tokio::pin!(closing);
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = &mut closing => return,
                _ = tick.tick() => {
                    let latest = authorizer.policy().await;
                    if Arc::ptr_eq(&latest, &policy) {
                        continue;
                    }
                    policy = latest;
                    let mut names: Vec<&String> = namespaces.keys().collect();
                    names.sort();
                    for name in names {
                        let now = crate::registry::project::projects::visible(&policy, &who, name);
                        match (seen.contains_key(name), now) {
                            (false, true) => {
                                let ns = namespaces[name].clone();
                                if let Some(line) = render.project("ADDED", &ns) {
                                    yield Ok(line);
                                }
                                seen.insert(name.clone(), ns);
                            }
                            (true, false) => {
                                seen.remove(name);
                                if let Some(line) = render.gone(name) {
                                    yield Ok(line);
                                }
                            }
                            _ => {}
                        }
                    }
                }
                message = feed.next() => {
                    let Some(Message::Event(event)) = message else {
                        if message.is_none() {
                            // The namespaces' feed ended: the client watches again.
                            return;
                        }
                        continue;
                    };
                    let Ok(ns) = serde_json::from_slice::<Value>(&event.object) else {
                        continue;
                    };
                    let name = crate::registry::object::meta_str(&ns, "name").to_string();
                    if event.kind == "DELETED" {
                        namespaces.remove(&name);
                        if seen.remove(&name).is_some()
                            && let Some(line) = render.gone(&name)
                        {
                            yield Ok(line);
                        }
                        continue;
                    }
                    namespaces.insert(name.clone(), ns.clone());
                    let visible = crate::registry::project::projects::visible(&policy, &who, &name);
                    let kind = match (seen.contains_key(&name), visible) {
                        (false, true) => "ADDED",
                        (true, true) => "MODIFIED",
                        (true, false) => {
                            seen.remove(&name);
                            if let Some(line) = render.gone(&name) {
                                yield Ok(line);
                            }
                            continue;
                        }
                        (false, false) => continue,
                    };
                    seen.insert(name, ns.clone());
                    if let Some(line) = render.project(kind, &ns) {
                        yield Ok(line);
                    }
                }
            }
        }
    };
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response())
}

/// How one watcher renders projects: its selectors and representation.
struct Render {
    def: ResourceDef,
    out: Output,
    first: bool,
    selection: Selection,
}

impl Render {
    fn project(&mut self, kind: &str, namespace: &Value) -> Option<Bytes> {
        let project = crate::registry::project::projects::project(namespace.clone());
        if !self.selection.matches(&project) {
            return None;
        }
        let shown = self.out.event(&self.def, project, &mut self.first);
        Some(crate::registry::generic::watch::line(kind, &shown))
    }

    /// A project the caller no longer sees: it names only itself, as upstream's.
    fn gone(&mut self, name: &str) -> Option<Bytes> {
        let project = json!({"kind": "Project", "apiVersion": "project.openshift.io/v1",
            "metadata": {"name": name}});
        let shown = self.out.event(&self.def, project, &mut self.first);
        Some(crate::registry::generic::watch::line("DELETED", &shown))
    }
}
