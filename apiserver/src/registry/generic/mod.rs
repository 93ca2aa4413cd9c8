//! The generic store: every verb on every stored kind, and on its `status`, `scale`,
//! `finalize` and `approval` subresources, over the store. Objects are stored as JSON without their
//! resourceVersion, which is the store's mod revision. A kind's own behaviour comes from its
//! strategy (`registry::strategy`), called in one fixed order on every write.

pub mod delete;
pub mod deletion;
pub mod freshness;
pub mod json_patch_bounded;
pub mod list;
mod parts;
pub mod patch;
pub mod scale;
pub mod strategic;
pub mod validate;
pub mod watch;
mod write;

use async_trait::async_trait;
use axum::http::header;
use axum::response::Response;
use bytes::Bytes;

use crate::error::ApiError;
use crate::http::negotiation::Format;
use crate::registry::response::Output;
use crate::registry::rest::{Call, Rest};
use crate::registry::strategy::Strategy;

pub use parts::Part;
use parts::{
    Ownership, Target, carry_status, current, has_managed_fields, next_state, parse_write,
    validate_fields, view,
};

/// Which part of its objects a generic handler serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Serves {
    Object,
    Status,
    Scale,
    Finalize,
    /// A certificate signing request's `approval`: its conditions only.
    Approval,
}

/// The generic store for one part of a kind's objects, with the kind's strategy.
pub struct Generic {
    serves: Serves,
    strategy: &'static dyn Strategy,
}

impl Generic {
    pub fn new(serves: Serves, strategy: &'static dyn Strategy) -> Generic {
        Generic { serves, strategy }
    }

    /// What the call addresses, with its write options, and how to answer it.
    fn target<'a>(&self, call: &'a Call<'a>) -> Result<(Target<'a>, Output), ApiError> {
        let mut out = call.out;
        let part = match self.serves {
            Serves::Object => Part::Main,
            Serves::Status => Part::Status,
            Serves::Finalize => Part::Finalize,
            Serves::Approval => Part::Approval,
            Serves::Scale => {
                // A Scale has no printer columns or metadata view of its own.
                if matches!(out.format, Format::Table | Format::Metadata) {
                    out.format = Format::Json;
                }
                Part::Scale(
                    *call
                        .def
                        .subresource("scale")
                        .ok_or(ApiError::PathNotFound)?,
                )
            }
        };
        let params = call.params;
        // Who owns what this write sets: the fieldManager, else the client's program name.
        let manager = match params.field_manager.as_deref() {
            Some(m) if !m.is_empty() => m.to_string(),
            _ => call
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .and_then(|ua| ua.split('/').next())
                .filter(|p| !p.is_empty())
                .unwrap_or("unknown")
                .to_string(),
        };
        let target = Target {
            def: call.def,
            strategy: self.strategy,
            user: call.user,
            namespace: call.namespace,
            name: call.name,
            part,
            dry_run: deletion::dry_run(params.dry_run.as_slice())?,
            validation: crate::registry::decode::field_validation::Mode::parse(
                params.field_validation.as_deref(),
            )?,
            manager,
            force: params.force.unwrap_or(false),
        };
        Ok((target, out))
    }

    fn object_only(&self) -> Result<(), ApiError> {
        match self.serves {
            Serves::Object => Ok(()),
            _ => Err(ApiError::MethodNotAllowed),
        }
    }
}

#[async_trait]
impl Rest for Generic {
    async fn get(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let (t, out) = self.target(call)?;
        let stored = current(call.server, &t).await?;
        let obj = crate::registry::conversion::decode(call.server, call.def, &stored).await?;
        Ok(out.object(call.def, view(&t, obj)))
    }

    async fn list(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        self.object_only()?;
        list::list(call.server, call.def, call.namespace, call.params, call.out).await
    }

    async fn watch(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        self.object_only()?;
        watch::watch(call.server, call.def, call.namespace, call.params, call.out).await
    }

    async fn create(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        self.object_only()?;
        let (t, out) = self.target(call)?;
        write::create(call.server, &t, &call.decode(&body)?, out).await
    }

    async fn update(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        let (t, out) = self.target(call)?;
        write::update(call.server, &t, &call.decode(&body)?, out).await
    }

    async fn patch(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        let (t, out) = self.target(call)?;
        patch::patch(call.server, &t, call.content_type, &body, out).await
    }

    async fn delete(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        self.object_only()?;
        let (t, out) = self.target(call)?;
        delete::delete(call.server, &t, &body, call.params, out).await
    }

    async fn delete_collection(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        self.object_only()?;
        delete::delete_collection(
            call.server,
            (call.def, self.strategy),
            call.user,
            call.namespace,
            call.params,
            &body,
        )
        .await
    }
}

#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod tests;
