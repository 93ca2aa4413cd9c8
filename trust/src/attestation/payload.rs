//! The payload an attestation signs: the simple-signing JSON of Binary Authorization
//! (`gcloud container binauthz create-signature-payload`), naming the image's repository and
//! manifest digest. The signature covers the payload's bytes as serialized.

use serde_json::{Value, json};

use crate::name::ImageName;

/// The claim type of attestation payloads.
pub const PAYLOAD_TYPE: &str = "Google cloud binauthz container signature";
/// A payload larger than this is refused (real ones are about 300 bytes).
pub const MAX_PAYLOAD_BYTES: usize = 16 << 10;

/// What a payload claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// `critical.identity.docker-reference`: the image's repository.
    pub docker_reference: String,
    /// `critical.image.docker-manifest-digest`.
    pub manifest_digest: String,
}

/// An image referenced by digest, as an attestation's `resourceUri` names it
/// (`host/repo@sha256:…`, an `https://` prefix allowed as older attestations carry it).
pub fn parse_resource_uri(uri: &str) -> Result<ImageName, String> {
    let bare = uri.strip_prefix("https://").unwrap_or(uri);
    let name = ImageName::parse_reference(bare)?;
    if name.digest.is_none() {
        return Err("must reference the image by digest (host/repository@sha256:<hex>)".into());
    }
    Ok(name)
}

/// The payload of an image referenced by digest, pretty-printed as gcloud writes it.
pub fn create(artifact_url: &str) -> Result<String, String> {
    let name = parse_resource_uri(artifact_url)?;
    let doc = json!({"critical": {
        "identity": {"docker-reference": name.repository()},
        "image": {"docker-manifest-digest": name.digest.unwrap_or_default()},
        "type": PAYLOAD_TYPE,
    }});
    serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())
}

/// Reads a payload: a JSON object whose `critical` holds the identity, the digest and the
/// type (other members, such as `optional`, are allowed).
pub fn parse(data: &[u8]) -> Result<Payload, String> {
    if data.len() > MAX_PAYLOAD_BYTES {
        return Err(format!("larger than {MAX_PAYLOAD_BYTES} bytes"));
    }
    let doc: Value = serde_json::from_slice(data).map_err(|e| format!("not JSON: {e}"))?;
    let critical = &doc["critical"];
    if !critical.is_object() {
        return Err("it has no object \"critical\"".into());
    }
    let text = |v: &Value, what: &str| {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("{what} is not a string"))
    };
    let kind = text(&critical["type"], "critical.type")?;
    if kind != PAYLOAD_TYPE {
        return Err(format!("critical.type is {kind:?}, not {PAYLOAD_TYPE:?}"));
    }
    Ok(Payload {
        docker_reference: text(
            &critical["identity"]["docker-reference"],
            "critical.identity.docker-reference",
        )?,
        manifest_digest: text(
            &critical["image"]["docker-manifest-digest"],
            "critical.image.docker-manifest-digest",
        )?,
    })
}

impl Payload {
    /// Whether the payload is about `image` (same repository, normalized, and digest).
    pub fn check(&self, image: &ImageName) -> Result<(), String> {
        let reference = ImageName::parse_reference(&self.docker_reference)
            .map(|r| r.repository())
            .unwrap_or_else(|_| self.docker_reference.clone());
        if reference != image.repository() {
            return Err(format!(
                "the payload names the repository {:?}, not {:?}",
                self.docker_reference,
                image.repository()
            ));
        }
        if image.digest.as_deref() != Some(self.manifest_digest.as_str()) {
            return Err(format!(
                "the payload names the digest {:?}, not {:?}",
                self.manifest_digest,
                image.digest.as_deref().unwrap_or_default()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:c62ead5b8c15c231f9e786250b07909daf6c266d0fcddd93fea882eb722c3be4";

    #[test]
    fn a_created_payload_reads_back_and_matches_its_image() {
        let url = format!("registry.example.com:5000/shop/app@{DIGEST}");
        let text = create(&url).unwrap();
        assert!(text.contains("\"docker-reference\": \"registry.example.com:5000/shop/app\""));
        let payload = parse(text.as_bytes()).unwrap();
        assert_eq!(payload.manifest_digest, DIGEST);
        let image = parse_resource_uri(&format!("https://{url}")).unwrap();
        assert_eq!(payload.check(&image), Ok(()));
        let other =
            parse_resource_uri(&format!("registry.example.com:5000/shop/other@{DIGEST}")).unwrap();
        assert!(payload.check(&other).unwrap_err().contains("repository"));
    }

    #[test]
    fn tags_and_bad_payloads_are_refused() {
        assert!(
            create("quay.io/team/app:v1")
                .unwrap_err()
                .contains("by digest")
        );
        for bad in [
            &b"nope"[..],
            b"{}",
            b"{\"critical\":{\"type\":\"atomic container signature\"}}",
            b"{\"critical\":{\"type\":\"Google cloud binauthz container signature\",\"image\":{}}}",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert!(parse(&vec![b' '; MAX_PAYLOAD_BYTES + 1]).is_err());
    }
}
