//! The signatures of an image of a stream, read with the registry's own right as OpenShift's
//! registry reads them (through `imagestreamimages`, with its service account) once its caller
//! was allowed to pull from the stream: a puller need not be able to read Images.

use serde_json::Value;

use crate::ApiServer;
use crate::registry::image::{layers, tag_sources};

/// The `signatures` of the Image `digest` when the stream `ns/stream` holds it (in its history
/// or as a child of a manifest list there); `None` when either is unknown.
pub async fn stream_image_signatures(
    server: &ApiServer,
    ns: &str,
    stream: &str,
    digest: &str,
) -> Result<Option<Vec<Value>>, String> {
    let Some(stream) = tag_sources::fetch_stream(server, ns, stream)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let (_, found) = layers::layers_of(server, &stream)
        .await
        .map_err(|e| e.to_string())?;
    Ok(found
        .get(digest)
        .map(|image| image["signatures"].as_array().cloned().unwrap_or_default()))
}
