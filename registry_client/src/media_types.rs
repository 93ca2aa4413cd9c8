//! The manifest media types, and the `Accept` list sent for manifests (what docker/distribution's
//! client sends, so registries answer with the newest form they hold).

pub const DOCKER_SCHEMA2: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

/// Sent as one `Accept` header each, in this order.
pub const MANIFEST_ACCEPT: [&str; 6] = [
    DOCKER_SCHEMA2,
    DOCKER_MANIFEST_LIST,
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_SCHEMA1_SIGNED,
    DOCKER_SCHEMA1,
];

/// Whether a manifest of this type lists other manifests.
pub fn is_list(media_type: &str) -> bool {
    media_type == DOCKER_MANIFEST_LIST || media_type == OCI_INDEX
}

/// The media type of a manifest whose `Content-Type` said nothing useful: its own `mediaType`
/// field, or schema 1 when it says `schemaVersion: 1`, or an OCI manifest/index by its shape.
pub fn sniff(bytes: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    if let Some(mt) = value.get("mediaType").and_then(|m| m.as_str()) {
        return Some(mt.to_string());
    }
    match value.get("schemaVersion").and_then(|v| v.as_u64()) {
        Some(1) if value.get("signatures").is_some() => Some(DOCKER_SCHEMA1_SIGNED.into()),
        Some(1) => Some(DOCKER_SCHEMA1.into()),
        Some(2) if value.get("manifests").is_some() => Some(OCI_INDEX.into()),
        Some(2) if value.get("config").is_some() => Some(OCI_MANIFEST.into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_the_type_of_untyped_manifests() {
        assert_eq!(
            sniff(br#"{"schemaVersion":2,"mediaType":"x/y"}"#).as_deref(),
            Some("x/y")
        );
        assert_eq!(
            sniff(br#"{"schemaVersion":2,"config":{},"layers":[]}"#).as_deref(),
            Some(OCI_MANIFEST)
        );
        assert_eq!(
            sniff(br#"{"schemaVersion":2,"manifests":[]}"#).as_deref(),
            Some(OCI_INDEX)
        );
        assert_eq!(
            sniff(br#"{"schemaVersion":1,"signatures":[]}"#).as_deref(),
            Some(DOCKER_SCHEMA1_SIGNED)
        );
        assert_eq!(sniff(b"not json"), None);
    }
}
