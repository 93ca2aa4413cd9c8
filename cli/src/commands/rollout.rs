//! `oc rollout status|history|undo|pause|resume|restart` on Deployments, as kubectl's: the status lines of
//! kubectl's deployment status viewer until the rollout ends (and of its stateful and daemon
//! set viewers, `rollout_sets.rs`; `restart` patches those too; their history and undo are
//! in `rollout_revisions.rs`), and the patches of pause,
//! resume and restart with their `paused`/`resumed`/`restarted` lines (and kubectl's errors
//! for a deployment already so).

use std::time::Duration;

use http::Method;
use serde_json::{Value, json};

use super::Globals;
use crate::client::{Session, send, session};
use crate::error::CliError;
use crate::objects::{self, Target};

#[derive(Debug, clap::Subcommand)]
pub enum RolloutCommand {
    /// Show the status of the rollout.
    Status(RolloutArgs),
    /// Mark the provided resource as paused.
    Pause(RolloutArgs),
    /// Resume a paused resource.
    Resume(RolloutArgs),
    /// Restart a resource.
    Restart(RolloutArgs),
    /// View rollout history.
    History(RolloutArgs),
    /// Undo a previous rollout.
    Undo(UndoArgs),
    /// Start a new rollout for a deployment config with the latest state from its triggers.
    Latest(LatestArgs),
    /// Cancel the in-progress deployment.
    Cancel(RolloutArgs),
    /// Retry the latest failed rollout.
    Retry(RolloutArgs),
}

#[derive(Debug, Default, clap::Args)]
pub struct LatestArgs {
    /// TYPE NAME or TYPE/NAME.
    pub words: Vec<String>,
    /// Deploy the current pod template without updating state from triggers.
    #[arg(long)]
    pub again: bool,
}

/// `oc rollback`: revert part of an application back to a previous deployment.
#[derive(Debug, Default, clap::Args)]
pub struct RollbackArgs {
    /// DEPLOYMENTCONFIG or TYPE/NAME.
    pub name: String,
    /// A config version to rollback to (0: the last complete one before the latest).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    pub to_version: i64,
    /// Include the previous deployment's triggers in the rollback.
    #[arg(long)]
    pub change_triggers: bool,
    /// Include the previous deployment's strategy in the rollback.
    #[arg(long)]
    pub change_strategy: bool,
    /// Include the previous deployment's replicationController replica count and selector.
    #[arg(long)]
    pub change_scaling_settings: bool,
}

#[derive(Debug, Default, clap::Args)]
pub struct UndoArgs {
    /// TYPE NAME or TYPE/NAME.
    pub words: Vec<String>,
    /// The revision to roll back to (0: the previous one).
    #[arg(long, default_value_t = 0)]
    pub to_revision: i64,
}

const REVISION: &str = "deployment.kubernetes.io/revision";
const HASH: &str = "pod-template-hash";
/// Annotations of a replica set that a rollback does not copy to its deployment (kubectl's).
const NOT_COPIED: [&str; 5] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
];

/// A template without its pod-template-hash label.
fn unhashed(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(labels) = t
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(HASH);
    }
    t
}

/// The replica sets a deployment controls, by revision.
async fn revisions(
    s: &Session,
    t: &Target,
    d: &Value,
) -> Result<std::collections::BTreeMap<i64, Value>, CliError> {
    let ns = t.namespace.clone().unwrap_or_default();
    let list = s
        .get(&format!("/apis/apps/v1/namespaces/{ns}/replicasets"))
        .await?;
    let uid = &d["metadata"]["uid"];
    Ok(list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|rs| {
            rs["metadata"]["ownerReferences"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|o| o["uid"] == *uid && o["controller"] == true)
        })
        .filter_map(|rs| {
            let r = rs["metadata"]["annotations"][REVISION]
                .as_str()?
                .parse()
                .ok()?;
            Some((r, rs.clone()))
        })
        .collect())
}

async fn history(s: &Session, a: &RolloutArgs) -> Result<(), CliError> {
    for t in with_history(s, &a.words, "history viewer").await? {
        if t.resource.kind != "Deployment" {
            print!(
                "{}",
                super::rollout_revisions::history(s, &t, a.revision).await?
            );
            continue;
        }
        let d = s.get(&t.path()).await?;
        let sets = revisions(s, &t, &d).await?;
        if a.revision > 0 {
            let rs = sets
                .get(&a.revision)
                .ok_or_else(|| CliError::msg("unable to find the specified revision"))?;
            let mut template = String::new();
            super::describe::describe_pod_template(&mut template, &rs["spec"]["template"]);
            print!(
                "{} with revision #{}\n{template}\n",
                t.display(),
                a.revision
            );
            continue;
        }
        let mut out = String::from("REVISION\tCHANGE-CAUSE\n");
        for (r, rs) in &sets {
            let cause = rs["metadata"]["annotations"]["kubernetes.io/change-cause"]
                .as_str()
                .filter(|c| !c.is_empty())
                .unwrap_or("<none>");
            out.push_str(&format!("{r}\t{cause}\n"));
        }
        print!(
            "{} \n{}\n",
            t.display(),
            crate::printers::tabwriter::format(&out)
        );
    }
    Ok(())
}

async fn undo(s: &Session, a: &UndoArgs) -> Result<(), CliError> {
    for t in with_history(s, &a.words, "rollbacker").await? {
        if t.resource.kind != "Deployment" {
            super::rollout_revisions::undo(s, &t, a.to_revision).await?;
            continue;
        }
        let d = s.get(&t.path()).await?;
        if d["spec"]["paused"] == json!(true) {
            return Err(CliError::msg(
                "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again",
            ));
        }
        let sets = revisions(s, &t, &d).await?;
        let target = match a.to_revision {
            0 => sets.keys().rev().nth(1).copied(),
            r => sets.contains_key(&r).then_some(r),
        };
        let Some(revision) = target else {
            return Err(CliError::msg(match a.to_revision {
                0 => format!("no rollout history found for deployment {:?}", t.name),
                r => format!("unable to find specified revision {r} in history"),
            }));
        };
        let rs = &sets[&revision];
        let template = unhashed(&rs["spec"]["template"]);
        if unhashed(&d["spec"]["template"]) == template {
            println!(
                "{} skipped rollback (current template already matches revision {revision})",
                t.display()
            );
            continue;
        }
        // The deployment keeps only its annotations of the kinds not copied; the others are
        // the replica set's (kubectl's rule).
        let mut annotations: serde_json::Map<String, Value> = d["metadata"]["annotations"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| NOT_COPIED.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in rs["metadata"]["annotations"]
            .as_object()
            .into_iter()
            .flatten()
        {
            if !NOT_COPIED.contains(&k.as_str()) {
                annotations.insert(k.clone(), v.clone());
            }
        }
        let patch = json!([
            {"op": "replace", "path": "/spec/template", "value": template},
            {"op": "replace", "path": "/metadata/annotations", "value": annotations},
        ]);
        let body = serde_json::to_vec(&patch).map_err(|e| CliError::msg(e.to_string()))?;
        send(
            &s.client,
            Method::PATCH,
            &t.path(),
            &[],
            Some(("application/json-patch+json", body)),
        )
        .await?;
        println!("{} rolled back", t.display());
    }
    Ok(())
}

#[derive(Debug, Default, clap::Args)]
pub struct RolloutArgs {
    /// TYPE NAME or TYPE/NAME.
    pub words: Vec<String>,
    /// Watch the status of the rollout until it's done.
    #[arg(long, short = 'w', default_value_t = true, action = clap::ArgAction::Set)]
    pub watch: bool,
    /// The length of time to wait before ending watch (0: never).
    #[arg(long, default_value = "0s")]
    pub timeout: String,
    /// Pin to a specific revision for showing its status (0: the latest).
    #[arg(long, default_value_t = 0)]
    pub revision: i64,
}

/// kubectl's deployment status viewer: the line to print, and whether the rollout is done.
pub fn status_line(d: &Value) -> Result<(String, bool), CliError> {
    let name = d["metadata"]["name"].as_str().unwrap_or_default();
    let generation = d["metadata"]["generation"].as_i64().unwrap_or(0);
    let status = &d["status"];
    if generation > status["observedGeneration"].as_i64().unwrap_or(0) {
        return Ok((
            "Waiting for deployment spec update to be observed...\n".into(),
            false,
        ));
    }
    let progressing = status["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Progressing"));
    if progressing.is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded") {
        return Err(CliError::msg(format!(
            "deployment {name:?} exceeded its progress deadline"
        )));
    }
    let n = |v: &Value| v.as_i64().unwrap_or(0);
    let wanted = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let (updated, replicas, available) = (
        n(&status["updatedReplicas"]),
        n(&status["replicas"]),
        n(&status["availableReplicas"]),
    );
    let line = if updated < wanted {
        format!(
            "Waiting for deployment {name:?} rollout to finish: {updated} out of {wanted} new replicas have been updated...\n"
        )
    } else if replicas > updated {
        format!(
            "Waiting for deployment {name:?} rollout to finish: {} old replicas are pending termination...\n",
            replicas - updated
        )
    } else if available < updated {
        format!(
            "Waiting for deployment {name:?} rollout to finish: {available} of {updated} updated replicas are available...\n"
        )
    } else {
        return Ok((
            format!("deployment {name:?} successfully rolled out\n"),
            true,
        ));
    };
    Ok((line, false))
}

fn seconds(text: &str) -> Result<u64, CliError> {
    text.trim_end_matches('s')
        .parse()
        .map_err(|_| CliError::msg(format!("invalid argument {text:?} for \"--timeout\" flag")))
}

/// The named objects, all of kinds with a rollout history (deployments and their revisions'
/// replica sets, stateful and daemon sets and their ControllerRevisions).
async fn with_history(s: &Session, words: &[String], what: &str) -> Result<Vec<Target>, CliError> {
    let targets = objects::named(s, words).await?;
    for t in &targets {
        if !["Deployment", "StatefulSet", "DaemonSet"].contains(&t.resource.kind.as_str()) {
            return Err(CliError::msg(format!(
                "no {what} has been implemented for {:?}",
                t.resource.kind
            )));
        }
    }
    Ok(targets)
}

async fn status(s: &Session, a: &RolloutArgs) -> Result<(), CliError> {
    let timeout = seconds(&a.timeout)?;
    let started = std::time::Instant::now();
    let targets = objects::named(s, &a.words).await?;
    for t in &targets {
        if !["Deployment", "StatefulSet", "DaemonSet"].contains(&t.resource.kind.as_str()) {
            return Err(CliError::msg(format!(
                "no status viewer has been implemented for {}",
                t.resource.kind
            )));
        }
    }
    for t in targets {
        let mut last = String::new();
        loop {
            let d = s.get(&t.path()).await?;
            let (line, done) = match t.resource.kind.as_str() {
                "StatefulSet" => super::rollout_sets::stateful_set_line(&d)?,
                "DaemonSet" => super::rollout_sets::daemon_set_line(&d)?,
                _ => status_line(&d)?,
            };
            if line != last {
                print!("{line}");
                last = line;
            }
            if done || !a.watch {
                break;
            }
            if timeout > 0 && started.elapsed() >= Duration::from_secs(timeout) {
                return Err(CliError::msg("timed out waiting for the condition"));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Ok(())
}

/// Patches each deployment with `patch`; an error (`<resource> "<name>" <already>`) for one
/// that `unchanged` says is already so.
async fn patch_each(
    s: &Session,
    a: &RolloutArgs,
    unchanged: impl Fn(&Value) -> bool,
    patch: Value,
    done: &str,
    already: &str,
) -> Result<(), CliError> {
    let body = serde_json::to_vec(&patch).map_err(|e| CliError::msg(e.to_string()))?;
    for t in objects::named(s, &a.words).await? {
        let current = s.get(&t.path()).await?;
        if unchanged(&current) {
            let resource = match t.resource.group.as_str() {
                "" => t.resource.plural.clone(),
                g => format!("{}.{g}", t.resource.plural),
            };
            return Err(CliError::msg(format!("{resource} {:?} {already}", t.name)));
        }
        send(
            &s.client,
            Method::PATCH,
            &format!("{}?fieldManager=kubectl-rollout", t.path()),
            &[],
            Some(("application/strategic-merge-patch+json", body.clone())),
        )
        .await?;
        println!("{} {done}", t.display());
    }
    Ok(())
}

/// The deployment configs `words` name, if they name any.
async fn configs(s: &Session, words: &[String]) -> Result<Option<Vec<Target>>, CliError> {
    let targets = objects::named(s, words).await?;
    let configs = targets
        .iter()
        .all(|t| t.resource.kind == "DeploymentConfig");
    Ok((configs && !targets.is_empty()).then_some(targets))
}

/// The rollout commands of deployment configs; `None` for other kinds.
async fn run_configs(s: &Session, c: &RolloutCommand) -> Result<Option<()>, CliError> {
    use super::rollout_dc as dc;
    let words = match c {
        RolloutCommand::Status(a)
        | RolloutCommand::History(a)
        | RolloutCommand::Cancel(a)
        | RolloutCommand::Retry(a) => &a.words,
        RolloutCommand::Undo(a) => &a.words,
        RolloutCommand::Latest(a) => &a.words,
        _ => return Ok(None),
    };
    let Some(targets) = configs(s, words).await? else {
        return match c {
            RolloutCommand::Latest(_) | RolloutCommand::Cancel(_) | RolloutCommand::Retry(_) => {
                Err(CliError::msg(
                    "only deployment configs are supported by this command",
                ))
            }
            _ => Ok(None),
        };
    };
    for t in &targets {
        match c {
            RolloutCommand::Status(a) => {
                dc::status(s, t, a.revision, a.watch, seconds(&a.timeout)?).await?
            }
            RolloutCommand::History(_) => dc::history(s, t).await?,
            RolloutCommand::Cancel(_) => dc::cancel(s, t).await?,
            RolloutCommand::Retry(_) => dc::retry(s, t).await?,
            RolloutCommand::Undo(a) => dc::undo(s, t, a.to_revision).await?,
            RolloutCommand::Latest(a) => dc::latest(s, t, a.again).await?,
            _ => {}
        }
    }
    Ok(Some(()))
}

/// `oc rollback`.
pub async fn rollback(g: &Globals, a: &RollbackArgs) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let word = if a.name.contains('/') {
        a.name.clone()
    } else {
        format!("dc/{}", a.name)
    };
    let targets = objects::named(&s, &[word]).await?;
    let options = super::rollout_dc::RollbackOptions {
        to_version: a.to_version,
        change_triggers: a.change_triggers,
        change_strategy: a.change_strategy,
        change_scaling_settings: a.change_scaling_settings,
    };
    for t in &targets {
        super::rollout_dc::rollback(&s, t, &options).await?;
    }
    Ok(())
}

pub async fn run(g: &Globals, c: RolloutCommand) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    if run_configs(&s, &c).await?.is_some() {
        return Ok(());
    }
    let paused = |d: &Value| d["spec"]["paused"] == json!(true);
    match c {
        RolloutCommand::Latest(_) | RolloutCommand::Cancel(_) | RolloutCommand::Retry(_) => Ok(()),
        RolloutCommand::Status(a) => status(&s, &a).await,
        RolloutCommand::History(a) => history(&s, &a).await,
        RolloutCommand::Undo(a) => undo(&s, &a).await,
        RolloutCommand::Pause(a) => {
            patch_each(
                &s,
                &a,
                paused,
                json!({"spec": {"paused": true}}),
                "paused",
                "is already paused",
            )
            .await
        }
        RolloutCommand::Resume(a) => {
            patch_each(
                &s,
                &a,
                |d| !paused(d),
                json!({"spec": {"paused": null}}),
                "resumed",
                "is not paused",
            )
            .await
        }
        RolloutCommand::Restart(a) => {
            let now = jiff::Timestamp::now()
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string();
            let patch = json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": now}}}}});
            patch_each(&s, &a, |_| false, patch, "restarted", "").await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectls_status_lines() {
        let d = |status: Value, generation: i64| {
            json!({"metadata": {"name": "web", "generation": generation},
            "spec": {"replicas": 3}, "status": status})
        };
        let line = |v: Value| status_line(&v).unwrap();
        assert_eq!(
            line(d(json!({"observedGeneration": 1}), 2)).0,
            "Waiting for deployment spec update to be observed...\n"
        );
        assert_eq!(
            line(d(
                json!({"observedGeneration": 2, "updatedReplicas": 1, "replicas": 4}),
                2
            ))
            .0,
            "Waiting for deployment \"web\" rollout to finish: 1 out of 3 new replicas have been updated...\n"
        );
        assert_eq!(
            line(d(
                json!({"observedGeneration": 2, "updatedReplicas": 3, "replicas": 4}),
                2
            ))
            .0,
            "Waiting for deployment \"web\" rollout to finish: 1 old replicas are pending termination...\n"
        );
        assert_eq!(
            line(d(
                json!({"observedGeneration": 2, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 3}),
                2
            )),
            (
                "deployment \"web\" successfully rolled out\n".to_string(),
                true
            )
        );
    }
}
