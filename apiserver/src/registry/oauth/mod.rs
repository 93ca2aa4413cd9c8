//! oauth.openshift.io's virtual resource: `useroauthaccesstokens`, the caller's own tokens.

pub mod user_tokens;

use async_trait::async_trait;
use axum::response::Response;
use bytes::Bytes;

use crate::error::ApiError;
use crate::registry::rest::{Call, Rest};

pub struct UserTokens;

#[async_trait]
impl Rest for UserTokens {
    async fn get(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        user_tokens::handle(
            call.server,
            call.def,
            "get",
            call.name,
            call.user()?,
            call.out,
        )
        .await
    }

    async fn list(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        user_tokens::handle(
            call.server,
            call.def,
            "list",
            call.name,
            call.user()?,
            call.out,
        )
        .await
    }

    async fn delete(&self, call: &Call<'_>, _body: Bytes) -> Result<Response, ApiError> {
        user_tokens::handle(
            call.server,
            call.def,
            "delete",
            call.name,
            call.user()?,
            call.out,
        )
        .await
    }
}
