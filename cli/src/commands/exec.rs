//! `oc exec [-i] [-t] [-c CONTAINER] POD -- COMMAND [ARGS...]` and `oc rsh [-c CONTAINER]
//! [-T] POD [COMMAND...]` (a shell, `/bin/sh` by default, with a terminal when standard input
//! is one): a command in the pod's container over the server's `pods/exec`.

use std::io::IsTerminal;

use super::Globals;
use super::pod_target;
use crate::client::{Session, encode, session};
use crate::error::CliError;
use crate::remote_command::{self, Streams};

#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// The pod (`NAME` or `pod/NAME`).
    pub pod: String,
    /// Container name. If omitted, the first container in the pod is chosen.
    #[arg(long, short = 'c')]
    pub container: Option<String>,
    /// Pass stdin to the container.
    #[arg(long, short = 'i')]
    pub stdin: bool,
    /// Stdin is a TTY.
    #[arg(long, short = 't')]
    pub tty: bool,
    /// Only print output from the remote session.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true)]
    pub command: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct RshArgs {
    /// The pod (`NAME` or `pod/NAME`).
    pub pod: String,
    /// Container name; defaults to the first container.
    #[arg(long, short = 'c')]
    pub container: Option<String>,
    /// Force a pseudo-terminal to be allocated.
    #[arg(short = 't')]
    pub force_tty: bool,
    /// Disable pseudo-terminal allocation.
    #[arg(short = 'T')]
    pub no_tty: bool,
    /// Path to the shell command.
    #[arg(long, default_value = "/bin/sh")]
    pub shell: String,
    /// The command to run instead of the shell.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// Runs `command` in the pod's container, with the exit code of the command.
async fn run(
    session: &Session,
    reference: &str,
    container: Option<&str>,
    command: &[String],
    streams: Streams,
) -> Result<(), CliError> {
    let name = pod_target::pod_name(reference)?;
    let pod = pod_target::get(session, name).await?;
    if let Some(phase @ ("Succeeded" | "Failed")) = pod["status"]["phase"].as_str() {
        return Err(CliError::msg(format!(
            "cannot exec into a container in a completed pod; current phase is {phase}"
        )));
    }
    let container = pod_target::container(&pod, container)?;
    let mut query: Vec<String> = command
        .iter()
        .map(|c| format!("command={}", encode(c)))
        .collect();
    query.push(format!("container={}", encode(&container)));
    if !streams.tty {
        query.push("stderr=true".into());
    }
    if streams.stdin {
        query.push("stdin=true".into());
    }
    query.push("stdout=true".into());
    if streams.tty {
        query.push("tty=true".into());
    }
    let path = format!(
        "/api/v1/namespaces/{}/pods/{}/exec?{}",
        encode(&session.namespace),
        encode(name),
        query.join("&")
    );
    remote_command::run(&session.client, &path, &streams).await
}

pub async fn exec(g: &Globals, a: &ExecArgs) -> Result<(), CliError> {
    if a.command.is_empty() {
        return Err(CliError::msg(
            "you must specify at least one command for the container",
        ));
    }
    let config = g.kubeconfig()?;
    let session = session(&config, &g.overrides).await?;
    // As kubectl: a terminal only with stdin, and only when stdin is one.
    let mut tty = a.tty && a.stdin;
    if tty && !std::io::stdin().is_terminal() {
        tty = false;
        if !a.quiet {
            eprintln!("Unable to use a TTY - input is not a terminal or the right kind of file");
        }
    }
    let streams = Streams {
        stdin: a.stdin,
        tty,
    };
    run(
        &session,
        &a.pod,
        a.container.as_deref(),
        &a.command,
        streams,
    )
    .await
}

pub async fn rsh(g: &Globals, a: &RshArgs) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let session = session(&config, &g.overrides).await?;
    let tty = !a.no_tty && (a.force_tty || std::io::stdin().is_terminal());
    let command = match a.command.is_empty() {
        true => vec![a.shell.clone()],
        false => a.command.clone(),
    };
    let streams = Streams { stdin: true, tty };
    run(&session, &a.pod, a.container.as_deref(), &command, streams).await
}
