//! The core group's kinds with behaviour of their own: namespaces, secrets, config maps,
//! services (with their addresses and node ports), pods and pod templates, and a service
//! account's `token` subresource; persistent volumes and their claims (`persistent_volumes/`).

pub mod binding;
pub mod defaults;
pub mod events;
pub mod eviction;
pub mod persistent_volumes;
pub mod pod_streams;
pub mod service_ips;
pub mod token_request;

use api::scheme::ResourceDef;
use async_trait::async_trait;
use serde_json::Value;

use crate::ApiServer;
use crate::error::ApiError;
use crate::registry::strategy::{Reservation, Reserved, Strategy};
use crate::registry::validation::{FieldErrors, core as rules};

/// Namespaces start `Active`, labelled with their name, with the `kubernetes` finalizer.
pub struct Namespaces;

impl Strategy for Namespaces {
    fn prepare_create(&self, obj: &mut Value) {
        defaults::namespace_defaults(obj);
    }

    fn validate(&self, _: &ResourceDef, obj: &Value, _: Option<&Value>, errors: &mut FieldErrors) {
        rules::namespace(obj, errors);
    }
}

/// Secrets fold `stringData` into `data` and are `Opaque` unless typed.
pub struct Secrets;

impl Strategy for Secrets {
    fn prepare(&self, obj: &mut Value) {
        defaults::secret_defaults(obj);
    }

    fn validate(&self, _: &ResourceDef, obj: &Value, _: Option<&Value>, errors: &mut FieldErrors) {
        rules::secret(obj, errors);
    }
}

/// Config maps: keys and size.
pub struct ConfigMaps;

impl Strategy for ConfigMaps {
    fn validate(&self, _: &ResourceDef, obj: &Value, _: Option<&Value>, errors: &mut FieldErrors) {
        rules::config_map(obj, errors);
    }
}

/// Services: upstream's defaults, and a cluster IP and node ports taken from their ranges.
pub struct Services;

#[async_trait]
impl Strategy for Services {
    fn prepare(&self, obj: &mut Value) {
        defaults::service_defaults(obj.pointer_mut("/spec"));
    }

    fn validate(&self, _: &ResourceDef, obj: &Value, _: Option<&Value>, errors: &mut FieldErrors) {
        rules::service(obj, errors);
    }

    async fn reserve(
        &self,
        server: &ApiServer,
        obj: &mut Value,
        old: Option<&Value>,
        dry_run: bool,
    ) -> Result<Reserved, ApiError> {
        let claim = service_ips::assign(server, obj, old, dry_run).await?;
        Ok(Some(Box::new(claim)))
    }

    async fn released(&self, server: &ApiServer, obj: &Value) {
        service_ips::deleted(server, obj).await;
    }
}

#[async_trait]
impl Reservation for service_ips::Claim {
    async fn keep(self: Box<Self>) {
        service_ips::Claim::keep(*self).await;
    }
}

/// Pods: their spec's defaults; new ones start `Pending`.
pub struct Pods;

impl Strategy for Pods {
    fn prepare(&self, obj: &mut Value) {
        if let Some(spec) = obj.get_mut("spec") {
            defaults::pod_spec_defaults(Some(&mut *spec), true);
            defaults::pod_defaults(Some(spec));
        }
    }

    /// A new pod is `Pending`, in the QoS class its admitted resources make.
    fn complete_create(&self, obj: &mut Value) {
        let qos = api::pod_qos::qos_class(&obj["spec"]);
        if let Some(pod) = obj.as_object_mut() {
            pod.insert(
                "status".into(),
                serde_json::json!({"phase": "Pending", "qosClass": qos}),
            );
        }
    }

    fn grace_period(&self, obj: &Value, requested: Option<i64>) -> Option<i64> {
        Some(pod_grace_period(obj, requested))
    }
}

/// Upstream's `CheckGracefulDelete` of pods: the period asked for, else the pod's
/// `terminationGracePeriodSeconds`; none (0) for a pod no node runs or one that has ended; a
/// negative period is 1 s.
pub fn pod_grace_period(pod: &Value, requested: Option<i64>) -> i64 {
    let period = requested
        .or_else(|| pod["spec"]["terminationGracePeriodSeconds"].as_i64())
        .unwrap_or(0);
    let bound = pod["spec"]["nodeName"]
        .as_str()
        .is_some_and(|n| !n.is_empty());
    let ended = matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    );
    match (bound && !ended, period) {
        (false, _) => 0,
        (true, p) if p < 0 => 1,
        (true, p) => p,
    }
}

/// Pod templates: their template's defaults.
pub struct PodTemplates;

impl Strategy for PodTemplates {
    fn prepare(&self, obj: &mut Value) {
        defaults::pod_spec_defaults(obj.pointer_mut("/template/spec"), true);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::pod_grace_period;

    #[test]
    fn pods_get_the_grace_period_upstream_gives_them() {
        let bound = json!({"spec": {"nodeName": "node-a", "terminationGracePeriodSeconds": 45}});
        assert_eq!(pod_grace_period(&bound, None), 45);
        assert_eq!(pod_grace_period(&bound, Some(5)), 5);
        assert_eq!(pod_grace_period(&bound, Some(0)), 0);
        assert_eq!(pod_grace_period(&bound, Some(-3)), 1);
        let unbound = json!({"spec": {"terminationGracePeriodSeconds": 45}});
        assert_eq!(pod_grace_period(&unbound, Some(10)), 0);
        let ended = json!({"spec": {"nodeName": "node-a"}, "status": {"phase": "Succeeded"}});
        assert_eq!(pod_grace_period(&ended, None), 0);
        let no_default = json!({"spec": {"nodeName": "node-a"}});
        assert_eq!(pod_grace_period(&no_default, None), 0);
    }
}
