//! The signature extension's paths: `/extensions/v2/<namespace>/<stream>/signatures/<digest>`.
//! The integrated registry serves `<namespace>/<stream>` repositories only.

use super::errors::{DIGEST_INVALID, NAME_INVALID, RegistryError};

pub(super) const PREFIX: &str = "/extensions/v2/";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SignaturesPath {
    pub namespace: String,
    pub stream: String,
    pub digest: String,
}

impl SignaturesPath {
    /// `<namespace>/<stream>`, as tokens name the repository.
    pub(super) fn repository(&self) -> String {
        format!("{}/{}", self.namespace, self.stream)
    }

    /// The image's reference, as upstream's messages name it.
    pub(super) fn reference(&self) -> String {
        format!("{}/{}@{}", self.namespace, self.stream, self.digest)
    }
}

/// `None` when `path` is no signatures path at all (not found); the registry's error when its
/// repository name or digest is malformed.
pub(super) fn parse(path: &str) -> Option<Result<SignaturesPath, RegistryError>> {
    let rest = path.strip_prefix(PREFIX)?;
    let (name, digest) = rest.rsplit_once("/signatures/")?;
    Some(parse_parts(name, digest))
}

fn parse_parts(name: &str, digest: &str) -> Result<SignaturesPath, RegistryError> {
    let parts: Vec<&str> = name.split('/').collect();
    let [namespace, stream] = parts[..] else {
        return Err(NAME_INVALID.with_detail(format!(
            "{name:?}: the integrated registry's repositories are <namespace>/<name>"
        )));
    };
    if !component(namespace) || !component(stream) {
        return Err(NAME_INVALID.with_detail(format!("invalid repository name {name:?}")));
    }
    if !is_digest(digest) {
        return Err(DIGEST_INVALID.with_detail(format!("invalid digest {digest:?}")));
    }
    Ok(SignaturesPath {
        namespace: namespace.into(),
        stream: stream.into(),
        digest: digest.into(),
    })
}

/// A path component of distribution's grammar: lower-case alphanumerics, joined by one `.`,
/// one or two `_`, or any number of `-`.
fn component(s: &str) -> bool {
    let bytes = s.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &s[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `<algorithm>:<hex>` as distribution's digests: an algorithm of letters and digits (parts
/// joined by `-_+.`) and at least 32 hexadecimal digits.
fn is_digest(s: &str) -> bool {
    let Some((algorithm, hex)) = s.split_once(':') else {
        return false;
    };
    let algorithm_ok = algorithm.split(['-', '_', '+', '.']).all(|part| {
        part.as_bytes()
            .first()
            .is_some_and(|b| b.is_ascii_alphabetic())
            && part.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    algorithm_ok && hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::front::errors;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_namespace_stream_and_digest() {
        let p = parse(&format!("/extensions/v2/shop/web/signatures/{DIGEST}"))
            .unwrap()
            .unwrap();
        assert_eq!(p.namespace, "shop");
        assert_eq!(p.stream, "web");
        assert_eq!(p.digest, DIGEST);
        assert_eq!(p.repository(), "shop/web");
        assert_eq!(p.reference(), format!("shop/web@{DIGEST}"));
        // A stream may be called `signatures`.
        let p = parse(&format!(
            "/extensions/v2/shop/signatures/signatures/{DIGEST}"
        ))
        .unwrap()
        .unwrap();
        assert_eq!(p.stream, "signatures");
        let p = parse(&format!("/extensions/v2/my-ns/a.b__c/signatures/{DIGEST}"))
            .unwrap()
            .unwrap();
        assert_eq!(p.stream, "a.b__c");
    }

    #[test]
    fn other_paths_are_not_signatures() {
        assert_eq!(parse("/v2/shop/web/manifests/latest"), None);
        assert_eq!(parse("/extensions/v2/shop/web/tags"), None);
        assert_eq!(parse("/extensions/v2/"), None);
    }

    #[test]
    fn malformed_names_and_digests_are_the_registrys_errors() {
        let code = |path: &str| parse(path).unwrap().unwrap_err().code;
        assert_eq!(
            code(&format!("/extensions/v2/web/signatures/{DIGEST}")),
            errors::NAME_INVALID
        );
        assert_eq!(
            code(&format!("/extensions/v2/a/b/c/signatures/{DIGEST}")),
            errors::NAME_INVALID
        );
        assert_eq!(
            code(&format!("/extensions/v2/Shop/web/signatures/{DIGEST}")),
            errors::NAME_INVALID
        );
        assert_eq!(
            code(&format!("/extensions/v2/shop/web-/signatures/{DIGEST}")),
            errors::NAME_INVALID
        );
        assert_eq!(
            code(&format!("/extensions/v2/shop/a..b/signatures/{DIGEST}")),
            errors::NAME_INVALID
        );
        assert_eq!(
            code(&format!("/extensions/v2/shop//signatures/{DIGEST}")),
            errors::NAME_INVALID
        );
        assert_eq!(
            code("/extensions/v2/shop/web/signatures/latest"),
            errors::DIGEST_INVALID
        );
        assert_eq!(
            code("/extensions/v2/shop/web/signatures/sha256:abc"),
            errors::DIGEST_INVALID
        );
        assert_eq!(
            code("/extensions/v2/shop/web/signatures/sha256:0123456789abcdef0123456789abcdefXX"),
            errors::DIGEST_INVALID
        );
        assert_eq!(
            code("/extensions/v2/shop/web/signatures/"),
            errors::DIGEST_INVALID
        );
    }
}
