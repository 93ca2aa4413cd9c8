//! Whether an object a template instance made is ready, for objects annotated
//! `template.alpha.openshift.io/wait-for-ready: "true"`, as upstream's readiness checks judge
//! them: `(ready, failed)`. Kinds without a check are ready once made.

use serde_json::Value;

pub const WAIT_FOR_READY: &str = "template.alpha.openshift.io/wait-for-ready";

/// Whether the object asks its instance to wait for it.
pub fn waits(obj: &Value) -> bool {
    obj["metadata"]["annotations"][WAIT_FOR_READY] == "true"
}

fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

/// A rollout that made its newest replicas available (Deployments: `NewReplicaSetAvailable`,
/// DeploymentConfigs: `NewReplicationControllerAvailable`) is ready; one whose progress
/// stopped has failed.
fn rollout(obj: &Value, available_reason: &str) -> (bool, bool) {
    let progressing = condition(obj, "Progressing");
    let available = condition(obj, "Available");
    let failed = progressing.is_some_and(|p| p["status"] == "False");
    let observed = obj["status"]["observedGeneration"] == obj["metadata"]["generation"];
    let ready = observed
        && progressing.is_some_and(|p| p["status"] == "True" && p["reason"] == available_reason)
        && available.is_some_and(|a| a["status"] == "True");
    (ready, failed)
}

/// `(ready, failed)` of an object.
pub fn check(obj: &Value) -> (bool, bool) {
    let group = obj["apiVersion"]
        .as_str()
        .and_then(|v| v.split_once('/'))
        .map_or("", |(g, _)| g);
    match (group, obj["kind"].as_str().unwrap_or_default()) {
        ("apps", "Deployment") => rollout(obj, "NewReplicaSetAvailable"),
        ("apps.openshift.io", "DeploymentConfig") => {
            rollout(obj, "NewReplicationControllerAvailable")
        }
        ("batch", "Job") => {
            let done = |kind: &str| condition(obj, kind).is_some_and(|c| c["status"] == "True");
            (done("Complete"), done("Failed"))
        }
        ("apps", "StatefulSet") => {
            let s = &obj["status"];
            let ready = s["observedGeneration"] == obj["metadata"]["generation"]
                && s["readyReplicas"].as_i64().unwrap_or(0)
                    == obj["spec"]["replicas"].as_i64().unwrap_or(1);
            (ready, false)
        }
        ("build.openshift.io", "Build") => {
            let phase = obj["status"]["phase"].as_str().unwrap_or_default();
            (
                phase == "Complete",
                matches!(phase, "Failed" | "Error" | "Cancelled"),
            )
        }
        _ => (true, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rollouts_jobs_and_the_rest() {
        let d = |reason: &str, status: &str| {
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"generation": 2},
                "status": {"observedGeneration": 2, "conditions": [
                    {"type": "Available", "status": "True"},
                    {"type": "Progressing", "status": status, "reason": reason}]}})
        };
        assert_eq!(check(&d("NewReplicaSetAvailable", "True")), (true, false));
        assert_eq!(check(&d("ReplicaSetUpdated", "True")), (false, false));
        assert_eq!(
            check(&d("ProgressDeadlineExceeded", "False")),
            (false, true)
        );
        let job = json!({"apiVersion": "batch/v1", "kind": "Job",
            "status": {"conditions": [{"type": "Failed", "status": "True"}]}});
        assert_eq!(check(&job), (false, true));
        assert_eq!(
            check(&json!({"apiVersion": "v1", "kind": "ConfigMap"})),
            (true, false)
        );
        assert!(waits(
            &json!({"metadata": {"annotations": {WAIT_FOR_READY: "true"}}})
        ));
    }
}
