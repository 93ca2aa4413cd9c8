//! project.openshift.io: projects are namespaces as their users see them (listed, watched,
//! read and deleted as the caller may), and project requests create one for the requester.

pub mod projects;
pub mod watch;

use async_trait::async_trait;
use axum::response::Response;
use bytes::Bytes;

use crate::error::ApiError;
use crate::registry::rest::{Call, Rest};

pub struct Projects;

#[async_trait]
impl Rest for Projects {
    async fn get(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        projects::projects(
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
        projects::projects(
            call.server,
            call.def,
            "list",
            call.name,
            call.user()?,
            call.out,
        )
        .await
    }

    async fn watch(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        watch::watch(call.server, call.def, call.params, call.user()?, call.out).await
    }

    async fn delete(&self, call: &Call<'_>, _body: Bytes) -> Result<Response, ApiError> {
        projects::projects(
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

pub struct ProjectRequests;

#[async_trait]
impl Rest for ProjectRequests {
    /// Whether the caller may request projects: it got past authorization.
    async fn list(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        projects::project_requests(call.server, call.def, "list", None, call.user()?, call.out)
            .await
    }

    async fn create(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        let request = call.object(&body)?;
        projects::project_requests(
            call.server,
            call.def,
            "create",
            Some(request),
            call.user()?,
            call.out,
        )
        .await
    }
}
