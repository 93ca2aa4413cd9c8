//! The core group's kinds with behaviour of their own: namespaces, secrets, config maps,
//! services (with their addresses and node ports), pods and pod templates, and a service
//! account's `token` subresource.

pub mod defaults;
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

/// Pods: their spec's defaults.
pub struct Pods;

impl Strategy for Pods {
    fn prepare(&self, obj: &mut Value) {
        defaults::pod_spec_defaults(obj.pointer_mut("/spec"), true);
    }
}

/// Pod templates: their template's defaults.
pub struct PodTemplates;

impl Strategy for PodTemplates {
    fn prepare(&self, obj: &mut Value) {
        defaults::pod_spec_defaults(obj.pointer_mut("/template/spec"), true);
    }
}
