//! The workload kinds that keep replicas of a pod template (deployments, replica sets,
//! stateful sets, daemon sets, and the core group's replication controllers): their
//! template's defaults, and upstream's replica, selector and restart-policy rules. Stateful
//! and daemon sets' own defaults and rules are in `sets.rs`; controller revisions' rules in
//! `revisions.rs`.

mod revisions;
mod sets;

use api::scheme::ResourceDef;
use serde_json::Value;

use crate::registry::core::defaults;
use crate::registry::strategy::Strategy;
use crate::registry::validation::{FieldErrors, workloads};

pub use revisions::ControllerRevisions;
pub use sets::{DaemonSets, StatefulSets};

/// A kind that keeps replicas of its template; deployments also get their rollout defaults.
pub struct Replicated {
    pub deployment: bool,
}

impl Strategy for Replicated {
    fn prepare(&self, obj: &mut Value) {
        if self.deployment {
            defaults::deployment_defaults(obj.pointer_mut("/spec"));
        }
        defaults::pod_spec_defaults(obj.pointer_mut("/spec/template/spec"), true);
    }

    fn validate(
        &self,
        def: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        workloads::replicated(def, obj, old, errors);
    }
}

pub const DEPLOYMENTS: Replicated = Replicated { deployment: true };
pub const REPLICATED: Replicated = Replicated { deployment: false };
