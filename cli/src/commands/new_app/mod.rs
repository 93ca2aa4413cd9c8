//! `oc new-app`: an application from templates (stored, by name or `--template`; files, `-f`)
//! and images (`--image`, image streams `[ns/]stream[:tag]` or `-i`), its objects generated as
//! upstream generates them and created in the current project (or, with `-o`, printed as a
//! List and not created). Arguments are classified as upstream does: `K=V` is an environment
//! variable, an existing file a template file, anything else a stored template, an image
//! stream tag or an image, searched in that order.

pub(super) mod build_config;
pub(super) mod builds;
mod dockerfile;
pub(super) mod generate;
mod language;
pub(super) mod output;
mod resolve;
pub(super) mod source;

use serde_json::{Map, Value, json};

use super::Globals;
use super::process::{self, parameter_values, parse_labels};
use crate::client::{Session, session};
use crate::error::CliError;
use generate::{ImageInput, Shape};
pub(super) use resolve::human_duration;

#[derive(Debug, Default, clap::Args)]
pub struct NewAppArgs {
    /// Templates, images, image streams, template files, or KEY=VALUE environment variables.
    pub args: Vec<String>,
    /// Stored templates to deploy.
    #[arg(long)]
    pub template: Vec<String>,
    /// Template files to deploy.
    #[arg(long = "file", short = 'f')]
    pub files: Vec<String>,
    /// Container images to deploy.
    #[arg(long)]
    pub image: Vec<String>,
    /// Deprecated: use --image.
    #[arg(long = "docker-image")]
    pub docker_image: Vec<String>,
    /// Image stream tags to deploy.
    #[arg(long = "image-stream", short = 'i')]
    pub image_stream: Vec<String>,
    /// Template parameters (KEY=VALUE).
    #[arg(long = "param", short = 'p')]
    pub params: Vec<String>,
    /// Files of template parameters.
    #[arg(long = "param-file")]
    pub param_files: Vec<String>,
    /// Environment variables of the containers (KEY=VALUE).
    #[arg(long = "env", short = 'e')]
    pub env: Vec<String>,
    /// The name of the generated objects.
    #[arg(long)]
    pub name: Option<String>,
    /// Labels (k=v,...) set on every object.
    #[arg(long, short = 'l')]
    pub labels: Option<String>,
    /// Generate a DeploymentConfig instead of a Deployment.
    #[arg(long)]
    pub as_deployment_config: bool,
    /// Do not stop at parameters the templates do not have.
    #[arg(long)]
    pub ignore_unknown_parameters: bool,
    /// The images' registries may be plain HTTP or unverified TLS.
    #[arg(long)]
    pub insecure_registry: bool,
    /// Deploy images that cannot be looked up.
    #[arg(long)]
    pub allow_missing_images: bool,
    /// Print the objects (json or yaml) instead of creating them.
    #[arg(long, short = 'o')]
    pub output: Option<String>,
    /// Source code to build (Git URLs or local Git repositories).
    #[arg(long)]
    pub code: Vec<String>,
    /// The build strategy when it should not be detected (docker|source).
    #[arg(long)]
    pub strategy: Option<String>,
    /// The context directory of the source code to build.
    #[arg(long, default_value = "")]
    pub context_dir: String,
}

const NO_INPUT: &str = "You must specify one or more images, image streams, templates, or source code locations to create an application.

To list all local templates and image streams, use:

  oc new-app -L

To search templates, image streams, and container images that match the arguments provided, use:

  oc new-app -S php
  oc new-app -S --template=ruby
  oc new-app -S --image-stream=mysql
  oc new-app -S --image=registry.access.redhat.com/ubi8/python-38

For details on how to use the results from those searches, see

  oc new-app -h";

pub(super) fn not_found(term: &str) -> CliError {
    CliError::msg(format!(
        "unable to locate any images in image streams, templates loaded in accessible projects, template files, local docker images with name {term:?}

Argument '{term}' was classified as an image, image~source, or loaded template reference.

{MATCH_HELP}"
    ))
}

/// What upstream adds to an argument that matched nothing.
const MATCH_HELP: &str = "The 'oc new-app' command will match arguments to the following types:

  1. Images tagged into image streams in the current project or the 'openshift' project
     - if you don't specify a tag, we'll add ':latest'
  2. Images in the container storage, on remote registries, or on the local container engine
  3. Templates in the current project or the 'openshift' project
  4. Git repository URLs or local paths that point to Git repositories

--allow-missing-images can be used to point to an image that does not exist yet.

See 'oc new-app -h' for examples.";

fn check_name(name: &str) -> Result<(), CliError> {
    let bytes = name.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= 58
        && bytes[0].is_ascii_lowercase()
        && bytes[bytes.len() - 1] != b'-'
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
    match ok {
        true => Ok(()),
        false => Err(CliError::msg(format!(
            "invalid name: {name}. Must be an a lower case alphanumeric (a-z, and 0-9) string with a maximum length of 58 characters, where the first character is a letter (a-z), and the '-' character is allowed anywhere except the first or last character."
        ))),
    }
}

/// What the inputs resolved to: templates (with the words that named them), images and
/// builds.
#[derive(Default)]
struct Resolved {
    templates: Vec<(Value, String)>,
    /// Each image input, the line announcing it and the words that named it.
    images: Vec<(ImageInput, String, String)>,
    /// Each build, with the words that named its source.
    builds: Vec<(builds::ResolvedBuild, String)>,
}

/// An image reference: looked up, or taken as it is when the server cannot look images up
/// (or `--allow-missing-images` says so). Unlooked-up, a bare word is taken for an image only
/// when `--image` names it: otherwise a mistyped template name would become an application.
async fn image(
    s: &Session,
    a: &NewAppArgs,
    term: &str,
    explicit: bool,
) -> Result<(ImageInput, String), CliError> {
    let name = a.name.as_deref();
    let reference_like = explicit || term.contains('/') || term.contains(':');
    match resolve::lookup_image(s, term, a.insecure_registry).await? {
        resolve::ImageLookup::Found(meta) => Ok(resolve::image_input(term, name, &meta)),
        resolve::ImageLookup::NotServed if !reference_like && !a.allow_missing_images => {
            Err(not_found(term))
        }
        resolve::ImageLookup::NotServed => {
            let (input, _) = resolve::image_input(term, name, &Value::Null);
            Ok((input, String::new()))
        }
        resolve::ImageLookup::NotFound if a.allow_missing_images => {
            let (input, _) = resolve::image_input(term, name, &Value::Null);
            Ok((input, String::new()))
        }
        resolve::ImageLookup::NotFound => Err(not_found(term)),
    }
}

async fn resolve_inputs(
    s: &Session,
    a: &NewAppArgs,
    components: &[String],
) -> Result<Resolved, CliError> {
    let mut r = Resolved::default();
    for t in &a.template {
        match resolve::template(s, t).await? {
            Some(found) => r.templates.push((found, t.clone())),
            None => return Err(not_found(t)),
        }
    }
    for f in &a.files {
        r.templates
            .push((process::template_from_file(f)?, String::new()));
    }
    for term in a.image.iter().chain(&a.docker_image) {
        let (input, line) = image(s, a, term, true).await?;
        r.images.push((input, line, term.clone()));
    }
    for term in &a.image_stream {
        match resolve::image_stream(s, term, a.name.as_deref()).await? {
            Some((input, line)) => r.images.push((input, line, term.clone())),
            None => return Err(not_found(term)),
        }
    }
    let strategy = builds::parse_strategy(a.strategy.as_deref())?;
    let flags = builds::BuildFlags {
        strategy,
        context_dir: &a.context_dir,
        name: a.name.as_deref(),
        insecure: a.insecure_registry,
        allow_missing_images: a.allow_missing_images,
        generated_by: "OpenShiftNewApp",
        ..Default::default()
    };
    for term in components.iter().chain(&a.code) {
        if let Some(repo) = source::classify(term)? {
            let built =
                builds::resolve_build(s, Some(&repo), repo.builder.as_deref(), &flags, &not_found)
                    .await?;
            r.builds.push((built, term.clone()));
            continue;
        }
        if a.code.contains(term) {
            return Err(CliError::msg(format!(
                "{term} is not a Git repository URL or a local Git repository"
            )));
        }
        if std::path::Path::new(term).is_file() {
            r.templates
                .push((process::template_from_file(term)?, String::new()));
        } else if let Some(t) = resolve::template(s, term).await? {
            r.templates.push((t, term.clone()));
        } else if let Some((input, line)) =
            resolve::image_stream(s, term, a.name.as_deref()).await?
        {
            r.images.push((input, line, term.clone()));
        } else {
            let (input, line) = image(s, a, term, false).await?;
            r.images.push((input, line, term.clone()));
        }
    }
    if strategy.is_some() && r.builds.is_empty() {
        return Err(CliError::msg(
            "--strategy is specified and none of the arguments provided could be classified as a source code location",
        ));
    }
    Ok(r)
}

/// `KEY=VALUE` pairs.
pub(super) fn pairs(items: &[String]) -> Result<Vec<(String, String)>, CliError> {
    items
        .iter()
        .map(|e| {
            e.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| {
                    CliError::msg(format!(
                        "environment variables must be of the form key=value: {e}"
                    ))
                })
        })
        .collect()
}

/// Appends `env` to every container of the object's pod template.
fn add_env(obj: &mut Value, env: &[(String, String)]) {
    if env.is_empty() {
        return;
    }
    let Some(containers) = obj
        .pointer_mut("/spec/template/spec/containers")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for c in containers {
        if !c["env"].is_array() {
            c["env"] = json!([]);
        }
        if let Some(list) = c["env"].as_array_mut() {
            for (k, v) in env {
                list.retain(|e| e["name"] != k.as_str());
                list.push(json!({"name": k, "value": v}));
            }
        }
    }
}

pub async fn new_app(g: &Globals, a: &NewAppArgs) -> Result<(), CliError> {
    if !a.docker_image.is_empty() {
        eprintln!("Flag --docker-image has been deprecated, Deprecated flag use --image");
    }
    if let Some(name) = &a.name {
        check_name(name)?;
    }
    let (env_args, components): (Vec<String>, Vec<String>) =
        a.args.iter().cloned().partition(|arg| arg.contains('='));
    let mut env = pairs(&env_args)?;
    env.extend(pairs(&a.env)?);
    let values = parameter_values("new-app", &a.params, &a.param_files)?;
    let user_labels = match &a.labels {
        Some(text) => parse_labels(text)?,
        None => Map::new(),
    };
    let nothing = components.is_empty()
        && a.template.is_empty()
        && a.files.is_empty()
        && a.image.is_empty()
        && a.docker_image.is_empty()
        && a.image_stream.is_empty();
    if nothing && a.code.is_empty() {
        return Err(CliError::msg(NO_INPUT));
    }
    let s = session(&g.kubeconfig()?, &g.overrides).await?;
    let resolved = resolve_inputs(&s, a, &components).await?;

    let mut described = String::new();
    let mut objects: Vec<Value> = Vec::new();
    for (mut template, input) in resolved.templates {
        process::inject(
            &mut template,
            &values,
            a.ignore_unknown_parameters,
            "unexpected parameter name",
        )?;
        let processed = process::process_remotely(&s, &template).await?;
        described.push_str(&output::describe_template(&processed, &input, &s.namespace));
        for mut obj in processed["objects"].as_array().cloned().unwrap_or_default() {
            add_env(&mut obj, &env);
            objects.push(obj);
        }
    }
    let shape = Shape {
        env: env.clone(),
        labels: user_labels.clone(),
        as_deployment_config: a.as_deployment_config,
        insecure: a.insecure_registry,
    };
    let mut app_name = a.name.clone().unwrap_or_default();
    for (input, line, term) in &resolved.images {
        described.push_str(&output::describe_image(
            input,
            line,
            term,
            a.as_deployment_config,
        ));
        if app_name.is_empty() {
            app_name = input.name.clone();
        }
        objects.extend(generate::objects(input, &shape));
    }
    for (built, term) in &resolved.builds {
        described.push_str(&output::describe_build(
            &built.plan,
            &built.found,
            built.tracks_base,
            Some((&built.built, term, a.as_deployment_config)),
        ));
        if app_name.is_empty() {
            app_name = built.plan.name.clone();
        }
        objects.extend(built.base_objects.iter().cloned());
        objects.push(build_config::output_stream(
            &built.built.stream,
            "OpenShiftNewApp",
        ));
        objects.push(build_config::build_config(
            &built.plan,
            build_config::generate_secret,
        ));
        objects.extend(generate::workload(&built.built, &shape));
    }
    generate::label(&mut objects, &app_name, &user_labels);

    if let Some(format) = &a.output {
        return process::print_objects(&objects, format, false);
    }
    print!("{described}");
    let created = create_all(&s, &objects, &user_labels).await?;
    print!("{}", output::success(&created));
    Ok(())
}

/// Creates every object in the current project, with upstream's lines up to `--> Success`;
/// the objects created.
pub(super) async fn create_all(
    s: &Session,
    objects: &[Value],
    user_labels: &Map<String, Value>,
) -> Result<Vec<Value>, CliError> {
    match user_labels.is_empty() {
        true => println!("--> Creating resources ..."),
        false => {
            let text: Vec<String> = user_labels
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect();
            println!("--> Creating resources with label {} ...", text.join(","));
        }
    }
    let mut failed = false;
    let mut created = Vec::new();
    for obj in objects {
        match create(s, obj).await {
            Ok(made) => {
                println!("    {} created", output::qualified(obj));
                created.push(made);
            }
            Err(e) => {
                failed = true;
                let text = match e {
                    CliError::Server { message, .. } => message,
                    CliError::Message(m) => m,
                    other => other.to_string(),
                };
                println!("    error: {text}");
            }
        }
    }
    if failed {
        println!("--> Failed");
        return Err(CliError::Silent);
    }
    println!("--> Success");
    Ok(created)
}

async fn create(s: &Session, obj: &Value) -> Result<Value, CliError> {
    let r = super::write::resource_of(s, obj).await?;
    let namespace = r.namespaced.then_some(s.namespace.as_str());
    s.post(&r.path(namespace), obj).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_environment() {
        assert!(check_name("web-1").is_ok());
        for bad in ["Web", "1web", "web-", &"w".repeat(59)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        let mut d = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "env": [{"name": "X", "value": "old"}]}, {"name": "b"}]}}}});
        add_env(
            &mut d,
            &[("X".into(), "1".into()), ("Y".into(), "2".into())],
        );
        let containers = &d["spec"]["template"]["spec"]["containers"];
        assert_eq!(
            containers[0]["env"],
            json!([{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}])
        );
        assert_eq!(containers[1]["env"][1]["name"], "Y");
    }
}
