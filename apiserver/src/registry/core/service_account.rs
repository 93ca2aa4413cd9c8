//! Upstream's ServiceAccount admission, the part about images: a new pod that names no pull
//! secrets gets those of its service account, so the integrated registry's per-account
//! secrets reach the node without every pod listing them.

use serde_json::Value;

use crate::ApiServer;
use crate::error::ApiError;

/// The account a pod runs as: `spec.serviceAccountName`, else `default`.
fn account(pod: &Value) -> &str {
    match pod["spec"]["serviceAccountName"].as_str() {
        Some(name) if !name.is_empty() => name,
        _ => "default",
    }
}

/// Whether the pod names pull secrets already (then they are its own choice, as upstream).
fn names_pull_secrets(pod: &Value) -> bool {
    pod["spec"]["imagePullSecrets"]
        .as_array()
        .is_some_and(|list| !list.is_empty())
}

/// Copies the account's `imagePullSecrets` into a pod being created without any.
pub async fn inherit(server: &ApiServer, pod: &mut Value) -> Result<(), ApiError> {
    if names_pull_secrets(pod) {
        return Ok(());
    }
    let Some(namespace) = pod["metadata"]["namespace"].as_str().map(str::to_string) else {
        return Ok(());
    };
    let Some(def) = server.scheme.lookup("", "v1", "serviceaccounts") else {
        return Ok(());
    };
    let Some(sa) = server
        .get_object(def, Some(&namespace), account(pod))
        .await?
    else {
        return Ok(());
    };
    if let Some(secrets) = sa["imagePullSecrets"].as_array().filter(|s| !s.is_empty())
        && let Some(spec) = pod["spec"].as_object_mut()
    {
        spec.insert("imagePullSecrets".into(), Value::Array(secrets.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_account_is_named_or_default() {
        assert_eq!(
            account(&json!({"spec": {"serviceAccountName": "web"}})),
            "web"
        );
        assert_eq!(
            account(&json!({"spec": {"serviceAccountName": ""}})),
            "default"
        );
        assert_eq!(account(&json!({"spec": {}})), "default");
    }

    #[test]
    fn pods_with_their_own_pull_secrets_keep_them() {
        assert!(names_pull_secrets(
            &json!({"spec": {"imagePullSecrets": [{"name": "a"}]}})
        ));
        assert!(!names_pull_secrets(
            &json!({"spec": {"imagePullSecrets": []}})
        ));
        assert!(!names_pull_secrets(&json!({"spec": {}})));
    }
}
