//! `pods/<name>/eviction` (upstream's EvictionREST): a pod deleted with the eviction's
//! deleteOptions only if the one PodDisruptionBudget that picks it allows a disruption then;
//! the budget's `disruptionsAllowed` is taken by compare-and-swap on its status, the pod
//! recorded in `disruptedPods` until the disruption controller sees it go.

use api::selector::{LabelSelector, format_label_selector};
use serde_json::{Value, json};

use crate::ApiServer;
use crate::error::ApiError;
use crate::registry::object;
use crate::registry::rest::{Call, Rest};

/// How many times a budget is read again when it changed under an eviction.
const ATTEMPTS: usize = 5;

/// The most evictions a budget may hold unconfirmed by the disruption controller
/// (upstream's MaxDisruptedPodSize).
pub const MAX_DISRUPTED_PODS: usize = 2000;

/// What an eviction does about the budget that picks the pod.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Delete an unhealthy pod without touching the budget, as long as the pod is still
    /// the one judged (a resourceVersion precondition).
    DeleteUnhealthy,
    /// Take one disruption from the budget, then delete.
    Take,
    /// Refused, with upstream's error.
    Refuse(ApiError),
}

/// Whether `pod` is beyond a budget's protection: terminal, pending or already going
/// (upstream's canIgnorePDB).
fn ignores_budgets(pod: &Value) -> bool {
    let phase = pod["status"]["phase"].as_str().unwrap_or_default();
    !pod["metadata"]["deletionTimestamp"].is_null()
        || matches!(phase, "Succeeded" | "Failed" | "Pending")
}

fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// The budget's `DisruptionAllowed` condition when it is False with a message.
fn refusing_condition(pdb: &Value) -> Option<&Value> {
    pdb["status"]["conditions"].as_array()?.iter().find(|c| {
        c["type"] == "DisruptionAllowed"
            && c["status"] == "False"
            && c["message"].as_str().is_some_and(|m| !m.is_empty())
    })
}

/// Why a budget without room refuses (upstream's order: a failed sync first, as its
/// counts are not to be trusted then).
fn denied_message(pdb: &Value, name: &str) -> String {
    let int = |v: &Value| v.as_i64().unwrap_or(0);
    let (desired, current) = (
        int(&pdb["status"]["desiredHealthy"]),
        int(&pdb["status"]["currentHealthy"]),
    );
    let condition = refusing_condition(pdb);
    let text = |c: &Value, k: &str| c[k].as_str().unwrap_or_default().to_string();
    match condition {
        Some(c) if c["reason"] == "SyncFailed" => format!(
            "The disruption budget {name} does not allow evicting pods currently because it failed sync: {}",
            text(c, "message")
        ),
        _ if current <= desired => {
            format!(
                "The disruption budget {name} needs {desired} healthy pods and has {current} currently"
            )
        }
        Some(c) => format!(
            "The disruption budget {name} does not allow evicting pods currently ({}): {}",
            text(c, "reason"),
            text(c, "message")
        ),
        None => format!("The disruption budget {name} does not allow evicting pods currently"),
    }
}

/// Upstream's checks of a budget for an eviction of `pod` (the unhealthy pod policy, then
/// checkAndDecrement).
pub fn decide(pdb: &Value, pod: &Value) -> Decision {
    let name = object::meta_str(pdb, "name");
    let status = &pdb["status"];
    let int = |v: &Value| v.as_i64().unwrap_or(0);
    if !is_ready(pod) {
        // An unhealthy pod may go when the budget is already met, or always if it says so.
        let always = pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow";
        let desired = int(&status["desiredHealthy"]);
        if always || (desired > 0 && int(&status["currentHealthy"]) >= desired) {
            return Decision::DeleteUnhealthy;
        }
    }
    if int(&status["observedGeneration"]) < int(&pdb["metadata"]["generation"]) {
        return Decision::Refuse(ApiError::DisruptionBudget {
            why: format!("The disruption budget {name} is still being processed by the server."),
            retry_after: Some(10),
        });
    }
    let allowed = int(&status["disruptionsAllowed"]);
    let forbidden = |error, cause| {
        Decision::Refuse(ApiError::DisruptionBudgetForbidden {
            budget: name.to_string(),
            error,
            cause,
        })
    };
    if allowed < 0 {
        return forbidden(
            "pdb disruptions allowed is negative",
            "pdb disruptions allowed is negative",
        );
    }
    let pending = status["disruptedPods"].as_object().map_or(0, |m| m.len());
    if pending > MAX_DISRUPTED_PODS {
        return forbidden(
            "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
            "too many pending evictions not confirmed by PDB controller",
        );
    }
    if allowed == 0 {
        return Decision::Refuse(ApiError::DisruptionBudget {
            why: denied_message(pdb, name),
            retry_after: None,
        });
    }
    Decision::Take
}

/// `pdb` with one disruption taken by `pod` at `now`; its `DisruptionAllowed` condition
/// turns False when none is left.
pub fn take(mut pdb: Value, pod: &str, now: &str) -> Value {
    let allowed = pdb["status"]["disruptionsAllowed"].as_i64().unwrap_or(0) - 1;
    pdb["status"]["disruptionsAllowed"] = json!(allowed);
    if allowed == 0 {
        insufficient(&mut pdb, now);
    }
    if !pdb["status"]["disruptedPods"].is_object() {
        pdb["status"]["disruptedPods"] = json!({});
    }
    pdb["status"]["disruptedPods"][pod] = json!(now);
    pdb
}

/// Sets the budget's `DisruptionAllowed` condition to False for want of pods, as
/// upstream's UpdateDisruptionAllowedCondition does.
fn insufficient(pdb: &mut Value, now: &str) {
    let generation = pdb["status"]["observedGeneration"].clone();
    if !pdb["status"]["conditions"].is_array() {
        pdb["status"]["conditions"] = json!([]);
    }
    let Some(conditions) = pdb["status"]["conditions"].as_array_mut() else {
        return;
    };
    let wanted = json!({"type": "DisruptionAllowed", "status": "False",
        "reason": "InsufficientPods", "message": "", "observedGeneration": generation,
        "lastTransitionTime": now});
    match conditions
        .iter_mut()
        .find(|c| c["type"] == "DisruptionAllowed")
    {
        Some(c) => {
            let kept = (c["status"] == "False").then(|| c["lastTransitionTime"].clone());
            *c = wanted;
            if let Some(at) = kept {
                c["lastTransitionTime"] = at;
            }
        }
        None => conditions.push(wanted),
    }
}

/// The budgets of `budgets` that pick `pod`; one without a selector, or with an empty one,
/// picks none here (as upstream's eviction reads them).
fn picking<'a>(budgets: &'a [Value], pod: &Value) -> Vec<&'a Value> {
    let labels = pod["metadata"]["labels"].as_object();
    budgets
        .iter()
        .filter(|b| {
            let text = format_label_selector(b["spec"].get("selector"));
            LabelSelector::parse(&text).is_ok_and(|s| !s.is_empty() && s.matches(labels))
        })
        .collect()
}

/// Checks the budgets that pick pod `name` and takes a disruption from the one there is;
/// Ok when the pod may be deleted, with the resourceVersion its deletion must find when an
/// unhealthy pod goes without taking from the budget.
async fn admit(
    server: &ApiServer,
    namespace: &str,
    name: &str,
    dry_run: bool,
) -> Result<Option<String>, ApiError> {
    let pods = server
        .scheme
        .lookup("", "v1", "pods")
        .ok_or(ApiError::PathNotFound)?;
    let budgets_def = server
        .scheme
        .lookup("policy", "v1", "poddisruptionbudgets")
        .ok_or(ApiError::PathNotFound)?;
    for _ in 0..ATTEMPTS {
        let pod = server
            .get_object(pods, Some(namespace), name)
            .await?
            .ok_or_else(|| ApiError::NotFound(object::target(pods, name)))?;
        if ignores_budgets(&pod) {
            return Ok(None);
        }
        let budgets = server.list_objects(budgets_def, Some(namespace)).await?;
        let pdb = match picking(&budgets, &pod).as_slice() {
            [] => return Ok(None),
            [one] => (*one).clone(),
            _ => {
                return Err(ApiError::Internal(
                    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.".into(),
                ));
            }
        };
        match decide(&pdb, &pod) {
            Decision::DeleteUnhealthy => {
                return Ok(Some(object::meta_str(&pod, "resourceVersion").to_string()));
            }
            Decision::Refuse(e) => return Err(e),
            Decision::Take if dry_run => return Ok(None),
            Decision::Take => {}
        }
        match server
            .update_object(budgets_def, take(pdb, name, &object::now()))
            .await
        {
            Ok(_) => return Ok(None),
            Err(ApiError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(ApiError::Conflict(object::target(budgets_def, name)))
}

/// The `eviction` subresource of pods.
pub struct Evictions;

#[async_trait::async_trait]
impl Rest for Evictions {
    async fn create(
        &self,
        call: &Call<'_>,
        body: bytes::Bytes,
    ) -> Result<axum::response::Response, ApiError> {
        let eviction: Value = serde_json::from_slice(&call.decode(&body)?)
            .map_err(|e| ApiError::BadRequest(format!("invalid Eviction: {e}")))?;
        if object::meta_str(&eviction, "name") != call.name {
            return Err(ApiError::BadRequest(
                "name in URL does not match name in Eviction object".into(),
            ));
        }
        let namespace = call.namespace.unwrap_or_default();
        let mut options = eviction
            .get("deleteOptions")
            .cloned()
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({}));
        // A dry run is asked in the query or, as kubectl drain does, in the deleteOptions.
        let dry_run = call.params.dry_run.iter().any(|d| d == "All")
            || options["dryRun"]
                .as_array()
                .is_some_and(|d| d.iter().any(|d| d == "All"));
        if let Some(version) = admit(call.server, namespace, call.name, dry_run).await? {
            // The unhealthy pod judged is the one deleted: had it turned ready since, the
            // budget would count it.
            if !options["preconditions"].is_object() {
                options["preconditions"] = json!({});
            }
            options["preconditions"]["resourceVersion"] = json!(version);
        }
        let generic = call
            .server
            .registry
            .handler_of(call.def, "")
            .ok_or(ApiError::PathNotFound)?;
        generic
            .delete(call, bytes::Bytes::from(options.to_string()))
            .await?;
        let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Success", "code": 201});
        Ok(crate::registry::response::json_response(
            axum::http::StatusCode::CREATED,
            &status,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready_pod() -> Value {
        json!({"metadata": {"name": "p", "labels": {"app": "web"}},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}})
    }

    fn budget(allowed: i64, generation: i64) -> Value {
        json!({"metadata": {"name": "b", "generation": 1},
            "spec": {"selector": {"matchLabels": {"app": "web"}}},
            "status": {"observedGeneration": generation, "disruptionsAllowed": allowed,
                "desiredHealthy": 2, "currentHealthy": 2}})
    }

    fn refusal(d: Decision) -> api::status::Status {
        match d {
            Decision::Refuse(e) => e.status(),
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_budget_with_room_gives_one_disruption() {
        assert_eq!(decide(&budget(2, 1), &ready_pod()), Decision::Take);
        let taken = take(budget(2, 1), "p", "T");
        assert_eq!(taken["status"]["disruptionsAllowed"], 1);
        assert_eq!(taken["status"]["disruptedPods"], json!({"p": "T"}));
        assert!(taken["status"].get("conditions").is_none());
    }

    #[test]
    fn the_last_disruption_taken_turns_the_condition_false() {
        let mut pdb = budget(1, 1);
        pdb["status"]["conditions"] = json!([{"type": "DisruptionAllowed", "status": "True",
            "reason": "SufficientPods", "lastTransitionTime": "EARLIER"}]);
        let taken = take(pdb, "p", "T");
        assert_eq!(taken["status"]["disruptionsAllowed"], 0);
        let c = &taken["status"]["conditions"][0];
        assert_eq!(
            (&c["status"], &c["reason"], &c["lastTransitionTime"]),
            (&json!("False"), &json!("InsufficientPods"), &json!("T"))
        );
    }

    #[test]
    fn a_budget_without_room_refuses_with_upstreams_cause() {
        let s = refusal(decide(&budget(0, 1), &ready_pod()));
        assert_eq!((s.code, s.reason.as_str()), (429, "TooManyRequests"));
        let details = s.details.unwrap();
        assert_eq!(
            details.causes[0].message,
            "The disruption budget b needs 2 healthy pods and has 2 currently"
        );
        assert_eq!(details.retry_after_seconds, None);
        let s = refusal(decide(&budget(3, 0), &ready_pod()));
        let details = s.details.unwrap();
        assert_eq!(
            details.causes[0].message,
            "The disruption budget b is still being processed by the server."
        );
        assert_eq!(details.retry_after_seconds, Some(10));
        // A failed sync says so: the counts are not to be trusted then.
        let mut failed = budget(0, 1);
        failed["status"]["conditions"] = json!([{"type": "DisruptionAllowed",
            "status": "False", "reason": "SyncFailed", "message": "no scale"}]);
        let s = refusal(decide(&failed, &ready_pod()));
        assert_eq!(
            s.details.unwrap().causes[0].message,
            "The disruption budget b does not allow evicting pods currently because it failed sync: no scale"
        );
    }

    #[test]
    fn a_budget_out_of_bounds_forbids() {
        let s = refusal(decide(&budget(-1, 1), &ready_pod()));
        assert_eq!(s.code, 403);
        assert_eq!(
            s.message,
            "poddisruptionbudget.policy \"b\" is forbidden: pdb disruptions allowed is negative"
        );
        let details = s.details.unwrap();
        assert_eq!(
            (details.kind.as_str(), details.group.as_str()),
            ("poddisruptionbudget", "policy")
        );
        assert_eq!(
            details.causes[0].message,
            "The disruption budget b does not allow evicting pods currently: pdb disruptions allowed is negative"
        );
        let mut crowded = budget(1, 1);
        let pending: serde_json::Map<String, Value> = (0..=MAX_DISRUPTED_PODS)
            .map(|i| (format!("p{i}"), json!("T")))
            .collect();
        crowded["status"]["disruptedPods"] = Value::Object(pending);
        let s = refusal(decide(&crowded, &ready_pod()));
        assert_eq!(
            s.message,
            "poddisruptionbudget.policy \"b\" is forbidden: DisruptedPods map too big - too many evictions not confirmed by PDB controller"
        );
        // At the cap itself an eviction still goes.
        crowded["status"]["disruptedPods"]
            .as_object_mut()
            .unwrap()
            .remove("p0");
        assert_eq!(decide(&crowded, &ready_pod()), Decision::Take);
    }

    #[test]
    fn unhealthy_pods_go_when_the_budget_is_met_or_always_if_it_says_so() {
        let unready = json!({"metadata": {"name": "p"}, "status": {"phase": "Running"}});
        assert_eq!(decide(&budget(0, 1), &unready), Decision::DeleteUnhealthy);
        let mut short = budget(0, 1);
        short["status"]["currentHealthy"] = json!(1);
        assert!(matches!(decide(&short, &unready), Decision::Refuse(_)));
        short["spec"]["unhealthyPodEvictionPolicy"] = json!("IfHealthyBudget");
        assert!(matches!(decide(&short, &unready), Decision::Refuse(_)));
        short["spec"]["unhealthyPodEvictionPolicy"] = json!("AlwaysAllow");
        assert_eq!(decide(&short, &unready), Decision::DeleteUnhealthy);
        // A ready pod is guarded whatever the policy.
        assert!(matches!(decide(&short, &ready_pod()), Decision::Refuse(_)));
        let pending = json!({"metadata": {"name": "p"}, "status": {"phase": "Pending"}});
        assert!(ignores_budgets(&pending));
        assert!(!ignores_budgets(&ready_pod()));
    }

    #[test]
    fn only_budgets_whose_selector_picks_the_pod_count() {
        let other = json!({"spec": {"selector": {"matchLabels": {"app": "db"}}}});
        let empty = json!({"spec": {"selector": {}}});
        let budgets = vec![budget(1, 1), other, empty, json!({"spec": {}})];
        assert_eq!(picking(&budgets, &ready_pod()).len(), 1);
    }
}
