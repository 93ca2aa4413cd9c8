//! template.openshift.io: templates (stored, their parameters checked), processed templates
//! (a Template in, the same Template processed out, nothing stored), template instances
//! (stored, the requester filled from the caller, the spec fixed once created) and broker
//! template instances (stored, their references checked). Processing itself is the
//! `templates` crate's.

mod instances;
mod processed;
pub mod seeds;

pub use instances::{BrokerTemplateInstances, TemplateInstances, WithRequester};
pub use processed::ProcessedTemplates;

use api::scheme::ResourceDef;
use serde_json::Value;

use crate::registry::strategy::Strategy;
use crate::registry::validation::{Bad, FieldErrors};

/// The crate's field errors in the registry's words, under `prefix`.
fn add_errors(errors: &mut FieldErrors, found: Vec<templates::FieldError>, prefix: &str) {
    for e in found {
        match e {
            templates::FieldError::Required { field, detail } => {
                errors.required(&format!("{prefix}{field}"), &detail)
            }
            templates::FieldError::Invalid {
                field,
                value,
                detail,
            } => errors.invalid(&format!("{prefix}{field}"), Bad::Go(value), &detail),
        }
    }
}

pub struct Templates;

impl Strategy for Templates {
    fn validate(
        &self,
        _def: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        // Upstream checks only the metadata of an update.
        if old.is_none() {
            add_errors(errors, templates::validate_parameters(obj), "");
        }
    }
}
