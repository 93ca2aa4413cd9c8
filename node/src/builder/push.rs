//! Pushing the built image: the build pod's push secret (`.dockercfg` or
//! `.dockerconfigjson`) as buildah's auth file, plain HTTP only for insecure registries of the
//! cluster (the integrated registry counts as one), upstream's lines around the push.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::context::StepContext;
use super::failure::StepFailure;
use super::loopback::image_allowed;
use super::timing;
use crate::pods::images::secret_auths;

/// Writes the secret mounted at `dir` as an auth file at `to`; `None` if it holds no auths.
pub fn auth_file(dir: &Path, to: &Path) -> std::io::Result<Option<PathBuf>> {
    let read = |name: &str| std::fs::read(dir.join(name)).ok();
    let auths = secret_auths(
        read(".dockerconfigjson").as_deref(),
        read(".dockercfg").as_deref(),
    );
    if auths.is_empty() {
        return Ok(None);
    }
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let body = serde_json::json!({ "auths": auths }).to_string();
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(to)?
        .write_all(body.as_bytes())?;
    Ok(Some(to.to_path_buf()))
}

/// The auth file of the secret a variable of the build container names (`PUSH_DOCKERCFG_PATH`,
/// `PULL_DOCKERCFG_PATH`), written under buildah's scratch directory.
pub fn secret_auth_file(ctx: &StepContext, variable: &str) -> Option<PathBuf> {
    let mounted = ctx.env.get(variable)?;
    let dir = ctx.host_path(mounted)?;
    let to = ctx.buildah.scratch().join(format!(
        "{}-{}.json",
        ctx.run_id,
        variable.to_ascii_lowercase()
    ));
    match auth_file(&dir, &to) {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, variable, "registry credentials not written");
            None
        }
    }
}

/// `repo@digest` for upstream's `Successfully pushed` line: the name without its tag.
pub fn pushed_name(image: &str, digest: &str) -> String {
    let name = image.split('@').next().unwrap_or(image);
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let repo = match name[last_slash..].rfind(':') {
        Some(colon) => &name[..last_slash + colon],
        None => name,
    };
    format!("{repo}@{digest}")
}

/// Tags `built` as `target` and pushes it; the digest.
pub async fn push(ctx: &StepContext, built: &str, target: &str) -> Result<String, StepFailure> {
    image_allowed(target).map_err(StepFailure::push)?;
    ctx.buildah
        .tag(built, target)
        .await
        .map_err(|e| StepFailure::push(e.0))?;
    ctx.log.line(&format!("\nPushing image {target} ..."));
    let sources = ctx.image_config.sources().await;
    let auth = secret_auth_file(ctx, "PUSH_DOCKERCFG_PATH");
    let digest_file = ctx.buildah.scratch().join(format!("{}.digest", ctx.run_id));
    let started = jiff::Timestamp::now();
    let pushed = ctx
        .buildah
        .push(
            target,
            auth.as_deref(),
            !sources.insecure(target),
            &digest_file,
            &ctx.log,
        )
        .await;
    let step = match ctx.build.spec.strategy.source_strategy {
        Some(_) => timing::PUSH_IMAGE_STEP,
        None => timing::PUSH_DOCKER_IMAGE,
    };
    ctx.timing.step(timing::PUSH_IMAGE, step, started);
    if let Some(auth) = auth {
        let _ = std::fs::remove_file(auth);
    }
    let digest = pushed.map_err(|e| StepFailure::push(e.0))?;
    ctx.log.line(&format!(
        "Successfully pushed {}",
        pushed_name(target, &digest)
    ));
    ctx.log.line("Push successful");
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pushed_line_names_the_repository_and_digest() {
        assert_eq!(
            pushed_name("127.0.0.1:5000/p/web:latest", "sha256:ab"),
            "127.0.0.1:5000/p/web@sha256:ab"
        );
        assert_eq!(
            pushed_name("127.0.0.1:5000/p/web", "sha256:ab"),
            "127.0.0.1:5000/p/web@sha256:ab"
        );
    }

    #[test]
    fn a_push_secret_becomes_an_auth_file() {
        let dir = tempfile::tempdir().unwrap();
        let to = dir.path().join("out/auth.json");
        assert_eq!(auth_file(dir.path(), &to).unwrap(), None);
        std::fs::write(
            dir.path().join(".dockercfg"),
            r#"{"127.0.0.1:5000":{"username":"u","password":"p"}}"#,
        )
        .unwrap();
        let written = auth_file(dir.path(), &to).unwrap().unwrap();
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&written).unwrap()).unwrap();
        assert_eq!(v["auths"]["127.0.0.1:5000"]["auth"], "dTpw");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&written).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
