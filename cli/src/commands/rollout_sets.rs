//! kubectl's rollout status viewers of stateful and daemon sets: the line to print while the
//! set rolls out, and whether it is done (only `RollingUpdate` sets have a status).

use serde_json::Value;

use crate::error::CliError;

fn n(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn rolling(set: &Value) -> Result<(), CliError> {
    let strategy = set["spec"]["updateStrategy"]["type"].as_str();
    if strategy.is_some_and(|s| s != "RollingUpdate") {
        return Err(CliError::msg(
            "rollout status is only available for RollingUpdate strategy type",
        ));
    }
    Ok(())
}

/// The status line of a DaemonSet.
pub fn daemon_set_line(ds: &Value) -> Result<(String, bool), CliError> {
    rolling(ds)?;
    let name = ds["metadata"]["name"].as_str().unwrap_or_default();
    let status = &ds["status"];
    if n(&ds["metadata"]["generation"]) > n(&status["observedGeneration"]) {
        return Ok((
            "Waiting for daemon set spec update to be observed...\n".into(),
            false,
        ));
    }
    let desired = n(&status["desiredNumberScheduled"]);
    let updated = n(&status["updatedNumberScheduled"]);
    let available = n(&status["numberAvailable"]);
    Ok(if updated < desired {
        (
            format!(
                "Waiting for daemon set {name:?} rollout to finish: {updated} out of {desired} new pods have been updated...\n"
            ),
            false,
        )
    } else if available < desired {
        (
            format!(
                "Waiting for daemon set {name:?} rollout to finish: {available} of {desired} updated pods are available...\n"
            ),
            false,
        )
    } else {
        (
            format!("daemon set {name:?} successfully rolled out\n"),
            true,
        )
    })
}

/// The status line of a StatefulSet.
pub fn stateful_set_line(sts: &Value) -> Result<(String, bool), CliError> {
    rolling(sts)?;
    let status = &sts["status"];
    let observed = n(&status["observedGeneration"]);
    if observed == 0 || n(&sts["metadata"]["generation"]) > observed {
        return Ok((
            "Waiting for statefulset spec update to be observed...\n".into(),
            false,
        ));
    }
    let replicas = sts["spec"]["replicas"].as_i64();
    let ready = n(&status["readyReplicas"]);
    let updated = n(&status["updatedReplicas"]);
    if let Some(r) = replicas
        && ready < r
    {
        return Ok((
            format!("Waiting for {} pods to be ready...\n", r - ready),
            false,
        ));
    }
    let rolling_update = &sts["spec"]["updateStrategy"]["rollingUpdate"];
    if rolling_update.is_object() {
        if let (Some(r), Some(partition)) = (replicas, rolling_update["partition"].as_i64())
            && updated < r - partition
        {
            return Ok((
                format!(
                    "Waiting for partitioned roll out to finish: {updated} out of {} new pods have been updated...\n",
                    r - partition
                ),
                false,
            ));
        }
        return Ok((
            format!("partitioned roll out complete: {updated} new pods have been updated...\n"),
            true,
        ));
    }
    let update = status["updateRevision"].as_str().unwrap_or_default();
    let current = status["currentRevision"].as_str().unwrap_or_default();
    if update != current {
        return Ok((
            format!(
                "waiting for statefulset rolling update to complete {updated} pods at revision {update}...\n"
            ),
            false,
        ));
    }
    Ok((
        format!(
            "statefulset rolling update complete {} pods at revision {current}...\n",
            n(&status["currentReplicas"])
        ),
        true,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kubectls_set_status_lines() {
        let ds = |status: Value| {
            json!({"metadata": {"name": "agent", "generation": 2},
                "spec": {"updateStrategy": {"type": "RollingUpdate"}}, "status": status})
        };
        let line = |v: Result<(String, bool), CliError>| v.map_err(|e| e.to_string()).unwrap();
        assert_eq!(
            line(daemon_set_line(&ds(json!({"observedGeneration": 1})))).0,
            "Waiting for daemon set spec update to be observed...\n"
        );
        assert_eq!(
            line(daemon_set_line(&ds(json!({"observedGeneration": 2,
                "desiredNumberScheduled": 3, "updatedNumberScheduled": 1})))),
            (
                "Waiting for daemon set \"agent\" rollout to finish: 1 out of 3 new pods have been updated...\n".into(),
                false
            )
        );
        assert_eq!(
            line(daemon_set_line(&ds(json!({"observedGeneration": 2,
                "desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 3})))),
            (
                "daemon set \"agent\" successfully rolled out\n".into(),
                true
            )
        );
        let on_delete = json!({"spec": {"updateStrategy": {"type": "OnDelete"}}});
        assert!(daemon_set_line(&on_delete).is_err());

        let sts = |spec: Value, status: Value| json!({"metadata": {"name": "db", "generation": 1}, "spec": spec, "status": status});
        let partitioned = json!({"replicas": 3,
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}});
        assert_eq!(
            line(stateful_set_line(&sts(
                partitioned.clone(),
                json!({"observedGeneration": 1, "readyReplicas": 2})
            )))
            .0,
            "Waiting for 1 pods to be ready...\n"
        );
        assert_eq!(
            line(stateful_set_line(&sts(
                partitioned.clone(),
                json!({"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 1})
            )))
            .0,
            "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...\n"
        );
        assert_eq!(
            line(stateful_set_line(&sts(
                partitioned,
                json!({"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 2})
            ))),
            (
                "partitioned roll out complete: 2 new pods have been updated...\n".into(),
                true
            )
        );
        let plain = json!({"replicas": 1, "updateStrategy": {"type": "RollingUpdate"}});
        assert_eq!(
            line(stateful_set_line(&sts(
                plain,
                json!({"observedGeneration": 1, "readyReplicas": 1, "updatedReplicas": 1,
                    "currentReplicas": 1, "currentRevision": "db-a", "updateRevision": "db-a"})
            ))),
            (
                "statefulset rolling update complete 1 pods at revision db-a...\n".into(),
                true
            )
        );
    }
}
