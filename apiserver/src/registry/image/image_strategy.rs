//! The Image strategy (cluster-scoped; RBAC leaves its writes to privileged users): metadata
//! derived from the manifest and config on create, the manifest kept out of storage when the
//! registry holds it, and the derived fields immutable afterwards.

use async_trait::async_trait;
use images::DockerImageReference;
use serde_json::Value;

use crate::error::ApiError;
use crate::registry::strategy::{Strategy, Writer};
use crate::registry::validation::{Bad, FieldErrors};

pub struct Images;

const MANIFEST_BLOB_STORED: &str = "image.openshift.io/manifestBlobStored";
const IMMUTABLE: &[&str] = &[
    "dockerImageMetadata",
    "dockerImageMetadataVersion",
    "dockerImageLayers",
    "signatures",
];

/// Metadata filled in from the manifest; the manifest and config dropped when the registry
/// stores them. A manifest that does not parse leaves the image as sent.
pub fn with_metadata(obj: &mut Value) {
    let _ = images::metadata::image_with_metadata(obj);
    if obj["metadata"]["annotations"][MANIFEST_BLOB_STORED] == "true"
        && let Some(map) = obj.as_object_mut()
    {
        map.remove("dockerImageManifest");
        map.remove("dockerImageConfig");
    }
}

/// `dockerImageReference` must be there and parse.
pub fn validate_reference(path: &str, obj: &Value, errors: &mut FieldErrors) {
    match obj["dockerImageReference"].as_str().unwrap_or_default() {
        "" => errors.required(path, ""),
        r => {
            if let Err(e) = DockerImageReference::parse(r) {
                errors.invalid(path, Bad::Str(r), &e.to_string());
            }
        }
    }
}

#[async_trait]
impl Strategy for Images {
    fn prepare_create(&self, obj: &mut Value) {
        with_metadata(obj);
    }

    fn validate(
        &self,
        _def: &api::scheme::ResourceDef,
        obj: &Value,
        _old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        validate_reference("dockerImageReference", obj, errors);
    }

    async fn resolve(
        &self,
        _writer: &Writer<'_>,
        obj: &mut Value,
        old: Option<&Value>,
    ) -> Result<(), ApiError> {
        let Some(old) = old else {
            return Ok(());
        };
        for field in IMMUTABLE {
            match old.get(*field) {
                Some(v) => obj[*field] = v.clone(),
                None => drop(obj.as_object_mut().map(|m| m.remove(*field))),
            }
        }
        // A new manifest is taken only if it is the one the image's name is the digest of.
        let manifest = obj["dockerImageManifest"].as_str().unwrap_or_default();
        if !manifest.is_empty()
            && old["dockerImageManifest"] != obj["dockerImageManifest"]
            && images::digest::sha256(manifest.as_bytes())
                != obj["metadata"]["name"].as_str().unwrap_or_default()
        {
            obj["dockerImageManifest"] = old["dockerImageManifest"].clone();
        }
        Ok(())
    }
}
