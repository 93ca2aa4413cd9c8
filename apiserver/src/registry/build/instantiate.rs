//! `buildconfigs/<name>/instantiate` and `builds/<name>/clone`: a BuildRequest in, the new
//! Build out (201), made by the generator — if the caller may use the strategy of the config
//! or build it names (`BuildByStrategy`, as upstream's admission of BuildRequests).

use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;

use super::generator;
use crate::admission::build_by_strategy;
use crate::error::{ApiError, Target};
use crate::registry::rest::{Call, Rest};

fn request(call: &Call<'_>, body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(&call.decode(body)?)
        .map_err(|e| ApiError::BadRequest(format!("invalid BuildRequest: {e}")))
}

/// Refuses the request if its caller may not start builds of the named object's strategy
/// (a missing object is left to the generator's answer).
async fn check_strategy(call: &Call<'_>) -> Result<(), ApiError> {
    let (Some(user), Some(namespace)) = (call.user, call.namespace) else {
        return Ok(());
    };
    if !call.server.admission.enabled(build_by_strategy::NAME) {
        return Ok(());
    }
    let Some(named) = call
        .server
        .get_object(call.def, Some(namespace), call.name)
        .await?
    else {
        return Ok(());
    };
    let target = Target {
        group: call.def.group.into(),
        resource: call.def.plural.into(),
        name: call.name.into(),
    };
    build_by_strategy::check_strategy(
        call.server,
        user,
        namespace,
        &named["spec"]["strategy"],
        target,
    )
    .await
}

fn created(call: &Call<'_>, build: Value) -> Result<Response, ApiError> {
    let def = call
        .server
        .scheme
        .lookup("build.openshift.io", "v1", "builds")
        .ok_or(ApiError::PathNotFound)?;
    Ok(call.out.respond(StatusCode::CREATED, def, build))
}

pub struct Instantiate;

#[async_trait::async_trait]
impl Rest for Instantiate {
    async fn create(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        let request = request(call, &body)?;
        check_strategy(call).await?;
        let namespace = call.namespace.unwrap_or_default();
        let build = generator::instantiate(call.server, namespace, call.name, &request).await?;
        created(call, build)
    }
}

pub struct Clone;

#[async_trait::async_trait]
impl Rest for Clone {
    async fn create(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        let request = request(call, &body)?;
        check_strategy(call).await?;
        let namespace = call.namespace.unwrap_or_default();
        let build = generator::clone(call.server, namespace, call.name, &request).await?;
        created(call, build)
    }
}
