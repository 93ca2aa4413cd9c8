//! Jobs and cron jobs: their pods' defaults (no default restart policy: it must be chosen) and
//! upstream's job rules.

use api::scheme::ResourceDef;
use serde_json::Value;

use crate::registry::core::defaults;
use crate::registry::strategy::Strategy;
use crate::registry::validation::{FieldErrors, workloads};

pub struct Jobs;

impl Strategy for Jobs {
    fn prepare(&self, obj: &mut Value) {
        defaults::pod_spec_defaults(obj.pointer_mut("/spec/template/spec"), false);
    }

    fn validate(
        &self,
        _: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        workloads::job(obj, old, errors);
    }
}

pub struct CronJobs;

impl Strategy for CronJobs {
    fn prepare(&self, obj: &mut Value) {
        defaults::pod_spec_defaults(
            obj.pointer_mut("/spec/jobTemplate/spec/template/spec"),
            false,
        );
    }
}
