//! Image trust without I/O: the cluster's trust policy in the containers-policy.json model
//! (`policy`: parsing and validation with field paths, scopes, `keyRef`s), image names as the
//! docker transport normalizes them and their scopes (`name`), `signedIdentity` rules
//! (`identity`), GPG keyrings (`keyring`), simple signing signatures verified with OpenPGP
//! (`simple_signing`) by keys still valid (`validity`: revocation and expiry), the verdict on
//! one image (`verdict`) and the policy rendered as the nodes' policy.json (`render`);
//! deploy-by-digest attestations and their policy (`attestation`).

pub mod attestation;
pub mod identity;
pub mod keyring;
pub mod name;
pub mod policy;
pub mod render;
pub mod simple_signing;
pub mod validity;
pub mod verdict;

pub use keyring::Keyring;
pub use name::ImageName;
pub use policy::{Problem, Requirement, TrustPolicy};
pub use verdict::evaluate;
