//! Content digests (`sha256:<64 hex>`) as the distribution API and image names use them.

use sha2::{Digest as _, Sha256};

/// Whether `s` is a digest: `<algorithm>:<hex>` with a known algorithm and its hex length.
pub fn is_digest(s: &str) -> bool {
    let Some((algorithm, hex)) = s.split_once(':') else {
        return false;
    };
    let len = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return false,
    };
    hex.len() == len
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The `sha256:` digest of `content`.
pub fn sha256(content: &[u8]) -> String {
    let hash = Sha256::digest(content);
    let mut out = String::with_capacity(71);
    out.push_str("sha256:");
    for b in hash {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Whether the image `image` is what `id` names: `id` is a prefix of the image's name, or of
/// the hex part of its digest (upstream's `DigestOrImageMatch`).
pub fn digest_or_image_match(image: &str, id: &str) -> bool {
    if image.starts_with(id) {
        return true;
    }
    match image.split_once(':') {
        Some((_, hex)) if is_digest(image) => hex.starts_with(id),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_recognised_by_algorithm_and_length() {
        let d = sha256(b"");
        assert_eq!(
            d,
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(is_digest(&d));
        assert!(!is_digest("sha256:abc"));
        assert!(!is_digest("md5:e3b0c44298fc1c149afbf4c8996fb924"));
        assert!(!is_digest("latest"));
    }

    #[test]
    fn images_match_by_name_or_hex_prefix() {
        let d = sha256(b"x");
        assert!(digest_or_image_match(&d, "sha256:"));
        assert!(digest_or_image_match(&d, &d[7..14]));
        assert!(!digest_or_image_match(&d, "ffff0000"));
    }
}
