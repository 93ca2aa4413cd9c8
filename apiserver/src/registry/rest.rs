//! What a resource or subresource can do: the `Rest` trait, one method per verb (each refused
//! with 405 unless the handler serves it), and the `Call` every method gets — the request,
//! already parsed, checked and authorized.

use api::scheme::ResourceDef;
use async_trait::async_trait;
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;

use crate::ApiServer;
use crate::error::ApiError;
use crate::http::negotiation;
use crate::http::serve::User;
use crate::registry::query::Params;
use crate::registry::response::Output;

/// One request to a resource.
pub struct Call<'a> {
    pub server: &'a ApiServer,
    pub def: &'a ResourceDef,
    pub user: Option<&'a User>,
    /// The request's namespace, for namespaced resources.
    pub namespace: Option<&'a str>,
    /// The object's name (empty for collections).
    pub name: &'a str,
    pub params: &'a Params,
    pub out: Output,
    /// The body's media type, without parameters, lowercased.
    pub content_type: Option<&'a str>,
    pub headers: &'a HeaderMap,
    /// The path after the subresource (a webhook's `<secret>/<type>`), empty when none.
    pub subpath: &'a str,
    /// The raw query (for options read otherwise than `params` reads them: repeated values).
    pub query: Option<&'a str>,
    /// The connection's upgrade, for subresources that become streams (exec, attach).
    pub upgrade: Option<hyper::upgrade::OnUpgrade>,
}

impl Call<'_> {
    /// The authenticated user; virtual resources answer about them.
    pub fn user(&self) -> Result<&User, ApiError> {
        self.user.ok_or(ApiError::Unauthorized)
    }

    /// A body as JSON (YAML and protobuf bodies converted).
    pub fn decode(&self, raw: &[u8]) -> Result<Vec<u8>, ApiError> {
        negotiation::request_body(self.content_type, raw)
    }

    /// A body as an object of the resource's kind.
    pub fn object(&self, raw: &[u8]) -> Result<Value, ApiError> {
        crate::registry::object::parse_body(self.def, &self.decode(raw)?)
    }
}

#[async_trait]
pub trait Rest: Send + Sync {
    async fn get(&self, _call: &Call<'_>) -> Result<Response, ApiError> {
        Err(ApiError::MethodNotAllowed)
    }
    async fn list(&self, _call: &Call<'_>) -> Result<Response, ApiError> {
        Err(ApiError::MethodNotAllowed)
    }
    async fn watch(&self, _call: &Call<'_>) -> Result<Response, ApiError> {
        Err(ApiError::MethodNotAllowed)
    }
    async fn create(&self, _call: &Call<'_>, _body: Bytes) -> Result<Response, ApiError> {
        Err(ApiError::MethodNotAllowed)
    }
    async fn update(&self, _call: &Call<'_>, _body: Bytes) -> Result<Response, ApiError> {
        Err(ApiError::MethodNotAllowed)
    }
    async fn patch(&self, _call: &Call<'_>, _body: Bytes) -> Result<Response, ApiError> {
        Err(ApiError::MethodNotAllowed)
    }
    async fn delete(&self, _call: &Call<'_>, _body: Bytes) -> Result<Response, ApiError> {
        Err(ApiError::MethodNotAllowed)
    }
    async fn delete_collection(
        &self,
        _call: &Call<'_>,
        _body: Bytes,
    ) -> Result<Response, ApiError> {
        Err(ApiError::MethodNotAllowed)
    }
}
