//! Reads the virtual resources share: streams of a namespace, images by name, and an image
//! as the virtual kinds show it.

use serde_json::Value;
use storage::ListOptions;

use crate::ApiServer;
use crate::error::{ApiError, from_storage};
use crate::registry::object;

/// Every stream in `ns` (all namespaces when `None`).
pub async fn streams(server: &ApiServer, ns: Option<&str>) -> Result<Vec<Value>, ApiError> {
    let def = super::stream_def(server)?;
    let list = server
        .store
        .list(&def.namespace_prefix(ns), ListOptions::default())
        .await
        .map_err(|e| from_storage(e, object::target(def, "")))?;
    list.kvs.iter().map(object::from_store).collect()
}

/// The Image `name`, if stored.
pub async fn image(server: &ApiServer, name: &str) -> Result<Option<Value>, ApiError> {
    server
        .get_object(super::def(server, "images")?, None, name)
        .await
}

/// An image as ImageStreamTags and ImageStreamImages show it: metadata filled in, the
/// manifest and config left out.
pub fn shown_image(mut image: Value) -> Value {
    super::image_strategy::with_metadata(&mut image);
    if let Some(map) = image.as_object_mut() {
        map.remove("dockerImageManifest");
        map.remove("dockerImageConfig");
    }
    image
}
