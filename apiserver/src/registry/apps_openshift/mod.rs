//! apps.openshift.io: deployment configs' pod template defaults.

use serde_json::Value;

use crate::registry::core::defaults;
use crate::registry::strategy::Strategy;

pub struct DeploymentConfigs;

impl Strategy for DeploymentConfigs {
    fn prepare(&self, obj: &mut Value) {
        defaults::pod_spec_defaults(obj.pointer_mut("/spec/template/spec"), true);
    }
}
