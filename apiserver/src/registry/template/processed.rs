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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testing::Cluster;

    const PATH: &str = "/apis/template.openshift.io/v1/namespaces/default/processedtemplates";

    #[tokio::test]
    async fn processed_and_sent_back_or_refused_as_upstream() {
        let c = Cluster::with_default_namespace().await;
        let processed = c
            .post(
                PATH,
                json!({"metadata": {"name": "t"}, "labels": {"l": "${N}"},
                    "parameters": [{"name": "N", "value": "x"}],
                    "objects": [{"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "${N}", "namespace": "other"}}]}),
            )
            .await
            .created();
        assert_eq!(
            processed["objects"][0]["metadata"],
            json!({"name": "x", "labels": {"l": "x"}})
        );
        // Nothing is stored.
        let list = c.get("/api/v1/namespaces/default/configmaps").await.ok();
        assert_eq!(list["items"], json!([]));

        let refused = c
            .post(
                PATH,
                json!({"metadata": {"name": "t"},
                    "parameters": [{"name": "DB", "required": true}], "objects": []}),
            )
            .await
            .failure(
                422,
                "Invalid",
                "Template.template.openshift.io \"t\" is invalid: template.parameters[0]: Required value: template.parameters[0]: parameter DB is required and must be specified",
            );
        assert_eq!(
            refused["details"]["causes"][0],
            json!({"reason": "FieldValueRequired", "field": "template.parameters[0]",
                "message": "Required value: template.parameters[0]: parameter DB is required and must be specified"})
        );
        c.post(
            PATH,
            json!({"metadata": {"name": "t"}, "parameters": [{"name": "a-b"}]}),
        )
        .await
        .failure(
            422,
            "Invalid",
            "Template.template.openshift.io \"t\" is invalid: parameters[0].name: Invalid value: \"a-b\": does not match ^[a-zA-Z0-9_]+$",
        );
    }
}
