//! image.openshift.io as openshift-apiserver serves it: image streams (`stream`: strategy,
//! `tag_sources`: spec tags into history, `validation`, `allowlist`), images (`image_strategy`), and
//! the virtual resources over them — ImageStreamMappings (`mapping`, also the in-process way
//! the integrated registry records a push), ImageStreamTags (`stream_tags`), ImageTags
//! (`image_tags`), ImageStreamImages (`stream_images`), ImageStreamImports (`import/`) — and
//! the `secrets` and `layers` subresources. `streams` holds the API's own stream writes;
//! `config` the cluster image configuration it reads.

pub mod access;
pub mod allowlist;
pub mod config;
pub mod image_strategy;
pub mod image_tags;
pub mod import;
pub mod layers;
pub mod lookup;
pub mod mapping;
pub mod names;
pub mod secrets;
pub mod signatures;
pub mod stream;
pub mod stream_images;
pub mod stream_tags;
pub mod streams;
pub mod tag_sources;
pub mod validation;

pub use image_strategy::Images;
pub use mapping::{ImageStreamMappings, map_image};
pub use stream::ImageStreams;

use api::scheme::ResourceDef;

use crate::ApiServer;
use crate::error::ApiError;

/// The scheme's entry of an image.openshift.io resource.
pub fn def<'a>(server: &'a ApiServer, plural: &str) -> Result<&'a ResourceDef, ApiError> {
    server
        .scheme
        .lookup("image.openshift.io", "v1", plural)
        .ok_or_else(|| ApiError::Internal(format!("the scheme has no {plural}")))
}

/// The scheme's entry of image streams.
pub fn stream_def(server: &ApiServer) -> Result<&ResourceDef, ApiError> {
    def(server, "imagestreams")
}

#[cfg(test)]
mod tests;
