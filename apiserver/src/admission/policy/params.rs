//! A binding's parameters: the objects of the policy's `paramKind` its `paramRef` names (by
//! name or label selector, in its namespace or the request's), read from their watch cache.

use serde_json::Value;

use super::compiled::{Binding, Policy};
use crate::ApiServer;
use crate::admission::{Attributes, matching};

/// The parameter objects to evaluate the policy with: `[None]` for a policy without
/// `paramKind`, none at all when they are missing and the binding allows that.
pub async fn resolve(
    server: &ApiServer,
    policy: &Policy,
    binding: &Binding,
    a: &Attributes<'_>,
) -> Result<Vec<Option<Value>>, String> {
    let Some((api_version, kind)) = &policy.param_kind else {
        return Ok(vec![None]);
    };
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    // What is served now: a custom resource's kind is as good a parameter as a built-in one.
    let served = server.served();
    let def = served
        .scheme
        .group_version(group, version)
        .find(|d| d.kind == kind.as_str())
        .ok_or_else(|| {
            format!("failed to find resource referenced by paramKind: '{api_version}, Kind={kind}'")
        })?;
    let Some(param_ref) = &binding.param_ref else {
        return Err(format!(
            "ValidatingAdmissionPolicy '{}' has paramKind but binding '{}' has no paramRef",
            policy.name, binding.name
        ));
    };
    let namespace = match def.namespaced() {
        false => None,
        true => match param_ref.namespace.as_deref().or(a.namespace) {
            Some(ns) => Some(ns),
            None => {
                return Err(
                    "cannot use namespaced paramRef in policy binding that matches cluster-scoped resources"
                        .into(),
                );
            }
        },
    };
    let cache = server
        .watch_caches
        .of(def)
        .await
        .map_err(|e| e.to_string())?;
    let found: Vec<Value> = match (&param_ref.name, &param_ref.selector) {
        (Some(name), _) => cache
            .get(&def.key(namespace, name))
            .and_then(|c| serde_json::from_slice(&c.json).ok())
            .into_iter()
            .collect(),
        (None, Some(selector)) => {
            let (objects, _) = cache.snapshot(&def.namespace_prefix(namespace));
            objects
                .iter()
                .filter_map(|(_, c)| serde_json::from_slice::<Value>(&c.json).ok())
                .filter(|o| selector.matches(matching::labels(Some(o))))
                .collect()
        }
        (None, None) => Vec::new(),
    };
    if found.is_empty() {
        return match param_ref.deny_if_missing {
            true => {
                Err("no params found for policy binding with `Deny` parameterNotFoundAction".into())
            }
            false => Ok(Vec::new()),
        };
    }
    Ok(found.into_iter().map(Some).collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testing::Cluster;

    /// Posts `body` to `uri` until the answer is `want` (what a policy, a binding or a custom
    /// kind needs a moment to be served for); the answer's message.
    async fn eventually(
        cluster: &Cluster,
        uri: &str,
        body: serde_json::Value,
        want: u16,
    ) -> String {
        cluster
            .until(uri, || async {
                let answer = cluster.post(uri, body.clone()).await;
                match answer.status.as_u16() == want {
                    true => Ok(answer.body["message"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string()),
                    false => Err(format!("{} {}", answer.status, answer.body)),
                }
            })
            .await
    }

    #[tokio::test]
    async fn a_custom_resource_is_a_policy_parameter() {
        let cluster = Cluster::with_default_namespace().await;
        cluster.server.start_custom_resources();
        cluster
            .post(
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                    "metadata": {"name": "limits.example.com"},
                    "spec": {"group": "example.com", "scope": "Namespaced",
                        "names": {"plural": "limits", "kind": "Limit"},
                        "versions": [{"name": "v1", "served": true, "storage": true,
                            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                "max": {"type": "integer"}}}}}]}}),
            )
            .await
            .created();
        eventually(
            &cluster,
            "/apis/example.com/v1/namespaces/default/limits",
            json!({"apiVersion": "example.com/v1", "kind": "Limit",
                "metadata": {"name": "keys"}, "max": 1}),
            201,
        )
        .await;
        cluster
            .post(
                "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies",
                json!({"apiVersion": "admissionregistration.k8s.io/v1",
                    "kind": "ValidatingAdmissionPolicy", "metadata": {"name": "few-keys"},
                    "spec": {"paramKind": {"apiVersion": "example.com/v1", "kind": "Limit"},
                        "matchConstraints": {"resourceRules": [{"apiGroups": [""],
                            "apiVersions": ["v1"], "operations": ["CREATE"],
                            "resources": ["configmaps"]}]},
                        "validations": [{"expression": "size(object.data) <= params.max",
                            "messageExpression": "'at most ' + string(params.max) + ' keys'"}]}}),
            )
            .await
            .created();
        cluster
            .post(
                "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings",
                json!({"apiVersion": "admissionregistration.k8s.io/v1",
                    "kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": "few-keys"},
                    "spec": {"policyName": "few-keys", "validationActions": ["Deny"],
                        "paramRef": {"name": "keys", "parameterNotFoundAction": "Deny"}}}),
            )
            .await
            .created();
        let configmap = |name: &str, keys: &[&str]| {
            let data: serde_json::Map<_, _> =
                keys.iter().map(|k| (k.to_string(), json!("v"))).collect();
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
        };
        let message = eventually(
            &cluster,
            "/api/v1/namespaces/default/configmaps",
            configmap("two", &["a", "b"]),
            422,
        )
        .await;
        assert!(message.ends_with("at most 1 keys"), "{message}");
        cluster
            .post(
                "/api/v1/namespaces/default/configmaps",
                configmap("one", &["a"]),
            )
            .await
            .created();
    }
}
