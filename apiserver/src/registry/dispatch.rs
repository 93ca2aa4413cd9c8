//! From a request to its handler: the resource and subresource looked up in the registry, the
//! checks every resource request gets (namespace and name, options, verbs), the representation
//! negotiated, then the verb's method with the body when it has one.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::ApiServer;
use crate::error::ApiError;
use crate::http::negotiation;
use crate::http::request_info;
use crate::registry::object::target;
use crate::registry::query::Params;
use crate::registry::response::Output;
use crate::registry::rest::Call;

/// The media type of server-side apply patches.
pub const APPLY: &str = "application/apply-patch+yaml";

pub async fn handle(State(server): State<Arc<ApiServer>>, request: Request) -> Response {
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
    if !info.is_resource {
        return Err(ApiError::PathNotFound);
    }
    let def = server
        .scheme
        .lookup(&info.group, &info.version, &info.resource)
        .ok_or(ApiError::PathNotFound)?;
    let subresource = info.subresource.as_deref().unwrap_or_default();
    let handler = server
        .registry
        .handler_of(def, subresource)
        .ok_or(ApiError::PathNotFound)?;
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
    let out = Output::new(
        negotiation::response_format(accept)?,
        crate::registry::table::Include::parse(params.include_object.as_deref()),
    );
    let verb = info.verb.as_str();
    let namespace = match def.namespaced() {
        true => info.namespace.as_deref(),
        false => None,
    };
    let collection = matches!(verb, "list" | "watch" | "create" | "deletecollection");
    if def.namespaced() && namespace.is_none() && !matches!(verb, "list" | "watch") {
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
        && verb != "create"
    {
        return Err(ApiError::NotFound(target(def, name)));
    }
    match verb {
        "list" | "watch" => params.check_list(verb == "watch")?,
        "create" => params.check_write("CreateOptions")?,
        "update" => params.check_write("UpdateOptions")?,
        "patch" => params.check_patch(content_type.as_deref() == Some(APPLY))?,
        _ => {}
    }
    if subresource.is_empty() && !def.allows(verb) {
        return Err(ApiError::MethodNotAllowed);
    }
    let call = Call {
        server,
        def,
        user: user.as_ref(),
        namespace,
        name,
        params: &params,
        out,
        content_type: content_type.as_deref(),
        headers: &parts.headers,
        subpath: &info.subpath,
        query: parts.uri.query(),
        upgrade: parts.extensions.get::<hyper::upgrade::OnUpgrade>().cloned(),
    };
    let read = || crate::http::body::read(body);
    match verb {
        "get" => handler.get(&call).await,
        "list" => handler.list(&call).await,
        "watch" => handler.watch(&call).await,
        "create" => handler.create(&call, read().await?).await,
        "update" => handler.update(&call, read().await?).await,
        "patch" => handler.patch(&call, read().await?).await,
        "delete" => handler.delete(&call, read().await?).await,
        "deletecollection" => handler.delete_collection(&call, read().await?).await,
        _ => Err(ApiError::MethodNotAllowed),
    }
}
