//! `buildconfigs/<name>/instantiate` and `builds/<name>/clone`: a BuildRequest in, the new
//! Build out (201), made by the generator.

use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;

use super::generator;
use crate::error::ApiError;
use crate::registry::rest::{Call, Rest};

fn request(call: &Call<'_>, body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(&call.decode(body)?)
        .map_err(|e| ApiError::BadRequest(format!("invalid BuildRequest: {e}")))
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
        let namespace = call.namespace.unwrap_or_default();
        let build = generator::clone(call.server, namespace, call.name, &request).await?;
        created(call, build)
    }
}
