//! `status.internalRegistryHostname` of `config.openshift.io/v1 Image cluster`: where image
//! streams say their images are, written when the integrated registry starts.

use crate::ApiServer;
use crate::error::ApiError;

impl ApiServer {
    /// Records `host` (`host:port`) as the integrated registry's, creating `Image cluster`
    /// if missing; other fields are left as they are.
    pub async fn set_internal_registry_hostname(&self, host: &str) -> Result<(), ApiError> {
        let def = self
            .scheme
            .lookup("config.openshift.io", "v1", "images")
            .ok_or(ApiError::PathNotFound)?;
        for _ in 0..5 {
            match self.get_object(def, None, "cluster").await? {
                None => {
                    let obj = serde_json::json!({
                        "apiVersion": "config.openshift.io/v1", "kind": "Image",
                        "metadata": {"name": "cluster"}, "spec": {},
                        "status": {"internalRegistryHostname": host},
                    });
                    match self.create_object(def, obj).await {
                        Err(ApiError::AlreadyExists(_)) => continue,
                        other => return other.map(drop),
                    }
                }
                Some(mut obj) => {
                    if obj["status"]["internalRegistryHostname"] == host {
                        return Ok(());
                    }
                    if !obj["status"].is_object() {
                        obj["status"] = serde_json::json!({});
                    }
                    obj["status"]["internalRegistryHostname"] = host.into();
                    match self.update_object(def, obj).await {
                        Err(ApiError::Conflict(..)) => continue,
                        other => return other.map(drop),
                    }
                }
            }
        }
        Err(ApiError::Internal(
            "Image cluster kept changing while the registry's host name was recorded".into(),
        ))
    }
}
