//! The image API's own writes of image streams (ImageStreamTags, mappings, imports): the
//! strategy's defaults, validation and tag processing with the status the caller built,
//! stored without admission, updates guarded by the revision they read.

use serde_json::Value;

use super::stream::{ImageStreams, Status, process};
use crate::ApiServer;
use crate::error::{ApiError, from_storage};
use crate::http::serve::User;
use crate::registry::generic::validate::validate;
use crate::registry::object;
use crate::registry::strategy::Strategy;

/// Creates the stream `obj` (its status kept, history of its spec tags added).
pub async fn create(
    server: &ApiServer,
    user: Option<&User>,
    mut obj: Value,
) -> Result<Value, ApiError> {
    let def = super::stream_def(server)?;
    object::prepare_create(def, &mut obj)?;
    ImageStreams.prepare_create(&mut obj);
    validate(def, &ImageStreams, &obj, None)?;
    process(server, user, &mut obj, None, Status::Given).await?;
    let name = object::meta_str(&obj, "name").to_string();
    let ns = object::meta_str(&obj, "namespace").to_string();
    let kv = server
        .store
        .create(&def.key(Some(&ns), &name), object::to_store(&obj))
        .await
        .map_err(|e| from_storage(e, object::target(def, &name)))?;
    object::set_resource_version(&mut obj, kv.mod_revision);
    Ok(obj)
}

/// Replaces the stream `old` with `obj` (read at `old`'s revision; Conflict if it moved on).
pub async fn update(
    server: &ApiServer,
    user: Option<&User>,
    mut obj: Value,
    old: &Value,
) -> Result<Value, ApiError> {
    let def = super::stream_def(server)?;
    ImageStreams.prepare(&mut obj);
    validate(def, &ImageStreams, &obj, Some(old))?;
    process(server, user, &mut obj, Some(old), Status::Given).await?;
    obj["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
    server.update_object(def, obj).await
}

/// Stores a stream whose status only changed (read at the revision it carries).
pub async fn update_status(server: &ApiServer, mut obj: Value) -> Result<Value, ApiError> {
    let def = super::stream_def(server)?;
    super::stream::defaults(&mut obj);
    server.update_object(def, obj).await
}
