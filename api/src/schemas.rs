//! Field-level schemas of the kinds, for OpenAPI (`kubectl explain`, clients' validation) and
//! the server's field validation. The Kubernetes kinds' come from k8s-openapi, which carries
//! upstream's definitions, names (`io.k8s.api.core.v1.ConfigMap`) and descriptions; the
//! OpenShift kinds' from openshift/api's definitions (`openshift`), which refer to the
//! k8s-openapi ones. Kinds without a typed schema are described as open objects by the caller.

mod openshift;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value};

use crate::list_merge::ListMerge;

/// A generator whose references point into an OpenAPI v3 document's `components/schemas`.
pub fn generator() -> SchemaGenerator {
    SchemaSettings::openapi3().into_generator()
}

/// The name of a kind's schema, as upstream names its definition:
/// `io.k8s.api.<first label of the group, core for "">.<version>.<Kind>` for Kubernetes kinds,
/// `com.github.openshift.api.<package>.<version>.<Kind>` for OpenShift ones, whose package is
/// the group without `.openshift.io` and its dots (`security.internal.openshift.io` is
/// `securityinternal`), and in the reversed-domain form of custom kinds for Oxshift's own
/// (`config.oxshift.io` is `io.oxshift.config`).
pub fn schema_name(group: &str, version: &str, kind: &str) -> String {
    if let Some(package) = group.strip_suffix(".openshift.io") {
        return format!(
            "com.github.openshift.api.{}.{version}.{kind}",
            package.replace('.', "")
        );
    }
    if group.ends_with(".oxshift.io") {
        let reversed: Vec<&str> = group.rsplit('.').collect();
        return format!("{}.{version}.{kind}", reversed.join("."));
    }
    if group == "apiextensions.k8s.io" {
        return format!("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.{version}.{kind}");
    }
    if group == "apiregistration.k8s.io" {
        return format!("io.k8s.kube-aggregator.pkg.apis.apiregistration.{version}.{kind}");
    }
    let package = match group {
        "" => "core",
        g => g.split('.').next().unwrap_or_default(),
    };
    format!("io.k8s.api.{package}.{version}.{kind}")
}

/// Adds the schema of a kind, and of everything it references, to `generator`; `false` if the
/// kind has no typed schema.
pub fn register(generator: &mut SchemaGenerator, group: &str, version: &str, kind: &str) -> bool {
    register_kubernetes_kind(generator, group, version, kind)
        || openshift::register(generator, &schema_name(group, version, kind))
}

/// A definition's schemas hold values of any type (defaults, examples, enums) and fields that
/// are either a schema or something else (`items`, `additionalProperties`): described as
/// open values, as upstream's own OpenAPI leaves them untyped.
fn open_schema_values(generator: &mut SchemaGenerator) {
    const PACKAGE: &str = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1";
    for name in [
        "JSON",
        "JSONSchemaPropsOrArray",
        "JSONSchemaPropsOrBool",
        "JSONSchemaPropsOrStringArray",
    ] {
        if let Some(schema) = generator
            .definitions_mut()
            .get_mut(&format!("{PACKAGE}.{name}"))
        {
            let description = schema.get("description").cloned().unwrap_or_default();
            *schema = serde_json::json!({
                "description": description,
                "x-kubernetes-preserve-unknown-fields": true,
            });
        }
    }
}

/// Whether the kind has a typed schema.
pub fn has_schema(group: &str, version: &str, kind: &str) -> bool {
    register_kubernetes_kind(&mut generator(), group, version, kind)
        || openshift::has(&schema_name(group, version, kind))
}

/// The lists strategic merge patch merges in a kind, as its schema declares them (dotted
/// paths from the object, no indices): the OpenShift kinds' patch strategies and merge keys.
/// The Kubernetes kinds' are the scheme's own (k8s-openapi's schemas carry none).
pub fn merge_lists(group: &str, version: &str, kind: &str) -> &'static [(String, ListMerge)] {
    match group.ends_with(".openshift.io") || group.ends_with(".oxshift.io") {
        true => openshift::merge_lists(&schema_name(group, version, kind)),
        false => &[],
    }
}

/// Adds the schema of a Kubernetes kind from k8s-openapi; `false` if it is not one of them.
fn register_kubernetes_kind(
    generator: &mut SchemaGenerator,
    group: &str,
    version: &str,
    kind: &str,
) -> bool {
    use k8s_openapi::api::admissionregistration::v1 as admission;
    use k8s_openapi::api::apps::v1 as apps;
    use k8s_openapi::api::authentication::v1 as authentication;
    use k8s_openapi::api::authorization::v1 as authorization;
    use k8s_openapi::api::autoscaling::v1 as autoscaling;
    use k8s_openapi::api::autoscaling::v2 as autoscaling_v2;
    use k8s_openapi::api::batch::v1 as batch;
    use k8s_openapi::api::certificates::v1 as certificates;
    use k8s_openapi::api::coordination::v1 as coordination;
    use k8s_openapi::api::core::v1 as core;
    use k8s_openapi::api::discovery::v1 as discovery;
    use k8s_openapi::api::events::v1 as events;
    use k8s_openapi::api::flowcontrol::v1 as flowcontrol;
    use k8s_openapi::api::networking::v1 as networking;
    use k8s_openapi::api::node::v1 as node;
    use k8s_openapi::api::policy::v1 as policy;
    use k8s_openapi::api::rbac::v1 as rbac;
    use k8s_openapi::api::scheduling::v1 as scheduling;
    use k8s_openapi::api::storage::v1 as storage;

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
    if (group, version, kind) == ("apiextensions.k8s.io", "v1", "CustomResourceDefinition") {
        use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
        generator.subschema_for::<apiextensions::CustomResourceDefinition>();
        open_schema_values(generator);
        return true;
    }
    if (group, version, kind) == ("apiregistration.k8s.io", "v1", "APIService") {
        use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1 as apiregistration;
        generator.subschema_for::<apiregistration::APIService>();
        return true;
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
        "" / "v1" / PodTemplate => core::PodTemplate,
        "apps" / "v1" / Deployment => apps::Deployment,
        "apps" / "v1" / ReplicaSet => apps::ReplicaSet,
        "apps" / "v1" / StatefulSet => apps::StatefulSet,
        "apps" / "v1" / DaemonSet => apps::DaemonSet,
        "apps" / "v1" / ControllerRevision => apps::ControllerRevision,
        "autoscaling" / "v1" / Scale => autoscaling::Scale,
        "autoscaling" / "v2" / HorizontalPodAutoscaler => autoscaling_v2::HorizontalPodAutoscaler,
        "autoscaling" / "v1" / HorizontalPodAutoscaler => autoscaling::HorizontalPodAutoscaler,
        "events.k8s.io" / "v1" / Event => events::Event,
        "batch" / "v1" / Job => batch::Job,
        "batch" / "v1" / CronJob => batch::CronJob,
        "networking.k8s.io" / "v1" / Ingress => networking::Ingress,
        "networking.k8s.io" / "v1" / IngressClass => networking::IngressClass,
        "networking.k8s.io" / "v1" / NetworkPolicy => networking::NetworkPolicy,
        "policy" / "v1" / PodDisruptionBudget => policy::PodDisruptionBudget,
        "scheduling.k8s.io" / "v1" / PriorityClass => scheduling::PriorityClass,
        "certificates.k8s.io" / "v1" / CertificateSigningRequest => certificates::CertificateSigningRequest,
        "node.k8s.io" / "v1" / RuntimeClass => node::RuntimeClass,
        "storage.k8s.io" / "v1" / StorageClass => storage::StorageClass,
        "storage.k8s.io" / "v1" / CSIDriver => storage::CSIDriver,
        "storage.k8s.io" / "v1" / CSINode => storage::CSINode,
        "storage.k8s.io" / "v1" / CSIStorageCapacity => storage::CSIStorageCapacity,
        "storage.k8s.io" / "v1" / VolumeAttachment => storage::VolumeAttachment,
        "flowcontrol.apiserver.k8s.io" / "v1" / FlowSchema => flowcontrol::FlowSchema,
        "flowcontrol.apiserver.k8s.io" / "v1" / PriorityLevelConfiguration => flowcontrol::PriorityLevelConfiguration,
        "authentication.k8s.io" / "v1" / SelfSubjectReview => authentication::SelfSubjectReview,
        "authentication.k8s.io" / "v1" / TokenReview => authentication::TokenReview,
        "authorization.k8s.io" / "v1" / SelfSubjectAccessReview => authorization::SelfSubjectAccessReview,
        "authorization.k8s.io" / "v1" / SelfSubjectRulesReview => authorization::SelfSubjectRulesReview,
        "authorization.k8s.io" / "v1" / SubjectAccessReview => authorization::SubjectAccessReview,
        "authorization.k8s.io" / "v1" / LocalSubjectAccessReview => authorization::LocalSubjectAccessReview,
        "coordination.k8s.io" / "v1" / Lease => coordination::Lease,
        "discovery.k8s.io" / "v1" / EndpointSlice => discovery::EndpointSlice,
        "rbac.authorization.k8s.io" / "v1" / Role => rbac::Role,
        "rbac.authorization.k8s.io" / "v1" / RoleBinding => rbac::RoleBinding,
        "rbac.authorization.k8s.io" / "v1" / ClusterRole => rbac::ClusterRole,
        "rbac.authorization.k8s.io" / "v1" / ClusterRoleBinding => rbac::ClusterRoleBinding,
        "admissionregistration.k8s.io" / "v1" / MutatingWebhookConfiguration => admission::MutatingWebhookConfiguration,
        "admissionregistration.k8s.io" / "v1" / ValidatingWebhookConfiguration => admission::ValidatingWebhookConfiguration,
        "admissionregistration.k8s.io" / "v1" / ValidatingAdmissionPolicy => admission::ValidatingAdmissionPolicy,
        "admissionregistration.k8s.io" / "v1" / ValidatingAdmissionPolicyBinding => admission::ValidatingAdmissionPolicyBinding,
    }
}

/// Adds the Kubernetes definition `name` (and what it references) from k8s-openapi, for the
/// OpenShift definitions that refer to it; `false` if k8s-openapi has no type of that name.
fn register_kubernetes(generator: &mut SchemaGenerator, name: &str) -> bool {
    use k8s_openapi::api::core::v1 as core;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
    use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    macro_rules! by_name {
        ($($t:ty),* $(,)?) => {{
            $(if <$t as JsonSchema>::schema_name() == name {
                generator.subschema_for::<$t>();
                return true;
            })*
            false
        }};
    }
    by_name!(
        core::CSIVolumeSource,
        core::ConfigMapVolumeSource,
        core::EnvVar,
        core::LocalObjectReference,
        core::NamespaceCondition,
        core::ObjectReference,
        core::PodTemplateSpec,
        core::ResourceQuotaSpec,
        core::ResourceQuotaStatus,
        core::ResourceRequirements,
        core::SELinuxOptions,
        core::SecretVolumeSource,
        meta::LabelSelector,
        meta::ObjectMeta,
        meta::Status,
        meta::Time,
        RawExtension,
        IntOrString,
    )
}

/// Adds `ObjectMeta` (and what it references), which kinds without a typed schema share.
pub fn register_object_meta(generator: &mut SchemaGenerator) {
    generator.subschema_for::<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>();
}

/// Every schema registered in `generator`, by name.
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
        assert!(!register(&mut generator, "apps", "v1", "NoSuchKind"));
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

    #[test]
    fn schema_names_follow_upstream_packages() {
        assert_eq!(schema_name("", "v1", "Pod"), "io.k8s.api.core.v1.Pod");
        assert_eq!(
            schema_name("rbac.authorization.k8s.io", "v1", "Role"),
            "io.k8s.api.rbac.v1.Role"
        );
        assert_eq!(
            schema_name("config.openshift.io", "v1", "Image"),
            "com.github.openshift.api.config.v1.Image"
        );
        assert_eq!(
            schema_name("security.internal.openshift.io", "v1", "RangeAllocation"),
            "com.github.openshift.api.securityinternal.v1.RangeAllocation"
        );
        assert_eq!(
            schema_name(
                "operator.openshift.io",
                "v1alpha1",
                "ImageContentSourcePolicy"
            ),
            "com.github.openshift.api.operator.v1alpha1.ImageContentSourcePolicy"
        );
        assert_eq!(
            schema_name("config.oxshift.io", "v1", "ImageTrustPolicy"),
            "io.oxshift.config.v1.ImageTrustPolicy"
        );
    }

    #[test]
    fn openshift_kinds_have_field_schemas_over_k8s_openapi_ones() {
        let mut generator = generator();
        assert!(register(
            &mut generator,
            "apps.openshift.io",
            "v1",
            "DeploymentConfig"
        ));
        let defs = definitions(&mut generator);
        let spec = &defs["com.github.openshift.api.apps.v1.DeploymentConfigSpec"]["properties"];
        assert_eq!(spec["replicas"]["type"], "integer");
        assert_eq!(spec["replicas"]["format"], "int32");
        assert_eq!(
            spec["template"]["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.api.core.v1.PodTemplateSpec"
        );
        // The pod template is k8s-openapi's, with everything it references.
        assert!(defs.contains_key("io.k8s.api.core.v1.PodSpec"));
        assert!(defs.contains_key("io.k8s.api.core.v1.Container"));
    }

    #[test]
    fn every_served_kubernetes_kind_has_a_typed_schema() {
        for def in crate::Scheme::builtin().resources() {
            // OpenShift's and Oxshift's own kinds have theirs from `api/openapi/`.
            if def.stored
                && !def.group.ends_with(".openshift.io")
                && !def.group.ends_with(".oxshift.io")
            {
                assert!(
                    has_schema(def.group, def.version, def.kind),
                    "{}/{} {}: name its k8s-openapi type in register_kubernetes_kind",
                    def.group,
                    def.version,
                    def.kind
                );
            }
        }
    }

    #[test]
    fn every_served_openshift_and_oxshift_kind_has_a_typed_schema() {
        for def in crate::Scheme::builtin().resources() {
            if def.group.ends_with(".openshift.io") || def.group.ends_with(".oxshift.io") {
                assert!(
                    has_schema(def.group, def.version, def.kind),
                    "{}/{} {}: regenerate api/openapi (hack/gen-openshift-schemas.py), or \
                     describe an Oxshift kind in api/openapi/oxshift.json",
                    def.group,
                    def.version,
                    def.kind
                );
            }
        }
    }
}
