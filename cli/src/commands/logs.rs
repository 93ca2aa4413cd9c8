//! `oc logs [-f] [-c CONTAINER] [--tail N] [--since D | --since-time T] [--timestamps] [-p]
//! [--limit-bytes N] POD`: the container's log from the server's `pods/log`, copied to stdout
//! as it comes; for `dc/NAME`, the deployer's log of a deployment (`--version`).

use super::Globals;
use super::pod_target;
use crate::client::{Session, copy_body, encode, session};
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// The pod (`NAME` or `pod/NAME`).
    pub pod: String,
    /// Print the logs of this container.
    #[arg(long, short = 'c')]
    pub container: Option<String>,
    /// Specify if the logs should be streamed.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Lines of recent log file to display (-1: all).
    #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
    pub tail: i64,
    /// Only return logs newer than a relative duration like 5s, 2m, or 3h.
    #[arg(long)]
    pub since: Option<String>,
    /// Only return logs after a specific date (RFC3339).
    #[arg(long)]
    pub since_time: Option<String>,
    /// Include timestamps on each line in the log output.
    #[arg(long)]
    pub timestamps: bool,
    /// Print the logs for the previous instance of the container.
    #[arg(long, short = 'p')]
    pub previous: bool,
    /// Maximum bytes of logs to return.
    #[arg(long)]
    pub limit_bytes: Option<i64>,
    /// See the logs of the deployer of this version of a deployment config (dc/NAME).
    #[arg(long)]
    pub version: Option<i64>,
}

/// Go's `time.ParseDuration` for the units a `--since` takes, rounded up to whole seconds
/// (as kubectl sends `sinceSeconds`).
fn since_seconds(text: &str) -> Result<i64, CliError> {
    let invalid = || {
        CliError::msg(format!(
            "invalid argument {text:?} for \"--since\" flag: time: invalid duration {text:?}"
        ))
    };
    let mut rest = text;
    let mut nanos: f64 = 0.0;
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        let value: f64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(invalid()),
        };
        nanos += value * scale;
        rest = &rest[unit_end..];
    }
    Ok((nanos / 1e9).ceil() as i64)
}

pub async fn logs(g: &Globals, a: &LogsArgs) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let session = session(&config, &g.overrides).await?;
    if let Some(config) = config_name(&a.pod) {
        return config_logs(&session, config, a).await;
    }
    if let Some(target) = build_target(&a.pod) {
        return build_logs(&session, target, a).await;
    }
    let name = pod_target::pod_name(&a.pod)?;
    let pod = pod_target::get(&session, name).await.map_err(|e| match e {
        CliError::Server { reason, message } => CliError::msg(format!(
            "error from server ({reason}): {message} in namespace {:?}",
            session.namespace
        )),
        other => other,
    })?;
    let container = pod_target::container(&pod, a.container.as_deref())?;
    if a.since.is_some() && a.since_time.is_some() {
        return Err(CliError::msg(
            "at most one of `sinceTime` or `sinceSeconds` may be specified",
        ));
    }
    let mut query = vec![format!("container={}", encode(&container))];
    if a.follow {
        query.push("follow=true".into());
    }
    if let Some(n) = a.limit_bytes {
        query.push(format!("limitBytes={n}"));
    }
    if a.previous {
        query.push("previous=true".into());
    }
    if let Some(since) = &a.since {
        query.push(format!("sinceSeconds={}", since_seconds(since)?));
    }
    if let Some(at) = &a.since_time {
        query.push(format!("sinceTime={}", encode(at)));
    }
    if a.tail >= 0 {
        query.push(format!("tailLines={}", a.tail));
    }
    if a.timestamps {
        query.push("timestamps=true".into());
    }
    let path = format!(
        "/api/v1/namespaces/{}/pods/{}/log?{}",
        encode(&session.namespace),
        encode(name),
        query.join("&")
    );
    copy_body(&session.client, &path, &mut std::io::stdout()).await
}

/// The deployment config a reference names (`dc/web`, `deploymentconfig/web`...).
fn config_name(reference: &str) -> Option<&str> {
    match reference.split_once('/')? {
        (
            "dc"
            | "deploymentconfig"
            | "deploymentconfigs"
            | "deploymentconfig.apps.openshift.io"
            | "deploymentconfigs.apps.openshift.io",
            name,
        ) if !name.is_empty() => Some(name),
        _ => None,
    }
}

/// A build or build config a reference names (`build/web-1`, `bc/web`...).
enum BuildTarget<'a> {
    Build(&'a str),
    Config(&'a str),
}

fn build_target(reference: &str) -> Option<BuildTarget<'_>> {
    let (kind, name) = reference.split_once('/')?;
    if name.is_empty() {
        return None;
    }
    match kind.trim_end_matches(".build.openshift.io") {
        "build" | "builds" => Some(BuildTarget::Build(name)),
        "bc" | "buildconfig" | "buildconfigs" => Some(BuildTarget::Config(name)),
        _ => None,
    }
}

/// `oc logs build/NAME` and `oc logs bc/NAME` (its `--version`, else its newest build), as
/// upstream: a config's builds are listed by label, then the build's log is read.
async fn build_logs(
    session: &Session,
    target: BuildTarget<'_>,
    a: &LogsArgs,
) -> Result<(), CliError> {
    let ns = encode(&session.namespace);
    let builds = format!("/apis/build.openshift.io/v1/namespaces/{ns}/builds");
    let name = match target {
        BuildTarget::Build(name) => name.to_string(),
        BuildTarget::Config(config) => {
            let selector = encode(&format!("openshift.io/build-config.name={config}"));
            let list = session
                .get(&format!("{builds}?labelSelector={selector}"))
                .await?;
            let number = |b: &serde_json::Value| {
                b["metadata"]["annotations"]["openshift.io/build.number"]
                    .as_str()
                    .and_then(|n| n.parse::<i64>().ok())
                    .unwrap_or(0)
            };
            let items = list["items"].as_array().cloned().unwrap_or_default();
            let chosen = match a.version {
                Some(v) => items.iter().find(|b| number(b) == v),
                None => items.iter().max_by_key(|b| number(b)),
            };
            let Some(build) = chosen else {
                return Err(CliError::msg(format!("no builds found for {config:?}")));
            };
            build["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        }
    };
    let mut query = Vec::new();
    if a.follow {
        query.push("follow=true".to_string());
    }
    if a.previous {
        query.push("previous=true".into());
    }
    if a.tail >= 0 {
        query.push(format!("tailLines={}", a.tail));
    }
    let path = format!("{builds}/{}/log?{}", encode(&name), query.join("&"));
    copy_body(&session.client, &path, &mut std::io::stdout()).await
}

/// `oc logs dc/NAME`: the deployer's log of its latest (or `--version`) deployment.
async fn config_logs(session: &Session, name: &str, a: &LogsArgs) -> Result<(), CliError> {
    let mut query = Vec::new();
    if a.follow {
        query.push("follow=true".to_string());
    }
    if a.previous {
        query.push("previous=true".into());
    }
    if let Some(v) = a.version {
        query.push(format!("version={v}"));
    }
    let path = format!(
        "/apis/apps.openshift.io/v1/namespaces/{}/deploymentconfigs/{}/log?{}",
        encode(&session.namespace),
        encode(name),
        query.join("&")
    );
    copy_body(&session.client, &path, &mut std::io::stdout()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_a_go_duration_in_whole_seconds() {
        assert_eq!(since_seconds("1h").unwrap(), 3600);
        assert_eq!(since_seconds("1h30m").unwrap(), 5400);
        assert_eq!(since_seconds("1500ms").unwrap(), 2);
        assert!(since_seconds("5").is_err());
        assert!(since_seconds("").is_err());
    }
}
