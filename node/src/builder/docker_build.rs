//! The `docker-build` step: the base images pulled (registries on this machine only), the
//! sources built with `buildah bud` into a temporary tag, then tagged as the output and
//! pushed, with upstream's log lines; the digest reported through the details. The images
//! the build made are removed at the end, whatever happened.

use std::path::PathBuf;

use super::buildah::Bud;
use super::context::StepContext;
use super::dockerfile;
use super::failure::StepFailure;
use super::loopback::image_allowed;
use super::push;
use super::timing;
use crate::pods::registry_sources::RegistrySources;

/// Upstream's temporary tag: `temp.builder.openshift.io/<ns>/<build>:<8 hex>`.
pub fn temporary_tag(namespace: &str, build: &str, run_id: &str) -> String {
    let hex: String = run_id
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(8)
        .collect();
    format!("temp.builder.openshift.io/{namespace}/{build}:{hex:0>8}")
}

/// Pulls `image` with the credentials of the secret `auth_variable` names, logged and timed
/// as `step` of the PullImages stage.
pub async fn pull_image(
    ctx: &StepContext,
    image: &str,
    auth_variable: &str,
    step: &str,
    sources: &RegistrySources,
) -> Result<(), StepFailure> {
    image_allowed(image).map_err(StepFailure::pull_builder_image)?;
    let auth = push::secret_auth_file(ctx, auth_variable);
    ctx.log.line(&format!("\nPulling image {image} ..."));
    let config = ctx.image_config.current().await;
    let home = ctx.image_config.home(&config).await;
    let started = jiff::Timestamp::now();
    let pulled = ctx
        .buildah
        .pull(
            image,
            auth.as_deref(),
            !sources.insecure(image),
            &config,
            home.as_deref(),
            &ctx.log,
        )
        .await;
    ctx.timing.step(timing::PULL_IMAGES, step, started);
    if let Some(auth) = auth {
        let _ = std::fs::remove_file(auth);
    }
    pulled.map_err(|e| StepFailure::pull_builder_image(e.0))
}

/// Makes the base images present, each pulled (logged) unless already there, not forced
/// and not one the trust policy must verify (as the node's pulls, verified at every build).
pub async fn pull_bases(
    ctx: &StepContext,
    images: &[String],
    force: bool,
    sources: &RegistrySources,
) -> Result<(), StepFailure> {
    let config = ctx.image_config.current().await;
    for image in images {
        image_allowed(image).map_err(StepFailure::pull_builder_image)?;
        if !force && !config.must_check(image) && ctx.buildah.has_image(image).await {
            continue;
        }
        pull_image(
            ctx,
            image,
            "PULL_DOCKERCFG_PATH",
            timing::PULL_BASE_IMAGE,
            sources,
        )
        .await?;
    }
    Ok(())
}

/// Builds `dockerfile` in `context` into a temporary tag and pushes it to the output; the
/// images to remove afterwards are added to `made` as they come to be.
pub async fn build_and_push(
    ctx: &StepContext,
    dockerfile_path: PathBuf,
    context: PathBuf,
    force_pull: bool,
    bud: impl FnOnce(Bud) -> Bud,
    made: &mut Vec<String>,
) -> Result<(), StepFailure> {
    let text = std::fs::read_to_string(&dockerfile_path).map_err(|e| {
        StepFailure::docker_build(format!("unable to read {}: {e}", dockerfile_path.display()))
    })?;
    if !dockerfile::instructions(&text)
        .iter()
        .any(|i| i.keyword == "FROM")
    {
        return Err(StepFailure::docker_build("no FROM image in Dockerfile"));
    }
    let sources = ctx.image_config.sources().await;
    let bases = dockerfile::base_images(&text);
    pull_bases(ctx, &bases, force_pull, &sources).await?;
    let meta = &ctx.build.metadata;
    let tag = temporary_tag(&meta.namespace, &meta.name, &ctx.run_id);
    made.push(tag.clone());
    let request = bud(Bud {
        dockerfile: dockerfile_path,
        context,
        tag: tag.clone(),
        tls_verify: !bases.iter().any(|b| sources.insecure(b)),
        ..Default::default()
    });
    let started = jiff::Timestamp::now();
    let built = ctx.buildah.bud(&request, &ctx.log).await;
    ctx.timing
        .step(timing::BUILD, timing::DOCKER_BUILD, started);
    built.map_err(|e| StepFailure::docker_build(e.0))?;
    let Some(target) = ctx.build.push_target() else {
        ctx.log.line("Build complete, no image push requested");
        return Ok(());
    };
    made.push(target.clone());
    let digest = push::push(ctx, &tag, &target).await?;
    ctx.details.pushed(&digest).await;
    Ok(())
}

/// Runs `work` and removes what it built, whatever happened.
pub async fn with_cleanup<F>(ctx: &StepContext, work: F) -> Result<(), StepFailure>
where
    F: AsyncFnOnce(&mut Vec<String>) -> Result<(), StepFailure>,
{
    let mut made = Vec::new();
    let result = work(&mut made).await;
    ctx.buildah.remove_images(&made).await;
    result
}

pub async fn run(ctx: &StepContext) -> Result<(), StepFailure> {
    let Some(docker) = ctx.build.spec.strategy.docker_strategy.clone() else {
        return Err(StepFailure::docker_build(
            "the build has no Docker strategy",
        ));
    };
    let source = &ctx.build.spec.source;
    if source.git.is_none() && source.binary.is_none() && source.dockerfile.is_none() {
        return Err(StepFailure::docker_build(
            "must provide a value for at least one of source, binary, images, or dockerfile",
        ));
    }
    let context = ctx.context()?;
    let dockerfile_path = context.join(docker.dockerfile_path.as_deref().unwrap_or("Dockerfile"));
    with_cleanup(ctx, async |made: &mut Vec<String>| {
        build_and_push(
            ctx,
            dockerfile_path,
            context,
            docker.force_pull,
            |bud| Bud {
                build_args: docker
                    .build_args
                    .iter()
                    .map(|a| (a.name.clone(), a.value.clone().unwrap_or_default()))
                    .collect(),
                no_cache: docker.no_cache,
                layers: docker.image_optimization_policy.as_deref() == Some("None"),
                ..bud
            },
            made,
        )
        .await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_temporary_tag_is_upstreams() {
        assert_eq!(
            temporary_tag("p", "web-1", "0a1b2c3d4e5f"),
            "temp.builder.openshift.io/p/web-1:0a1b2c3d"
        );
        assert_eq!(
            temporary_tag("p", "web-1", "ab"),
            "temp.builder.openshift.io/p/web-1:000000ab"
        );
    }
}
