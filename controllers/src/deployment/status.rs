//! A Deployment's status: replica counts summed over its ReplicaSets, and the Available and
//! Progressing conditions with upstream's reasons and messages.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::ResourceExt;
use serde_json::{Value, json};

fn counts(rs: &ReplicaSet) -> (i32, i32, i32) {
    let s = rs.status.clone().unwrap_or_default();
    (
        s.replicas,
        s.ready_replicas.unwrap_or(0),
        s.available_replicas.unwrap_or(0),
    )
}

fn condition(
    previous: &[Value],
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: &str,
) -> Value {
    let old = previous.iter().find(|c| c["type"] == type_);
    let transition = match old {
        Some(o) if o["status"] == status => o["lastTransitionTime"].clone(),
        _ => json!(now),
    };
    // The update time moves only when something in the condition changes.
    let update = match old {
        Some(o) if o["status"] == status && o["reason"] == reason && o["message"] == message => {
            o["lastUpdateTime"].clone()
        }
        _ => json!(now),
    };
    json!({"type": type_, "status": status, "lastUpdateTime": update,
        "lastTransitionTime": transition, "reason": reason, "message": message})
}

/// The status the deployment should have, and in how many seconds to look again (for the
/// progress deadline).
pub fn compute(
    d: &Deployment,
    new_rs: Option<&ReplicaSet>,
    old: &[ReplicaSet],
    max_unavailable: i32,
    created: bool,
    now: jiff::Timestamp,
) -> (Value, Option<i64>) {
    let now_text = now.to_string();
    let replicas = d.spec.replicas.unwrap_or(1);
    let all = old.iter().chain(new_rs);
    let (mut total, mut ready, mut available) = (0, 0, 0);
    for rs in all {
        let (t, r, a) = counts(rs);
        total += t;
        ready += r;
        available += a;
    }
    let updated = new_rs.map(|rs| counts(rs).0).unwrap_or(0);
    let previous_status = serde_json::to_value(&d.status).unwrap_or_default();
    let previous: Vec<Value> = previous_status["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut conditions = Vec::new();
    let minimum = available >= replicas - max_unavailable;
    conditions.push(match minimum {
        true => condition(
            &previous,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            &now_text,
        ),
        false => condition(
            &previous,
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
            &now_text,
        ),
    });
    let mut recheck = None;
    if let Some(deadline) = d.spec.progress_deadline_seconds {
        let name = new_rs.map(|rs| rs.name_any()).unwrap_or_default();
        let old_progressing = previous.iter().find(|c| c["type"] == "Progressing");
        let complete = updated == replicas && available == replicas && total == replicas;
        let moved = |k: &str, now: i32| previous_status[k].as_i64().unwrap_or(0) != i64::from(now);
        let progressed = moved("updatedReplicas", updated)
            || moved("readyReplicas", ready)
            || moved("availableReplicas", available)
            || moved("replicas", total);
        let paused = d.spec.paused == Some(true);
        let c = if paused {
            condition(
                &previous,
                "Progressing",
                "Unknown",
                "DeploymentPaused",
                "Deployment is paused",
                &now_text,
            )
        } else if old_progressing.is_some_and(|c| c["reason"] == "DeploymentPaused") {
            condition(
                &previous,
                "Progressing",
                "Unknown",
                "DeploymentResumed",
                "Deployment is resumed",
                &now_text,
            )
        } else if created {
            condition(
                &previous,
                "Progressing",
                "True",
                "NewReplicaSetCreated",
                &format!("Created new replica set \"{name}\""),
                &now_text,
            )
        } else if complete {
            condition(
                &previous,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                &format!("ReplicaSet \"{name}\" has successfully progressed."),
                &now_text,
            )
        } else if progressed || old_progressing.is_none() {
            let reason = if progressed {
                "ReplicaSetUpdated"
            } else {
                "FoundNewReplicaSet"
            };
            let message = match reason {
                "FoundNewReplicaSet" => format!("Found new replica set \"{name}\""),
                _ => format!("ReplicaSet \"{name}\" is progressing."),
            };
            recheck = Some(i64::from(deadline));
            let mut c = condition(
                &previous,
                "Progressing",
                "True",
                reason,
                &message,
                &now_text,
            );
            c["lastUpdateTime"] = json!(now_text);
            c
        } else {
            let old = old_progressing.cloned().unwrap_or_default();
            let since: Option<jiff::Timestamp> =
                old["lastUpdateTime"].as_str().and_then(|t| t.parse().ok());
            let elapsed = since.map(|s| now.as_second() - s.as_second()).unwrap_or(0);
            if old["reason"] == "ProgressDeadlineExceeded" || elapsed >= i64::from(deadline) {
                condition(
                    &previous,
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    &format!("ReplicaSet \"{name}\" has timed out progressing."),
                    &now_text,
                )
            } else {
                recheck = Some(i64::from(deadline) - elapsed);
                old
            }
        };
        conditions.push(c);
    }
    let mut status = json!({
        "observedGeneration": d.metadata.generation,
        "replicas": total,
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": available,
        "conditions": conditions,
    });
    let unavailable = (replicas - available).max(0);
    status["unavailableReplicas"] = if unavailable > 0 {
        json!(unavailable)
    } else {
        Value::Null
    };
    if let Some(c) = previous_status
        .get("collisionCount")
        .filter(|c| !c.is_null())
    {
        status["collisionCount"] = c.clone();
    }
    (status, recheck)
}

/// Whether the stored status already says what `wanted` says (absent counts are zeros).
pub fn same(current: &Value, wanted: &Value) -> bool {
    let Some(w) = wanted.as_object() else {
        return false;
    };
    w.iter().all(|(k, v)| {
        let have = current.get(k).cloned().unwrap_or(Value::Null);
        have == *v || (have.is_null() && *v == json!(0)) || (v.is_null() && have == json!(0))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(status: Value) -> Deployment {
        serde_json::from_value(json!({"metadata": {"name": "web", "generation": 2},
            "spec": {"replicas": 3, "progressDeadlineSeconds": 600, "selector": {}, "template": {}},
            "status": status}))
        .unwrap()
    }

    fn rs(name: &str, replicas: i32, available: i32) -> ReplicaSet {
        serde_json::from_value(json!({"metadata": {"name": name}, "spec": {"selector": {}},
            "status": {"replicas": replicas, "readyReplicas": available, "availableReplicas": available}}))
        .unwrap()
    }

    #[test]
    fn a_complete_rollout_says_so() {
        let now: jiff::Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
        let d = deployment(json!({}));
        let (s, _) = compute(&d, Some(&rs("web-abc", 3, 3)), &[], 0, false, now);
        assert_eq!(s["conditions"][0]["reason"], "MinimumReplicasAvailable");
        assert_eq!(s["conditions"][1]["reason"], "NewReplicaSetAvailable");
        assert_eq!(
            s["conditions"][1]["message"],
            "ReplicaSet \"web-abc\" has successfully progressed."
        );
        assert_eq!(s["observedGeneration"], 2);
        assert!(s["unavailableReplicas"].is_null());
        let (s, recheck) = compute(
            &d,
            Some(&rs("web-abc", 1, 0)),
            &[rs("web-old", 3, 3)],
            0,
            false,
            now,
        );
        assert_eq!(s["conditions"][1]["reason"], "ReplicaSetUpdated");
        assert_eq!(s["updatedReplicas"], 1);
        assert_eq!(s["replicas"], 4);
        assert_eq!(recheck, Some(600));
        let (s, _) = compute(&d, Some(&rs("web-abc", 0, 0)), &[], 0, true, now);
        assert_eq!(
            s["conditions"][1]["message"],
            "Created new replica set \"web-abc\""
        );
        assert_eq!(s["unavailableReplicas"], 3);
        assert!(same(&json!({"replicas": 0}), &json!({"replicas": 0})));
    }
}
