//! `ValidatingAdmissionPolicy`: CEL validations of the requests a policy's bindings select,
//! each binding with its own parameters and actions (Deny, Warn, Audit), in upstream's
//! words. Policies and bindings are compiled once per change of their watch caches.

mod compiled;
mod evaluate;
mod params;
pub mod recheck;
pub mod type_check;

use std::sync::{Arc, Mutex};

use serde_json::Value;

pub use compiled::{Binding, Policy, Problem};

use crate::ApiServer;
use crate::admission::{Admitted, Attributes, matching};
use crate::error::ApiError;
use crate::watch::cache::Cache;
use compiled::MatchResources;

/// The plugin's name, as `--disable-admission-plugins` takes it.
pub const PLUGIN: &str = "ValidatingAdmissionPolicy";

/// The compiled policies and bindings, as of their caches' states.
#[derive(Default)]
pub struct State {
    current: Mutex<Option<Snapshot>>,
}

struct Snapshot {
    /// (cache, changes) of policies, then of bindings.
    seen: [(Arc<Cache>, u64); 2],
    /// Each binding with its policy, in the bindings' name order.
    pairs: Arc<Vec<(Arc<Policy>, Arc<Binding>)>>,
}

impl State {
    async fn pairs(
        &self,
        server: &ApiServer,
    ) -> Result<Arc<Vec<(Arc<Policy>, Arc<Binding>)>>, ApiError> {
        let mut caches = Vec::new();
        for resource in [
            "validatingadmissionpolicies",
            "validatingadmissionpolicybindings",
        ] {
            let (def, cache) = server
                .named_cache("admissionregistration.k8s.io", "v1", resource)
                .await?
                .ok_or_else(|| ApiError::Internal(format!("{resource} are not served")))?;
            let changes = cache.changes();
            caches.push((def, cache, changes));
        }
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = current.as_ref()
            && s.seen
                .iter()
                .zip(&caches)
                .all(|((c, n), (_, cache, changes))| Arc::ptr_eq(c, cache) && n == changes)
        {
            return Ok(s.pairs.clone());
        }
        let objects = |i: usize| -> Vec<Value> {
            let (def, cache, _) = &caches[i];
            let (objects, _) = cache.snapshot(&def.key_prefix());
            objects
                .iter()
                .filter_map(|(_, c)| serde_json::from_slice(&c.json).ok())
                .collect()
        };
        let policies: Vec<Arc<Policy>> = objects(0)
            .iter()
            .map(|p| Arc::new(Policy::from_json(p)))
            .collect();
        let mut bindings: Vec<Binding> = objects(1).iter().map(Binding::from_json).collect();
        bindings.sort_by(|a, b| a.name.cmp(&b.name));
        let pairs: Vec<_> = bindings
            .into_iter()
            .filter_map(|b| {
                let policy = policies.iter().find(|p| p.name == b.policy)?.clone();
                Some((policy, Arc::new(b)))
            })
            .collect();
        let pairs = Arc::new(pairs);
        let mut seen = caches
            .into_iter()
            .map(|(_, cache, changes)| (cache, changes));
        if let (Some(a), Some(b)) = (seen.next(), seen.next()) {
            *current = Some(Snapshot {
                seen: [a, b],
                pairs: pairs.clone(),
            });
        }
        Ok(pairs)
    }
}

/// Whether `m` selects the request. No rules select every resource (a binding's
/// `matchResources` then narrows its policy's by selectors only).
fn selects(
    m: &MatchResources,
    a: &Attributes<'_>,
    object: Option<&Value>,
    ns_labels: Option<&serde_json::Map<String, Value>>,
) -> bool {
    (m.rules.is_empty() || m.rules.iter().any(|r| r.matches(a, m.equivalent)))
        && !m.excluded.iter().any(|r| r.matches(a, m.equivalent))
        && ns_labels.is_none_or(|l| m.namespace_selector.matches(Some(l)))
        && matching::object_matches(&m.object_selector, object, a)
}

/// Every binding that selects the request, with its policy: a Deny failure is the error,
/// Warn failures are warnings, Audit failures audit annotations.
pub async fn validate(
    server: &ApiServer,
    a: &Attributes<'_>,
    obj: &Value,
) -> Result<Admitted, ApiError> {
    let mut admitted = Admitted::default();
    if matching::exempt(a) {
        return Ok(admitted);
    }
    let pairs = server.admission.state.policies.pairs(server).await?;
    if pairs.is_empty() {
        return Ok(admitted);
    }
    let object = (a.operation != crate::admission::Operation::Delete).then_some(obj);
    let ns_labels = matching::namespace_labels(server, a, object).await?;
    let mut input = None;
    let mut audit_failures = Vec::new();
    for (policy, binding) in pairs.iter() {
        if !selects(&policy.constraints, a, object, ns_labels.as_ref())
            || binding
                .resources
                .as_ref()
                .is_some_and(|m| !selects(m, a, object, ns_labels.as_ref()))
        {
            continue;
        }
        // The request as CEL sees it, built once for every policy that applies.
        let input = match &mut input {
            Some(input) => input,
            None => input.insert(evaluate::Input::new(server, a, object).await?),
        };
        let resolved = match binding.problems.first() {
            Some(problem) => Err(problem.to_string()),
            None => params::resolve(server, policy, binding, a).await,
        };
        let failures = match resolved {
            Ok(params) => params
                .iter()
                .flat_map(|param| evaluate::run(policy, input, param.as_ref()))
                .collect(),
            Err(_) if !policy.fail_closed => Vec::new(),
            Err(message) => vec![evaluate::Failure {
                message,
                reason: "Invalid".into(),
            }],
        };
        for failure in failures {
            evaluate::act(
                a,
                policy,
                binding,
                failure,
                &mut admitted,
                &mut audit_failures,
            )?;
        }
    }
    if !audit_failures.is_empty() {
        crate::audit::annotate_current(
            "validation.policy.admission.k8s.io/validation_failure",
            &Value::Array(audit_failures).to_string(),
        );
    }
    Ok(admitted)
}
