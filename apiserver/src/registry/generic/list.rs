//! LIST of the generic store: pages read at one store revision with continue tokens, label and
//! field selectors, `resourceVersion` semantics (0 from the watch cache, `Exact`, not older
//! than), and whole JSON lists streamed page by page with each object's stored bytes.

use api::scheme::ResourceDef;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use storage::ListOptions;

use crate::ApiServer;
use crate::error::{ApiError, from_storage};
use crate::http::negotiation::Format;
use crate::registry::conversion;
use crate::registry::object::{self, target};
use crate::registry::query::Params;
use crate::registry::response::Output;
use crate::registry::selection::Selection;
use crate::watch::encoded;

/// The position a paginated list resumes from: the revision its pages are read at (or
/// [`LATEST`], for the rest of a list whose revision was compacted away) and the first key
/// of the next page.
#[derive(Serialize, Deserialize)]
struct Continue {
    rv: i64,
    start: String,
}

/// The revision of a continue token that reads on at the latest revision (upstream's -1).
const LATEST: i64 = -1;

impl Continue {
    fn encode(&self) -> Result<String, ApiError> {
        let token = serde_json::to_vec(self).map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(STANDARD.encode(token))
    }
}

pub(super) async fn list(
    server: &ApiServer,
    def: &ResourceDef,
    namespace: Option<&str>,
    params: &Params,
    out: Output,
) -> Result<Response, ApiError> {
    let mut opts = ListOptions {
        limit: params
            .limit
            .filter(|&l| l > 0)
            .and_then(|l| usize::try_from(l).ok()),
        ..Default::default()
    };
    let continuing = params.continue_token.as_deref().filter(|t| !t.is_empty());
    if let Some(token) = continuing {
        if params
            .resource_version
            .as_deref()
            .is_some_and(|rv| !rv.is_empty())
        {
            return Err(ApiError::BadRequest(
                "specifying resource version is not allowed when using continue".into(),
            ));
        }
        let position: Continue = STANDARD
            .decode(token)
            .ok()
            .and_then(|raw| serde_json::from_slice(&raw).ok())
            .filter(|p: &Continue| p.rv > 0 || p.rv == LATEST)
            .ok_or_else(|| ApiError::BadRequest("continue key is not valid".into()))?;
        opts.revision = u64::try_from(position.rv).ok();
        opts.continue_from = Some(position.start);
    } else if params.resource_version_match.as_deref() == Some("Exact") {
        opts.revision = Some(parse_resource_version(params.resource_version.as_deref())?);
    }
    let selection = Selection::parse(def, params)?;
    // A list "not older than" a revision waits for the store to reach it.
    if continuing.is_none()
        && params.resource_version_match.as_deref() != Some("Exact")
        && let Some(rv) = params
            .resource_version
            .as_deref()
            .filter(|rv| !rv.is_empty() && *rv != "0")
    {
        crate::registry::generic::freshness::wait_for(
            server.store.as_ref(),
            parse_resource_version(Some(rv))?,
        )
        .await?;
    }
    let limit = opts.limit;
    let prefix = def.namespace_prefix(namespace);
    let mut items = ListItems::new(out, &selection);
    // Objects stored in another version than the request's are shown in its version.
    let view = conversion::View::of(server, def);
    // Any recent state will do: the watch cache's (whole, as upstream serves it from there).
    if continuing.is_none() && params.resource_version.as_deref() == Some("0") {
        let cache = server.watch_caches.of(def).await?;
        let (objects, revision) = cache.snapshot(&prefix);
        let objects = match &view {
            Some(view) => view.objects(objects).await?,
            None => objects,
        };
        for (_, obj) in objects {
            items.push(obj.json.clone())?;
        }
        return Ok(items.respond(def, json!({"resourceVersion": revision.to_string()})));
    }
    let whole = limit.is_none()
        && continuing.is_none()
        && opts.revision.is_none()
        && params
            .resource_version
            .as_deref()
            .unwrap_or_default()
            .is_empty();
    if whole && out.format == Format::Json {
        return stream_list(server, def, prefix, selection, view).await;
    }
    let (mut more, mut last_key) = (false, None::<String>);
    let resume = opts.continue_from.clone();
    // With a selector, a page of `limit` store keys may hold fewer matches: read on until the
    // limit is met or the keys run out, always at the first page's revision.
    let revision = loop {
        let page = server
            .store
            .list(&prefix, opts.clone())
            .await
            .map_err(|e| match (e, &resume) {
                // The rest of the list can still be read, at the latest revision: the token
                // for that comes with the refusal, as upstream's.
                (storage::Error::Compacted { .. }, Some(start)) => {
                    let rest = Continue {
                        rv: LATEST,
                        start: start.clone(),
                    };
                    match rest.encode() {
                        Ok(token) => ApiError::ContinueExpired { token },
                        Err(e) => e,
                    }
                }
                (e, _) => from_storage(e, target(def, "")),
            })?;
        let page = match &view {
            Some(view) => storage::ListResult {
                kvs: view.page(page.kvs).await?,
                ..page
            },
            None => page,
        };
        let mut filled = false;
        // Room for the page's objects and their resourceVersions, allocated once.
        items.reserve(page.kvs.iter().map(|kv| kv.value.len() + 32).sum());
        for (i, kv) in page.kvs.iter().enumerate() {
            last_key = Some(kv.key.clone());
            items.push_stored(kv)?;
            if limit.is_some_and(|l| items.len() >= l) {
                more = i + 1 < page.kvs.len() || page.more;
                filled = true;
                break;
            }
        }
        if filled || !page.more {
            break page.revision;
        }
        opts.revision = Some(page.revision);
        opts.continue_from = last_key.as_ref().map(|k| format!("{k}\0"));
    };
    let mut metadata = json!({"resourceVersion": revision.to_string()});
    if let Some(last) = last_key.filter(|_| more) {
        let position = Continue {
            rv: i64::try_from(revision).map_err(|e| ApiError::Internal(e.to_string()))?,
            start: format!("{last}\0"),
        };
        metadata["continue"] = json!(position.encode()?);
    }
    Ok(items.respond(def, metadata))
}

/// Appends `kv` (shown at its revision) to `items`, a comma-separated run of `count`
/// objects, if `selection` selects it.
fn append_selected(
    items: &mut bytes::BytesMut,
    count: &mut usize,
    selection: &Selection,
    kv: &storage::KeyValue,
) -> Result<(), ApiError> {
    if !selection.matches_json(&kv.value)? {
        return Ok(());
    }
    if *count > 0 {
        items.extend_from_slice(b",");
    }
    if !encoded::append_with_resource_version(items, &kv.value, kv.mod_revision) {
        items.extend_from_slice(&kv.value);
    }
    *count += 1;
    Ok(())
}

/// Objects read from the store per page of a streamed list.
pub(super) const STREAM_PAGE: usize = 500;

/// A whole JSON list, sent page by page as it is read at the first page's revision, so that
/// the server's memory stays bounded however long the list. An error after the first page
/// (the revision compacted away meanwhile) cuts the body short, as upstream's streaming lists
/// do.
async fn stream_list(
    server: &ApiServer,
    def: &ResourceDef,
    prefix: String,
    selection: Selection,
    view: Option<conversion::View>,
) -> Result<Response, ApiError> {
    let mut opts = ListOptions {
        limit: Some(STREAM_PAGE),
        ..Default::default()
    };
    let mut first = server
        .store
        .list(&prefix, opts.clone())
        .await
        .map_err(|e| from_storage(e, target(def, "")))?;
    // The first page's failure to convert is the answer's; a later one breaks the body off.
    if let Some(view) = &view {
        first.kvs = view.page(std::mem::take(&mut first.kvs)).await?;
    }
    let revision = first.revision;
    let metadata = json!({"resourceVersion": revision.to_string()});
    let [head, _, tail] = encoded::list_chunks(def, &metadata, Bytes::new());
    let store = server.store.clone();
    // A failure after the head is sent cannot change the answer's status: the stream is
    // broken off instead (the client sees an incomplete response, never a short list that
    // looks whole), and the failure is logged.
    let broken = move |prefix: &str, why: String| {
        tracing::error!(%prefix, %why, "a streamed list failed midway; the response is broken off");
        std::io::Error::other(why)
    };
    let body = async_stream::stream! {
        yield Ok::<_, std::io::Error>(head);
        let (mut page, mut count) = (first, 0usize);
        loop {
            let size = page.kvs.iter().map(|kv| kv.value.len() + 32).sum();
            let mut chunk = bytes::BytesMut::with_capacity(size);
            for kv in &page.kvs {
                if let Err(e) = append_selected(&mut chunk, &mut count, &selection, kv) {
                    yield Err(broken(&prefix, e.to_string()));
                    return;
                }
            }
            yield Ok(chunk.freeze());
            if !page.more {
                break;
            }
            opts.revision = Some(revision);
            opts.continue_from = page.kvs.last().map(|kv| format!("{}\0", kv.key));
            page = match store.list(&prefix, opts.clone()).await {
                Ok(next) => next,
                Err(e) => {
                    yield Err(broken(&prefix, e.to_string()));
                    return;
                }
            };
            if let Some(view) = &view {
                match view.page(std::mem::take(&mut page.kvs)).await {
                    Ok(kvs) => page.kvs = kvs,
                    Err(e) => {
                        yield Err(broken(&prefix, e.status().message));
                        return;
                    }
                }
            }
        }
        yield Ok(tail);
    };
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        axum::body::Body::from_stream(body),
    )
        .into_response())
}

/// The selected items of a list. JSON lists keep each stored object's bytes (with the
/// resourceVersion spliced in) and read only what the selectors need of them; other
/// representations work on parsed objects.
enum ListItems<'a> {
    Encoded {
        selection: &'a Selection,
        /// The selected objects, comma-separated.
        items: bytes::BytesMut,
        count: usize,
    },
    Parsed {
        selection: &'a Selection,
        out: Output,
        items: Vec<Value>,
    },
}

impl<'a> ListItems<'a> {
    fn new(out: Output, selection: &'a Selection) -> Self {
        match out.format {
            Format::Json => ListItems::Encoded {
                selection,
                items: bytes::BytesMut::new(),
                count: 0,
            },
            _ => ListItems::Parsed {
                selection,
                out,
                items: Vec::new(),
            },
        }
    }

    fn len(&self) -> usize {
        match self {
            ListItems::Encoded { count, .. } => *count,
            ListItems::Parsed { items, .. } => items.len(),
        }
    }

    /// Makes room for about `bytes` more of objects.
    fn reserve(&mut self, bytes: usize) {
        if let ListItems::Encoded { items, .. } = self {
            items.reserve(bytes);
        }
    }

    /// Adds a stored object (with its mod revision as resourceVersion) if it is selected.
    fn push_stored(&mut self, kv: &storage::KeyValue) -> Result<(), ApiError> {
        match self {
            ListItems::Encoded {
                selection,
                items,
                count,
            } => append_selected(items, count, selection, kv),
            ListItems::Parsed {
                selection, items, ..
            } => {
                let obj = object::from_store(kv)?;
                if selection.matches(&obj) {
                    items.push(obj);
                }
                Ok(())
            }
        }
    }

    /// Adds `json` (an object with its resourceVersion) if it is selected.
    fn push(&mut self, json: Bytes) -> Result<(), ApiError> {
        let parse = || {
            serde_json::from_slice::<Value>(&json)
                .map_err(|e| ApiError::Internal(format!("stored object is not JSON: {e}")))
        };
        match self {
            ListItems::Encoded {
                selection,
                items,
                count,
            } => {
                if selection.matches_json(&json)? {
                    if *count > 0 {
                        items.extend_from_slice(b",");
                    }
                    items.extend_from_slice(&json);
                    *count += 1;
                }
            }
            ListItems::Parsed {
                selection, items, ..
            } => {
                let obj = parse()?;
                if selection.matches(&obj) {
                    items.push(obj);
                }
            }
        }
        Ok(())
    }

    fn respond(self, def: &ResourceDef, metadata: Value) -> Response {
        match self {
            ListItems::Encoded { items, .. } => {
                let chunks = encoded::list_chunks(def, &metadata, items.freeze());
                let body = futures::stream::iter(chunks.map(Ok::<_, std::convert::Infallible>));
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    axum::body::Body::from_stream(body),
                )
                    .into_response()
            }
            ListItems::Parsed { out, items, .. } => out.list(def, metadata, items),
        }
    }
}

pub(crate) fn parse_resource_version(rv: Option<&str>) -> Result<u64, ApiError> {
    let rv = rv.unwrap_or_default();
    rv.parse::<u64>()
        .map_err(|_| ApiError::BadRequest(format!("invalid resource version: {rv:?}")))
}
