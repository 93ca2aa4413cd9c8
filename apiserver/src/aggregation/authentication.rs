//! `kube-system/extension-apiserver-authentication`: what aggregated servers read to trust
//! this one (kube-apiserver's cluster authentication publisher): the CA of users' client
//! certificates, and the front proxy's CA, allowed name and request headers.

use serde_json::{Value, json};

use super::FrontProxy;
use crate::ApiServer;
use crate::error::ApiError;

pub const NAMESPACE: &str = "kube-system";
pub const NAME: &str = "extension-apiserver-authentication";

/// The ConfigMap's data, as upstream writes it (lists as JSON).
pub fn data(front_proxy: &FrontProxy) -> Value {
    json!({
        "client-ca-file": front_proxy.client_ca_pem,
        "requestheader-client-ca-file": front_proxy.ca_pem,
        "requestheader-allowed-names": format!("[\"{}\"]", auth::pki::FRONT_PROXY_CLIENT),
        "requestheader-username-headers": "[\"X-Remote-User\"]",
        "requestheader-group-headers": "[\"X-Remote-Group\"]",
        "requestheader-extra-headers-prefix": "[\"X-Remote-Extra-\"]",
    })
}

impl ApiServer {
    /// Creates the ConfigMap, or brings its data back to this server's.
    pub(crate) async fn publish_authentication(&self) -> Result<(), ApiError> {
        let Some(front_proxy) = &self.aggregation.front_proxy else {
            return Ok(());
        };
        let def = self
            .scheme
            .lookup("", "v1", "configmaps")
            .ok_or(ApiError::PathNotFound)?;
        let data = data(front_proxy);
        match self.get_object(def, Some(NAMESPACE), NAME).await? {
            Some(found) if found["data"] == data => Ok(()),
            Some(mut found) => {
                found["data"] = data;
                self.update_object(def, found).await.map(drop)
            }
            None => {
                let obj = json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": NAME, "namespace": NAMESPACE}, "data": data});
                match self.create_object(def, obj).await {
                    Ok(_) | Err(ApiError::AlreadyExists(_)) => Ok(()),
                    Err(e) => Err(e),
                }
            }
        }
    }
}
