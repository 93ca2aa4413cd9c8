//! Quotas: ResourceQuotas' and ClusterResourceQuotas' rules (`validation.rs`), and
//! quota.openshift.io's AppliedClusterResourceQuotas (`applied.rs`), the cluster quotas that
//! select a project as its users read them.

pub mod applied;
pub mod validation;

use api::scheme::ResourceDef;
use serde_json::Value;

use crate::registry::strategy::Strategy;
use crate::registry::validation::FieldErrors;

pub use applied::AppliedClusterResourceQuotas;

pub struct ResourceQuotas;

impl Strategy for ResourceQuotas {
    fn validate(&self, _: &ResourceDef, obj: &Value, _: Option<&Value>, errors: &mut FieldErrors) {
        validation::quota_spec(&obj["spec"], "spec", errors);
    }
}

pub struct ClusterResourceQuotas;

impl Strategy for ClusterResourceQuotas {
    fn validate(&self, _: &ResourceDef, obj: &Value, _: Option<&Value>, errors: &mut FieldErrors) {
        validation::cluster_quota(obj, errors);
    }
}
