//! `binaryauthorization.oxshift.io`: deploy-by-digest attestations. `Attestor`s (cluster)
//! hold public keys, `Attestation`s (namespaced) bind an image digest to an attestor's
//! signature, `Policy cluster` says which namespaces require attestations (the model is the
//! `trust` crate's `attestation`). Each is validated here, every problem with its path; the
//! admission plugin that enforces them is `admission::binary_authorization`.

use api::scheme::ResourceDef;
use async_trait::async_trait;
use serde_json::Value;

use crate::registry::config_oxshift::report;
use crate::registry::strategy::Strategy;
use crate::registry::validation::{Bad, FieldErrors};
use trust::attestation::{AdmissionPolicy, attestor, record};

/// The one policy read; other names are refused.
pub const POLICY_NAME: &str = "cluster";

/// The strategies of the group's kinds, by plural.
pub const STRATEGIES: &[(&str, &'static dyn Strategy)] = &[
    ("attestors", &Attestors),
    ("attestations", &Attestations),
    ("policies", &Policies),
];

pub struct Attestors;
pub struct Attestations;
pub struct Policies;

#[async_trait]
impl Strategy for Attestors {
    fn validate(&self, _: &ResourceDef, obj: &Value, _: Option<&Value>, errors: &mut FieldErrors) {
        if let Err(problems) = attestor::parse(&obj["spec"]) {
            problems.into_iter().for_each(|p| report(p, errors));
        }
    }
}

#[async_trait]
impl Strategy for Attestations {
    fn validate(&self, _: &ResourceDef, obj: &Value, _: Option<&Value>, errors: &mut FieldErrors) {
        if let Err(problems) = record::parse(&obj["spec"]) {
            problems.into_iter().for_each(|p| report(p, errors));
        }
    }
}

#[async_trait]
impl Strategy for Policies {
    fn validate(&self, _: &ResourceDef, obj: &Value, _: Option<&Value>, errors: &mut FieldErrors) {
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        if name != POLICY_NAME {
            errors.invalid(
                "metadata.name",
                Bad::Str(name),
                "must be cluster: only the policy named cluster is enforced",
            );
        }
        if let Err(problems) = AdmissionPolicy::parse(&obj["spec"]) {
            problems.into_iter().for_each(|p| report(p, errors));
        }
    }
}

#[cfg(test)]
mod tests;
