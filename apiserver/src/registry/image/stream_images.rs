//! ImageStreamImages (`<stream>@<id>`): an image of a stream's history (or a child of a
//! manifest list in it), found by digest prefix.

use async_trait::async_trait;
use axum::response::Response;
use images::digest::digest_or_image_match;
use serde_json::json;

use super::names::stream_and_id;
use super::{layers, lookup, tag_sources};
use crate::error::ApiError;
use crate::registry::object::target;
use crate::registry::rest::{Call, Rest};

pub struct ImageStreamImages;

#[async_trait]
impl Rest for ImageStreamImages {
    async fn get(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let (stream_name, id) = stream_and_id(call.name)?;
        let ns = call.namespace.unwrap_or_default();
        let Some(stream) = tag_sources::fetch_stream(call.server, ns, stream_name).await? else {
            return Err(ApiError::NotFound(target(
                super::stream_def(call.server)?,
                stream_name,
            )));
        };
        let (_, found) = layers::layers_of(call.server, &stream).await?;
        // Upstream takes the last match, without complaining of several.
        let image = found
            .iter()
            .rfind(|(name, _)| digest_or_image_match(name, id))
            .map(|(_, image)| image.clone())
            .ok_or_else(|| ApiError::NotFound(target(call.def, call.name)))?;
        let isimage = json!({
            "kind": "ImageStreamImage",
            "apiVersion": "image.openshift.io/v1",
            "metadata": {
                "name": call.name,
                "namespace": ns,
                "creationTimestamp": image["metadata"]["creationTimestamp"],
                "annotations": stream["metadata"]["annotations"],
            },
            "image": lookup::shown_image(image),
        });
        Ok(call.out.object(call.def, isimage))
    }
}
