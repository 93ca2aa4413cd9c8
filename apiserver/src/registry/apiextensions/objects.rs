//! The objects of custom resources: one strategy for every custom kind, driven by the
//! version's structural schema (defaults, pruning, validation, CEL rules) looked up in what the server
//! serves now; and strategic merge patches refused as upstream refuses them (custom kinds
//! have no patch strategies).

use api::scheme::ResourceDef;
use async_trait::async_trait;
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;

use crate::ApiServer;
use crate::custom_resources::schema;
use crate::error::ApiError;
use crate::http::serve::User;
use crate::registry::generic::Generic;
use crate::registry::rest::{Call, Rest};
use crate::registry::strategy::Strategy;
use crate::registry::validation::FieldErrors;

/// The patch types custom resources accept.
const PATCH_TYPES: &str =
    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";

pub struct SchemaDriven;

/// The strategy of every custom kind.
pub static SCHEMA_DRIVEN: SchemaDriven = SchemaDriven;

#[async_trait]
impl Strategy for SchemaDriven {
    /// The schema's defaults, pruning, validation and rules (they need what is served now,
    /// so they run here, where the server is at hand, rather than in `prepare` and
    /// `validate`).
    async fn assign(
        &self,
        server: &ApiServer,
        def: &ResourceDef,
        _user: Option<&User>,
        obj: &mut Value,
        old: Option<&Value>,
    ) -> Result<(), ApiError> {
        by_schema(server, def, obj, old)
    }

    /// A status write is held to the whole schema too, as upstream's status strategy.
    async fn assign_status(
        &self,
        server: &ApiServer,
        def: &ResourceDef,
        obj: &mut Value,
        old: &Value,
    ) -> Result<(), ApiError> {
        by_schema(server, def, obj, Some(old))
    }
}

/// What the version's schema does to a write of `obj` (`old`: the object before an update).
fn by_schema(
    server: &ApiServer,
    def: &ResourceDef,
    obj: &mut Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    let served = server.served();
    let Some(custom) = served.lookup(def.group, def.version, def.plural) else {
        return Ok(());
    };
    let Some(s) = custom.schema.as_deref() else {
        return Ok(());
    };
    schema::defaults::apply(s, obj);
    schema::prune::apply(s, obj, true);
    let mut errors = FieldErrors::default();
    schema::validate::object(s, obj, &mut errors);
    if let Some(rules) = custom.rules.as_deref() {
        schema::rules::evaluate::check(rules, obj, old, &mut errors);
    }
    errors.into_result(def, obj)
}

/// The generic store of a custom kind, refusing strategic merge patches.
pub struct CustomObjects(pub Generic);

#[async_trait]
impl Rest for CustomObjects {
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
        if call.content_type == Some("application/strategic-merge-patch+json") {
            return Err(ApiError::UnsupportedMediaType(PATCH_TYPES));
        }
        self.0.patch(call, body).await
    }
    async fn delete(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        self.0.delete(call, body).await
    }
    async fn delete_collection(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        self.0.delete_collection(call, body).await
    }
}
