//! The type check redone when the custom resources served change: a policy naming a kind the
//! built-in scheme does not have (in `matchConstraints` or `paramKind`) is checked again
//! against the schemas served now, and its `status.typeChecking` written when it differs, as
//! upstream's type-checking controller checks a policy again when a schema it read changes.
//! Run after every pass of the definitions' controller, so a write lost to a conflict is
//! made on a later pass.

use super::type_check;
use crate::ApiServer;
use crate::error::ApiError;

const GROUP: &str = "admissionregistration.k8s.io";
const PLURAL: &str = "validatingadmissionpolicies";

/// Checks again the policies that name custom kinds; how many statuses were rewritten.
pub async fn custom_kinds_served(server: &ApiServer) -> Result<usize, ApiError> {
    let Some(def) = server.scheme.lookup(GROUP, "v1", PLURAL).copied() else {
        return Ok(0);
    };
    let mut written = 0;
    for mut policy in server.list_objects(&def, None).await? {
        if !policy["status"].is_object() || !type_check::names_custom_kinds(server, &policy) {
            continue;
        }
        let checked = type_check::status(server, &policy);
        if policy["status"]["typeChecking"] == checked {
            continue;
        }
        policy["status"]["typeChecking"] = checked;
        match server.update_object(&def, policy).await {
            Ok(_) => written += 1,
            // Changed since the list: its own write checked it, or a later pass does.
            Err(e) => tracing::debug!(error = %e, "a policy's type check not written"),
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::testing::Cluster;

    const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    const POLICIES: &str = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies";

    fn gadgets(properties: Value) -> Value {
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "gadgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"plural": "gadgets", "kind": "Gadget"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "spec": {"type": "object", "properties": properties}}}}}]}})
    }

    async fn type_checking(cluster: &Cluster, within: &str, want: &Value) {
        cluster
            .until(within, || async {
                let policy = cluster.get(&format!("{POLICIES}/colours")).await.body;
                match &policy["status"]["typeChecking"] == want {
                    true => Ok(()),
                    false => Err(policy.to_string()),
                }
            })
            .await
    }

    #[tokio::test]
    async fn a_schema_change_checks_the_policies_naming_its_kind_again() {
        let cluster = Cluster::with_default_namespace().await;
        cluster.server.start_custom_resources();
        let crd = cluster
            .post(CRDS, gadgets(json!({"color": {"type": "string"}})))
            .await
            .created();
        let warning = json!({"expressionWarnings": [{"fieldRef": "spec.validations[0].expression",
            "warning": "example.com/v1, Kind=Gadget: ERROR: <input>:1:12: undefined field 'colour'\n | object.spec.colour != 'red'\n | ...........^"}]});
        // A field the schema lacks: a warning (at the policy's write, or once the kind is
        // served).
        cluster
            .post(
                POLICIES,
                json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
                    "metadata": {"name": "colours"},
                    "spec": {"matchConstraints": {"resourceRules": [{"apiGroups": ["example.com"],
                            "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["gadgets"]}]},
                        "validations": [{"expression": "object.spec.colour != 'red'"}]}}),
            )
            .await
            .created();
        type_checking(&cluster, "checked against the schema", &warning).await;

        // The schema gains the field: the warning goes.
        let mut next = crd.clone();
        next["metadata"]["resourceVersion"] = cluster
            .get(&format!("{CRDS}/gadgets.example.com"))
            .await
            .body["metadata"]["resourceVersion"]
            .clone();
        next["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
            ["colour"] = json!({"type": "string"});
        cluster
            .put(&format!("{CRDS}/gadgets.example.com"), next)
            .await
            .ok();
        type_checking(&cluster, "checked again with the field", &json!({})).await;
    }
}
