//! The `git-clone` step: the Build's git source cloned into the work directory's `inputs`
//! with upstream's log lines (and the source secret's credentials, `source_auth`), the commit
//! reported through the details and kept for the steps after it, the context directory
//! checked. Sources come from this machine only.

use std::path::Path;
use std::time::Duration;

use tokio::process::Command;

use super::build_spec::Revision;
use super::command;
use super::context::StepContext;
use super::failure::StepFailure;
use super::loopback::git_uri_allowed;
use super::source_auth::{self, SOURCE_MOUNT, SourceAuth};
use super::source_info;
use super::timing;

/// How long the first look at the repository may take (upstream's, before it waits longer).
const LS_REMOTE_TIMEOUT: Duration = Duration::from_secs(16);

/// git with nothing of the node's configuration (only the source secret's, `config`), no
/// prompts, the transports the builder allows and no redirects away from the URL.
fn git(dir: Option<&Path>, config: Option<&SourceAuth>) -> Command {
    let mut c = Command::new("git");
    if let Some(dir) = dir {
        c.arg("-C").arg(dir);
    }
    c.args([
        "-c",
        "http.followRedirects=false",
        "-c",
        "protocol.file.allow=always",
    ])
    .env("GIT_ASKPASS", "true")
    .env("GIT_TERMINAL_PROMPT", "0")
    .env("GIT_CONFIG_NOSYSTEM", "1")
    .env(
        "GIT_CONFIG_GLOBAL",
        config.map_or(Path::new("/dev/null"), |c| c.config.as_path()),
    )
    .env("GIT_ALLOW_PROTOCOL", "file:git:http:https");
    if config.is_some() {
        // The node's own trust settings would win over the secret's `ca.crt`.
        c.env_remove("GIT_SSL_CAINFO").env_remove("GIT_SSL_CAPATH");
    }
    c
}

/// The source secret's configuration, when the build has one.
async fn source_secret(ctx: &StepContext, uri: &str) -> Result<Option<SourceAuth>, StepFailure> {
    if !ctx.env.contains_key("SOURCE_SECRET_PATH") {
        return Ok(None);
    }
    let secret = ctx.host_path(SOURCE_MOUNT).ok_or_else(|| {
        StepFailure::generic(format!(
            "cannot setup source secret: the build pod does not mount {SOURCE_MOUNT}"
        ))
    })?;
    let scratch = std::env::temp_dir().join(format!("oxshift-source-auth-{}", ctx.run_id));
    let auth = source_auth::setup(&secret, uri, &scratch)
        .await
        .map_err(StepFailure::generic)?;
    for note in &auth.notes {
        ctx.log.line(note);
    }
    Ok(Some(auth))
}

/// What `git ls-remote` failing means, in upstream's words.
pub fn ls_remote_error(uri: &str, output: &str) -> String {
    if output.contains("Authentication failed") {
        format!("failed to fetch requested repository {uri:?} with provided credentials")
    } else if output.contains("not found")
        || output.contains("does not appear to be a git repository")
    {
        format!("requested repository {uri:?} not found")
    } else {
        output.to_string()
    }
}

/// What `git log -1` prints of the commit, one field a line (`parse_revision` reads it).
const REVISION_FORMAT: &str = "%H%n%an%n%ae%n%cn%n%ce%n%ad%n%s";

pub fn parse_revision(text: &str) -> Revision {
    let mut l = text.lines().map(str::to_string);
    let mut next = || l.next().unwrap_or_default();
    Revision {
        commit: next(),
        author_name: next(),
        author_email: next(),
        committer_name: next(),
        committer_email: next(),
        date: next(),
        message: next(),
    }
}

/// Upstream's lines about the commit.
pub fn revision_lines(r: &Revision) -> String {
    format!(
        "\tCommit:\t{} ({})\n\tAuthor:\t{} <{}>\n\tDate:\t{}",
        r.commit, r.message, r.author_name, r.author_email, r.date
    )
}

pub async fn run(ctx: &StepContext) -> Result<(), StepFailure> {
    let source = &ctx.build.spec.source;
    if let Some(binary) = source.binary.as_ref() {
        super::binary_input::run(ctx, binary).await?;
        return check_context_dir(ctx);
    }
    let Some(git_source) = source.git.as_ref() else {
        return Ok(());
    };
    let uri = git_source.uri.clone();
    git_uri_allowed(&uri).map_err(StepFailure::fetch_source)?;
    let work = ctx.work_dir()?;
    let inputs = ctx.inputs()?;
    let auth = source_secret(ctx, &uri).await?;
    let auth = auth.as_ref();
    ctx.log.line(&format!("Cloning {uri:?} ..."));
    let started = jiff::Timestamp::now();
    let fetched = auth.map_or(uri.as_str(), |a| a.uri.as_str());

    let mut ls = git(None, auth);
    ls.args(["ls-remote", "--heads", fetched]);
    match tokio::time::timeout(LS_REMOTE_TIMEOUT, command::run(ls, None)).await {
        Err(_) => {
            return Err(StepFailure::fetch_source(format!(
                "timed out waiting for git server {uri:?}"
            )));
        }
        Ok(Err(e)) => return Err(StepFailure::fetch_source(ls_remote_error(&uri, &e.0))),
        Ok(Ok(_)) => {}
    }

    let wanted = ctx.build.wanted_ref();
    let mut clone = git(None, auth);
    clone.arg("clone").arg("--quiet");
    if wanted.is_none() {
        clone.args(["--depth=1"]);
    }
    clone.arg("--").arg(fetched).arg(&inputs);
    command::run(clone, Some(&ctx.log))
        .await
        .map_err(|e| StepFailure::fetch_source(e.0))?;
    if let Some(reference) = wanted {
        if reference.starts_with('-') {
            return Err(StepFailure::fetch_source(format!(
                "invalid ref {reference:?}"
            )));
        }
        let mut checkout = git(Some(&inputs), auth);
        checkout.args(["checkout", "--quiet", &reference]);
        command::run(checkout, Some(&ctx.log))
            .await
            .map_err(|e| StepFailure::fetch_source(e.0))?;
    }
    ctx.timing
        .step(timing::FETCH_INPUTS, timing::FETCH_GIT_SOURCE, started);

    let mut log = git(Some(&inputs), None);
    log.args(["log", "-1", &format!("--pretty={REVISION_FORMAT}")]);
    let revision = command::run(log, None)
        .await
        .map(|ran| parse_revision(&ran.stdout))
        .map_err(|e| StepFailure::fetch_source(e.0))?;
    ctx.log.line(&revision_lines(&revision));
    if let Err(e) = source_info::write(&work, &revision) {
        tracing::warn!(error = %e, "source information not kept");
    }
    if ctx.build.spec.revision.is_none() {
        ctx.details.revision(&revision).await;
    }

    check_context_dir(ctx)
}

fn check_context_dir(ctx: &StepContext) -> Result<(), StepFailure> {
    let dir = ctx.build.context_dir();
    if !dir.is_empty() && !ctx.inputs()?.join(dir).is_dir() {
        return Err(StepFailure::context_dir(dir));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commit_is_read_and_printed_as_upstream() {
        let r =
            parse_revision("abc\nAnn\na@x\nCid\nc@x\nSun Dec 6 01:02:03 2026 +0000\nFirst page\n");
        assert_eq!(r.commit, "abc");
        assert_eq!(r.committer_email, "c@x");
        assert_eq!(r.message, "First page");
        assert_eq!(
            revision_lines(&r),
            "\tCommit:\tabc (First page)\n\tAuthor:\tAnn <a@x>\n\tDate:\tSun Dec 6 01:02:03 2026 +0000"
        );
    }

    #[test]
    fn ls_remote_failures_read_as_upstreams() {
        assert_eq!(
            ls_remote_error("u", "fatal: Authentication failed for 'u'"),
            "failed to fetch requested repository \"u\" with provided credentials"
        );
        assert_eq!(
            ls_remote_error("u", "fatal: 'u' does not appear to be a git repository"),
            "requested repository \"u\" not found"
        );
        assert_eq!(ls_remote_error("u", "other"), "other");
    }
}
