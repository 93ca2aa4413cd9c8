//! An image named by a workload, resolved to what its signatures are about: its manifest
//! digest (given; a tag of the integrated registry read from its image stream; a tag of
//! another registry read from that registry, `remote`) and the `Image` object holding its
//! ImageSignatures.

use base64::Engine;
use serde_json::Value;
use trust::ImageName;

use super::remote::{self, Puller};
use crate::ApiServer;
use crate::error::ApiError;
use crate::registry::image::config::image_config;
use crate::registry::image::{lookup, tag_sources};

/// What is known of one image.
#[derive(Debug, Default)]
pub struct Resolved {
    /// The manifest digest, when known.
    pub digest: Option<String>,
    /// Why the digest is not known.
    pub unresolved: Option<String>,
    /// The Image's resourceVersion (`-` when there is no Image).
    pub image_revision: String,
    /// The content of the Image's `atomic` signatures.
    pub signatures: Vec<Vec<u8>>,
}

/// `name` resolved; a tag of another registry is read with `puller`'s credentials.
pub async fn resolve(
    server: &ApiServer,
    name: &ImageName,
    puller: &Puller,
) -> Result<Resolved, ApiError> {
    let mut out = Resolved {
        image_revision: "-".into(),
        ..Resolved::default()
    };
    out.digest = match (&name.digest, &name.tag) {
        (Some(d), _) => Some(d.clone()),
        (None, Some(tag)) => match tagged_digest(server, name, tag, puller).await? {
            Ok(d) => Some(d),
            Err(why) => {
                out.unresolved = Some(why);
                None
            }
        },
        (None, None) => None,
    };
    let Some(digest) = &out.digest else {
        return Ok(out);
    };
    if let Some(image) = lookup::image(server, digest).await? {
        out.image_revision = crate::registry::object::meta_str(&image, "resourceVersion").into();
        out.signatures = atomic_signatures(&image);
    }
    Ok(out)
}

/// The digest a tag points to now: from its image stream for the integrated registry, else
/// from the registry itself.
async fn tagged_digest(
    server: &ApiServer,
    name: &ImageName,
    tag: &str,
    puller: &Puller,
) -> Result<Result<String, String>, ApiError> {
    let config = image_config(server).await?;
    if config.internal.as_deref() != Some(name.host.as_str()) {
        return remote::digest(server, &config, name, tag, puller).await;
    }
    let Some((ns, stream)) = name.path.split_once('/').filter(|(_, s)| !s.contains('/')) else {
        return Ok(Err(format!("{} names no image stream", name.repository())));
    };
    let Some(stream) = tag_sources::fetch_stream(server, ns, stream).await? else {
        return Ok(Err(format!(
            "the image stream {ns}/{stream} does not exist"
        )));
    };
    match images::tags::latest_tagged_image(&stream, tag)
        .and_then(|e| e["image"].as_str())
        .filter(|d| !d.is_empty())
    {
        Some(d) => Ok(Ok(d.to_string())),
        None => Ok(Err(format!(
            "the image stream tag {}:{tag} has no image",
            name.path
        ))),
    }
}

/// The decoded content of an Image's signatures of type `atomic`.
pub fn atomic_signatures(image: &Value) -> Vec<Vec<u8>> {
    image["signatures"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["type"] == "atomic")
        .filter_map(|s| s["content"].as_str())
        .filter_map(|c| base64::engine::general_purpose::STANDARD.decode(c).ok())
        .collect()
}
