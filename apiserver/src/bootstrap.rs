//! What a fresh cluster needs, created at start when missing: the default RBAC policy
//! (reconciled with its defaults unless an object says not to; the namespaced part once its
//! namespaces exist), the OAuth clients, the system
//! namespaces, the default SecurityContextConstraints, the shared templates of `openshift`, the
//! default StorageClass `local`, the system PriorityClasses and OpenShift's, and the
//! `default/kubernetes` service.

use crate::error::{self, ApiError};
use crate::{ApiServer, authz, oauth, registry};

/// Namespaces every cluster has.
const SYSTEM_NAMESPACES: &[&str] = &[
    "default",
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "openshift",
    // Where the cluster's configuration refers to ConfigMaps and Secrets (additional trusted
    // CAs, identity providers' secrets).
    "openshift-config",
    // Where the node image configuration is rendered to.
    "openshift-config-managed",
    // Where the service CA's signer is kept (there from the start, as the other system
    // namespaces are, not when the controller first runs).
    "openshift-service-ca",
];

impl ApiServer {
    /// Creates what a fresh cluster needs (the system namespaces, the default RBAC policy),
    /// missing pieces only, and starts following the RBAC policy.
    pub async fn bootstrap(&self) -> Result<(), ApiError> {
        for obj in authz::bootstrap_policy::objects() {
            let plural = match obj["kind"].as_str() {
                Some("ClusterRole") => "clusterroles",
                _ => "clusterrolebindings",
            };
            let def = self
                .scheme
                .lookup("rbac.authorization.k8s.io", "v1", plural)
                .ok_or(ApiError::PathNotFound)?;
            self.reconcile(def, obj).await?;
        }
        if let Some(oauth) = &self.oauth {
            let def = self
                .scheme
                .lookup("oauth.openshift.io", "v1", "oauthclients")
                .ok_or(ApiError::PathNotFound)?;
            for client in oauth::default_clients(&oauth.issuer) {
                self.create_if_missing(def, client).await?;
            }
        }
        self.authorizer.start(self.watch_caches.clone());
        let sccs = self
            .scheme
            .lookup("security.openshift.io", "v1", "securitycontextconstraints")
            .ok_or(ApiError::PathNotFound)?;
        for scc in registry::security::default_sccs::objects() {
            self.create_if_missing(sccs, scc).await?;
        }
        let def = self
            .scheme
            .lookup("", "v1", "namespaces")
            .ok_or(ApiError::PathNotFound)?;
        for name in SYSTEM_NAMESPACES {
            let ns = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
            self.create_if_missing(def, ns).await?;
        }
        self.publish_authentication().await?;
        for obj in authz::bootstrap_policy::namespaced_objects() {
            let plural = match obj["kind"].as_str() {
                Some("Role") => "roles",
                _ => "rolebindings",
            };
            let def = self
                .scheme
                .lookup("rbac.authorization.k8s.io", "v1", plural)
                .ok_or(ApiError::PathNotFound)?;
            self.reconcile(def, obj).await?;
        }
        for (group, plural, obj) in registry::template::seeds::objects() {
            let def = self
                .scheme
                .lookup(group, "v1", plural)
                .ok_or(ApiError::PathNotFound)?;
            self.create_if_missing(def, obj).await?;
        }
        let classes = self
            .scheme
            .lookup("storage.k8s.io", "v1", "storageclasses")
            .ok_or(ApiError::PathNotFound)?;
        self.create_if_missing(classes, registry::storage::default_class())
            .await?;
        let priority_classes = self
            .scheme
            .lookup("scheduling.k8s.io", "v1", "priorityclasses")
            .ok_or(ApiError::PathNotFound)?;
        for class in registry::scheduling::bootstrap_classes() {
            self.create_if_missing(priority_classes, class).await?;
        }
        let services = self
            .scheme
            .lookup("", "v1", "services")
            .ok_or(ApiError::PathNotFound)?;
        self.create_if_missing(services, self.kubernetes_service())
            .await?;
        registry::core::service_ips::start_repair(self.store.clone()).await
    }

    /// `default/kubernetes`: the service that names the API server, at the service network's
    /// first address, as upstream has it.
    fn kubernetes_service(&self) -> serde_json::Value {
        let port = self
            .address
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse::<u16>().ok())
            .unwrap_or(8443);
        serde_json::json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default",
                "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"type": "ClusterIP", "clusterIP": "172.30.0.1", "clusterIPs": ["172.30.0.1"],
                "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}]},
        })
    }

    /// Creates a default RBAC object, or brings an existing one back to the default unless
    /// its `rbac.authorization.kubernetes.io/autoupdate` annotation was set to "false".
    async fn reconcile(
        &self,
        def: &api::ResourceDef,
        wanted: serde_json::Value,
    ) -> Result<(), ApiError> {
        let name = registry::object::meta_str(&wanted, "name").to_string();
        let namespace = registry::object::meta_str(&wanted, "namespace");
        let key = def.key(Some(namespace).filter(|n| !n.is_empty()), &name);
        let (found, _) = self
            .store
            .get(&key, None)
            .await
            .map_err(|e| error::from_storage(e, registry::object::target(def, &name)))?;
        let Some(kv) = found else {
            return self.create_if_missing(def, wanted).await;
        };
        let mut current = registry::object::from_store(&kv)?;
        let autoupdate =
            current["metadata"]["annotations"]["rbac.authorization.kubernetes.io/autoupdate"]
                .as_str()
                != Some("false");
        // The rules of an aggregated role are the aggregation controller's to keep.
        let fields: &[&str] = match wanted.get("aggregationRule") {
            Some(_) => &["roleRef", "subjects", "aggregationRule"],
            None => &["rules", "roleRef", "subjects", "aggregationRule"],
        };
        // Labels the default has and the object lacks are added (aggregation follows them, as
        // `edit`'s into `admin`); labels the object has are kept, as upstream reconciles them.
        let missing_labels: Vec<(String, serde_json::Value)> = wanted["metadata"]["labels"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| current["metadata"]["labels"].get(k.as_str()).is_none())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !autoupdate
            || (missing_labels.is_empty()
                && fields.iter().all(|f| current.get(*f) == wanted.get(*f)))
        {
            return Ok(());
        }
        for (label, value) in missing_labels {
            current["metadata"]["labels"][label.as_str()] = value;
        }
        for &field in fields {
            match wanted.get(field) {
                Some(v) => current[field] = v.clone(),
                None => drop(current.as_object_mut().and_then(|m| m.remove(field))),
            }
        }
        match self
            .store
            .update(&key, registry::object::to_store(&current), kv.mod_revision)
            .await
        {
            // Another replica reconciled it first.
            Ok(_) | Err(storage::Error::Conflict { .. }) => Ok(()),
            Err(e) => Err(error::from_storage(e, registry::object::target(def, &name))),
        }
    }

    /// Creates an object unless one of its name (in its namespace) exists.
    async fn create_if_missing(
        &self,
        def: &api::ResourceDef,
        obj: serde_json::Value,
    ) -> Result<(), ApiError> {
        match self.create_object(def, obj).await {
            Ok(_) | Err(ApiError::AlreadyExists(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
