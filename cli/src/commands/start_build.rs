//! `oc start-build BUILDCONFIG | --from-build=BUILD`: a new build through the config's
//! `instantiate` (or the build's `clone`, or `instantiatebinary` with an uploaded file,
//! archive or directory), printed as `build.build.openshift.io/<name> started`; `--follow`
//! copies its log, `--wait` waits for it to end.

use std::path::PathBuf;

use http::Method;
use serde_json::{Value, json};

use super::Globals;
use super::tar_dir;
use crate::client::{Session, copy_body, encode, send, session};
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub struct StartBuildArgs {
    /// The build config to start a build of.
    pub buildconfig: Option<String>,
    /// Specify the name of a build which should be re-run.
    #[arg(long)]
    pub from_build: Option<String>,
    /// Specify a key-value pair for an environment variable to set for the build container.
    #[arg(long, short = 'e')]
    pub env: Vec<String>,
    /// Specify a key-value pair to pass to Docker during the build.
    #[arg(long)]
    pub build_arg: Vec<String>,
    /// Start a build and watch its logs until it completes or fails.
    #[arg(long, short = 'F')]
    pub follow: bool,
    /// Wait for a build to complete and exit with a non-zero return code if the build fails.
    #[arg(long, short = 'w')]
    pub wait: bool,
    /// Specify the source code commit identifier the build should use.
    #[arg(long)]
    pub commit: Option<String>,
    /// A file to use as the binary input for the build.
    #[arg(long)]
    pub from_file: Option<PathBuf>,
    /// A directory to archive and use as the binary input for a build.
    #[arg(long)]
    pub from_dir: Option<PathBuf>,
    /// An archive (tar, tar.gz, zip) to use as the binary input for the build.
    #[arg(long)]
    pub from_archive: Option<PathBuf>,
    /// The path to a local source code repository to use as the binary input for a build.
    #[arg(long)]
    pub from_repo: Option<PathBuf>,
    /// Overrides the incremental setting in a source-strategy build.
    #[arg(long)]
    pub incremental: Option<bool>,
    /// Overrides the noCache setting in a docker-strategy build.
    #[arg(long)]
    pub no_cache: Option<bool>,
    /// Output mode: `name` prints only the build's kind/name.
    #[arg(long, short = 'o')]
    pub output: Option<String>,
}

fn key_values(pairs: &[String], flag: &str) -> Result<Vec<Value>, CliError> {
    pairs
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok(json!({"name": k, "value": v})),
            _ => Err(CliError::msg(format!(
                "{flag}: {p:?} is not of the form key=value"
            ))),
        })
        .collect()
}

/// The upload and the query of a binary build, with the line printed before it.
fn binary_input(a: &StartBuildArgs) -> Result<Option<(Vec<u8>, String, String)>, CliError> {
    let given = [
        a.from_file.is_some(),
        a.from_dir.is_some(),
        a.from_archive.is_some(),
        a.from_repo.is_some(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(CliError::msg(
            "only one of --from-file, --from-repo, --from-archive or --from-dir may be specified",
        ));
    }
    let read =
        |p: &PathBuf| std::fs::read(p).map_err(|e| CliError::msg(format!("{}: {e}", p.display())));
    let commit = a
        .commit
        .as_deref()
        .map(|c| format!("&revision.commit={}", encode(c)))
        .unwrap_or_default();
    if let Some(file) = &a.from_file {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let line = format!(
            "Uploading file {:?} as binary input for the build ...",
            file.display().to_string()
        );
        return Ok(Some((
            read(file)?,
            format!("asFile={}{commit}", encode(&name)),
            line,
        )));
    }
    if let Some(archive) = &a.from_archive {
        let line = format!(
            "Uploading archive file {:?} as binary input for the build ...",
            archive.display().to_string()
        );
        return Ok(Some((
            read(archive)?,
            commit.trim_start_matches('&').to_string(),
            line,
        )));
    }
    if let Some(dir) = a.from_dir.as_ref().or(a.from_repo.as_ref()) {
        let line = format!(
            "Uploading directory {:?} as binary input for the build ...",
            dir.display().to_string()
        );
        return Ok(Some((
            tar_dir::archive(dir)?,
            commit.trim_start_matches('&').to_string(),
            line,
        )));
    }
    Ok(None)
}

fn build_path(session: &Session, name: &str) -> String {
    format!(
        "/apis/build.openshift.io/v1/namespaces/{}/builds/{}",
        encode(&session.namespace),
        encode(name)
    )
}

/// Waits for the build to end: Ok when it completed.
async fn wait_for(session: &Session, build: &Value) -> Result<(), CliError> {
    let name = build["metadata"]["name"].as_str().unwrap_or_default();
    let path = build_path(session, name);
    loop {
        let current = session.get(&path).await?;
        match current["status"]["phase"].as_str().unwrap_or_default() {
            "Complete" => return Ok(()),
            phase @ ("Failed" | "Error" | "Cancelled") => {
                return Err(CliError::msg(format!(
                    "the build {}/{name} status is {phase:?}",
                    session.namespace
                )));
            }
            _ => tokio::time::sleep(std::time::Duration::from_millis(500)).await,
        }
    }
}

pub async fn start_build(g: &Globals, a: &StartBuildArgs) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let session = session(&config, &g.overrides).await?;
    let name = match (&a.buildconfig, &a.from_build) {
        (Some(n), None) if n.starts_with("build/") || n.starts_with("builds/") => {
            return Err(CliError::msg("use --from-build to rerun your builds"));
        }
        (Some(n), None) => n
            .split_once('/')
            .map_or(n.as_str(), |(_, name)| name)
            .to_string(),
        (None, Some(b)) => b.clone(),
        _ => {
            return Err(CliError::msg(
                "Must pass a name of a build config or specify build name with '--from-build' flag.\nUse \"oc get buildconfig\" to list all available build configs.",
            ));
        }
    };
    let ns = encode(&session.namespace);
    let build = if let Some((body, query, line)) = binary_input(a)? {
        if !a.env.is_empty() || !a.build_arg.is_empty() {
            eprintln!(
                "WARNING: Specifying environment variables with binary builds is not supported."
            );
        }
        println!("{line}");
        let path = format!(
            "/apis/build.openshift.io/v1/namespaces/{ns}/buildconfigs/{}/instantiatebinary?{query}",
            encode(&name)
        );
        send(
            &session.client,
            Method::POST,
            &path,
            &[],
            Some(("application/octet-stream", body)),
        )
        .await?
        .json()?
    } else {
        let mut request = json!({"kind": "BuildRequest", "apiVersion": "build.openshift.io/v1",
            "metadata": {"name": name},
            "triggeredBy": [{"message": "Manually triggered"}],
            "env": key_values(&a.env, "--env")?});
        let args = key_values(&a.build_arg, "--build-arg")?;
        if !args.is_empty() || a.no_cache.is_some() {
            request["dockerStrategyOptions"] = json!({});
            if !args.is_empty() {
                request["dockerStrategyOptions"]["buildArgs"] = json!(args);
            }
            if let Some(no_cache) = a.no_cache {
                request["dockerStrategyOptions"]["noCache"] = json!(no_cache);
            }
        }
        if let Some(incremental) = a.incremental {
            request["sourceStrategyOptions"] = json!({"incremental": incremental});
        }
        if let Some(commit) = &a.commit {
            request["revision"] = json!({"type": "Git", "git": {"commit": commit}});
        }
        let path = match &a.from_build {
            Some(b) => format!("{}/clone", build_path(&session, b)),
            None => format!(
                "/apis/build.openshift.io/v1/namespaces/{ns}/buildconfigs/{}/instantiate",
                encode(&name)
            ),
        };
        session.post(&path, &request).await.map_err(|e| match e {
            CliError::Server { reason, message } if reason == "AlreadyExists" => CliError::msg(format!(
                "{message}. Retry building BuildConfig {name:?} or delete the conflicting builds"
            )),
            other => other,
        })?
    };
    let build_name = build["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    match a.output.as_deref() {
        Some("name") => println!("build.build.openshift.io/{build_name}"),
        _ => println!("build.build.openshift.io/{build_name} started"),
    }
    if a.follow {
        let path = format!("{}/log?follow=true", build_path(&session, &build_name));
        if let Err(e) = copy_body(&session.client, &path, &mut std::io::stdout()).await {
            eprintln!(
                "Failed to stream the build logs - to view the logs, run oc logs build/{build_name}"
            );
            return Err(e);
        }
    }
    if a.wait {
        wait_for(&session, &build).await?;
    }
    Ok(())
}
