//! Routes (`route.openshift.io/v1`), as openshift-apiserver's route strategy: upstream's
//! defaults (`defaults.rs`), its validation with its messages (`validation.rs`), and the host
//! a route is given or may set (`host.rs`: `<name>-<namespace>.<apps domain>`, the
//! `routes/custom-host` permission). Status is the routers' to write, through `routes/status`
//! (the generic store keeps the spec there and the status here).

mod defaults;
mod host;
mod validation;

use api::scheme::ResourceDef;
use async_trait::async_trait;
use serde_json::Value;

use crate::ApiServer;
use crate::error::ApiError;
use crate::http::serve::User;
use crate::registry::strategy::Strategy;
use crate::registry::validation::FieldErrors;

pub struct Routes;

#[async_trait]
impl Strategy for Routes {
    fn prepare(&self, obj: &mut Value) {
        defaults::apply(obj);
    }

    async fn assign(
        &self,
        server: &ApiServer,
        def: &ResourceDef,
        user: Option<&User>,
        obj: &mut Value,
        old: Option<&Value>,
    ) -> Result<(), ApiError> {
        host::assign(server, def, user, obj, old).await
    }

    fn validate(
        &self,
        _: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        validation::route(obj, old, errors);
    }
}
