//! `oc cancel-build (BUILD | bc/NAME)...`: marks builds cancelled (`status.cancelled`) and
//! waits until the build controller has cancelled them, as upstream prints it.

use std::time::Duration;

use http::Method;
use serde_json::Value;

use super::Globals;
use crate::client::{Session, encode, session};
use crate::error::CliError;

/// How long a build may take to reach Cancelled (upstream waits as long).
const PATIENCE: Duration = Duration::from_secs(30);

#[derive(Debug, clap::Args)]
pub struct CancelBuildArgs {
    /// Builds, or `bc/NAME` for all builds of a config.
    #[arg(required = true)]
    pub builds: Vec<String>,
    /// Only cancel builds in this state (new, pending, running).
    #[arg(long, value_delimiter = ',', default_values_t = ["new".to_string(), "pending".to_string(), "running".to_string()])]
    pub state: Vec<String>,
}

fn builds_path(session: &Session) -> String {
    format!(
        "/apis/build.openshift.io/v1/namespaces/{}/builds",
        encode(&session.namespace)
    )
}

/// The builds named on the command line.
async fn named(session: &Session, args: &[String]) -> Result<Vec<Value>, CliError> {
    let mut out = Vec::new();
    for arg in args {
        let (kind, name) = arg.split_once('/').unwrap_or(("build", arg));
        if matches!(kind, "bc" | "buildconfig" | "buildconfigs") {
            let list = session
                .get(&format!(
                    "{}?labelSelector={}",
                    builds_path(session),
                    encode(&format!("openshift.io/build-config.name={name}"))
                ))
                .await?;
            out.extend(list["items"].as_array().cloned().unwrap_or_default());
            continue;
        }
        match session
            .get(&format!("{}/{}", builds_path(session), encode(name)))
            .await
        {
            Ok(b) => out.push(b),
            Err(CliError::Server { reason, .. }) if reason == "NotFound" => {
                return Err(CliError::msg(format!(
                    "build {}/{name} not found",
                    session.namespace
                )));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

pub async fn cancel_build(g: &Globals, a: &CancelBuildArgs) -> Result<(), CliError> {
    for state in &a.state {
        if !matches!(state.to_lowercase().as_str(), "new" | "pending" | "running") {
            return Err(CliError::msg(
                "invalid --state flag value, must be one of 'new', 'pending', or 'running'",
            ));
        }
    }
    let config = g.kubeconfig()?;
    let session = session(&config, &g.overrides).await?;
    let builds = named(&session, &a.builds).await?;
    let mut failed = false;
    for build in builds {
        let name = build["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let phase = build["status"]["phase"]
            .as_str()
            .unwrap_or("New")
            .to_lowercase();
        if !a.state.iter().any(|s| s.eq_ignore_ascii_case(&phase)) {
            continue;
        }
        let path = format!("{}/{}", builds_path(&session), encode(&name));
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let mut current = session.get(&path).await?;
            current["status"]["cancelled"] = Value::Bool(true);
            match session.write(Method::PUT, &path, &current).await {
                Ok(_) => break,
                Err(CliError::Server { reason, .. })
                    if reason == "Conflict" && tokio::time::Instant::now() < deadline => {}
                Err(e) => return Err(e),
            }
        }
        println!(
            "build.build.openshift.io/{name} marked for cancellation, waiting to be cancelled"
        );
        loop {
            let current = session.get(&path).await?;
            if current["status"]["phase"] == "Cancelled" {
                println!("build.build.openshift.io/{name} cancelled");
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                eprintln!(
                    "error: build {}/{name} was not cancelled in time",
                    session.namespace
                );
                failed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    if failed {
        return Err(CliError::msg("failure during the build cancellation"));
    }
    Ok(())
}
