//! `imagestreams/<name>/secrets`: the namespace's registry credentials an import may use —
//! docker config secrets not marked `openshift.io/image.excludeSecret`. The name is not
//! looked at, as upstream.

use async_trait::async_trait;
use axum::response::Response;
use serde_json::{Value, json};
use storage::ListOptions;

use crate::ApiServer;
use crate::error::{ApiError, from_storage};
use crate::registry::object;
use crate::registry::response::json_response;
use crate::registry::rest::{Call, Rest};

pub struct Secrets;

/// The pull secrets of `ns`.
pub async fn pull_secrets(server: &ApiServer, ns: &str) -> Result<Vec<Value>, ApiError> {
    let def = server
        .scheme
        .lookup("", "v1", "secrets")
        .ok_or_else(|| ApiError::Internal("the scheme has no secrets".into()))?;
    let list = server
        .store
        .list(&def.namespace_prefix(Some(ns)), ListOptions::default())
        .await
        .map_err(|e| from_storage(e, object::target(def, "")))?;
    let mut out = Vec::new();
    for kv in &list.kvs {
        let secret = object::from_store(kv)?;
        let docker = matches!(
            secret["type"].as_str(),
            Some("kubernetes.io/dockercfg" | "kubernetes.io/dockerconfigjson")
        );
        if docker && secret["metadata"]["annotations"]["openshift.io/image.excludeSecret"] != "true"
        {
            out.push(secret);
        }
    }
    Ok(out)
}

/// The registry credentials of a `kubernetes.io/dockerconfigjson` or `kubernetes.io/dockercfg`
/// secret; none for other secrets.
pub fn credentials(secret: &Value) -> Vec<registry_client::Credential> {
    use base64::Engine as _;
    let key = match secret["type"].as_str() {
        Some("kubernetes.io/dockerconfigjson") => ".dockerconfigjson",
        Some("kubernetes.io/dockercfg") => ".dockercfg",
        _ => return Vec::new(),
    };
    secret["data"][key]
        .as_str()
        .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
        .map(|raw| registry_client::credentials_from_dockerconfigjson(&raw))
        .unwrap_or_default()
}

#[async_trait]
impl Rest for Secrets {
    async fn get(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let items = pull_secrets(call.server, call.namespace.unwrap_or_default()).await?;
        let list = json!({"kind": "SecretList", "apiVersion": "image.openshift.io/v1", "metadata": {}, "items": items});
        Ok(json_response(axum::http::StatusCode::OK, &list))
    }
}
