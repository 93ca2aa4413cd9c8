//! `POST processedtemplates`: the Template of the body processed (parameter values generated,
//! references substituted, labels added, namespaces stripped) and sent back with 201; nothing
//! is stored. Bad parameters and failed generators are upstream's 422 Invalid about the
//! Template.

use async_trait::async_trait;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;

use crate::error::ApiError;
use crate::registry::object::{meta_str, target};
use crate::registry::rest::{Call, Rest};

pub struct ProcessedTemplates;

#[async_trait]
impl Rest for ProcessedTemplates {
    async fn create(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        let mut template = call.object(&body)?;
        let invalid =
            |found: Vec<templates::FieldError>, template: &serde_json::Value| ApiError::Invalid {
                kind: "Template".into(),
                target: target(call.def, meta_str(template, "name")),
                causes: found
                    .iter()
                    .map(|e| api::status::StatusCause {
                        reason: e.reason().into(),
                        message: e.message(),
                        field: e.field().into(),
                    })
                    .collect(),
            };
        let found = templates::validate_parameters(&template);
        if !found.is_empty() {
            return Err(invalid(found, &template));
        }
        let mut rng = rand::rng();
        if let Err(found) = templates::process(&mut template, &mut rng) {
            return Err(invalid(found, &template));
        }
        Ok(call.out.respond(StatusCode::CREATED, call.def, template))
    }
}
