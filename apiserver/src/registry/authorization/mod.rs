//! The review kinds (access, rules, token and self reviews, and OpenShift's resource access
//! reviews): created, answered, never stored.

pub mod reviews;

use async_trait::async_trait;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;

use crate::error::ApiError;
use crate::registry::rest::{Call, Rest};

pub struct Reviews;

#[async_trait]
impl Rest for Reviews {
    async fn create(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        let review = call.object(&body)?;
        let answered =
            reviews::answer(call.server, call.def, call.namespace, review, call.user()?).await?;
        Ok(call.out.respond(StatusCode::CREATED, call.def, answered))
    }
}
