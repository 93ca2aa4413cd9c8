//! A source input of `oc new-app` / `oc new-build` resolved into a build, as upstream resolves
//! it: the repository read (`source::detect`), the strategy chosen (a Dockerfile means Docker,
//! a builder image means Source, `--strategy` says which; without either, the builder whose
//! `supports` annotation names the sources' language), the builder image looked up (an
//! image stream tag of the project or `openshift`, else a container image through the
//! server), and the objects the builder image still needs (a stream tracking it, or a tag on
//! its existing stream).

use serde_json::{Value, json};

use super::build_config::{BuildPlan, BuildSource, Output, Strategy};
use super::dockerfile;
use super::generate::{self, ImageInput, Shape};
use super::resolve;
use super::source::{self, SourceRepo};
use crate::client::Session;
use crate::error::CliError;

/// The flags that shape a build.
#[derive(Default)]
pub struct BuildFlags<'a> {
    pub strategy: Option<Strategy>,
    pub context_dir: &'a str,
    pub name: Option<&'a str>,
    /// `--to`: the output stream tag (`stream[:tag]`), or with `to_docker` a pull spec.
    pub to: Option<&'a str>,
    pub to_docker: bool,
    /// `-D`: an inline Dockerfile.
    pub dockerfile: Option<&'a str>,
    pub binary: bool,
    pub env: Vec<(String, String)>,
    pub insecure: bool,
    pub allow_missing_images: bool,
    pub generated_by: &'static str,
}

/// A build resolved: the plan, the line announcing its builder image, whether a new stream
/// tag tracks that image, the builder's objects still to create, and the built image's
/// description (for the deployment of new-app).
pub struct ResolvedBuild {
    pub plan: BuildPlan,
    pub found: String,
    pub tracks_base: bool,
    pub base_objects: Vec<Value>,
    pub built: ImageInput,
}

pub fn parse_strategy(text: Option<&str>) -> Result<Option<Strategy>, CliError> {
    match text {
        None | Some("") => Ok(None),
        Some("docker") => Ok(Some(Strategy::Docker)),
        Some("source") => Ok(Some(Strategy::Source)),
        Some(other) => Err(CliError::msg(format!(
            "invalid argument {other:?} for \"--strategy\" flag: invalid strategy: {other}. Must be 'docker', 'pipeline' or 'source'"
        ))),
    }
}

fn no_language(uri: &str) -> CliError {
    CliError::msg(format!(
        "no language was detected for repository at {uri:?}; please specify a builder image to use with your repository: [builder-image]~{uri}"
    ))
}

/// The builder image `term` names: an image stream tag (kept as it is), else a container image
/// (a stream will track it); the line announcing it.
async fn builder_image(
    s: &Session,
    term: &str,
    f: &BuildFlags<'_>,
    not_found: &dyn Fn(&str) -> CliError,
) -> Result<(ImageInput, String), CliError> {
    if let Some(found) = resolve::image_stream(s, term, None).await? {
        return Ok(found);
    }
    if let Some(found) = integrated_stream(s, term).await? {
        return Ok(found);
    }
    match resolve::lookup_image(s, term, f.insecure).await? {
        resolve::ImageLookup::Found(meta) => Ok(resolve::image_input(term, None, &meta)),
        _ if f.allow_missing_images => {
            let (input, _) = resolve::image_input(term, None, &Value::Null);
            Ok((input, String::new()))
        }
        _ => Err(not_found(term)),
    }
}

/// A pull spec of the integrated registry (`<registry>/<namespace>/<stream>:<tag>`, as a
/// Dockerfile names an image pushed there) stands for that stream's tag when the stream's
/// images live at that repository: the builds follow the tag rather than importing the
/// registry's own image into a second stream.
async fn integrated_stream(
    s: &Session,
    term: &str,
) -> Result<Option<(ImageInput, String)>, CliError> {
    let Some((host, rest)) = term.split_once('/') else {
        return Ok(None);
    };
    let registry_like = host.contains(':') || host.contains('.') || host == "localhost";
    if !registry_like || rest.contains('@') || rest.matches('/').count() != 1 {
        return Ok(None);
    }
    let Some((input, line)) = resolve::image_stream(s, rest, None).await? else {
        return Ok(None);
    };
    let repository = rest.split(':').next().unwrap_or(rest);
    if !input
        .reference
        .starts_with(&format!("{host}/{repository}@"))
    {
        return Ok(None);
    }
    let line = line.replace(&format!("for {rest:?}"), &format!("for {term:?}"));
    Ok(Some((input, line)))
}

/// What the builder's stream still needs: the stream itself, or the tag on the stream that
/// exists; nothing when both exist.
async fn base_objects(
    s: &Session,
    base: &ImageInput,
    shape: &Shape,
) -> Result<Vec<Value>, CliError> {
    let path = format!(
        "/apis/image.openshift.io/v1/namespaces/{}/imagestreams/{}",
        s.namespace, base.stream
    );
    let stream = match s.get(&path).await {
        Ok(v) => v,
        Err(CliError::Server { reason, .. }) if reason == "NotFound" => {
            return Ok(vec![generate::image_stream(base, shape)]);
        }
        Err(e) => return Err(e),
    };
    let listed = |field: &str, key: &str| {
        stream[field]["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| t[key] == base.tag.as_str())
    };
    let tagged = listed("spec", "name") || listed("status", "tag");
    if tagged {
        return Ok(Vec::new());
    }
    Ok(vec![json!({
        "kind": "ImageStreamTag", "apiVersion": "image.openshift.io/v1",
        "metadata": {"name": format!("{}:{}", base.stream, base.tag), "creationTimestamp": null},
        "tag": {
            "name": base.tag,
            "annotations": {"openshift.io/imported-from": base.reference},
            "from": {"kind": "DockerImage", "name": base.reference},
            "importPolicy": {"insecure": shape.insecure},
            "referencePolicy": {"type": ""},
        },
        "generation": 0,
        "lookupPolicy": {"local": false},
        "image": {"metadata": {"creationTimestamp": null}, "dockerImageMetadata": null,
                  "dockerImageLayers": null},
    })])
}

/// Resolves one build from a repository (or none: `-D` or `--binary`) and an optional builder
/// image (`builder~repo`, `--image-stream`, `--image`).
pub async fn resolve_build(
    s: &Session,
    repo: Option<&SourceRepo>,
    builder: Option<&str>,
    f: &BuildFlags<'_>,
    not_found: &dyn Fn(&str) -> CliError,
) -> Result<ResolvedBuild, CliError> {
    let detected = match repo {
        Some(r) => source::detect(r, f.context_dir)?,
        None => source::Detected::default(),
    };
    let dockerfile_text = f.dockerfile.map(str::to_string).or(detected.dockerfile);
    let uri = repo.map(|r| r.uri.clone()).unwrap_or_default();
    if f.strategy == Some(Strategy::Docker) && dockerfile_text.is_none() && !f.binary {
        return Err(CliError::msg(
            "No Dockerfile was found in the repository and the requested build strategy is 'docker'",
        ));
    }
    // Sources without a builder image are built by the builder that supports their
    // language, unless their Dockerfile builds them.
    let by_language = builder.is_none()
        && !f.binary
        && repo.is_some()
        && f.strategy != Some(Strategy::Docker)
        && (dockerfile_text.is_none() || f.strategy == Some(Strategy::Source));
    let language_builder = match (by_language, detected.language) {
        (false, _) => None,
        (true, Some(language)) => {
            Some(resolve::builder_for_language(s, language, f.insecure).await?)
        }
        (true, None) => return Err(no_language(&uri)),
    };
    let has_builder = builder.is_some() || language_builder.is_some();
    let strategy = match (f.strategy, has_builder, &dockerfile_text) {
        (Some(st), ..) => st,
        (None, true, _) => Strategy::Source,
        (None, false, Some(_)) => Strategy::Docker,
        (None, false, None) if f.binary => Strategy::Docker,
        (None, false, None) => return Err(no_language(&uri)),
    };
    let base_term = match (strategy, builder) {
        _ if language_builder.is_some() => None,
        (_, Some(b)) => Some(b.to_string()),
        (Strategy::Source, None) if f.binary => {
            return Err(CliError::msg(
                "you must provide a builder image when using the source strategy with a binary build",
            ));
        }
        (Strategy::Source, None) => return Err(no_language(&uri)),
        (Strategy::Docker, None) => match &dockerfile_text {
            Some(text) => match dockerfile::base_image(text) {
                Some(image) => Some(image),
                None => {
                    return Err(CliError::msg(format!(
                        "the Dockerfile in the repository {uri:?} has no FROM instruction"
                    )));
                }
            },
            None => None,
        },
    }
    .filter(|t| t != "scratch");
    let shape = Shape {
        insecure: f.insecure,
        ..Default::default()
    };
    let (base, found) = match (&base_term, language_builder) {
        (_, Some((input, line))) => (Some(input), line),
        (Some(term), None) => {
            let (input, line) = builder_image(s, term, f, not_found).await?;
            (Some(input), line)
        }
        (None, None) => (None, String::new()),
    };
    let tracks_base = base.as_ref().is_some_and(|b| b.stream_namespace.is_none());
    let base_objects = match (&base, tracks_base) {
        (Some(b), true) => base_objects(s, b, &shape).await?,
        _ => Vec::new(),
    };
    let (to_stream, to_tag) = match f.to.filter(|_| !f.to_docker) {
        Some(to) => {
            let (stream, tag) = to.split_once(':').unwrap_or((to, "latest"));
            (Some(stream.to_string()), tag.to_string())
        }
        None => (None, "latest".to_string()),
    };
    let name = match (f.name, &to_stream, repo, &base) {
        (Some(n), ..) => n.to_string(),
        (None, _, Some(r), _) => source::name_from_uri(&r.uri),
        (None, Some(stream), None, _) => stream.clone(),
        (None, None, None, Some(b)) => b.stream.clone(),
        (None, None, None, None) => {
            return Err(CliError::msg(
                "you must provide a --name when you don't specify a source repository or base image",
            ));
        }
    };
    let source = match (repo, &f.dockerfile, f.binary) {
        (_, _, true) => BuildSource::Binary,
        (Some(r), _, _) => BuildSource::Git {
            uri: r.uri.clone(),
            git_ref: r.git_ref.clone(),
            context_dir: f.context_dir.to_string(),
        },
        (None, Some(text), _) => BuildSource::Dockerfile(text.to_string()),
        (None, None, _) => BuildSource::Binary,
    };
    let output_stream = to_stream.unwrap_or_else(|| name.clone());
    // The built image exposes the Dockerfile's ports, else the builder's.
    let mut ports = dockerfile_text
        .as_deref()
        .map(dockerfile::exposed_ports)
        .unwrap_or_default();
    if ports.is_empty()
        && let Some(b) = &base
    {
        ports = b.ports.clone();
    }
    let built = ImageInput {
        name: name.clone(),
        reference: format!("{output_stream}:{to_tag}"),
        stream_namespace: None,
        stream: output_stream.clone(),
        tag: to_tag.clone(),
        ports,
        volumes: base.as_ref().map(|b| b.volumes.clone()).unwrap_or_default(),
        config: base.as_ref().map(|b| b.config.clone()).unwrap_or_default(),
    };
    let output = match f.to_docker {
        true => Output::DockerImage(f.to.unwrap_or(&name).to_string()),
        false => Output::StreamTag {
            stream: output_stream,
            tag: to_tag,
        },
    };
    Ok(ResolvedBuild {
        plan: BuildPlan {
            name,
            source,
            strategy,
            base,
            output,
            env: f.env.clone(),
            generated_by: f.generated_by,
            language: detected.language,
        },
        found,
        tracks_base,
        base_objects,
        built,
    })
}
