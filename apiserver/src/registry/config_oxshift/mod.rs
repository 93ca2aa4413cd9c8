//! `config.oxshift.io`: Oxshift's own cluster configuration. `ImageTrustPolicy cluster` is the
//! trust policy admission enforces and the nodes' policy.json carries (the model is the
//! `trust` crate's); it is validated here, every problem reported with its field path.

use api::scheme::ResourceDef;
use async_trait::async_trait;
use serde_json::Value;

use crate::registry::strategy::Strategy;
use crate::registry::validation::{Bad, FieldErrors};

/// The one trust policy read; other names are refused.
pub const TRUST_POLICY_NAME: &str = "cluster";

pub struct ImageTrustPolicies;

#[async_trait]
impl Strategy for ImageTrustPolicies {
    fn validate(
        &self,
        _def: &ResourceDef,
        obj: &Value,
        _old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        if name != TRUST_POLICY_NAME {
            errors.invalid(
                "metadata.name",
                Bad::Str(name),
                "must be cluster: only the policy named cluster is enforced",
            );
        }
        if let Err(problems) = trust::TrustPolicy::parse(&obj["spec"]) {
            for problem in problems {
                report(problem, errors);
            }
        }
    }
}

pub(crate) fn report(problem: trust::Problem, errors: &mut FieldErrors) {
    use trust::Problem::*;
    match problem {
        Required { path, detail } => errors.required(&path, &detail),
        Invalid {
            path,
            value,
            detail,
        } => errors.invalid(&path, Bad::Str(&value), &detail),
        NotSupported {
            path,
            value,
            supported,
        } => errors.not_supported(&path, Bad::Str(&value), supported),
        Forbidden { path, detail } => errors.forbidden(&path, &detail),
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::Cluster;
    use serde_json::json;

    const POLICIES: &str = "/apis/config.oxshift.io/v1/imagetrustpolicies";

    #[tokio::test]
    async fn a_trust_policy_is_validated_on_write() {
        let cluster = Cluster::new();
        let bad = json!({
            "apiVersion": "config.oxshift.io/v1", "kind": "ImageTrustPolicy",
            "metadata": {"name": "cluster"},
            "spec": {"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyData": "%%%"}],
                     "transports": {"docker": {"quay.io/team": [{"type": "maybe"}]}}},
        });
        let answer = cluster.request("POST", POLICIES).json(&bad).send().await;
        assert_eq!(answer.status, 422, "{}", answer.body);
        let message = answer.body["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("ImageTrustPolicy.config.oxshift.io \"cluster\" is invalid: ["),
            "{message}"
        );
        assert!(
            message.contains("spec.default[0].keyData: Invalid value: \"<3 bytes>\": not base64"),
            "{message}"
        );
        assert!(message.contains("spec.transports.docker[quay.io/team][0].type: Unsupported value: \"maybe\": supported values: \"insecureAcceptAnything\", \"reject\", \"signedBy\""), "{message}");
        let other = json!({"apiVersion": "config.oxshift.io/v1", "kind": "ImageTrustPolicy",
            "metadata": {"name": "mine"}, "spec": {"default": [{"type": "reject"}]}});
        let answer = cluster.request("POST", POLICIES).json(&other).send().await;
        assert_eq!(answer.status, 422, "{}", answer.body);
        let good = json!({"apiVersion": "config.oxshift.io/v1", "kind": "ImageTrustPolicy",
            "metadata": {"name": "cluster"}, "spec": {"default": [{"type": "insecureAcceptAnything"}],
            "transports": {"docker": {"quay.io": [{"type": "reject"}]}}}});
        let answer = cluster.request("POST", POLICIES).json(&good).send().await;
        assert_eq!(answer.status, 201, "{}", answer.body);
    }
}
