//! The `sti-build` step: source-to-image as a generated Dockerfile (`s2i`), built and pushed
//! as the Docker strategy's is. The builder image's labels and user are read with buildah;
//! the image is never run outside the build. An incremental build pulls the previous output
//! image, whose `save-artifacts` the generated Dockerfile runs in a first stage.

use std::path::Path;

use tokio::process::Command;

use super::build_spec::SourceStrategy;
use super::command;
use super::context::StepContext;
use super::docker_build::{build_and_push, pull_bases, pull_image, with_cleanup};
use super::failure::StepFailure;
use super::manage_dockerfile::{build_env, build_labels};
use super::s2i::{self, Plan};
use super::scripts_url::{self, ScriptsUrl};
use super::source_info;
use super::timing;
use crate::pods::registry_sources::RegistrySources;

/// Copies the directory `from` into `to` (made), as `cp -a`.
async fn copy_dir(from: &Path, to: &Path) -> Result<(), StepFailure> {
    std::fs::create_dir_all(to).map_err(|e| StepFailure::generic(e.to_string()))?;
    let mut cp = Command::new("cp");
    cp.arg("-a").arg(format!("{}/.", from.display())).arg(to);
    command::run(cp, None)
        .await
        .map(|_| ())
        .map_err(|e| StepFailure::generic(e.0))
}

/// The previous image an incremental build restores artifacts from: the output, pulled
/// with the push secret's credentials (the build pushed it with them). A previous image that
/// cannot be pulled (the first build) makes a normal build, as upstream's builder does.
async fn previous_image(
    ctx: &StepContext,
    strategy: &SourceStrategy,
    sources: &RegistrySources,
) -> Option<String> {
    if strategy.incremental != Some(true) {
        return None;
    }
    let target = ctx.build.push_target()?;
    if !strategy.force_pull
        && !ctx.image_config.current().await.must_check(&target)
        && ctx.buildah.has_image(&target).await
    {
        return Some(target);
    }
    let pulled = pull_image(
        ctx,
        &target,
        "PUSH_DOCKERCFG_PATH",
        timing::PULL_INPUT_IMAGE,
        sources,
    )
    .await;
    match pulled {
        Ok(()) => Some(target),
        Err(f) => {
            tracing::debug!(image = %target, error = %f.error, "no previous image: a normal build");
            None
        }
    }
}

/// The scripts the build brings instead of the image's, copied to `upload/scripts`: those
/// downloaded from the strategy's scripts URL, then the sources' own (`.s2i/bin`) for the
/// rest, as s2i's installer looks for them. An `image://` URL names the image's scripts for
/// every one of them.
async fn override_scripts(
    url: Option<&str>,
    src: &Path,
    docker_context: &Path,
) -> Result<Vec<String>, StepFailure> {
    let upload = docker_context.join("upload/scripts");
    let mut provided = match url.filter(|u| !u.is_empty()).map(scripts_url::parse) {
        Some(ScriptsUrl::Image(_)) => return Ok(Vec::new()),
        Some(ScriptsUrl::Download(url)) => scripts_url::download(&url, &upload).await?,
        None => Vec::new(),
    };
    let s2i_bin = src.join(".s2i/bin");
    for name in scripts_url::SCRIPTS {
        let script = s2i_bin.join(name);
        if provided.iter().any(|p| p == name) || !script.is_file() {
            continue;
        }
        std::fs::create_dir_all(&upload).map_err(|e| StepFailure::generic(e.to_string()))?;
        let mut cp = Command::new("cp");
        cp.arg("-p").arg(&script).arg(upload.join(name));
        command::run(cp, None)
            .await
            .map_err(|e| StepFailure::generic(e.0))?;
        provided.push(name.to_string());
    }
    Ok(provided)
}

pub async fn run(ctx: &StepContext) -> Result<(), StepFailure> {
    let Some(strategy) = ctx.build.spec.strategy.source_strategy.clone() else {
        return Err(StepFailure::generic("the build has no Source strategy"));
    };
    let builder_image = strategy.from.name.clone();
    let sources = ctx.image_config.sources().await;
    pull_bases(
        ctx,
        std::slice::from_ref(&builder_image),
        strategy.force_pull,
        &sources,
    )
    .await?;
    let incremental_from = previous_image(ctx, &strategy, &sources).await;
    let labels = ctx
        .buildah
        .labels(&builder_image)
        .await
        .map_err(|e| StepFailure::image_content(e.0))?;
    let image_user = ctx.buildah.user(&builder_image).await.unwrap_or_default();
    let image = s2i::from_image(&labels, &image_user, strategy.scripts.as_deref());

    let work = ctx.work_dir()?;
    let docker_context = work.join("dockercontext");
    let src = docker_context.join("upload/src");
    copy_dir(&ctx.context()?, &src).await?;
    let override_scripts =
        override_scripts(strategy.scripts.as_deref(), &src, &docker_context).await?;
    let revision = source_info::read(&work);
    // The sources' own environment first: the build's variables win over it.
    let mut env = std::fs::read_to_string(src.join(".s2i/environment"))
        .map(|text| s2i::environment_file(&text))
        .unwrap_or_default();
    env.extend(build_env(&ctx.build, revision.as_ref()));
    env.extend(
        strategy
            .env
            .iter()
            .map(|e| (e.name.clone(), e.value.clone().unwrap_or_default())),
    );
    let mut labels = build_labels(&ctx.build, revision.as_ref());
    labels.extend(image.labels);
    let plan = Plan {
        builder_image: builder_image.clone(),
        scripts_dir: image.scripts_dir,
        destination: image.destination,
        user: image.user,
        override_scripts,
        env,
        labels,
        incremental_from,
    };
    ctx.log.line(&format!(
        "Generating dockerfile with builder image {builder_image}"
    ));
    let dockerfile_path = docker_context.join("Dockerfile");
    std::fs::write(&dockerfile_path, s2i::dockerfile(&plan))
        .map_err(|e| StepFailure::generic(e.to_string()))?;
    let built = with_cleanup(ctx, async |made: &mut Vec<String>| {
        if let Some(previous) = &plan.incremental_from {
            made.push(previous.clone());
        }
        build_and_push(ctx, dockerfile_path, docker_context, false, |bud| bud, made).await
    })
    .await;
    // A failed assemble is a generic failure for the Source strategy, as upstream's.
    built.map_err(|f| match f.reason {
        "DockerBuildFailed" => StepFailure::generic(f.error),
        _ => f,
    })
}
