//! `appliedclusterresourcequotas`: in a project, the ClusterResourceQuotas whose selector
//! picks it, read-only (get and list), so the project's users see the limits they share
//! without reading cluster-scoped objects. Each is the cluster quota itself under this kind,
//! as upstream's `ConvertClusterResourceQuotaToAppliedClusterResourceQuota`.

use async_trait::async_trait;
use axum::response::Response;
use serde_json::{Value, json};

use crate::admission::cluster_quotas_selecting;
use crate::error::ApiError;
use crate::registry::object::target;
use crate::registry::rest::{Call, Rest};

pub struct AppliedClusterResourceQuotas;

/// A cluster quota as the applied kind.
fn applied(mut quota: Value) -> Value {
    quota["kind"] = json!("AppliedClusterResourceQuota");
    quota["apiVersion"] = json!("quota.openshift.io/v1");
    quota
}

async fn applied_in(call: &Call<'_>) -> Result<Vec<Value>, ApiError> {
    let namespace = call
        .namespace
        .ok_or_else(|| ApiError::BadRequest("namespace is required".into()))?;
    Ok(cluster_quotas_selecting(call.server, namespace)
        .await?
        .into_iter()
        .map(applied)
        .collect())
}

#[async_trait]
impl Rest for AppliedClusterResourceQuotas {
    async fn get(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let found = applied_in(call)
            .await?
            .into_iter()
            .find(|q| q["metadata"]["name"] == call.name)
            .ok_or_else(|| ApiError::NotFound(target(call.def, call.name)))?;
        Ok(call.out.object(call.def, found))
    }

    async fn list(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let items = applied_in(call).await?;
        Ok(call.out.list(call.def, json!({}), items))
    }
}
