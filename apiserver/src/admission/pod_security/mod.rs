//! `PodSecurity`: the Pod Security Standards applied per namespace, as kube-apiserver's
//! plugin (pod-security-admission 1.32) with OpenShift's configuration. A namespace's
//! `pod-security.kubernetes.io/{enforce,audit,warn}[-version]` labels (`policy.rs`), over the
//! cluster defaults (privileged enforced, restricted audited and warned of), pick the level
//! each mode applies; the checks (`checks.rs`) judge the pod as it is about to be stored,
//! so after the SCC admission's defaults. `enforce` refuses pods, `warn` answers with
//! warnings and `audit` annotates the request's audit event; kinds holding a pod template
//! get warnings and audit annotations only. Namespace writes have their labels checked, and a
//! stricter enforce level is tried on the namespace's pods (`namespace.rs`).
//!
//! The cluster's defaults and the users, runtime classes and namespaces exempt come from the
//! admission configuration file (`config.rs`); exempt always, as OpenShift has it: the
//! namespaces `default`, `kube-system` and `kube-public`, and the build controller's
//! privileged build pods. Evaluations, exemptions and errors are counted as upstream counts
//! them (`metrics.rs`).

mod checks;
pub mod config;
pub mod metrics;
mod namespace;
pub mod policy;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use api::field::Field;
use serde_json::Value;

pub use checks::{Verdict, Violation, evaluate};
pub use config::Configuration;
use metrics::{Mode, PodSecurityMetrics};
use policy::Policy;

use super::{Admitted, Attributes, Operation};
use crate::ApiServer;
use crate::error::ApiError;

/// Upstream's name of the plugin.
pub const NAME: &str = "PodSecurity";

/// Namespaces whose pods are never judged, whatever the configuration exempts besides.
const ALWAYS_EXEMPT_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public"];

const AUDIT_PREFIX: &str = policy::LABEL_PREFIX;

/// Creates and updates of namespaces, pods and the kinds holding a pod template.
pub fn applies(a: &Attributes<'_>) -> bool {
    if !matches!(a.operation, Operation::Create | Operation::Update) {
        return false;
    }
    let core = a.def.group.is_empty();
    match (core, a.def.plural, a.subresource) {
        (true, "namespaces", "") => true,
        (true, "pods", "" | "ephemeralcontainers") => true,
        (_, _, "") => a.def.pod_spec.is_some(),
        _ => false,
    }
}

pub async fn check(
    server: &ApiServer,
    a: &Attributes<'_>,
    obj: &Value,
) -> Result<Admitted, ApiError> {
    let config = server.admission.pod_security();
    if a.def.group.is_empty() && a.def.plural == "namespaces" {
        return namespace::check(server, config, a, obj).await;
    }
    let Some(ns) = a.namespace else {
        return Ok(Admitted::default());
    };
    let metrics = &server.metrics.pod_security;
    let pod = a.def.group.is_empty() && a.def.plural == "pods";
    if exempt_namespace(config, ns) {
        return Ok(exempt(metrics, a, "namespace"));
    }
    let user = a.user.map(|u| u.name.as_str()).unwrap_or_default();
    if config.exempt_user(user) || (pod && exempt_builds(a, obj)) {
        return Ok(exempt(metrics, a, "user"));
    }
    let namespace = match a.namespace_object(server, ns).await {
        Ok(found) => found,
        Err(e) => {
            metrics.error(true, a);
            return Err(e);
        }
    };
    let labels = namespace
        .as_deref()
        .map_or(&Value::Null, |n| n.field("metadata").field("labels"));
    let (policy, errors) = Policy::from_labels(labels, config.defaults);
    let (meta, spec) = match pod {
        true => (obj.field("metadata"), obj.field("spec")),
        false => match template_of(a, obj) {
            Some(found) => found,
            None => return Ok(Admitted::default()),
        },
    };
    if pod {
        if errors.is_empty() && policy.fully_privileged() {
            metrics.evaluation(true, policy.enforce, Mode::Enforce, a);
            annotate("enforce-policy", || policy.enforce.to_string());
            return Ok(Admitted::default());
        }
        if let (Operation::Update, Some(old)) = (a.operation, a.old)
            && !significant_update(obj, old)
        {
            return Ok(Admitted::default());
        }
    } else if errors.is_empty()
        && policy.warn.level == policy::Level::Privileged
        && policy.audit.level == policy::Level::Privileged
    {
        return Ok(Admitted::default());
    }
    if config.exempt_runtime_class(spec) {
        return Ok(exempt(metrics, a, "runtimeClass"));
    }
    if !errors.is_empty() {
        annotate("error", || {
            format!("Failed to parse policy: {}", errors.summary())
        });
        metrics.error(false, a);
    }
    // Each level and version is evaluated once, as upstream caches its results.
    let mut verdicts: Vec<(policy::LevelVersion, Arc<Verdict>)> = Vec::new();
    let mut judge = |mode: policy::LevelVersion| {
        if let Some((_, v)) = verdicts.iter().find(|(m, _)| *m == mode) {
            return v.clone();
        }
        let v = Arc::new(evaluate(mode.level, mode.version, meta, spec));
        verdicts.push((mode, v.clone()));
        v
    };
    let enforced = pod.then(|| judge(policy.enforce));
    if let Some(verdict) = &enforced {
        annotate("enforce-policy", || policy.enforce.to_string());
        metrics.evaluation(verdict.allowed(), policy.enforce, Mode::Enforce, a);
    }
    let audit = judge(policy.audit);
    // The violations in words, made once when audit and warn judge alike.
    let mut audit_details = None;
    if !audit.allowed() {
        annotate("audit-violations", || {
            let details = audit_details.insert(audit.details());
            format!(
                "would violate PodSecurity {:?}: {details}",
                policy.audit.to_string()
            )
        });
        metrics.evaluation(false, policy.audit, Mode::Audit, a);
    }
    if let Some(verdict) = enforced.filter(|v| !v.allowed()) {
        return Err(a.forbidden(
            obj,
            format!(
                "violates PodSecurity {:?}: {}",
                policy.enforce.to_string(),
                verdict.details()
            ),
        ));
    }
    let mut admitted = Admitted::default();
    let warn = judge(policy.warn);
    if !warn.allowed() {
        let details = match audit_details {
            Some(details) if policy.warn == policy.audit => details,
            _ => warn.details(),
        };
        let mut warning = String::with_capacity(details.len() + 48);
        warning.push_str("would violate PodSecurity \"");
        policy.warn.push_to(&mut warning);
        warning.push_str("\": ");
        warning.push_str(&details);
        admitted.warnings.push(warning);
        metrics.evaluation(false, policy.warn, Mode::Warn, a);
    }
    Ok(admitted)
}

/// An exempt request (`why`: namespace, user or runtimeClass): counted and annotated.
fn exempt(metrics: &PodSecurityMetrics, a: &Attributes<'_>, why: &str) -> Admitted {
    metrics.exemption(a);
    annotate("exempt", || why.to_string());
    Admitted::default()
}

/// The namespaces OpenShift always exempts, and those the configuration names.
fn exempt_namespace(config: &Configuration, name: &str) -> bool {
    ALWAYS_EXEMPT_NAMESPACES.contains(&name) || config.exempt_namespace(name)
}

/// Annotates the request's audit event; the value is only made when the request is audited.
fn annotate(key: &str, value: impl FnOnce() -> String) {
    if crate::audit::audited() {
        crate::audit::annotate_current(&format!("{AUDIT_PREFIX}{key}"), &value());
    }
}

/// The pod template's metadata and spec of a kind holding one; None when it holds none (a
/// kind whose template is optional).
fn template_of<'v>(a: &Attributes<'_>, obj: &'v Value) -> Option<(&'v Value, &'v Value)> {
    let path = a.def.pod_spec?;
    let spec = path.split('.').try_fold(obj, |v, k| v.get(k))?;
    let meta_path = path.strip_suffix("spec")?;
    let meta = meta_path
        .split('.')
        .filter(|k| !k.is_empty())
        .chain(["metadata"])
        .try_fold(obj, |v, k| v.get(k))
        .unwrap_or(&Value::Null);
    Some((meta, spec))
}

/// Build pods the build controller makes run the privileged builder: OpenShift exempts the
/// build controller from Pod Security, as it holds the SCC those pods need.
fn exempt_builds(a: &Attributes<'_>, pod: &Value) -> bool {
    a.user
        .is_some_and(|u| u.name == crate::authz::bootstrap_policy::CONTROLLER_MANAGER)
        && super::scc::controlled_by_build(pod)
}

/// Whether a pod update changes what Pod Security judges: upstream only looks again when
/// containers are added or removed, an image changes, an ephemeral container is added, or a
/// container's seccomp annotation changes (the rest of a pod's spec cannot change).
fn significant_update(pod: &Value, old: &Value) -> bool {
    let list = |p: &'_ Value, k: &str| p["spec"][k].as_array().cloned().unwrap_or_default();
    let seccomp = |p: &Value, c: &Value| {
        let key = format!(
            "container.seccomp.security.alpha.kubernetes.io/{}",
            c["name"].as_str().unwrap_or_default()
        );
        p["metadata"]["annotations"][key.as_str()].clone()
    };
    let changed =
        |c: &Value, o: &Value| c["image"] != o["image"] || seccomp(pod, c) != seccomp(old, c);
    for kind in ["containers", "initContainers"] {
        let (now, before) = (list(pod, kind), list(old, kind));
        if now.len() != before.len() || now.iter().zip(&before).any(|(c, o)| changed(c, o)) {
            return true;
        }
    }
    let before = list(old, "ephemeralContainers");
    list(pod, "ephemeralContainers").iter().any(|c| {
        before
            .iter()
            .find(|o| o["name"] == c["name"])
            .is_none_or(|o| changed(c, o))
    })
}
