//! `serviceaccounts/<name>/token` (TokenRequest, `kubectl create token`): a signed,
//! expiring token for a service account that exists.

use serde_json::{Value, json};

use crate::ApiServer;
use crate::error::ApiError;

/// Upstream's default and shortest lifetimes.
const DEFAULT_SECONDS: i64 = 3600;
const MIN_SECONDS: i64 = 600;

pub async fn create(
    server: &ApiServer,
    namespace: &str,
    name: &str,
    mut request: Value,
) -> Result<Value, ApiError> {
    let tokens = server
        .service_account_tokens
        .as_ref()
        .ok_or_else(|| ApiError::Internal("service account tokens are not configured".into()))?;
    let def = server
        .scheme
        .lookup("", "v1", "serviceaccounts")
        .ok_or(ApiError::PathNotFound)?;
    let sa = server
        .get_object(def, Some(namespace), name)
        .await?
        .ok_or_else(|| ApiError::NotFound(crate::registry::object::target(def, name)))?;
    let uid = sa["metadata"]["uid"].as_str().unwrap_or_default();
    let seconds = request["spec"]["expirationSeconds"]
        .as_i64()
        .unwrap_or(DEFAULT_SECONDS);
    if seconds < MIN_SECONDS {
        return Err(ApiError::BadRequest(
            "spec.expirationSeconds: Invalid value: may not specify a duration less than 10 minutes".into(),
        ));
    }
    let audiences: Vec<String> = match request["spec"]["audiences"].as_array() {
        Some(a) if !a.is_empty() => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => vec![auth::service_account_tokens::ISSUER.to_string()],
    };
    let now = jiff::Timestamp::now().as_second();
    let token = tokens
        .issue(namespace, name, uid, audiences.clone(), now, seconds)
        .map_err(|e| ApiError::Internal(format!("signing the token: {e}")))?;
    let expires = jiff::Timestamp::from_second(now + seconds)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    request["apiVersion"] = json!("authentication.k8s.io/v1");
    request["kind"] = json!("TokenRequest");
    request["metadata"] = json!({"name": name, "namespace": namespace, "creationTimestamp": null});
    request["spec"]["audiences"] = json!(audiences);
    request["spec"]["expirationSeconds"] = json!(seconds);
    request["status"] = json!({"token": token, "expirationTimestamp": expires});
    Ok(request)
}

/// The `token` subresource of service accounts.
pub struct TokenRequests;

#[async_trait::async_trait]
impl crate::registry::rest::Rest for TokenRequests {
    async fn create(
        &self,
        call: &crate::registry::rest::Call<'_>,
        body: bytes::Bytes,
    ) -> Result<axum::response::Response, ApiError> {
        let request: Value = serde_json::from_slice(&call.decode(&body)?)
            .map_err(|e| ApiError::BadRequest(format!("invalid TokenRequest: {e}")))?;
        let namespace = call.namespace.unwrap_or_default();
        let answered = create(call.server, namespace, call.name, request).await?;
        Ok(call
            .out
            .respond(axum::http::StatusCode::CREATED, call.def, answered))
    }
}
