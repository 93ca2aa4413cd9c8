//! The policy's verdict on one image: every requirement of its scope must hold (containers/
//! image's `IsRunningImageAllowed`), with containers/image's reasons when one does not.

use crate::name::ImageName;
use crate::policy::{Requirement, SignedBy};
use crate::simple_signing;

/// Judges `image` (as the workload names it) whose manifest digest is `digest` (None when it
/// could not be resolved) and whose signatures are `signatures`, at `now` (seconds since the
/// epoch: what keys are still valid).
pub fn evaluate(
    requirements: &[Requirement],
    image: &ImageName,
    digest: Option<&str>,
    signatures: &[Vec<u8>],
    now: i64,
) -> Result<(), String> {
    for requirement in requirements {
        match requirement {
            Requirement::InsecureAcceptAnything => {}
            Requirement::Reject => {
                return Err(format!(
                    "Running image {} is rejected by policy.",
                    image.full()
                ));
            }
            Requirement::SignedBy(s) => signed_by(s, image, digest, signatures, now)?,
        }
    }
    Ok(())
}

/// Whether any signature satisfies `requirement`; else the reasons, one per kind.
fn signed_by(
    requirement: &SignedBy,
    image: &ImageName,
    digest: Option<&str>,
    signatures: &[Vec<u8>],
    now: i64,
) -> Result<(), String> {
    let keyring = requirement.keyring.as_ref().map_err(Clone::clone)?;
    let Some(digest) = digest else {
        return Err(format!(
            "the digest of {} is not known, so its signatures cannot be checked",
            image.full()
        ));
    };
    if signatures.is_empty() {
        return Err("A signature was required, but no signature exists".into());
    }
    let mut reasons: Vec<String> = Vec::new();
    for blob in signatures {
        let reason = match simple_signing::verify(blob, keyring, now) {
            Err(e) => e.to_string(),
            Ok(v) if v.claim.manifest_digest != digest => format!(
                "Signature for docker digest {:?} does not match the image's digest {digest:?}",
                v.claim.manifest_digest
            ),
            Ok(v) => match ImageName::parse_reference(&v.claim.docker_reference) {
                Err(e) => format!("Invalid signed identity: {e}"),
                Ok(signed) if requirement.identity.accepts(image, &signed) => return Ok(()),
                Ok(_) => format!(
                    "Signature for identity {:?} is not accepted",
                    v.claim.docker_reference
                ),
            },
        };
        if !reasons.contains(&reason) {
            reasons.push(reason);
        }
    }
    Err(reasons.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::TrustPolicy;
    use base64::Engine;
    use serde_json::json;

    const DIGEST: &str = "sha256:f20c43161d73848408ef247f0ec7111b19fe58ffebc0cbcaa0d2c8bda4967268";

    fn policy() -> TrustPolicy {
        let key =
            base64::engine::general_purpose::STANDARD.encode(include_bytes!("testdata/signer.gpg"));
        TrustPolicy::parse(&json!({
            "default": [{"type": "reject"}],
            "transports": {"docker": {"registry.example.com/team": [
                {"type": "signedBy", "keyType": "GPGKeys", "keyData": key}]}},
        }))
        .unwrap()
    }

    fn judge(spec: &str, digest: Option<&str>, sigs: &[&[u8]]) -> Result<(), String> {
        let policy = policy();
        let image = ImageName::parse(spec).unwrap();
        let sigs: Vec<Vec<u8>> = sigs.iter().map(|s| s.to_vec()).collect();
        evaluate(
            policy.requirements_for(&image).1,
            &image,
            digest,
            &sigs,
            1_796_083_200,
        )
    }

    #[test]
    fn signed_images_are_admitted_and_others_are_not() {
        let rsa: &[u8] = include_bytes!("testdata/rsa.sig");
        let other: &[u8] = include_bytes!("testdata/other.sig");
        assert_eq!(
            judge("registry.example.com/team/app:v1", Some(DIGEST), &[rsa]),
            Ok(())
        );
        assert_eq!(
            judge(
                &format!("registry.example.com/team/app@{DIGEST}"),
                Some(DIGEST),
                &[other, rsa]
            ),
            Ok(())
        );
        assert_eq!(
            judge("registry.example.com/team/app:v2", Some(DIGEST), &[rsa]),
            Err(
                "Signature for identity \"registry.example.com/team/app:v1\" is not accepted"
                    .into()
            )
        );
        assert_eq!(
            judge("registry.example.com/team/app:v1", Some(DIGEST), &[]),
            Err("A signature was required, but no signature exists".into())
        );
        let wrong = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        assert!(
            judge("registry.example.com/team/app:v1", Some(wrong), &[rsa])
                .unwrap_err()
                .starts_with("Signature for docker digest")
        );
        assert!(
            judge("registry.example.com/team/app:v1", Some(DIGEST), &[other])
                .unwrap_err()
                .contains("74E3F97D53A461E592267F34454EF2AF82496B40")
        );
        assert!(
            judge("registry.example.com/team/app:v1", None, &[rsa])
                .unwrap_err()
                .contains("digest")
        );
        assert_eq!(
            judge("elsewhere.io/x:y", Some(DIGEST), &[rsa]),
            Err("Running image elsewhere.io/x:y is rejected by policy.".into())
        );
    }
}
