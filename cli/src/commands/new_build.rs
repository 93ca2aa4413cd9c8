//! `oc new-build`: a build configuration (and the image streams it needs) from source code (Git
//! URLs, local Git repositories, `builder~source`), an inline Dockerfile (`-D`, `-` reads it
//! from standard input) or binary input (`--binary`), resolved and generated as `oc new-app`
//! does without the deployment; labelled `build=<name>` unless `-l` says otherwise.

use std::io::Read;

use serde_json::{Map, Value, json};

use super::Globals;
use super::new_app::build_config::{self, Strategy};
use super::new_app::builds::{self, BuildFlags};
use super::new_app::generate::GENERATED_BY;
use super::new_app::{create_all, not_found, output, pairs, source};
use super::process::{self, parse_labels};
use crate::client::session;
use crate::error::CliError;

#[derive(Debug, Default, clap::Args)]
pub struct NewBuildArgs {
    /// Source code locations, builder images, or KEY=VALUE environment variables.
    pub args: Vec<String>,
    /// Source code in the build configuration.
    #[arg(long)]
    pub code: Vec<String>,
    /// Name of an image stream to use as a builder.
    #[arg(long = "image-stream", short = 'i')]
    pub image_stream: Vec<String>,
    /// Name of a container image to use as a builder.
    #[arg(long)]
    pub image: Vec<String>,
    /// Deprecated: use --image.
    #[arg(long = "docker-image")]
    pub docker_image: Vec<String>,
    /// Set name to use for generated build artifacts.
    #[arg(long)]
    pub name: Option<String>,
    /// Push built images to this image stream tag (or container image repository if
    /// --to-docker is set).
    #[arg(long)]
    pub to: Option<String>,
    /// If true, have the build output push to a Docker repository.
    #[arg(long)]
    pub to_docker: bool,
    /// Specify the build strategy to use if you don't want to detect (docker|source).
    #[arg(long)]
    pub strategy: Option<String>,
    /// Specify the contents of a Dockerfile to build directly, implies --strategy=docker. Pass
    /// '-' to read from STDIN.
    #[arg(long = "dockerfile", short = 'D')]
    pub dockerfile: Option<String>,
    /// Instead of expecting a source URL, set the build to expect binary contents. Will
    /// disable triggers.
    #[arg(long)]
    pub binary: bool,
    /// Specify a key-value pair for an environment variable to set into the resulting image.
    #[arg(long = "env", short = 'e', visible_alias = "build-env")]
    pub env: Vec<String>,
    /// Label to set in all generated resources.
    #[arg(long, short = 'l')]
    pub labels: Option<String>,
    /// Context directory to be used for the build.
    #[arg(long, default_value = "")]
    pub context_dir: String,
    /// The referenced container images are on insecure registries.
    #[arg(long)]
    pub insecure_registry: bool,
    /// Use container images that cannot be found.
    #[arg(long)]
    pub allow_missing_images: bool,
    /// Print the objects (json or yaml) instead of creating them.
    #[arg(long, short = 'o')]
    pub output: Option<String>,
}

const NO_INPUT: &str = "You must specify one or more images, image streams, or source code locations to create a build.

To build from an existing image stream tag or container image, provide the name of the image and
the source code location:

  oc new-build centos/nodejs-8-centos7~https://github.com/sclorg/nodejs-ex.git

If you only specify the source repository location (local or remote), the command will look at
the repo to determine the type, and then look for a matching image on your server or on the
default container image registry.

  oc new-build https://github.com/sclorg/nodejs-ex.git

will look for an image called \"nodejs\" in your current project, the 'openshift' project, or
on the configured container registries.
See 'oc new-build -h' for help and examples";

pub async fn new_build(g: &Globals, a: &NewBuildArgs) -> Result<(), CliError> {
    if !a.docker_image.is_empty() {
        eprintln!("Flag --docker-image has been deprecated, Deprecated flag use --image");
    }
    let dockerfile = match a.dockerfile.as_deref() {
        Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| CliError::msg(e.to_string()))?;
            Some(text)
        }
        other => other.map(str::to_string),
    };
    let (env_args, components): (Vec<String>, Vec<String>) =
        a.args.iter().cloned().partition(|arg| arg.contains('='));
    let mut env = pairs(&env_args)?;
    env.extend(pairs(&a.env)?);
    let mut strategy = builds::parse_strategy(a.strategy.as_deref())?;
    if dockerfile.is_some() {
        if strategy == Some(Strategy::Source) {
            return Err(CliError::msg(
                "when directly referencing a Dockerfile, the strategy must must be 'docker'",
            ));
        }
        strategy = Some(Strategy::Docker);
    }
    let mut repos = Vec::new();
    let mut builders: Vec<String> = a
        .image_stream
        .iter()
        .chain(&a.image)
        .chain(&a.docker_image)
        .cloned()
        .collect();
    for term in components.iter().chain(&a.code) {
        match source::classify(term)? {
            Some(repo) => repos.push(repo),
            None if a.code.contains(term) => {
                return Err(CliError::msg(format!(
                    "{term} is not a Git repository URL or a local Git repository"
                )));
            }
            None => builders.push(term.clone()),
        }
    }
    if a.binary && !repos.is_empty() {
        return Err(CliError::msg(
            "specifying binary builds and source repositories at the same time is not allowed",
        ));
    }
    if repos.is_empty() && dockerfile.is_none() && !a.binary && builders.is_empty() {
        return Err(CliError::msg(NO_INPUT));
    }
    if builders.len() > 1 {
        return Err(CliError::msg(format!(
            "only one builder image may be given, not {}",
            builders.join(", ")
        )));
    }
    if repos.len() > 1 && (a.name.is_some() || a.to.is_some()) {
        return Err(CliError::msg(
            "--name and --to cannot be used with multiple source repositories",
        ));
    }
    if repos.is_empty() && dockerfile.is_none() && !a.binary {
        return Err(CliError::msg(
            "you must specify at least one source repository URL, provide a Dockerfile, or indicate you wish to use binary builds",
        ));
    }
    let user_labels = match &a.labels {
        Some(text) => parse_labels(text)?,
        None => Map::new(),
    };
    let s = session(&g.kubeconfig()?, &g.overrides).await?;
    let flags = BuildFlags {
        strategy,
        context_dir: &a.context_dir,
        name: a.name.as_deref(),
        to: a.to.as_deref(),
        to_docker: a.to_docker,
        dockerfile: dockerfile.as_deref(),
        binary: a.binary,
        env,
        insecure: a.insecure_registry,
        allow_missing_images: a.allow_missing_images,
        generated_by: "OpenShiftNewBuild",
    };
    let mut resolved = Vec::new();
    let single = [None];
    let sources: Vec<Option<&source::SourceRepo>> = match repos.is_empty() {
        true => single.to_vec(),
        false => repos.iter().map(Some).collect(),
    };
    for repo in sources {
        let builder = repo
            .and_then(|r| r.builder.as_deref())
            .or(builders.first().map(String::as_str));
        resolved.push(builds::resolve_build(&s, repo, builder, &flags, &not_found).await?);
    }
    let mut described = String::new();
    let mut objects: Vec<Value> = Vec::new();
    for built in &resolved {
        described.push_str(&output::describe_build(
            &built.plan,
            &built.found,
            built.tracks_base,
            None,
        ));
        objects.extend(built.base_objects.iter().cloned());
        if !a.to_docker {
            objects.push(build_config::output_stream(
                &built.built.stream,
                "OpenShiftNewBuild",
            ));
        }
        objects.push(build_config::build_config(
            &built.plan,
            build_config::generate_secret,
        ));
    }
    let labels = match user_labels.is_empty() {
        true => {
            let mut m = Map::new();
            m.insert("build".into(), json!(resolved[0].plan.name));
            m
        }
        false => user_labels,
    };
    for obj in &mut objects {
        let meta = &mut obj["metadata"];
        if !meta["labels"].is_object() {
            meta["labels"] = json!({});
        }
        if let Some(l) = meta["labels"].as_object_mut() {
            l.extend(labels.clone());
        }
        if !meta["annotations"].is_object() {
            meta["annotations"] = json!({});
        }
        meta["annotations"][GENERATED_BY] = json!("OpenShiftNewBuild");
    }
    if let Some(format) = &a.output {
        return process::print_objects(&objects, format, false);
    }
    print!("{described}");
    let created = create_all(&s, &objects, &labels).await?;
    for bc in created.iter().filter(|o| o["kind"] == "BuildConfig") {
        let name = bc["metadata"]["name"].as_str().unwrap_or_default();
        let triggers = bc["spec"]["triggers"]
            .as_array()
            .is_some_and(|t| !t.is_empty());
        if triggers && !bc["spec"]["source"]["binary"].is_object() {
            println!("    Build configuration \"{name}\" created and build triggered.");
            println!("    Run 'oc logs -f buildconfig/{name}' to stream the build progress.");
        }
    }
    Ok(())
}
