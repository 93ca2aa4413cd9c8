//! The admission chain, in kube-apiserver's order: mutating plugins (then mutating webhooks)
//! change the object before the kind's validation; validating plugins (then validating
//! webhooks and policies) judge the state about to be stored, after it. One module per
//! plugin; this file is the only place that orders them, but for NamespaceLifecycle's check
//! of a creation, which comes before them all, where a create starts. Every plugin can be
//! switched off by name (`--disable-admission-plugins`), as upstream's.

mod attributes;
pub mod binary_authorization;
pub mod build_by_strategy;
mod build_secret_injector;
pub(crate) mod cel;
mod certificates;
mod cluster_resource_quota;
pub mod config_file;
mod default_toleration_seconds;
mod image_policy;
pub mod image_trust;
mod limit_ranger;
mod matching;
pub mod namespace_lifecycle;
mod owner_references;
mod parsed_namespaces;
mod pod_node_selector;
pub mod pod_security;
mod policy;
mod priority;
mod project_node_selector;
mod rbac_escalation;
mod request_namespace;
mod resource_quota;
pub mod scc;
pub mod service_account;
pub(crate) mod webhook;

pub(crate) use policy::recheck as policy_recheck;
pub(crate) use policy::type_check as policy_type_check;
pub use policy::{Binding as PolicyBinding, Policy, Problem as PolicyProblem};

/// Whether a CEL expression compiles, for the validation of the kinds that hold them.
pub fn compile_check(source: &str) -> Result<(), String> {
    cel::compile_admission(source).map(drop)
}

use serde_json::Value;

pub use attributes::{Attributes, Operation};
pub(crate) use cluster_resource_quota::cluster_quotas_selecting;
pub use webhook::WebhookMetrics;

use crate::ApiServer;
use crate::error::ApiError;

/// Which plugins run (all but those switched off) and the configuration of those that take
/// one (`--admission-control-config-file`).
#[derive(Clone, Debug, Default)]
pub struct Config {
    disabled: std::collections::BTreeSet<String>,
    pod_security: std::sync::Arc<pod_security::Configuration>,
    pod_node_selector: std::sync::Arc<pod_node_selector::Configuration>,
    /// What the plugins keep between requests.
    pub(crate) state: std::sync::Arc<State>,
}

/// What plugins keep between requests: compiled webhooks (and policies).
#[derive(Default)]
pub struct State {
    webhooks: webhook::State,
    policies: policy::State,
    quotas: resource_quota::State,
    cluster_quotas: cluster_resource_quota::State,
    image_trust: image_trust::State,
    binary_authorization: binary_authorization::State,
    /// Which SCCs RBAC lets users use, per policy.
    scc_grants: scc::Grants,
    /// Namespaces' SCC allocations, parsed once per state.
    scc_allocations: scc::Allocations,
    /// The priority classes as pods take them.
    priority_classes: crate::watch::cache::Derived<priority::Classes>,
    /// The SCCs in the order they are tried.
    sccs: crate::watch::cache::Derived<Vec<crate::registry::security::model::Scc>>,
    /// Namespaces as plugins read them, parsed once per cached state.
    pub(crate) namespaces: parsed_namespaces::ParsedNamespaces,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("admission::State")
    }
}

impl Config {
    /// Switches off the plugins named (upstream's names); unknown names are refused, as
    /// kube-apiserver refuses them at start.
    pub fn disabling(names: &[String]) -> Result<Self, String> {
        let mut disabled = std::collections::BTreeSet::new();
        for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            if !PLUGINS.contains(&name) {
                return Err(format!(
                    "{name:?} is not a known admission plugin; known: {}",
                    PLUGINS.join(", ")
                ));
            }
            disabled.insert(name.to_string());
        }
        Ok(Config {
            disabled,
            ..Config::default()
        })
    }

    pub fn enabled(&self, plugin: &str) -> bool {
        !self.disabled.contains(plugin)
    }

    /// The same plugins with the configuration of the admission configuration file at `path`.
    pub fn with_config_file(self, path: &std::path::Path) -> Result<Self, String> {
        self.configured(&config_file::load(path)?)
    }

    /// The same plugins with the configuration `plugins` gives those that take one; a bad
    /// one is refused with upstream's words, as kube-apiserver refuses it at start.
    pub fn configured(mut self, plugins: &config_file::Plugins) -> Result<Self, String> {
        let init = |name: &str, e: String| format!("couldn't init admission plugin {name:?}: {e}");
        let pod_security = match plugins {
            // The legacy form gives PodSecurity only a document of its own kind.
            config_file::Plugins::Legacy(doc) if doc["kind"] != pod_security::config::KIND => None,
            _ => plugins.of(pod_security::NAME),
        };
        if let Some(config) = pod_security {
            self.pod_security = std::sync::Arc::new(
                pod_security::Configuration::from_value(config)
                    .map_err(|e| init(pod_security::NAME, e))?,
            );
        }
        if let Some(config) = plugins.of(pod_node_selector::NAME) {
            self.pod_node_selector = std::sync::Arc::new(
                pod_node_selector::Configuration::from_value(config)
                    .map_err(|e| init(pod_node_selector::NAME, e))?,
            );
        }
        Ok(self)
    }

    pub(crate) fn pod_security(&self) -> &pod_security::Configuration {
        &self.pod_security
    }

    pub(crate) fn pod_node_selector(&self) -> &pod_node_selector::Configuration {
        &self.pod_node_selector
    }
}

/// Every plugin that can be switched off, in the chain's order. (RBAC's escalation check is
/// not one: upstream makes it part of the RBAC kinds' storage, always on.)
pub const PLUGINS: &[&str] = &[
    namespace_lifecycle::NAME,
    image_policy::NAME,
    project_node_selector::NAME,
    pod_node_selector::NAME,
    limit_ranger::NAME,
    service_account::NAME,
    priority::NAME,
    default_toleration_seconds::NAME,
    scc::NAME,
    build_secret_injector::NAME,
    webhook::MUTATING,
    pod_security::NAME,
    owner_references::NAME,
    image_trust::NAME,
    binary_authorization::NAME,
    build_by_strategy::NAME,
    certificates::APPROVAL,
    certificates::SIGNING,
    certificates::SUBJECT_RESTRICTION,
    policy::PLUGIN,
    webhook::VALIDATING,
    resource_quota::NAME,
    cluster_resource_quota::NAME,
];

/// What admission adds to a response: warnings for the client (`Warning` headers).
#[derive(Debug, Default)]
pub struct Admitted {
    pub warnings: Vec<String>,
}

impl Admitted {
    fn add(&mut self, other: Admitted) {
        self.warnings.extend(other.warnings);
    }
}

/// The mutating phase: each enabled mutating plugin may change `obj`. Runs before the kind's
/// validation, so what plugins set is validated like what the client sent.
pub async fn mutate(
    server: &ApiServer,
    a: &Attributes<'_>,
    obj: &mut Value,
) -> Result<Admitted, ApiError> {
    let mut admitted = Admitted::default();
    let on = |plugin| server.admission.enabled(plugin);
    if on(image_policy::NAME) && image_policy::applies(a) {
        image_policy::admit(server, a, obj).await?;
    }
    if on(project_node_selector::NAME) && project_node_selector::applies(a) {
        project_node_selector::admit(server, a, obj).await?;
    }
    if on(pod_node_selector::NAME) && pod_node_selector::applies(a) {
        pod_node_selector::admit(server, a, obj).await?;
    }
    if on(limit_ranger::NAME) && limit_ranger::applies(a) {
        limit_ranger::admit(server, a, obj).await?;
    }
    if on(service_account::NAME) && service_account::applies(a) {
        service_account::admit(server, obj).await?;
    }
    if on(priority::NAME) && priority::applies_to_pods(a) {
        priority::admit(server, a, obj).await?;
    }
    if on(default_toleration_seconds::NAME) && default_toleration_seconds::applies(a) {
        default_toleration_seconds::admit(obj);
    }
    if on(scc::NAME) && scc::applies(a) {
        scc::admit(server, a, obj).await?;
    }
    if on(build_secret_injector::NAME) && build_secret_injector::applies(a) {
        build_secret_injector::admit(server, a, obj).await?;
    }
    if on(webhook::MUTATING) {
        admitted.add(webhook::mutate(server, a, obj).await?);
    }
    Ok(admitted)
}

/// The validating phase: each enabled validating plugin judges `obj` (for a deletion, the
/// object being deleted), the state about to be stored.
pub async fn validate(
    server: &ApiServer,
    a: &Attributes<'_>,
    obj: &Value,
) -> Result<Admitted, ApiError> {
    let mut admitted = Admitted::default();
    let on = |plugin| server.admission.enabled(plugin);
    if rbac_escalation::applies(a) {
        rbac_escalation::check(server, a, obj).await?;
    }
    if on(namespace_lifecycle::NAME) && namespace_lifecycle::applies_to_deletion(a) {
        namespace_lifecycle::check_deletion(a, obj)?;
    }
    // First of the validating plugins, as upstream orders PodSecurity: it judges the pod the
    // mutating plugins (the SCC admission's defaults among them) left.
    if on(pod_security::NAME) && pod_security::applies(a) {
        admitted.add(pod_security::check(server, a, obj).await?);
    }
    if on(pod_node_selector::NAME) && pod_node_selector::applies(a) {
        pod_node_selector::check(server, a, obj).await?;
    }
    if on(priority::NAME) && priority::applies_to_classes(a) {
        priority::check(server, a, obj).await?;
    }
    if on(owner_references::NAME) && owner_references::applies(a) {
        owner_references::check(server, a, obj).await?;
    }
    if on(image_trust::NAME) && image_trust::applies(a) {
        image_trust::check(server, a, obj).await?;
    }
    if on(binary_authorization::NAME) && binary_authorization::applies(a) {
        binary_authorization::check(server, a, obj).await?;
    }
    if on(build_by_strategy::NAME) && build_by_strategy::applies(a) {
        build_by_strategy::check(server, a, obj).await?;
    }
    if on(certificates::APPROVAL) && certificates::approval_applies(a) {
        certificates::check_approval(server, a, obj).await?;
    }
    if on(certificates::SIGNING) && certificates::signing_applies(a) {
        certificates::check_signing(server, a, obj).await?;
    }
    if on(certificates::SUBJECT_RESTRICTION) && certificates::subject_restriction_applies(a) {
        certificates::check_subject(a, obj)?;
    }
    if on(policy::PLUGIN) {
        admitted.add(policy::validate(server, a, obj).await?);
    }
    if on(webhook::VALIDATING) {
        admitted.add(webhook::validate(server, a, obj).await?);
    }
    // Last, as upstream: only what every other plugin admitted is charged.
    if on(resource_quota::NAME) && resource_quota::applies(a) {
        resource_quota::check(server, a, obj).await?;
    }
    if on(cluster_resource_quota::NAME) && cluster_resource_quota::applies(a) {
        cluster_resource_quota::check(server, a, obj).await?;
    }
    Ok(admitted)
}
