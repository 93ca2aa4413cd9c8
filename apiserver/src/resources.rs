//! The generic resource handler: every verb (get, list, watch, create, update, patch, delete,
//! deletecollection) on every scheme resource and its `status` and `scale` subresources, over
//! the store. Objects are stored as JSON without their resourceVersion, which is the store's
//! mod revision; lists page through one store snapshot with continue tokens; responses are
//! JSON, YAML or Tables as negotiated.

use api::scheme::ResourceDef;
use api::selector::{FieldSelector, LabelSelector};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use storage::ListOptions;

use crate::error::{ApiError, from_storage};
use crate::field_validation::Decoded;
use crate::http::negotiation::{self, Format};
use crate::http::request_info;
use crate::object::{self, target};
use crate::query::Params;
use crate::watch::encoded;
use crate::{ApiServer, scale, strategy, table};

pub use crate::http::body::MAX_BODY_BYTES;

/// How objects go out: as JSON or YAML, or as Table rows (`kubectl get`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Output {
    pub(crate) format: Format,
    include: table::Include,
}

impl Output {
    pub(crate) fn respond(self, code: StatusCode, def: &ResourceDef, obj: Value) -> Response {
        match self.format {
            Format::Json => json_response(code, &obj),
            Format::Metadata => json_response(code, &partial_metadata(&obj)),
            Format::Yaml => yaml_response(code, &obj),
            Format::Table => {
                table_response(&table::table(def, &[obj], json!({}), self.include, true))
            }
        }
    }

    pub(crate) fn object(self, def: &ResourceDef, obj: Value) -> Response {
        self.respond(StatusCode::OK, def, obj)
    }

    pub(crate) fn list(self, def: &ResourceDef, metadata: Value, items: Vec<Value>) -> Response {
        match self.format {
            Format::Metadata => {
                let items: Vec<Value> = items.iter().map(partial_metadata).collect();
                let list = json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": metadata, "items": items});
                json_response(StatusCode::OK, &list)
            }
            Format::Table => {
                table_response(&table::table(def, &items, metadata, self.include, true))
            }
            _ => self.respond(StatusCode::OK, def, list_body(def, metadata, items)),
        }
    }

    /// A watch event's object: itself, or a one-row Table (column definitions only in the
    /// first, as upstream). Watch streams are JSON.
    pub(crate) fn event(self, def: &ResourceDef, obj: Value, first: &mut bool) -> Value {
        match self.format {
            Format::Table => {}
            Format::Metadata => return partial_metadata(&obj),
            Format::Json | Format::Yaml => return obj,
        }
        let table = table::table(def, &[obj], json!({}), self.include, *first);
        *first = false;
        table
    }
}

/// An object reduced to its metadata, for metadata-only clients (garbage collector,
/// metadata informers).
fn partial_metadata(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

fn yaml_response(code: StatusCode, value: &Value) -> Response {
    match negotiation::to_yaml(value) {
        Ok(text) => (code, [(header::CONTENT_TYPE, "application/yaml")], text).into_response(),
        Err(e) => e.into_response(),
    }
}

fn table_response(table: &Value) -> Response {
    (
        [(header::CONTENT_TYPE, table::CONTENT_TYPE)],
        table.to_string(),
    )
        .into_response()
}

/// The label and field selectors of a list or watch.
pub(crate) struct Selection {
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Selection {
    pub(crate) fn parse(def: &ResourceDef, params: &Params) -> Result<Selection, ApiError> {
        let labels = LabelSelector::parse(params.label_selector.as_deref().unwrap_or_default())
            .map_err(ApiError::BadRequest)?;
        let fields =
            FieldSelector::parse(params.field_selector.as_deref().unwrap_or_default(), |f| {
                def.supports_field(f)
            })
            .map_err(ApiError::BadRequest)?;
        Ok(Selection { labels, fields })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }

    pub(crate) fn matches(&self, obj: &Value) -> bool {
        let labels = object::metadata(obj)
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_object);
        self.labels.matches(labels) && self.fields.matches(obj)
    }
}

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

fn json_response(code: StatusCode, value: &Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

pub async fn handle(State(server): State<std::sync::Arc<ApiServer>>, request: Request) -> Response {
    match dispatch(&server, request).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn dispatch(server: &ApiServer, request: Request) -> Result<Response, ApiError> {
    let info = request_info::of(&request);
    let user = request
        .extensions()
        .get::<crate::http::serve::User>()
        .cloned();
    let (parts, body) = request.into_parts();
    let def = server
        .scheme
        .lookup(&info.group, &info.version, &info.resource)
        .ok_or(ApiError::PathNotFound)?;
    if !info.is_resource {
        return Err(ApiError::PathNotFound);
    }
    let part = match info.subresource.as_deref() {
        None => Part::Main,
        Some("status") if def.subresource("status").is_some() => Part::Status,
        Some("scale") => Part::Scale(*def.subresource("scale").ok_or(ApiError::PathNotFound)?),
        Some("token") if def.subresource("token").is_some() => Part::Token,
        Some("finalize") if def.subresource("finalize").is_some() => Part::Finalize,
        Some(_) => return Err(ApiError::PathNotFound),
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    let params = Params::parse(parts.uri.query())?;
    let accept = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let out = Output {
        format: match (negotiation::response_format(accept)?, part) {
            // A Scale has no printer columns or metadata view of its own.
            (Format::Table | Format::Metadata, Part::Scale(_)) => Format::Json,
            (format, _) => format,
        },
        include: table::Include::parse(params.include_object.as_deref()),
    };
    let namespace = if def.namespaced() {
        info.namespace.as_deref()
    } else {
        None
    };
    let collection = matches!(
        info.verb.as_str(),
        "list" | "watch" | "create" | "deletecollection"
    );
    if def.namespaced() && namespace.is_none() && !matches!(info.verb.as_str(), "list" | "watch") {
        return Err(ApiError::PathNotFound);
    }
    if !def.namespaced() && info.namespace.is_some() && def.plural != "namespaces" && def.stored {
        return Err(ApiError::PathNotFound);
    }
    let name = info.name.as_deref().unwrap_or_default();
    if !collection && name.is_empty() {
        return Err(ApiError::PathNotFound);
    }
    // No object can have a name too long to be stored: whatever it asks of one is answered
    // as for any missing object.
    if !collection
        && def.stored
        && def.key(namespace, name).len() > storage::MAX_KEY_BYTES
        && info.verb != "create"
    {
        return Err(ApiError::NotFound(target(def, name)));
    }
    let read_body = || crate::http::body::read(body);
    let decode = |raw: bytes::Bytes| negotiation::request_body(content_type.as_deref(), &raw);
    let dry_run = crate::deletion::dry_run(params.dry_run.as_slice())?;
    let validation = crate::field_validation::Mode::parse(params.field_validation.as_deref())?;
    // Who owns what this write sets: the fieldManager, else the client's program name.
    let manager = match params.field_manager.as_deref() {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .and_then(|ua| ua.split('/').next())
            .filter(|p| !p.is_empty())
            .unwrap_or("unknown")
            .to_string(),
    };
    let target = Target {
        def,
        user: user.as_ref(),
        namespace,
        name,
        part,
        dry_run,
        validation,
        manager: &manager,
        force: params.force.unwrap_or(false),
    };
    match info.verb.as_str() {
        "list" | "watch" => params.check_list(info.verb == "watch")?,
        "create" => params.check_write("CreateOptions")?,
        "update" => params.check_write("UpdateOptions")?,
        "patch" => params.check_patch(content_type.as_deref() == Some(APPLY))?,
        _ => {}
    }
    if (part == Part::Main && !def.allows(&info.verb))
        || (part == Part::Token && info.verb != "create")
    {
        return Err(ApiError::MethodNotAllowed);
    }
    match (info.verb.as_str(), part) {
        ("get", Part::Main)
            if def.group == "user.openshift.io" && def.plural == "users" && name == "~" =>
        {
            let user = user.ok_or(ApiError::Unauthorized)?;
            Ok(out.object(def, crate::users::current(server, &user).await?))
        }
        ("create", Part::Token) => {
            let request: Value = serde_json::from_slice(&decode(read_body().await?)?)
                .map_err(|e| ApiError::BadRequest(format!("invalid TokenRequest: {e}")))?;
            let answered =
                crate::token_request::create(server, namespace.unwrap_or_default(), name, request)
                    .await?;
            Ok(out.respond(StatusCode::CREATED, def, answered))
        }
        (verb, Part::Main) if !def.stored => {
            let user = user.ok_or(ApiError::Unauthorized)?;
            let body = match verb {
                "create" | "update" => Some(object::parse_body(def, &decode(read_body().await?)?)?),
                _ => None,
            };
            match (def.group, def.plural) {
                ("project.openshift.io", "projects") if verb == "watch" => {
                    crate::project_watch::watch(server, def, &params, &user, out).await
                }
                ("project.openshift.io", "projects") => {
                    crate::projects::projects(server, def, verb, name, &user, out).await
                }
                ("project.openshift.io", _) => {
                    crate::projects::project_requests(server, def, verb, body, &user, out).await
                }
                ("oauth.openshift.io", "useroauthaccesstokens") => {
                    crate::oauth::user_tokens::handle(server, def, verb, name, &user, out).await
                }
                ("user.openshift.io", "useridentitymappings") => {
                    crate::oauth::user_identity_mappings::handle(server, def, verb, name, body, out)
                        .await
                }
                _ => {
                    let review = body.ok_or(ApiError::MethodNotAllowed)?;
                    let answered =
                        crate::reviews::answer(server, def, namespace, review, &user).await?;
                    Ok(out.respond(StatusCode::CREATED, def, answered))
                }
            }
        }
        ("get", _) => {
            let current = object::from_store(&current(server, &target).await?)?;
            Ok(out.object(def, view(&target, current)))
        }
        ("list", Part::Main) => list(server, def, namespace, &params, out).await,
        ("watch", Part::Main) => {
            crate::watch_stream::watch(server, def, namespace, &params, out).await
        }
        ("create", Part::Main) => {
            let body = decode(read_body().await?)?;
            create(server, &target, &body, out).await
        }
        ("update", _) => update(server, &target, &decode(read_body().await?)?, out).await,
        ("patch", _) => {
            patch(
                server,
                &target,
                content_type.as_deref(),
                &read_body().await?,
                out,
            )
            .await
        }
        ("delete", Part::Main) => delete(server, &target, &read_body().await?, &params, out).await,
        ("deletecollection", Part::Main) => {
            delete_collection(server, def, namespace, &params, &read_body().await?).await
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// Which part of an object a request addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Main,
    /// The `status` subresource: only `.status` changes.
    Status,
    /// The `scale` subresource: a Scale view of the replica count.
    Scale(api::scheme::Subresource),
    /// A service account's `token` subresource (TokenRequest).
    Token,
    /// A namespace's `finalize` subresource: only `spec.finalizers` changes.
    Finalize,
}

/// The object a write addresses, and who writes it.
struct Target<'a> {
    def: &'a ResourceDef,
    user: Option<&'a crate::http::serve::User>,
    namespace: Option<&'a str>,
    name: &'a str,
    part: Part,
    /// `dryRun=All`: everything but the write.
    dry_run: bool,
    validation: crate::field_validation::Mode,
    /// The field manager of the write.
    manager: &'a str,
    /// Server-side apply takes conflicting fields over.
    force: bool,
}

/// What a write of `obj` over `current` stores. A write to the main resource keeps the
/// system fields and, for kinds with a status subresource, the current status; a write to
/// `status` changes the status only.
fn next_state(t: &Target<'_>, current: &Value, mut obj: Value) -> Result<Value, ApiError> {
    match t.part {
        Part::Main => {
            object::prepare_update(&mut obj, current)?;
            if t.def.subresource("status").is_some() {
                carry_status(&mut obj, current);
            }
            Ok(obj)
        }
        Part::Status => {
            let mut next = current.clone();
            carry_status(&mut next, &obj);
            Ok(next)
        }
        Part::Scale(_) => {
            let replicas = scale::replicas(t.def, t.name, &obj)?;
            let mut next = current.clone();
            if !next["spec"].is_object() {
                next["spec"] = json!({});
            }
            next["spec"]["replicas"] = json!(replicas);
            // A new replica count is a spec change: the generation moves on, as upstream.
            object::prepare_update(&mut next, current)?;
            Ok(next)
        }
        Part::Finalize => {
            let mut next = current.clone();
            next["spec"]["finalizers"] = obj["spec"]["finalizers"].clone();
            Ok(next)
        }
        Part::Token => Err(ApiError::MethodNotAllowed),
    }
}

/// How a request on `t` sees an object: the object itself, or its Scale.
fn view(t: &Target<'_>, obj: Value) -> Value {
    match t.part {
        Part::Scale(sub) => scale::view(&sub, &obj),
        Part::Main | Part::Status | Part::Token | Part::Finalize => obj,
    }
}

/// Parses a write's body: an object of the resource's kind, or a Scale.
fn parse_write(t: &Target<'_>, body: &[u8]) -> Result<Value, ApiError> {
    match t.part {
        Part::Scale(_) => {
            let obj: Value = serde_json::from_slice(body).map_err(|e| {
                ApiError::BadRequest(format!("the object provided is unrecognized: {e}"))
            })?;
            match obj.get("kind").and_then(Value::as_str) {
                None | Some("Scale") => {
                    scale::check_types(&obj)?;
                    Ok(obj)
                }
                Some(kind) => Err(ApiError::BadRequest(format!(
                    "the kind in the data ({kind}) does not match the expected kind (Scale)"
                ))),
            }
        }
        Part::Token => Err(ApiError::MethodNotAllowed),
        Part::Main | Part::Status | Part::Finalize => {
            let mut obj = object::parse_body(t.def, body)?;
            object::check_identity(t.def, &mut obj, t.namespace, Some(t.name))?;
            Ok(obj)
        }
    }
}

/// Sets `to.status` to `from.status` (removing it when `from` has none).
fn carry_status(to: &mut Value, from: &Value) {
    if let Some(map) = to.as_object_mut() {
        match from.get("status") {
            Some(status) => drop(map.insert("status".into(), status.clone())),
            None => drop(map.remove("status")),
        }
    }
}

async fn list(
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
        crate::freshness::wait_for(server.store.as_ref(), parse_resource_version(Some(rv))?)
            .await?;
    }
    let limit = opts.limit;
    let prefix = def.namespace_prefix(namespace);
    let mut items = ListItems::new(out, &selection);
    // Any recent state will do: the watch cache's (whole, as upstream serves it from there).
    if continuing.is_none() && params.resource_version.as_deref() == Some("0") {
        let cache = server.watch_caches.of(def).await?;
        let (objects, revision) = cache.snapshot(&prefix);
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
        return stream_list(server, def, prefix, selection).await;
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
    if !selection.is_empty() && !selection.matches(&object::from_store(kv)?) {
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
const STREAM_PAGE: usize = 500;

/// A whole JSON list, sent page by page as it is read at the first page's revision, so that
/// the server's memory stays bounded however long the list. An error after the first page
/// (the revision compacted away meanwhile) cuts the body short, as upstream's streaming lists
/// do.
async fn stream_list(
    server: &ApiServer,
    def: &ResourceDef,
    prefix: String,
    selection: Selection,
) -> Result<Response, ApiError> {
    let mut opts = ListOptions {
        limit: Some(STREAM_PAGE),
        ..Default::default()
    };
    let first = server
        .store
        .list(&prefix, opts.clone())
        .await
        .map_err(|e| from_storage(e, target(def, "")))?;
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
/// resourceVersion spliced in) and parse only to apply selectors; other representations
/// work on parsed objects.
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
                if selection.is_empty() || selection.matches(&parse()?) {
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

/// Ensures the namespace of a new namespaced object exists.
/// Refuses content for a namespace that is missing (NotFound) or being deleted (Forbidden, as
/// upstream's lifecycle admission).
async fn check_namespace(
    server: &ApiServer,
    namespace: &str,
    def: &ResourceDef,
    name: &str,
) -> Result<(), ApiError> {
    let ns_def = server
        .scheme
        .lookup("", "v1", "namespaces")
        .ok_or(ApiError::PathNotFound)?;
    let (found, _) = server
        .store
        .get(&ns_def.key(None, namespace), None)
        .await
        .map_err(|e| from_storage(e, target(ns_def, namespace)))?;
    let Some(kv) = found else {
        return Err(ApiError::NotFound(target(ns_def, namespace)));
    };
    // Parsed only when it may be terminating: most creates just need it to exist.
    if memchr::memmem::find(&kv.value, b"deletionTimestamp").is_some()
        && crate::deletion::being_deleted(&object::from_store(&kv)?)
    {
        return Err(ApiError::NamespaceTerminating {
            target: target(def, name),
            namespace: namespace.to_string(),
        });
    }
    Ok(())
}

async fn create(
    server: &ApiServer,
    t: &Target<'_>,
    body: &[u8],
    out: Output,
) -> Result<Response, ApiError> {
    let (def, namespace) = (t.def, t.namespace);
    let mut obj = object::parse_body(def, body)?;
    let warnings = validate_fields(server, t, Some(body), Decoded::Body, &mut obj)?;
    let name = object::check_identity(def, &mut obj, namespace, None)?;
    if let Some(ns) = namespace {
        check_namespace(server, ns, def, &name).await?;
    }
    object::prepare_create(&mut obj)?;
    if def.subresource("status").is_some() {
        // Status is the controllers' to write, through the subresource.
        carry_status(&mut obj, &Value::Null);
    }
    strategy::prepare_create(def, &mut obj);
    crate::validation::validate(def, &obj, None)?;
    let claim = crate::service_ips::assign(server, def, &mut obj, None, t.dry_run).await?;
    if !has_managed_fields(&obj) {
        crate::managed_fields::record_update(def, None, &mut obj, t.manager, "", &object::now());
    }
    crate::admission::validate(server, def, t.user, &obj).await?;
    let key = def.key(namespace, &name);
    if t.dry_run {
        let (existing, _) = server
            .store
            .get(&key, None)
            .await
            .map_err(|e| from_storage(e, target(def, &name)))?;
        if existing.is_some() {
            return Err(ApiError::AlreadyExists(target(def, &name)));
        }
        let response = out.respond(StatusCode::CREATED, def, obj);
        return Ok(crate::field_validation::warn(response, &warnings));
    }
    let kv = server
        .store
        .create(&key, object::to_store(&obj))
        .await
        .map_err(|e| from_storage(e, target(def, &name)))?;
    claim.keep().await;
    object::set_resource_version(&mut obj, kv.mod_revision);
    let response = out.respond(StatusCode::CREATED, def, obj);
    Ok(crate::field_validation::warn(response, &warnings))
}

/// Field validation of a write's object (not of a Scale), with the JSON body it came from.
fn validate_fields(
    server: &ApiServer,
    t: &Target<'_>,
    raw: Option<&[u8]>,
    decoded: Decoded<'_>,
    obj: &mut Value,
) -> Result<Vec<String>, ApiError> {
    if matches!(t.part, Part::Scale(_)) {
        return Ok(Vec::new());
    }
    // Duplicates are looked for in JSON bodies only (YAML and protobuf come converted).
    let raw = raw.filter(|r| r.first() == Some(&b'{'));
    crate::field_validation::check(
        &server.field_schemas,
        &server.scheme,
        t.def,
        t.validation,
        raw,
        decoded,
        obj,
    )
}

async fn update(
    server: &ApiServer,
    t: &Target<'_>,
    body: &[u8],
    out: Output,
) -> Result<Response, ApiError> {
    let mut obj = parse_write(t, body)?;
    let warnings = validate_fields(server, t, Some(body), Decoded::Body, &mut obj)?;
    let current = current(server, t).await?;
    let requested = object::meta_str(&obj, "resourceVersion");
    if !requested.is_empty() && requested != current.mod_revision.to_string() {
        return Err(ApiError::Conflict(target(t.def, t.name)));
    }
    let before = object::from_store(&current)?;
    let next = next_state(t, &before, obj)?;
    let response =
        store_update(server, t, (&current, &before), next, Ownership::Update, out).await?;
    Ok(crate::field_validation::warn(response, &warnings))
}

async fn current(server: &ApiServer, t: &Target<'_>) -> Result<storage::KeyValue, ApiError> {
    let (found, _) = server
        .store
        .get(&t.def.key(t.namespace, t.name), None)
        .await
        .map_err(|e| from_storage(e, target(t.def, t.name)))?;
    found.ok_or_else(|| ApiError::NotFound(target(t.def, t.name)))
}

/// Stores `next` if the object is still at `current`'s revision; removes it instead when it
/// was being deleted and its last finalizer is gone.
async fn store_update(
    server: &ApiServer,
    t: &Target<'_>,
    (current, before): (&storage::KeyValue, &Value),
    mut next: Value,
    ownership: Ownership,
    out: Output,
) -> Result<Response, ApiError> {
    crate::deletion::check_update(t.def, before, &next, t.name)?;
    let mut claim = crate::service_ips::Claim::none();
    if t.part == Part::Main {
        crate::strategy::prepare_update(t.def, &mut next);
        crate::validation::validate(t.def, &next, Some(before))?;
        claim =
            crate::service_ips::assign(server, t.def, &mut next, Some(before), t.dry_run).await?;
    }
    if ownership == Ownership::Update {
        // A client that changes managedFields itself (to reset or migrate them) is obeyed.
        if !has_managed_fields(&next)
            || next["metadata"]["managedFields"] == before["metadata"]["managedFields"]
        {
            if let (Some(meta), Some(fields)) = (
                next["metadata"].as_object_mut(),
                before["metadata"].get("managedFields"),
            ) {
                meta.insert("managedFields".into(), fields.clone());
            }
            let subresource = match t.part {
                Part::Status => "status",
                Part::Scale(_) => "scale",
                _ => "",
            };
            crate::managed_fields::record_update(
                t.def,
                Some(before),
                &mut next,
                t.manager,
                subresource,
                &object::now(),
            );
        }
    }
    crate::admission::validate(server, t.def, t.user, &next).await?;
    if t.dry_run {
        object::set_resource_version(&mut next, current.mod_revision);
        return Ok(out.respond(StatusCode::OK, t.def, view(t, next)));
    }
    if crate::deletion::finished(t.def, &next) {
        server
            .store
            .delete(&current.key, Some(current.mod_revision))
            .await
            .map_err(|e| from_storage(e, target(t.def, t.name)))?;
        crate::service_ips::deleted(server, t.def, before).await;
        object::set_resource_version(&mut next, current.mod_revision);
        return Ok(out.respond(StatusCode::OK, t.def, view(t, next)));
    }
    let kv = server
        .store
        .update(&current.key, object::to_store(&next), current.mod_revision)
        .await
        .map_err(|e| from_storage(e, target(t.def, t.name)))?;
    claim.keep().await;
    object::set_resource_version(&mut next, kv.mod_revision);
    Ok(out.respond(StatusCode::OK, t.def, view(t, next)))
}

/// Whether a write records field ownership itself (updates) or brings it (applies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ownership {
    Update,
    Computed,
}

fn has_managed_fields(obj: &Value) -> bool {
    obj["metadata"]["managedFields"]
        .as_array()
        .is_some_and(|a| !a.is_empty())
}

/// The media type of server-side apply patches.
const APPLY: &str = "application/apply-patch+yaml";

/// Media types accepted for patches.
const PATCH_TYPES: &str = "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml";

async fn patch(
    server: &ApiServer,
    t: &Target<'_>,
    content_type: Option<&str>,
    body: &[u8],
    out: Output,
) -> Result<Response, ApiError> {
    enum Kind {
        Json(json_patch::Patch),
        Merge(Value),
        Strategic(Value),
    }
    let kind = match content_type {
        Some("application/json-patch+json") => Kind::Json(
            serde_json::from_slice(body)
                .map_err(|e| ApiError::BadRequest(format!("invalid JSON patch: {e}")))?,
        ),
        Some("application/merge-patch+json") => Kind::Merge(
            serde_json::from_slice(body)
                .map_err(|e| ApiError::BadRequest(format!("invalid merge patch: {e}")))?,
        ),
        Some("application/strategic-merge-patch+json") => Kind::Strategic(
            serde_json::from_slice(body)
                .map_err(|e| ApiError::BadRequest(format!("invalid strategic merge patch: {e}")))?,
        ),
        Some(APPLY) => return apply(server, t, body, out).await,
        _ => return Err(ApiError::UnsupportedMediaType(PATCH_TYPES)),
    };
    // Re-applied to the fresher object whenever a concurrent write wins the race, as
    // upstream's GuaranteedUpdate: each lost race is another write landing, and the request
    // deadline bounds a writer that keeps losing. (A resourceVersion in the patch is a
    // precondition, never retried past.)
    loop {
        let current = current(server, t).await?;
        let current_obj = object::from_store(&current)?;
        let mut patched = view(t, current_obj.clone());
        match &kind {
            Kind::Json(p) => {
                crate::json_patch_bounded::apply(&mut patched, p).map_err(|e| match e {
                    crate::json_patch_bounded::Refused::TooLarge(message) => {
                        ApiError::RequestEntityTooLarge(message)
                    }
                    crate::json_patch_bounded::Refused::Failed(message) => {
                        tracing::debug!(%message, "JSON patch failed");
                        ApiError::PatchFailed
                    }
                })?
            }
            Kind::Merge(p) => json_patch::merge(&mut patched, p),
            Kind::Strategic(p) => {
                crate::strategic::apply(t.def, &mut patched, p).map_err(ApiError::BadRequest)?
            }
        }
        let raw = serde_json::to_vec(&patched).map_err(|e| ApiError::Internal(e.to_string()))?;
        let mut obj = parse_write(t, &raw)?;
        // Merge patches mirror the object: fields they give twice are duplicates of it.
        let patch_body = match kind {
            Kind::Json(_) => None,
            Kind::Merge(_) | Kind::Strategic(_) => Some(body),
        };
        let decoded = match &kind {
            Kind::Strategic(p) => Decoded::Strategic(p),
            Kind::Json(_) | Kind::Merge(_) => Decoded::Patched,
        };
        let warnings = validate_fields(server, t, patch_body, decoded, &mut obj)?;
        // A patch that sets a resourceVersion is a precondition: no retry past it.
        let requested = object::meta_str(&obj, "resourceVersion");
        if !requested.is_empty() && requested != current.mod_revision.to_string() {
            return Err(ApiError::Conflict(target(t.def, t.name)));
        }
        let next = next_state(t, &current_obj, obj)?;
        match store_update(
            server,
            t,
            (&current, &current_obj),
            next,
            Ownership::Update,
            out,
        )
        .await
        {
            Err(ApiError::Conflict(_)) => continue,
            Ok(response) => return Ok(crate::field_validation::warn(response, &warnings)),
            Err(e) => return Err(e),
        }
    }
}

/// Server-side apply: the applied configuration (YAML or JSON) merged into the object (created
/// if missing), the manager owning what it applied; fields other managers own with other
/// values conflict unless `force`.
async fn apply(
    server: &ApiServer,
    t: &Target<'_>,
    body: &[u8],
    out: Output,
) -> Result<Response, ApiError> {
    if t.part != Part::Main {
        return Err(ApiError::MethodNotAllowed);
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::BadRequest("the applied configuration is not UTF-8".into()))?;
    let applied: Value = serde_saphyr::from_str(text)
        .map_err(|e| ApiError::BadRequest(format!("error decoding YAML: {e}")))?;
    let raw = serde_json::to_vec(&applied).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut applied = parse_write(t, &raw)?;
    let warnings = validate_fields(server, t, None, Decoded::Applied, &mut applied)?;
    let now = object::now();
    // Retried as patches are.
    loop {
        let (found, _) = server
            .store
            .get(&t.def.key(t.namespace, t.name), None)
            .await
            .map_err(|e| from_storage(e, target(t.def, t.name)))?;
        let Some(current) = found else {
            // Apply creates what is missing.
            let obj = crate::managed_fields::apply(t.def, None, &applied, t.manager, t.force, &now)
                .map_err(|c| conflict(t, &c))?;
            let raw = serde_json::to_vec(&obj).map_err(|e| ApiError::Internal(e.to_string()))?;
            match create(server, t, &raw, out).await {
                Err(ApiError::AlreadyExists(_)) => continue,
                Ok(response) => return Ok(crate::field_validation::warn(response, &warnings)),
                Err(e) => return Err(e),
            }
        };
        let live = object::from_store(&current)?;
        let merged =
            crate::managed_fields::apply(t.def, Some(&live), &applied, t.manager, t.force, &now)
                .map_err(|c| conflict(t, &c))?;
        let next = next_state(t, &live, merged)?;
        let stored = store_update(server, t, (&current, &live), next, Ownership::Computed, out);
        match stored.await {
            Err(ApiError::Conflict(_)) => continue,
            Ok(response) => return Ok(crate::field_validation::warn(response, &warnings)),
            Err(e) => return Err(e),
        }
    }
}

fn conflict(t: &Target<'_>, conflicts: &[crate::managed_fields::Conflict]) -> ApiError {
    ApiError::ApplyConflict {
        target: target(t.def, t.name),
        message: crate::managed_fields::conflict_message(conflicts),
        causes: conflicts
            .iter()
            .map(|c| api::status::StatusCause {
                reason: "FieldManagerConflict".into(),
                message: format!("conflict with {:?} using {}", c.manager, c.api_version),
                field: c.field.clone(),
            })
            .collect(),
    }
}

async fn delete(
    server: &ApiServer,
    t: &Target<'_>,
    body: &[u8],
    params: &Params,
    out: Output,
) -> Result<Response, ApiError> {
    let (def, name) = (t.def, t.name);
    let options = crate::deletion::DeleteOptions::parse(body, params)?;
    let dry_run = t.dry_run || crate::deletion::dry_run(&options.dry_run)?;
    // Retried as patches are.
    loop {
        let current = current(server, t).await?;
        let obj = object::from_store(&current)?;
        if let Some(pre) = &options.preconditions {
            // Upstream's BeforeDelete names the object by its kind.
            let failed = |reason: String| ApiError::ConflictBecause {
                target: crate::error::Target {
                    resource: def.kind.to_string(),
                    ..target(def, name)
                },
                reason,
            };
            let uid = object::meta_str(&obj, "uid");
            if let Some(want) = pre.uid.as_ref().filter(|u| *u != uid) {
                return Err(failed(format!(
                    "the UID in the precondition ({want}) does not match the UID in record ({uid}). The object might have been deleted and then recreated"
                )));
            }
            let rv = current.mod_revision.to_string();
            if let Some(want) = pre.resource_version.as_ref().filter(|v| **v != rv) {
                return Err(failed(format!(
                    "the ResourceVersion in the precondition ({want}) does not match the ResourceVersion in record ({rv}). The object might have been modified"
                )));
            }
        }
        match carry_out(server, def, &current, &obj, &options, dry_run).await {
            // Something must happen first: the object stays, marked, and is returned.
            Ok(Some(marked)) => return Ok(out.respond(StatusCode::OK, def, marked)),
            Ok(None) => {
                return Ok(json_response(
                    StatusCode::OK,
                    &deleted(def, name, object::meta_str(&obj, "uid")),
                ));
            }
            Err(ApiError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Carries out a deletion of the stored `current` (decoded as `obj`), guarded by its
/// revision: the object marked for deletion (and returned, at its new resourceVersion) when
/// finalizers or a foreground cascade must go first, else removed (`None`). A dry run
/// decides without writing.
pub(crate) async fn carry_out(
    server: &ApiServer,
    def: &ResourceDef,
    current: &storage::KeyValue,
    obj: &Value,
    options: &crate::deletion::DeleteOptions,
    dry_run: bool,
) -> Result<Option<Value>, ApiError> {
    let stored = |e| from_storage(e, target(def, object::meta_str(obj, "name")));
    match crate::deletion::mark(def, obj, options, &object::now())? {
        Some(mut marked) => {
            let revision = match dry_run || marked == *obj {
                true => current.mod_revision,
                false => {
                    server
                        .store
                        .update(
                            &current.key,
                            object::to_store(&marked),
                            current.mod_revision,
                        )
                        .await
                        .map_err(stored)?
                        .mod_revision
                }
            };
            object::set_resource_version(&mut marked, revision);
            Ok(Some(marked))
        }
        None => {
            if !dry_run {
                server
                    .store
                    .delete(&current.key, Some(current.mod_revision))
                    .await
                    .map_err(stored)?;
                crate::service_ips::deleted(server, def, obj).await;
            }
            Ok(None)
        }
    }
}

/// The success Status of a deletion that removed the object at once.
pub(crate) fn deleted(def: &ResourceDef, name: &str, uid: &str) -> Value {
    let details = api::status::StatusDetails {
        name: name.to_string(),
        group: def.group.to_string(),
        kind: def.plural.to_string(),
        uid: uid.to_string(),
        ..Default::default()
    };
    // Plain strings and numbers: serializing cannot fail.
    serde_json::to_value(api::status::Status::success(details)).unwrap_or_default()
}

/// Deletes every selected object of the collection; answers with the deleted objects.
async fn delete_collection(
    server: &ApiServer,
    def: &ResourceDef,
    namespace: Option<&str>,
    params: &Params,
    body: &[u8],
) -> Result<Response, ApiError> {
    let selection = Selection::parse(def, params)?;
    let options = crate::deletion::DeleteOptions::parse(body, params)?;
    let dry_run = crate::deletion::dry_run(params.dry_run.as_slice())?
        || crate::deletion::dry_run(&options.dry_run)?;
    let listed = server
        .store
        .list(&def.namespace_prefix(namespace), ListOptions::default())
        .await
        .map_err(|e| from_storage(e, target(def, "")))?;
    let mut deleted = Vec::new();
    for kv in &listed.kvs {
        let obj = object::from_store(kv)?;
        if !selection.matches(&obj) {
            continue;
        }
        if dry_run {
            deleted.push(obj);
            continue;
        }
        // Guarded by the listed revision; an object changed or deleted since is left alone.
        match carry_out(server, def, kv, &obj, &options, false).await {
            Ok(_) => deleted.push(obj),
            Err(ApiError::NotFound(_) | ApiError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let metadata = json!({"resourceVersion": listed.revision.to_string()});
    Ok(json_response(
        StatusCode::OK,
        &list_body(def, metadata, deleted),
    ))
}

/// A `<Kind>List` of `items`.
fn list_body(def: &ResourceDef, metadata: Value, items: Vec<Value>) -> Value {
    json!({
        "kind": format!("{}List", def.kind),
        "apiVersion": def.api_version(),
        "metadata": metadata,
        "items": items,
    })
}

#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod tests;
