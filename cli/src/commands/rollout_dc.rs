//! `oc rollout latest|status|history|undo|cancel|retry` and `oc rollback` on
//! DeploymentConfigs, as upstream's oc: each deployment is a replication controller
//! `<config>-<version>` whose annotations say its phase and cause; `latest` and `undo` go
//! through the config's `instantiate` and `rollback` subresources.

use std::time::Duration;

use http::Method;
use serde_json::{Value, json};

use crate::client::{Session, send};
use crate::error::CliError;
use crate::objects::Target;

const PHASE: &str = "openshift.io/deployment.phase";
const VERSION: &str = "openshift.io/deployment-config.latest-version";
const REASON: &str = "openshift.io/deployment.status-reason";
const CANCELLED: &str = "openshift.io/deployment.cancelled";
const CONFIG_NAME: &str = "openshift.io/deployment-config.name";
const DEPLOYER_FOR: &str = "openshift.io/deployer-pod-for.name";

fn annotation<'a>(rc: &'a Value, key: &str) -> &'a str {
    rc["metadata"]["annotations"][key]
        .as_str()
        .unwrap_or_default()
}

fn terminal(rc: &Value) -> bool {
    matches!(annotation(rc, PHASE), "Complete" | "Failed")
}

fn rcs_path(t: &Target) -> String {
    format!(
        "/api/v1/namespaces/{}/replicationcontrollers",
        t.namespace.as_deref().unwrap_or_default()
    )
}

/// The config's deployments, by version.
async fn deployments(s: &Session, t: &Target) -> Result<Vec<(i64, Value)>, CliError> {
    let path = format!(
        "{}?labelSelector={}",
        rcs_path(t),
        crate::client::encode(&format!("{CONFIG_NAME}={}", t.name))
    );
    let list = s.get(&path).await?;
    let mut out: Vec<(i64, Value)> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|rc| Some((annotation(rc, VERSION).parse().ok()?, rc.clone())))
        .collect();
    out.sort_by_key(|(v, _)| *v);
    Ok(out)
}

async fn rc(s: &Session, t: &Target, version: i64) -> Result<Option<Value>, CliError> {
    match s
        .get(&format!("{}/{}-{version}", rcs_path(t), t.name))
        .await
    {
        Ok(rc) => Ok(Some(rc)),
        Err(CliError::Server { reason, .. }) if reason == "NotFound" => Ok(None),
        Err(e) => Err(e),
    }
}

fn version_of(dc: &Value) -> i64 {
    dc["status"]["latestVersion"].as_i64().unwrap_or(0)
}

pub async fn latest(s: &Session, t: &Target, again: bool) -> Result<(), CliError> {
    let dc = s.get(&t.path()).await?;
    if dc["spec"]["paused"] == true {
        return Err(CliError::msg("cannot deploy a paused deployment config"));
    }
    let version = version_of(&dc);
    if let Some(current) = rc(s, t, version).await?.filter(|rc| !terminal(rc)) {
        return Err(CliError::msg(format!(
            "#{version} is already in progress ({}).",
            annotation(&current, PHASE)
        )));
    }
    let request = json!({"kind": "DeploymentRequest", "apiVersion": "apps.openshift.io/v1",
        "name": t.name, "latest": !again, "force": true});
    let body = serde_json::to_vec(&request).map_err(|e| CliError::msg(e.to_string()))?;
    let answer = send(
        &s.client,
        Method::POST,
        &format!("{}/instantiate", t.path()),
        &[],
        Some(("application/json", body)),
    )
    .await?;
    if !answer.status.is_success() {
        answer.json()?;
    }
    println!("{} rolled out", t.display());
    Ok(())
}

/// Upstream's DeploymentConfig status viewer: the line to print, and whether it is done.
pub fn status_line(dc: &Value, revision: i64) -> Result<(String, bool), CliError> {
    let name = dc["metadata"]["name"].as_str().unwrap_or_default();
    let version = version_of(dc);
    let status = &dc["status"];
    let triggers = dc["spec"]["triggers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if version == 0 {
        if triggers.iter().any(|t| t["type"] == "ImageChange") {
            return Ok((
                format!("Deployment config {name:?} waiting on image update\n"),
                false,
            ));
        }
        if triggers.is_empty() {
            return Err(CliError::msg(format!(
                "Deployment config {name:?} waiting on manual update (use 'oc rollout latest {name}')"
            )));
        }
    }
    if revision > 0 && revision != version {
        return Err(CliError::msg(format!(
            "desired revision ({revision}) is different from the running revision ({version})"
        )));
    }
    let generation = dc["metadata"]["generation"].as_i64().unwrap_or(0);
    if generation <= status["observedGeneration"].as_i64().unwrap_or(0) {
        let progressing = status["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == "Progressing"));
        // A condition about an earlier deployment says nothing of the latest one yet.
        let latest_rc = format!("\"{name}-{version}\"");
        if let Some(c) = progressing.filter(|c| {
            c["message"]
                .as_str()
                .is_some_and(|m| m.contains(&latest_rc))
        }) {
            let message = c["message"].as_str().unwrap_or_default().to_string();
            match c["reason"].as_str() {
                Some("NewReplicationControllerAvailable") => {
                    return Ok((format!("{message}\n"), true));
                }
                Some("ProgressDeadlineExceeded" | "RolloutCancelled") => {
                    return Err(CliError::msg(message));
                }
                _ => {}
            }
        }
        if dc["spec"]["paused"] == true {
            return Err(CliError::msg(format!(
                "Deployment config {name:?} is paused. Resume to continue watching the status of the rollout."
            )));
        }
        let n = |k: &str| status[k].as_i64().unwrap_or(0);
        let wanted = dc["spec"]["replicas"].as_i64().unwrap_or(0);
        let (updated, replicas, available) =
            (n("updatedReplicas"), n("replicas"), n("availableReplicas"));
        let line = if updated < wanted {
            format!(
                "Waiting for rollout to finish: {updated} out of {wanted} new replicas have been updated...\n"
            )
        } else if replicas > updated {
            format!(
                "Waiting for rollout to finish: {} old replicas are pending termination...\n",
                replicas - updated
            )
        } else if available < updated {
            format!(
                "Waiting for rollout to finish: {available} of {updated} updated replicas are available...\n"
            )
        } else {
            "Waiting for latest deployment config spec to be observed by the controller loop...
"
            .to_string()
        };
        return Ok((line, false));
    }
    Ok((
        "Waiting for latest deployment config spec to be observed by the controller loop...\n"
            .into(),
        false,
    ))
}

pub async fn status(
    s: &Session,
    t: &Target,
    revision: i64,
    watch: bool,
    timeout: u64,
) -> Result<(), CliError> {
    let started = std::time::Instant::now();
    let mut last = String::new();
    loop {
        let dc = s.get(&t.path()).await?;
        let (line, done) = status_line(&dc, revision)?;
        if line != last {
            print!("{line}");
            last = line;
        }
        if done || !watch {
            return Ok(());
        }
        if timeout > 0 && started.elapsed() >= Duration::from_secs(timeout) {
            return Err(CliError::msg("timed out waiting for the condition"));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

pub async fn history(s: &Session, t: &Target) -> Result<(), CliError> {
    let list = deployments(s, t).await?;
    if list.is_empty() {
        println!("No rollout history found.");
        return Ok(());
    }
    let mut out = String::from("REVISION\tSTATUS\tCAUSE\n");
    for (version, rc) in &list {
        let cause = Some(annotation(rc, REASON))
            .filter(|c| !c.is_empty())
            .unwrap_or("<unknown>");
        out.push_str(&format!("{version}\t{}\t{cause}\n", annotation(rc, PHASE)));
    }
    print!(
        "{}\n{}\n",
        t.display(),
        crate::printers::tabwriter::format(&out)
    );
    Ok(())
}

/// The config a rollback to `revision` (0: the previous) generates.
async fn rolled_back(
    s: &Session,
    t: &Target,
    revision: i64,
    spec: Value,
) -> Result<Value, CliError> {
    let mut spec = spec;
    spec["revision"] = json!(revision);
    spec["includeTemplate"] = json!(true);
    let request = json!({"kind": "DeploymentConfigRollback", "apiVersion": "apps.openshift.io/v1",
        "name": t.name, "spec": spec});
    s.post(&format!("{}/rollback", t.path()), &request).await
}

pub async fn undo(s: &Session, t: &Target, to_revision: i64) -> Result<(), CliError> {
    let dc = s.get(&t.path()).await?;
    if dc["spec"]["paused"] == true {
        return Err(CliError::msg(format!(
            "cannot rollback a paused config; resume it first with 'rollout resume dc/{}' and try again",
            t.name
        )));
    }
    let generated = rolled_back(s, t, to_revision, json!({})).await?;
    s.write(Method::PUT, &t.path(), &generated).await?;
    println!("{} rolled back", t.display());
    Ok(())
}

/// `oc rollback`: the flags of what else to take from the earlier deployment.
pub struct RollbackOptions {
    pub to_version: i64,
    pub change_triggers: bool,
    pub change_strategy: bool,
    pub change_scaling_settings: bool,
}

pub async fn rollback(s: &Session, t: &Target, o: &RollbackOptions) -> Result<(), CliError> {
    if o.to_version < 0 {
        return Err(CliError::msg("the to version must be >= 0"));
    }
    let dc = s.get(&t.path()).await?;
    if dc["spec"]["paused"] == true {
        return Err(CliError::msg("cannot rollback a paused deployment config"));
    }
    let version = version_of(&dc);
    let target = match o.to_version {
        0 => deployments(s, t)
            .await?
            .into_iter()
            .rev()
            .find(|(v, rc)| *v < version && annotation(rc, PHASE) == "Complete")
            .map(|(v, _)| v),
        v => Some(v),
    }
    .ok_or_else(|| CliError::msg("couldn't find deployment for rollback"))?;
    let spec = json!({"includeTriggers": o.change_triggers, "includeStrategy": o.change_strategy,
        "includeReplicationMeta": o.change_scaling_settings});
    let generated = rolled_back(s, t, target, spec).await?;
    let stored = s.write(Method::PUT, &t.path(), &generated).await?;
    println!(
        "{} deployment #{} rolled back to {}-{target}",
        t.display(),
        version_of(&stored),
        t.name
    );
    let disabled: Vec<String> = dc["spec"]["triggers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["type"] == "ImageChange" && t["imageChangeParams"]["automatic"] == true)
        .filter_map(|t| {
            t["imageChangeParams"]["from"]["name"]
                .as_str()
                .map(String::from)
        })
        .collect();
    if !disabled.is_empty() {
        println!(
            "Warning: the following images triggers were disabled: {}\n  You can re-enable them with: oc set triggers dc/{} --auto",
            disabled.join(", "),
            t.name
        );
    }
    Ok(())
}

pub async fn cancel(s: &Session, t: &Target) -> Result<(), CliError> {
    let dc = s.get(&t.path()).await?;
    if dc["spec"]["paused"] == true {
        return Err(CliError::msg(format!(
            "unable to cancel paused deployment {}/{}",
            t.namespace.as_deref().unwrap_or_default(),
            t.name
        )));
    }
    let list = deployments(s, t).await?;
    let Some((latest, last)) = list.last() else {
        return Err(CliError::msg(format!(
            "there have been no replication controllers for {}/{}",
            t.namespace.as_deref().unwrap_or_default(),
            t.name
        )));
    };
    let mut running = false;
    for (_, rc) in list.iter().filter(|(_, rc)| !terminal(rc)) {
        running = true;
        if annotation(rc, CANCELLED).eq_ignore_ascii_case("true") {
            println!("{} already cancelled", t.display());
            continue;
        }
        let patch = json!({"metadata": {"annotations": {CANCELLED: "true", REASON: "cancelled by the user"}}});
        let name = rc["metadata"]["name"].as_str().unwrap_or_default();
        let body = serde_json::to_vec(&patch).map_err(|e| CliError::msg(e.to_string()))?;
        send(
            &s.client,
            Method::PATCH,
            &format!("{}/{name}", rcs_path(t)),
            &[],
            Some(("application/strategic-merge-patch+json", body)),
        )
        .await?
        .json()?;
        println!("{} cancelling", t.display());
    }
    if !running {
        println!(
            "No rollout is in progress (latest rollout #{latest} {})",
            annotation(last, PHASE).to_lowercase()
        );
    }
    Ok(())
}

pub async fn retry(s: &Session, t: &Target) -> Result<(), CliError> {
    let dc = s.get(&t.path()).await?;
    if dc["spec"]["paused"] == true {
        return Err(CliError::msg(format!(
            "unable to retry paused deployment config {:?}",
            t.name
        )));
    }
    let version = version_of(&dc);
    if version == 0 {
        return Err(CliError::msg(format!("no rollouts found for {:?}", t.name)));
    }
    let Some(current) = rc(s, t, version).await? else {
        return Err(CliError::msg(format!(
            "unable to find the latest rollout (#{version}).\nYou can start a new rollout with 'oc rollout latest dc/{}'.",
            t.name
        )));
    };
    if annotation(&current, PHASE) != "Failed" {
        let how = if terminal(&current) {
            format!(
                "rollout #{version} is complete; only failed deployments can be retried.\nYou can start a new deployment with 'oc rollout latest dc/{}'.",
                t.name
            )
        } else {
            format!(
                "rollout #{version} is in progress; only failed deployments can be retried.\nOptionally, you can cancel this deployment with 'oc rollout cancel dc/{}'.",
                t.name
            )
        };
        return Err(CliError::msg(how));
    }
    let rc_name = format!("{}-{version}", t.name);
    let pods = format!(
        "/api/v1/namespaces/{}/pods?labelSelector={}",
        t.namespace.as_deref().unwrap_or_default(),
        crate::client::encode(&format!("{DEPLOYER_FOR}={rc_name}"))
    );
    send(&s.client, Method::DELETE, &pods, &[], None).await?;
    let patch = json!({"metadata": {"annotations": {PHASE: "New", REASON: null, CANCELLED: null}}});
    let body = serde_json::to_vec(&patch).map_err(|e| CliError::msg(e.to_string()))?;
    send(
        &s.client,
        Method::PATCH,
        &format!("{}/{rc_name}", rcs_path(t)),
        &[],
        Some(("application/strategic-merge-patch+json", body)),
    )
    .await?
    .json()?;
    println!("{} retried rollout #{version}", t.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_status_lines() {
        let dc = |status: Value| {
            json!({"metadata": {"name": "web", "generation": 2}, "spec": {"replicas": 2,
                "triggers": [{"type": "ConfigChange"}]}, "status": status})
        };
        let done = dc(
            json!({"latestVersion": 2, "observedGeneration": 2, "conditions": [{"type": "Progressing",
            "reason": "NewReplicationControllerAvailable", "message": "replication controller \"web-2\" successfully rolled out"}]}),
        );
        assert_eq!(
            status_line(&done, 0).unwrap(),
            (
                "replication controller \"web-2\" successfully rolled out\n".into(),
                true
            )
        );
        let rolling = dc(
            json!({"latestVersion": 2, "observedGeneration": 2, "updatedReplicas": 1, "replicas": 3}),
        );
        assert_eq!(
            status_line(&rolling, 0).unwrap().0,
            "Waiting for rollout to finish: 1 out of 2 new replicas have been updated...\n"
        );
        assert!(status_line(&rolling, 3).is_err());
        let failed = dc(
            json!({"latestVersion": 2, "observedGeneration": 2, "conditions": [{"type": "Progressing",
            "reason": "ProgressDeadlineExceeded", "message": "replication controller \"web-2\" has failed progressing"}]}),
        );
        assert!(status_line(&failed, 0).is_err());
    }
}
