//! Content digests (`sha256:<hex>`) and their verification.

use sha2::{Digest, Sha256};

use crate::RegistryError;

/// `sha256:<lower-case hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in hash {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Whether a reference names content by digest rather than by tag.
pub(crate) fn is_digest(reference: &str) -> bool {
    reference.contains(':')
}

/// Checks `bytes` against `expected` (a digest); only sha256 can be verified, other
/// algorithms are refused rather than trusted.
pub(crate) fn verify(expected: &str, bytes: &[u8]) -> Result<String, RegistryError> {
    let actual = sha256_digest(bytes);
    if !expected.starts_with("sha256:") {
        return Err(RegistryError::protocol(format!(
            "unsupported digest algorithm in {expected:?}"
        )));
    }
    if !expected.eq_ignore_ascii_case(&actual) {
        return Err(RegistryError::DigestMismatch {
            expected: expected.to_string(),
            actual,
        });
    }
    Ok(actual)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_verifies() {
        let empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(sha256_digest(b""), empty);
        assert_eq!(verify(empty, b"").as_deref(), Ok(empty));
        assert!(matches!(
            verify(empty, b"x"),
            Err(RegistryError::DigestMismatch { .. })
        ));
        assert!(matches!(
            verify("sha512:00", b""),
            Err(RegistryError::Protocol { .. })
        ));
    }
}
