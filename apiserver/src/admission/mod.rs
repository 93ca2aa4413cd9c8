//! Validating admission: checks on an object about to be written (after decoding, defaults
//! and the kind's strategy, before the store), with the requesting user. One module per
//! plugin; `validate` runs those that apply to the kind.

mod rbac_escalation;

use api::scheme::ResourceDef;
use serde_json::Value;

use crate::ApiServer;
use crate::error::ApiError;
use crate::http::serve::User;

/// Runs every plugin that applies to `def` on `obj`, the state about to be stored.
pub async fn validate(
    server: &ApiServer,
    def: &ResourceDef,
    user: Option<&User>,
    obj: &Value,
) -> Result<(), ApiError> {
    if def.group == "rbac.authorization.k8s.io"
        && let Some(user) = user
    {
        rbac_escalation::check(server, def, user, obj).await?;
    }
    Ok(())
}
