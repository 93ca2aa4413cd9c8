//! apps.openshift.io: DeploymentConfigs. The strategy (upstream's defaults in `defaults.rs`,
//! its rules in `validation.rs`, the status kept from clients except a `latestVersion` moved
//! on by one), and the subresources with handlers of their own: `instantiate` (a new
//! deployment on request), `rollback` (a config that rolls back to an earlier deployment) and
//! `log` (the deployer's log). Image stream tags are resolved in `tags.rs`.

mod defaults;
pub mod instantiate;
pub mod log;
pub mod rollback;
pub(crate) mod tags;
mod validation;

use api::scheme::ResourceDef;
use serde_json::{Value, json};

use crate::registry::core::defaults as core_defaults;
use crate::registry::strategy::Strategy;
use crate::registry::validation::FieldErrors;

/// The annotations and labels deployments carry (upstream's appsutil constants).
pub mod keys {
    pub const ENCODED_CONFIG: &str = "openshift.io/encoded-deployment-config";
    pub const PHASE: &str = "openshift.io/deployment.phase";
    /// The deployer's log, kept on the replication controller it deploys.
    pub const DEPLOYER_LOG: &str = "deploy.oxshift.io/log";
}

pub struct DeploymentConfigs;

#[async_trait::async_trait]
impl Strategy for DeploymentConfigs {
    fn prepare(&self, obj: &mut Value) {
        defaults::apply(obj);
        core_defaults::pod_spec_defaults(obj.pointer_mut("/spec/template/spec"), true);
    }

    fn prepare_create(&self, obj: &mut Value) {
        self.prepare(obj);
        defaults::on_create(obj);
    }

    fn checks_pod_spec(&self) -> bool {
        true
    }

    /// Old clients (and `oc rollout undo`'s generated config) start a deployment by writing
    /// the next `latestVersion` with the spec: that one step is taken.
    fn accept_status(&self, next: &mut Value, requested: &Value) {
        let current = next["status"]["latestVersion"].as_i64().unwrap_or(0);
        if requested["latestVersion"].as_i64() == Some(current + 1) {
            if !next["status"].is_object() {
                next["status"] = json!({});
            }
            next["status"]["latestVersion"] = json!(current + 1);
        }
    }

    fn validate(
        &self,
        _def: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        validation::spec(obj, errors);
        validation::status(obj, old, errors);
    }

    /// A status write is judged as upstream's status strategy judges it: a writer that read
    /// the config before `instantiate` moved `latestVersion` on cannot move it back.
    async fn assign_status(
        &self,
        _server: &crate::ApiServer,
        def: &ResourceDef,
        obj: &mut Value,
        old: &Value,
    ) -> Result<(), crate::error::ApiError> {
        let mut errors = FieldErrors::default();
        validation::status(obj, Some(old), &mut errors);
        errors.into_result(def, obj)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_may_move_latest_version_on_by_one_only() {
        let stored = json!({"status": {"latestVersion": 2}});
        let mut next = stored.clone();
        DeploymentConfigs.accept_status(&mut next, &json!({"latestVersion": 3}));
        assert_eq!(next["status"]["latestVersion"], 3);
        let mut next = stored.clone();
        DeploymentConfigs.accept_status(&mut next, &json!({"latestVersion": 7}));
        assert_eq!(next["status"]["latestVersion"], 2);
    }

    #[test]
    fn a_new_config_starts_with_every_count_and_no_triggered_image() {
        let mut dc = json!({"metadata": {"name": "web", "namespace": "p"}, "status": {"latestVersion": 9},
            "spec": {"triggers": [{"type": "ImageChange", "imageChangeParams": {
                "lastTriggeredImage": "x", "from": {"name": "web:latest"}}}]}});
        DeploymentConfigs.prepare_create(&mut dc);
        assert_eq!(dc["status"]["latestVersion"], 0);
        assert_eq!(dc["status"]["updatedReplicas"], 0);
        assert_eq!(
            dc["spec"]["triggers"][0]["imageChangeParams"]["lastTriggeredImage"],
            ""
        );
    }
}
