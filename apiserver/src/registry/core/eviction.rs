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

/// What an eviction does about the budget that picks the pod.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Delete without touching the budget.
    Delete,
    /// Take one disruption from the budget, then delete.
    Take,
    /// Refused, with the cause's message.
    Refuse(String),
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

/// Upstream's checks of a budget for an eviction of `pod`.
pub fn decide(pdb: &Value, pod: &Value) -> Decision {
    let name = object::meta_str(pdb, "name");
    let status = &pdb["status"];
    let int = |v: &Value| v.as_i64().unwrap_or(0);
    if !is_ready(pod) {
        // An unhealthy pod may go when the budget is already met, or always if it says so.
        let always = pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow";
        let desired = int(&status["desiredHealthy"]);
        if always || (desired > 0 && int(&status["currentHealthy"]) >= desired) {
            return Decision::Delete;
        }
    }
    if int(&status["observedGeneration"]) < int(&pdb["metadata"]["generation"]) {
        return Decision::Refuse(format!(
            "The disruption budget {name} is still being processed by the server."
        ));
    }
    if int(&status["disruptionsAllowed"]) <= 0 {
        return Decision::Refuse(format!(
            "The disruption budget {name} needs {} healthy pods and has {} currently",
            int(&status["desiredHealthy"]),
            int(&status["currentHealthy"])
        ));
    }
    Decision::Take
}

/// `pdb` with one disruption taken by `pod` at `now`.
pub fn take(mut pdb: Value, pod: &str, now: &str) -> Value {
    let allowed = pdb["status"]["disruptionsAllowed"].as_i64().unwrap_or(0);
    pdb["status"]["disruptionsAllowed"] = json!(allowed - 1);
    if !pdb["status"]["disruptedPods"].is_object() {
        pdb["status"]["disruptedPods"] = json!({});
    }
    pdb["status"]["disruptedPods"][pod] = json!(now);
    pdb
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
/// Ok when the pod may be deleted.
async fn admit(
    server: &ApiServer,
    namespace: &str,
    name: &str,
    dry_run: bool,
) -> Result<(), ApiError> {
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
            return Ok(());
        }
        let budgets = server.list_objects(budgets_def, Some(namespace)).await?;
        let pdb = match picking(&budgets, &pod).as_slice() {
            [] => return Ok(()),
            [one] => (*one).clone(),
            _ => {
                return Err(ApiError::Internal(
                    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.".into(),
                ));
            }
        };
        match decide(&pdb, &pod) {
            Decision::Delete => return Ok(()),
            Decision::Refuse(why) => return Err(ApiError::DisruptionBudget(why)),
            Decision::Take if dry_run => return Ok(()),
            Decision::Take => {}
        }
        match server
            .update_object(budgets_def, take(pdb, name, &object::now()))
            .await
        {
            Ok(_) => return Ok(()),
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
        let options = eviction
            .get("deleteOptions")
            .cloned()
            .unwrap_or_else(|| json!({}));
        // A dry run is asked in the query or, as kubectl drain does, in the deleteOptions.
        let dry_run = call.params.dry_run.iter().any(|d| d == "All")
            || options["dryRun"]
                .as_array()
                .is_some_and(|d| d.iter().any(|d| d == "All"));
        admit(call.server, namespace, call.name, dry_run).await?;
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

    #[test]
    fn a_budget_with_room_gives_one_disruption() {
        assert_eq!(decide(&budget(1, 1), &ready_pod()), Decision::Take);
        let taken = take(budget(1, 1), "p", "T");
        assert_eq!(taken["status"]["disruptionsAllowed"], 0);
        assert_eq!(taken["status"]["disruptedPods"], json!({"p": "T"}));
    }

    #[test]
    fn a_budget_without_room_refuses_with_upstreams_cause() {
        assert_eq!(
            decide(&budget(0, 1), &ready_pod()),
            Decision::Refuse(
                "The disruption budget b needs 2 healthy pods and has 2 currently".into()
            )
        );
        assert_eq!(
            decide(&budget(3, 0), &ready_pod()),
            Decision::Refuse(
                "The disruption budget b is still being processed by the server.".into()
            )
        );
    }

    #[test]
    fn unhealthy_pods_go_when_the_budget_is_met() {
        let unready = json!({"metadata": {"name": "p"}, "status": {"phase": "Running"}});
        assert_eq!(decide(&budget(0, 1), &unready), Decision::Delete);
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
