//! Deploy-by-digest attestations, the Binary Authorization model: the signed payload naming
//! an image by digest (`payload`), attestors' public keys and the signatures they verify
//! (`keys`, `attestor`), attestations binding a digest to signatures (`record`) and the
//! admission policy's rules and exempt patterns (`policy`).

pub mod attestor;
pub mod keys;
pub mod payload;
pub mod policy;
pub mod record;
pub mod sign;

pub use policy::{AdmissionPolicy, Evaluation, Rule};
pub use record::{Attestation, Verdict};
