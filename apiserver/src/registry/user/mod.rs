//! user.openshift.io's virtual resources: `users/~` (who the caller is) on top of the stored
//! users, and `useridentitymappings` (an identity's mapping to a user, written into both).

pub mod current;
pub mod identity_mappings;

use async_trait::async_trait;
use axum::response::Response;
use bytes::Bytes;

use crate::error::ApiError;
use crate::registry::generic::Generic;
use crate::registry::rest::{Call, Rest};

/// The stored users, and `~` for the caller.
pub struct Users(pub Generic);

#[async_trait]
impl Rest for Users {
    async fn get(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        match call.name {
            "~" => Ok(call
                .out
                .object(call.def, current::current(call.server, call.user()?).await?)),
            _ => self.0.get(call).await,
        }
    }
    async fn list(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        self.0.list(call).await
    }
    async fn watch(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        self.0.watch(call).await
    }
    async fn create(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        self.0.create(call, body).await
    }
    async fn update(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        self.0.update(call, body).await
    }
    async fn patch(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        self.0.patch(call, body).await
    }
    async fn delete(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        self.0.delete(call, body).await
    }
    async fn delete_collection(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        self.0.delete_collection(call, body).await
    }
}

pub struct IdentityMappings;

impl IdentityMappings {
    async fn serve(
        &self,
        call: &Call<'_>,
        verb: &str,
        body: Option<Bytes>,
    ) -> Result<Response, ApiError> {
        call.user()?;
        let body = body.map(|b| call.object(&b)).transpose()?;
        identity_mappings::handle(call.server, call.def, verb, call.name, body, call.out).await
    }
}

#[async_trait]
impl Rest for IdentityMappings {
    async fn get(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        self.serve(call, "get", None).await
    }
    async fn create(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        self.serve(call, "create", Some(body)).await
    }
    async fn update(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        self.serve(call, "update", Some(body)).await
    }
    async fn delete(&self, call: &Call<'_>, _body: Bytes) -> Result<Response, ApiError> {
        self.serve(call, "delete", None).await
    }
}
