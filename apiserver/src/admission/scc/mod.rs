//! `security.openshift.io/SecurityContextConstraint`: every pod is admitted under one SCC.
//! The SCCs are tried in order (`order.rs`); those neither the requester nor the pod's
//! service account may use (listed in the SCC's users or groups, or granted the `use` verb
//! on it by RBAC in the pod's namespace) are skipped; the first whose defaults and rules
//! (`provider.rs`) admit the pod wins, its defaults are kept and its name recorded in the
//! `openshift.io/scc` annotation. A pod may name the one SCC it requires
//! (`openshift.io/required-scc`). Refusals list every SCC tried, as upstream's, and end with
//! the grant that would admit the pod when one would (`hint.rs`).
//!
//! Pods written by the controller manager are judged for their service account alone:
//! upstream's controllers hold no SCC of their own, so a workload's pods get what its
//! service account may use. Build pods are the exception: upstream's build controller may
//! use the `privileged` SCC its build pods need, so pods a Build controls are judged with the
//! controller manager's rights.

mod grants;
mod hint;
mod namespace;
mod order;
mod provider;

use std::sync::Arc;

use api::field::{Field, object_field_mut, set_field};
use auth::rbac::{Policy, UserInfo};
use serde_json::Value;

use super::request_namespace::RequestNamespace;
use crate::ApiServer;
use crate::authz::authorizer::user_info;
use crate::error::ApiError;
use crate::registry::security::model::Scc;
pub use grants::Grants;
use namespace::Allocation;
pub use namespace::Allocations;
use provider::Provider;

/// Upstream's name of the plugin.
pub const NAME: &str = "security.openshift.io/SecurityContextConstraint";

const SCC_ANNOTATION: &str = "openshift.io/scc";
const REQUIRED_SCC_ANNOTATION: &str = "openshift.io/required-scc";

/// Creates and updates of pods themselves (not their status or other subresources).
pub fn applies(a: &super::Attributes<'_>) -> bool {
    a.def.group.is_empty()
        && a.def.plural == "pods"
        && a.subresource.is_empty()
        && matches!(
            a.operation,
            super::Operation::Create | super::Operation::Update
        )
}

pub async fn admit(
    server: &ApiServer,
    a: &super::Attributes<'_>,
    pod: &mut Value,
) -> Result<(), ApiError> {
    if let (super::Operation::Update, Some(old)) = (a.operation, a.old) {
        return keep_annotation(a, old, pod);
    }
    let Some(namespace) = a.namespace else {
        return Ok(());
    };
    let user = a
        .user
        .filter(|u| {
            u.name != crate::authz::bootstrap_policy::CONTROLLER_MANAGER || controlled_by_build(pod)
        })
        .map(user_info);
    let judged = Judged::new(user, pod, namespace);
    match evaluate(server, &judged, pod, &a.namespace_object).await? {
        Outcome::Admitted => Ok(()),
        Outcome::Refused(message) => Err(a.forbidden(pod, message)),
    }
}

/// Whether a Build controls the pod (a build pod the build controller made).
pub(crate) fn controlled_by_build(pod: &Value) -> bool {
    pod["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|o| {
            o["controller"] == true
                && o["kind"] == "Build"
                && o["apiVersion"] == "build.openshift.io/v1"
        })
}

/// What the SCCs make of a pod.
pub enum Outcome {
    /// The pod now has the first admitting SCC's defaults and is annotated with its name.
    Admitted,
    /// Upstream's message listing every SCC tried (and the hint); the pod is as it was.
    Refused(String),
}

/// Tries the SCCs in order for the pod, judged for `judged`. Each SCC's defaults are applied
/// to the pod itself and taken back when that SCC refuses it. `read` is the request's
/// namespace as the plugins read it.
pub(crate) async fn evaluate(
    server: &ApiServer,
    judged: &Judged,
    pod: &mut Value,
    read: &RequestNamespace,
) -> Result<Outcome, ApiError> {
    let ns_name = judged.namespace.as_str();
    let namespace = allocation(server, ns_name, read).await?;
    let all = ordered(server).await?;
    let required = annotation(pod, REQUIRED_SCC_ANNOTATION)
        .as_str()
        .map(str::to_string);
    let sccs: Vec<&Scc> = all
        .iter()
        .filter(|s| required.as_ref().is_none_or(|r| s.name() == r))
        .collect();
    if let (Some(required), true) = (required, sccs.is_empty()) {
        return Ok(Outcome::Refused(format!(
            "required scc/{required} not found"
        )));
    }
    let policy = server.authorizer.policy().await;
    let mut errors: Vec<String> = Vec::new();
    // SCCs the pod's judged may not use, tried only if no usable one admits the pod: the
    // first that would is the refusal's hint. Most pods are admitted by a usable SCC.
    let mut unusable: Vec<&Scc> = Vec::new();
    for scc in sccs {
        let usable = judged.may_use(&policy, &server.admission.state.scc_grants, scc);
        if !usable {
            errors.push(not_usable(scc));
            unusable.push(scc);
            continue;
        }
        let provider = match Provider::new(scc, &namespace) {
            Ok(p) => p,
            Err(e) => {
                errors.push(format!("provider {}: Forbidden: {e}", scc.name()));
                continue;
            }
        };
        let saved = provider::Saved::of(pod);
        provider.apply_defaults(pod);
        let problems = provider.validate(pod);
        if problems.is_empty() {
            annotate(pod, SCC_ANNOTATION, scc.name());
            return Ok(Outcome::Admitted);
        }
        saved.restore(pod);
        errors.extend(
            problems
                .into_iter()
                .map(|p| format!("provider {}: {p}", scc.name())),
        );
    }
    let grantable = unusable.into_iter().find(|scc| {
        let Ok(provider) = Provider::new(scc, &namespace) else {
            return false;
        };
        let saved = provider::Saved::of(pod);
        provider.apply_defaults(pod);
        let admits = provider.validate(pod).is_empty();
        saved.restore(pod);
        admits
    });
    let mut message = format!(
        "unable to validate against any security context constraint: [{}]",
        errors.join(", ")
    );
    if let Some(scc) = grantable {
        message.push_str(&hint::grant(scc.name(), &judged.service_account, ns_name));
    }
    Ok(Outcome::Refused(message))
}

/// Who a pod is judged for: a user (none: the service account alone) and the pod's service
/// account.
pub struct Judged {
    user: Option<UserInfo>,
    service_account: String,
    /// False: only the user is judged (a subject review of a template naming no account).
    with_account: bool,
    /// The service account as a user, made when first asked for: when the user may use the
    /// SCC that admits the pod, it never is.
    account: std::sync::OnceLock<UserInfo>,
    namespace: String,
}

impl Judged {
    pub fn new(user: Option<UserInfo>, pod: &Value, namespace: &str) -> Judged {
        let service_account = pod
            .field("spec")
            .field("serviceAccountName")
            .as_str()
            .filter(|s| !s.is_empty())
            .unwrap_or("default")
            .to_string();
        Judged {
            user,
            service_account,
            with_account: true,
            account: Default::default(),
            namespace: namespace.to_string(),
        }
    }

    /// The user alone, as upstream's subject reviews judge a template naming no account.
    pub fn user_only(user: UserInfo, namespace: &str) -> Judged {
        Judged {
            user: Some(user),
            service_account: "default".into(),
            with_account: false,
            account: Default::default(),
            namespace: namespace.to_string(),
        }
    }

    /// The pod's service account, as RBAC and the SCCs' lists name it.
    fn account(&self) -> &UserInfo {
        self.account.get_or_init(|| {
            let (namespace, name) = (self.namespace.as_str(), self.service_account.as_str());
            // Concatenated: `format!` costs several times as much.
            UserInfo {
                name: ["system:serviceaccount:", namespace, ":", name].concat(),
                groups: vec![
                    "system:serviceaccounts".into(),
                    ["system:serviceaccounts:", namespace].concat(),
                    auth::rbac::AUTHENTICATED.into(),
                ],
                ..Default::default()
            }
        })
    }

    /// The user's right first, then the account's.
    fn may_use(&self, policy: &Arc<Policy>, grants: &Grants, scc: &Scc) -> bool {
        let may = |who: &UserInfo| {
            listed(scc, who) || grants.granted(policy, who, &self.namespace, scc.name())
        };
        self.user.as_ref().is_some_and(may) || (self.with_account && may(self.account()))
    }
}

/// Named in the SCC's users or groups.
fn listed(scc: &Scc, who: &UserInfo) -> bool {
    scc.users.iter().flatten().any(|u| *u == who.name)
        || scc.groups.iter().flatten().any(|g| who.groups.contains(g))
}

fn not_usable(scc: &Scc) -> String {
    format!(
        "provider {:?}: Forbidden: not usable by user or serviceaccount",
        scc.name()
    )
}

/// An update keeps the SCC the pod was admitted under.
fn keep_annotation(
    a: &super::Attributes<'_>,
    old: &Value,
    pod: &mut Value,
) -> Result<(), ApiError> {
    let before = annotation(old, SCC_ANNOTATION);
    let after = annotation(pod, SCC_ANNOTATION);
    if before == after {
        return Ok(());
    }
    if after.is_null()
        && let Some(before) = before.as_str()
    {
        annotate(pod, SCC_ANNOTATION, before);
        return Ok(());
    }
    Err(a.forbidden(
        pod,
        format!("{SCC_ANNOTATION} annotation may not be changed"),
    ))
}

/// The pod's annotation `key` (null when absent), found by scanning field names.
fn annotation<'a>(pod: &'a Value, key: &str) -> &'a Value {
    pod.field("metadata").field("annotations").field(key)
}

/// Sets the pod's annotation `key`, as `pod["metadata"]["annotations"][key] = value` would
/// without hashing each name on the way.
fn annotate(pod: &mut Value, key: &str, value: &str) {
    let annotations =
        object_field_mut(pod, "metadata").and_then(|meta| object_field_mut(meta, "annotations"));
    if let Some(annotations) = annotations {
        set_field(annotations, key, Value::String(value.to_string()));
    }
}

/// Every SCC in the order they are tried, read from the watch cache and kept until it
/// changes (every pod create needs them; they change rarely).
async fn ordered(server: &ApiServer) -> Result<Arc<Vec<Scc>>, ApiError> {
    let (def, cache) = server
        .named_cache("security.openshift.io", "v1", "securitycontextconstraints")
        .await?
        .ok_or(ApiError::PathNotFound)?;
    Ok(server.admission.state.sccs.get_or_derive(&cache, |cache| {
        let (objects, _) = cache.snapshot(&def.key_prefix());
        let mut sccs: Vec<Scc> = objects
            .iter()
            .filter_map(|(_, o)| serde_json::from_slice::<Value>(&o.json).ok())
            .filter_map(|v| Scc::from_value(&v))
            .collect();
        order::sort(&mut sccs);
        sccs
    }))
}

/// The namespace's allocation. A namespace created a moment ago may not have been allocated
/// yet: its pods wait briefly for the allocation, as they cannot be judged without it (read
/// afresh each time, and kept for the plugins after).
async fn allocation(
    server: &ApiServer,
    name: &str,
    read: &RequestNamespace,
) -> Result<Arc<Allocation>, ApiError> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut found = read.get(server, name).await?;
    loop {
        let allocation = found
            .as_ref()
            .map(|ns| server.admission.state.scc_allocations.of(name, ns))
            .unwrap_or_default();
        // Only an incomplete allocation asks the namespace's age.
        if allocation.is_complete()
            || !found.as_deref().is_some_and(created_recently)
            || tokio::time::Instant::now() >= deadline
        {
            return Ok(allocation);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        found = server.namespace_object(name).await?;
        read.keep(name, found.clone());
    }
}

/// Created in the last few seconds (an older namespace without an allocation will not get one
/// while a pod waits).
fn created_recently(namespace: &Value) -> bool {
    namespace["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .is_some_and(|t| jiff::Timestamp::now().as_second() - t.as_second() < 10)
}
