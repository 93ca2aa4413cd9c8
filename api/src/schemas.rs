//! Field-level schemas of the kinds, for OpenAPI (`kubectl explain`, clients' validation): the
//! Kubernetes kinds' come from k8s-openapi, which carries upstream's definitions, names
//! (`io.k8s.api.core.v1.ConfigMap`) and descriptions. Kinds without a typed schema here (the
//! OpenShift ones, until their types land) are described as open objects by the caller.

use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

/// A generator whose references point into an OpenAPI v3 document's `components/schemas`.
pub fn generator() -> SchemaGenerator {
    SchemaSettings::openapi3().into_generator()
}

/// Adds the schema of a kind, and of everything it references, to `generator`; `false` if the
/// kind has no typed schema.
pub fn register(generator: &mut SchemaGenerator, group: &str, version: &str, kind: &str) -> bool {
    use k8s_openapi::api::admissionregistration::v1 as admission;
    use k8s_openapi::api::apps::v1 as apps;
    use k8s_openapi::api::authentication::v1 as authentication;
    use k8s_openapi::api::authorization::v1 as authorization;
    use k8s_openapi::api::autoscaling::v1 as autoscaling;
    use k8s_openapi::api::batch::v1 as batch;
    use k8s_openapi::api::coordination::v1 as coordination;
    use k8s_openapi::api::core::v1 as core;
    use k8s_openapi::api::rbac::v1 as rbac;

    macro_rules! kinds {
        ($($g:literal / $v:literal / $k:ident => $t:ty),* $(,)?) => {
            match (group, version, kind) {
                $(($g, $v, stringify!($k)) => {
                    generator.subschema_for::<$t>();
                    true
                })*
                _ => false,
            }
        };
    }
    kinds! {
        "" / "v1" / Namespace => core::Namespace,
        "" / "v1" / ConfigMap => core::ConfigMap,
        "" / "v1" / Secret => core::Secret,
        "" / "v1" / ServiceAccount => core::ServiceAccount,
        "" / "v1" / Service => core::Service,
        "" / "v1" / Endpoints => core::Endpoints,
        "" / "v1" / Pod => core::Pod,
        "" / "v1" / ReplicationController => core::ReplicationController,
        "" / "v1" / Event => core::Event,
        "" / "v1" / LimitRange => core::LimitRange,
        "" / "v1" / ResourceQuota => core::ResourceQuota,
        "" / "v1" / PersistentVolume => core::PersistentVolume,
        "" / "v1" / PersistentVolumeClaim => core::PersistentVolumeClaim,
        "" / "v1" / Node => core::Node,
        "apps" / "v1" / Deployment => apps::Deployment,
        "apps" / "v1" / ReplicaSet => apps::ReplicaSet,
        "autoscaling" / "v1" / Scale => autoscaling::Scale,
        "batch" / "v1" / Job => batch::Job,
        "authentication.k8s.io" / "v1" / SelfSubjectReview => authentication::SelfSubjectReview,
        "authentication.k8s.io" / "v1" / TokenReview => authentication::TokenReview,
        "authorization.k8s.io" / "v1" / SelfSubjectAccessReview => authorization::SelfSubjectAccessReview,
        "authorization.k8s.io" / "v1" / SelfSubjectRulesReview => authorization::SelfSubjectRulesReview,
        "authorization.k8s.io" / "v1" / SubjectAccessReview => authorization::SubjectAccessReview,
        "authorization.k8s.io" / "v1" / LocalSubjectAccessReview => authorization::LocalSubjectAccessReview,
        "coordination.k8s.io" / "v1" / Lease => coordination::Lease,
        "rbac.authorization.k8s.io" / "v1" / Role => rbac::Role,
        "rbac.authorization.k8s.io" / "v1" / RoleBinding => rbac::RoleBinding,
        "rbac.authorization.k8s.io" / "v1" / ClusterRole => rbac::ClusterRole,
        "rbac.authorization.k8s.io" / "v1" / ClusterRoleBinding => rbac::ClusterRoleBinding,
        "admissionregistration.k8s.io" / "v1" / MutatingWebhookConfiguration => admission::MutatingWebhookConfiguration,
        "admissionregistration.k8s.io" / "v1" / ValidatingWebhookConfiguration => admission::ValidatingWebhookConfiguration,
    }
}

/// Every schema registered in `generator`, by name.
/// Whether the kind has a typed schema.
pub fn has_schema(group: &str, version: &str, kind: &str) -> bool {
    register(&mut generator(), group, version, kind)
}

/// Adds `ObjectMeta` (and what it references), which kinds without a typed schema share.
pub fn register_object_meta(generator: &mut SchemaGenerator) {
    generator.subschema_for::<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>();
}

pub fn definitions(generator: &mut SchemaGenerator) -> Map<String, Value> {
    generator.take_definitions(true).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_kinds_have_field_schemas_under_upstream_names() {
        let mut generator = generator();
        assert!(register(&mut generator, "apps", "v1", "Deployment"));
        assert!(!register(
            &mut generator,
            "route.openshift.io",
            "v1",
            "Route"
        ));
        let defs = definitions(&mut generator);
        let deployment = &defs["io.k8s.api.apps.v1.Deployment"];
        // As upstream's v3 documents: a described reference is an `allOf` of one.
        assert_eq!(
            deployment["properties"]["spec"]["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"
        );
        let pod_spec = &defs["io.k8s.api.core.v1.PodSpec"];
        assert_eq!(pod_spec["properties"]["containers"]["type"], "array");
        assert!(defs.contains_key("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
    }
}
