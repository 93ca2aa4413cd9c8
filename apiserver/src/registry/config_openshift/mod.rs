//! `config.openshift.io`: what its CRDs' validation rules refuse. `Image cluster` may set
//! `registrySources.allowedRegistries` or `blockedRegistries`, not both (the CRD's CEL rule,
//! with its message).

use api::scheme::ResourceDef;
use async_trait::async_trait;
use serde_json::Value;

use crate::registry::strategy::Strategy;
use crate::registry::validation::{Bad, FieldErrors};

pub struct ImageConfigs;

#[async_trait]
impl Strategy for ImageConfigs {
    fn validate(
        &self,
        _def: &ResourceDef,
        obj: &Value,
        _old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        let sources = &obj["spec"]["registrySources"];
        if sources.get("allowedRegistries").is_some() && sources.get("blockedRegistries").is_some()
        {
            errors.invalid(
                "spec.registrySources",
                Bad::Str("object"),
                "Only one of blockedRegistries or allowedRegistries may be set",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::Cluster;

    #[tokio::test]
    async fn image_cluster_allows_or_blocks_registries_not_both() {
        let cluster = Cluster::new();
        let both = serde_json::json!({
            "apiVersion": "config.openshift.io/v1", "kind": "Image", "metadata": {"name": "cluster"},
            "spec": {"registrySources": {"allowedRegistries": ["a.io"], "blockedRegistries": ["b.io"]}},
        });
        let answer = cluster
            .request("POST", "/apis/config.openshift.io/v1/images")
            .json(&both)
            .send()
            .await;
        assert_eq!(answer.status, 422, "{}", answer.body);
        assert_eq!(
            answer.body["message"],
            "Image.config.openshift.io \"cluster\" is invalid: spec.registrySources: Invalid value: \"object\": Only one of blockedRegistries or allowedRegistries may be set"
        );
        let allowed = serde_json::json!({
            "apiVersion": "config.openshift.io/v1", "kind": "Image", "metadata": {"name": "cluster"},
            "spec": {"registrySources": {"allowedRegistries": ["a.io"]}},
        });
        let answer = cluster
            .request("POST", "/apis/config.openshift.io/v1/images")
            .json(&allowed)
            .send()
            .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
    }
}
