//! `signedIdentity` of a `signedBy` requirement: which signed `docker-reference` is accepted
//! for the image being run (containers/image's policy_reference_match).

use crate::name::ImageName;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedIdentity {
    /// The signed reference is the image's, tag or digest included.
    MatchExact,
    /// By digest: the same repository; by tag: the same reference. The default.
    MatchRepoDigestOrExact,
    /// The same repository, whatever the tag.
    MatchRepository,
    /// The signed reference is this one, whatever the image's name.
    ExactReference(ImageName),
    /// The signed repository is this one.
    ExactRepository(ImageName),
    /// The image's name with `prefix` replaced by `signed_prefix`, then
    /// `MatchRepoDigestOrExact`.
    RemapIdentity {
        prefix: String,
        signed_prefix: String,
    },
}

/// The types `signedIdentity.type` may take.
pub const TYPES: &[&str] = &[
    "matchExact",
    "matchRepoDigestOrExact",
    "matchRepository",
    "exactReference",
    "exactRepository",
    "remapIdentity",
];

impl SignedIdentity {
    /// Whether a signature claiming `signed` is accepted for `image`.
    pub fn accepts(&self, image: &ImageName, signed: &ImageName) -> bool {
        match self {
            SignedIdentity::MatchExact => {
                (image.tag.is_some() || image.digest.is_some()) && image.full() == signed.full()
            }
            SignedIdentity::MatchRepoDigestOrExact => repo_digest_or_exact(image, signed),
            SignedIdentity::MatchRepository => image.repository() == signed.repository(),
            SignedIdentity::ExactReference(r) => r.full() == signed.full(),
            SignedIdentity::ExactRepository(r) => r.repository() == signed.repository(),
            SignedIdentity::RemapIdentity {
                prefix,
                signed_prefix,
            } => match remap(image, prefix, signed_prefix) {
                Some(remapped) => repo_digest_or_exact(&remapped, signed),
                None => repo_digest_or_exact(image, signed),
            },
        }
    }
}

fn repo_digest_or_exact(image: &ImageName, signed: &ImageName) -> bool {
    match image.digest {
        Some(_) => image.repository() == signed.repository(),
        None => signed.tag.is_some() && image.full() == signed.full(),
    }
}

/// `image` with `prefix` (a host, or a host and namespaces, matched at a path boundary)
/// replaced by `signed_prefix`; None when the prefix does not match.
fn remap(image: &ImageName, prefix: &str, signed_prefix: &str) -> Option<ImageName> {
    let full = image.full();
    let rest = full.strip_prefix(prefix)?;
    if !(rest.starts_with('/') || (rest.is_empty() && !prefix.contains('/'))) {
        return None;
    }
    ImageName::parse_reference(&format!("{signed_prefix}{rest}")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    fn n(s: &str) -> ImageName {
        ImageName::parse_reference(s).unwrap()
    }

    #[test]
    fn repo_digest_or_exact_is_the_default_rule() {
        let rule = SignedIdentity::MatchRepoDigestOrExact;
        let signed = n("reg.io/team/app:v1");
        assert!(rule.accepts(&n("reg.io/team/app:v1"), &signed));
        assert!(
            !rule.accepts(&n("reg.io/team/app:v2"), &signed),
            "re-tagged"
        );
        assert!(rule.accepts(&n(&format!("reg.io/team/app@{D}")), &signed));
        assert!(!rule.accepts(&n(&format!("reg.io/team/other@{D}")), &signed));
        assert!(!rule.accepts(&n("reg.io/team/app:v1"), &n("reg.io/team/app")));
    }

    #[test]
    fn the_other_rules() {
        let signed = n("reg.io/team/app:v1");
        assert!(SignedIdentity::MatchRepository.accepts(&n("reg.io/team/app:v9"), &signed));
        assert!(!SignedIdentity::MatchExact.accepts(&n(&format!("reg.io/team/app@{D}")), &signed));
        assert!(
            SignedIdentity::ExactReference(n("reg.io/team/app:v1"))
                .accepts(&n("mirror.io/x:y"), &signed)
        );
        assert!(
            SignedIdentity::ExactRepository(n("reg.io/team/app"))
                .accepts(&n("mirror.io/x:y"), &signed)
        );
        let remap = SignedIdentity::RemapIdentity {
            prefix: "mirror.io/copies".into(),
            signed_prefix: "reg.io/team".into(),
        };
        assert!(remap.accepts(&n("mirror.io/copies/app:v1"), &signed));
        assert!(!remap.accepts(&n("mirror.io/copiesx/app:v1"), &signed));
        assert!(!remap.accepts(&n("mirror.io/copies/app:v2"), &signed));
    }
}
