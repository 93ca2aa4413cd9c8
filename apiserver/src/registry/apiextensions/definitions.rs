//! CustomResourceDefinitions: validated on every write (upstream's rules and messages); the
//! first DELETE only marks a definition (`custom_resources::cleanup::mark`), and the
//! controller finishes it once the instances are gone.

use api::scheme::ResourceDef;
use async_trait::async_trait;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;

use crate::custom_resources::cleanup;
use crate::error::ApiError;
use crate::registry::generic::Generic;
use crate::registry::object::target;
use crate::registry::rest::{Call, Rest};
use crate::registry::strategy::Strategy;
use crate::registry::validation::FieldErrors;

pub struct CustomResourceDefinitions;

impl Strategy for CustomResourceDefinitions {
    /// The storage version is a stored version from the write that makes it one on, as
    /// upstream's strategy records it.
    fn prepare(&self, obj: &mut Value) {
        let storage = obj["spec"]["versions"]
            .as_array()
            .and_then(|v| v.iter().find(|v| v["storage"] == Value::Bool(true)))
            .and_then(|v| v["name"].as_str())
            .map(String::from);
        let Some(storage) = storage else {
            return;
        };
        if !obj["status"].is_object() {
            obj["status"] = serde_json::json!({});
        }
        let stored = &mut obj["status"]["storedVersions"];
        match stored.as_array_mut() {
            Some(list) if list.iter().any(|v| v.as_str() == Some(&storage)) => {}
            Some(list) => list.push(Value::String(storage)),
            None => *stored = serde_json::json!([storage]),
        }
    }

    fn validate(
        &self,
        _def: &ResourceDef,
        obj: &Value,
        _old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        super::validation::definition(obj, errors);
    }
}

/// The generic store of definitions, but for DELETE.
pub struct Definitions(pub Generic);

/// How often the marking DELETE reads again after losing a race with another write.
const MARK_RETRIES: usize = 5;

#[async_trait]
impl Rest for Definitions {
    async fn get(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        self.0.get(call).await
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
    async fn delete_collection(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        self.0.delete_collection(call, body).await
    }

    /// Upstream's first DELETE of a definition: marked for deletion with the cleanup
    /// finalizer and `Terminating`, answered with the object; later ones as any object's.
    async fn delete(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        let dry_run = !call.params.dry_run.is_empty();
        for _ in 0..MARK_RETRIES {
            let current = call
                .server
                .get_object(call.def, None, call.name)
                .await?
                .ok_or_else(|| ApiError::NotFound(target(call.def, call.name)))?;
            if cleanup::being_deleted(&current) || dry_run {
                return self.0.delete(call, body).await;
            }
            let mut marked = current;
            cleanup::mark(&mut marked);
            match call.server.update_object(call.def, marked).await {
                Ok(stored) => return Ok(call.out.respond(StatusCode::OK, call.def, stored)),
                Err(ApiError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(ApiError::Conflict(target(call.def, call.name)))
    }
}
