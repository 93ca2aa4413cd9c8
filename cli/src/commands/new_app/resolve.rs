//! What `oc new-app`'s inputs name, asked of the server as upstream asks: stored templates and
//! image streams in the current project, then in `openshift`; container images through an
//! ImageStreamImport that imports nothing (`lookup_image`, the one place that asks).

use serde_json::{Value, json};

use super::generate::{ImageInput, image_name, image_tag};
use crate::client::{Session, send};
use crate::error::CliError;

/// The namespaces searched: the current one, then `openshift`.
fn search_namespaces(s: &Session) -> Vec<String> {
    let mut namespaces = vec![s.namespace.clone()];
    if s.namespace != "openshift" {
        namespaces.push("openshift".into());
    }
    namespaces
}

/// `Ok(None)` for answers that mean "not here" (absent, or not ours to read).
async fn get_if_there(s: &Session, path: &str) -> Result<Option<Value>, CliError> {
    match s.get(path).await {
        Ok(v) => Ok(Some(v)),
        Err(CliError::Server { reason, .. }) if reason == "NotFound" || reason == "Forbidden" => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The stored template `term` names (`name` or `namespace/name`).
pub async fn template(s: &Session, term: &str) -> Result<Option<Value>, CliError> {
    let (namespaces, name) = match term.split_once('/') {
        Some((ns, name)) => (vec![ns.to_string()], name),
        None => (search_namespaces(s), term),
    };
    if name.is_empty() || name.contains(':') || name.contains('/') {
        return Ok(None);
    }
    for ns in namespaces {
        let path = format!("/apis/template.openshift.io/v1/namespaces/{ns}/templates/{name}");
        if let Some(t) = get_if_there(s, &path).await? {
            return Ok(Some(t));
        }
    }
    Ok(None)
}

/// The image stream tag `term` names (`[namespace/]stream[:tag]`), with the line that
/// announces it.
pub async fn image_stream(
    s: &Session,
    term: &str,
    name: Option<&str>,
) -> Result<Option<(ImageInput, String)>, CliError> {
    let (namespaces, rest) = match term.split_once('/') {
        Some((ns, rest)) if !ns.contains('.') && !ns.contains(':') => (vec![ns.to_string()], rest),
        Some(_) => return Ok(None),
        None => (search_namespaces(s), term),
    };
    if rest.contains('/') || rest.contains('@') {
        return Ok(None);
    }
    let (stream, tag) = rest.split_once(':').unwrap_or((rest, "latest"));
    for ns in namespaces {
        let path = format!("/apis/image.openshift.io/v1/namespaces/{ns}/imagestreams/{stream}");
        let Some(is) = get_if_there(s, &path).await? else {
            continue;
        };
        let status_tag = is["status"]["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["tag"] == tag);
        let spec_tag = is["spec"]["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| t["name"] == tag);
        if status_tag.is_none() && !spec_tag {
            continue;
        }
        let item = status_tag.map(|t| &t["items"][0]).unwrap_or(&Value::Null);
        let image_id = item["image"].as_str().unwrap_or_default();
        let pull_spec = item["dockerImageReference"].as_str().unwrap_or_default();
        let metadata = match image_id.is_empty() {
            true => None,
            false => {
                let path = format!(
                    "/apis/image.openshift.io/v1/namespaces/{ns}/imagestreamimages/{stream}@{image_id}"
                );
                get_if_there(s, &path).await.ok().flatten()
            }
        };
        let meta = metadata
            .as_ref()
            .map(|m| &m["image"]["dockerImageMetadata"])
            .unwrap_or(&Value::Null);
        let line = match image_id.is_empty() {
            true => format!("Found tag :{tag} in image stream \"{ns}/{stream}\" for \"{term}\""),
            false => format!(
                "Found image {}{} in image stream \"{ns}/{stream}\" under tag \"{tag}\" for \"{term}\"",
                short_id(image_id),
                age_of(meta)
            ),
        };
        let input = ImageInput {
            name: name.unwrap_or(stream).to_string(),
            reference: match pull_spec.is_empty() {
                true => format!("{stream}:{tag}"),
                false => pull_spec.to_string(),
            },
            stream_namespace: Some(ns.clone()),
            stream: stream.to_string(),
            tag: tag.to_string(),
            ports: ports_of(meta),
            volumes: volumes_of(meta),
            config: meta["Config"].clone(),
        };
        return Ok(Some((input, line)));
    }
    Ok(None)
}

/// A builder image stream tag whose `supports` annotation matches a language.
#[derive(Clone, Debug, PartialEq)]
pub struct SupportsMatch {
    pub namespace: String,
    pub stream: String,
    pub tag: String,
    pub score: f32,
}

impl SupportsMatch {
    fn name(&self) -> String {
        format!("{}/{}:{}", self.namespace, self.stream, self.tag)
    }

    /// Upstream's lines naming the match and the argument that picks it.
    fn suggestion(&self) -> String {
        format!(
            "* Image stream {:?} (tag {:?}) in project {:?}\n  Use --image-stream={:?} to specify this image or template\n\n",
            self.stream,
            self.tag,
            self.namespace,
            self.name()
        )
    }
}

/// The tags of `stream` (in `namespace`) whose `supports` annotation matches `value` and
/// that have an image.
pub fn supports_matches(namespace: &str, stream: &Value, value: &str) -> Vec<SupportsMatch> {
    let name = stream["metadata"]["name"].as_str().unwrap_or_default();
    let has_image = |tag: &str| {
        stream["status"]["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| t["tag"] == tag && t["items"].as_array().is_some_and(|i| !i.is_empty()))
    };
    stream["spec"]["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let supports = t["annotations"]["supports"].as_str()?;
            let score = super::language::supports_score(value, supports)?;
            let tag = t["name"].as_str().unwrap_or_default();
            has_image(tag).then(|| SupportsMatch {
                namespace: namespace.to_string(),
                stream: name.to_string(),
                tag: tag.to_string(),
                score,
            })
        })
        .collect()
}

/// How upstream's resolver ends when no searcher gave one perfect match: the candidates (in
/// the order found) leave none, a partial one, or several.
pub fn no_perfect_match(value: &str, mut candidates: Vec<SupportsMatch>) -> CliError {
    candidates.sort_by(|a, b| a.score.total_cmp(&b.score));
    match candidates.as_slice() {
        [] => CliError::msg(format!(
            "unable to locate any image stream images with a 'supports' annotation, images in image streams, images via the image stream import API with name {value:?}\n\n{}",
            super::MATCH_HELP
        )),
        [only] | [only, ..] if candidates.len() == 1 || only.score < candidates[1].score => {
            CliError::msg(format!(
                "only a partial match was found for {value:?}: {:?}\n\nThe argument {value:?} only partially matched the following Docker image or OpenShift image stream:\n\n{}",
                only.name(),
                only.suggestion()
            ))
        }
        all => CliError::msg(format!(
            "multiple images or templates matched {value:?}: {}\n\nThe argument {value:?} could apply to the following Docker images, OpenShift image streams, or templates:\n\n{}",
            all.len(),
            all.iter()
                .map(SupportsMatch::suggestion)
                .collect::<String>()
        )),
    }
}

/// The builder for a detected language, searched as upstream searches it: image stream tags
/// whose `supports` annotation names it (the project's first, then `openshift`'s), then an
/// image stream of the language's name, then a container image of that name; one perfect
/// match wins, anything else is upstream's error.
pub async fn builder_for_language(
    s: &Session,
    language: &str,
    insecure: bool,
) -> Result<(ImageInput, String), CliError> {
    let mut matches = Vec::new();
    for ns in search_namespaces(s) {
        let path = format!("/apis/image.openshift.io/v1/namespaces/{ns}/imagestreams");
        let Some(list) = get_if_there(s, &path).await? else {
            continue;
        };
        for stream in list["items"].as_array().into_iter().flatten() {
            matches.extend(supports_matches(&ns, stream, language));
        }
        if matches.iter().any(|m| m.score == 0.0) {
            break;
        }
    }
    let exact: Vec<&SupportsMatch> = matches.iter().filter(|m| m.score == 0.0).collect();
    if let [only] = exact.as_slice() {
        let term = only.name();
        if let Some((input, line)) = image_stream(s, &term, None).await? {
            let line = line.replace(&format!("for {term:?}"), &format!("for {language:?}"));
            return Ok((input, line));
        }
    }
    if exact.len() > 1 {
        return Err(no_perfect_match(language, matches));
    }
    if let Some(found) = image_stream(s, language, None).await? {
        return Ok(found);
    }
    if let Ok(ImageLookup::Found(meta)) = lookup_image(s, language, insecure).await {
        return Ok(image_input(language, None, &meta));
    }
    Err(no_perfect_match(language, matches))
}

/// What the cluster can tell of a container image.
pub enum ImageLookup {
    /// Found, with its Docker metadata.
    Found(Value),
    NotFound,
    /// The server has no image imports to ask.
    NotServed,
}

/// Looks `reference` up with an ImageStreamImport that imports nothing (`spec.import` unset),
/// as upstream's new-app does.
pub async fn lookup_image(
    s: &Session,
    reference: &str,
    insecure: bool,
) -> Result<ImageLookup, CliError> {
    let body = json!({
        "kind": "ImageStreamImport", "apiVersion": "image.openshift.io/v1",
        "metadata": {"name": "newapp"},
        "spec": {"images": [{"from": {"kind": "DockerImage", "name": reference},
                             "importPolicy": {"insecure": insecure}}]},
    });
    let path = format!(
        "/apis/image.openshift.io/v1/namespaces/{}/imagestreamimports",
        s.namespace
    );
    let bytes = serde_json::to_vec(&body).map_err(|e| CliError::msg(e.to_string()))?;
    let answer = send(
        &s.client,
        http::Method::POST,
        &path,
        &[],
        Some(("application/json", bytes)),
    )
    .await?;
    if answer.status == http::StatusCode::NOT_FOUND {
        return Ok(ImageLookup::NotServed);
    }
    let result = answer.json()?;
    let image = &result["status"]["images"][0];
    let status = &image["status"];
    match status["status"].as_str() {
        Some("Success") => Ok(ImageLookup::Found(
            image["image"]["dockerImageMetadata"].clone(),
        )),
        _ => match status["reason"].as_str().unwrap_or_default() {
            "Unauthorized" | "InternalError" | "Invalid" | "NotFound" | "" => {
                Ok(ImageLookup::NotFound)
            }
            _ => Err(CliError::msg(format!(
                "can't look up container image {reference:?}: {}",
                status["message"].as_str().unwrap_or_default()
            ))),
        },
    }
}

/// An image input for `reference`, from its metadata (if any), with the announcing line.
pub fn image_input(reference: &str, name: Option<&str>, meta: &Value) -> (ImageInput, String) {
    let registry = match reference.split_once('/') {
        Some((host, _)) if host.contains('.') || host.contains(':') || host == "localhost" => host,
        _ => "Docker Hub",
    };
    let id = meta["Id"].as_str().unwrap_or_default();
    let line = format!(
        "Found container image {}{} from {registry} for \"{reference}\"",
        short_id(id),
        age_of(meta)
    );
    // `--name` names every generated object, the image stream too.
    let stream = name.map_or_else(|| image_name(reference), str::to_string);
    let input = ImageInput {
        name: stream.clone(),
        reference: reference.to_string(),
        stream_namespace: None,
        tag: image_tag(reference),
        stream,
        ports: ports_of(meta),
        volumes: volumes_of(meta),
        config: meta["Config"].clone(),
    };
    (input, line)
}

fn short_id(id: &str) -> String {
    let hex = id.split_once(':').map_or(id, |(_, h)| h);
    hex.chars().take(7).collect()
}

/// ` (<age> old)` from the image's creation time, or nothing without one.
fn age_of(meta: &Value) -> String {
    let Some(created) = meta["Created"].as_str() else {
        return String::new();
    };
    let Ok(t) = created.parse::<jiff::Timestamp>() else {
        return String::new();
    };
    let seconds = jiff::Timestamp::now().as_second() - t.as_second();
    format!(" ({} old)", human_duration(seconds.max(0)))
}

/// Docker's `HumanDuration`, which upstream prints ages with.
pub fn human_duration(seconds: i64) -> String {
    let (minutes, hours) = (seconds / 60, seconds / 3600);
    match () {
        _ if seconds < 1 => "Less than a second".into(),
        _ if seconds == 1 => "1 second".into(),
        _ if seconds < 60 => format!("{seconds} seconds"),
        _ if minutes == 1 => "About a minute".into(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", hours / 24 / 365),
    }
}

/// The exposed ports (`8080/tcp`), sorted.
fn ports_of(meta: &Value) -> Vec<String> {
    let mut ports: Vec<String> = meta["Config"]["ExposedPorts"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    ports.sort();
    ports
}

fn volumes_of(meta: &Value) -> Vec<String> {
    let mut volumes: Vec<String> = meta["Config"]["Volumes"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    volumes.sort();
    volumes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_lines_and_ages() {
        let meta = json!({"Id": "sha256:667898a0123", "Config": {"ExposedPorts": {"8443/tcp": {}, "8080/tcp": {}}}});
        let (input, line) = image_input("quay.io/org/web:v1", None, &meta);
        assert_eq!(
            line,
            "Found container image 667898a from quay.io for \"quay.io/org/web:v1\""
        );
        assert_eq!(input.ports, ["8080/tcp", "8443/tcp"]);
        assert_eq!((input.stream.as_str(), input.tag.as_str()), ("web", "v1"));
        let (_, line) = image_input("busybox", Some("box"), &json!({}));
        assert_eq!(
            line,
            "Found container image  from Docker Hub for \"busybox\""
        );
        assert_eq!(human_duration(30), "30 seconds");
        assert_eq!(human_duration(90), "About a minute");
        assert_eq!(human_duration(4 * 365 * 86400 + 10), "4 years");
    }

    #[test]
    fn builders_match_by_their_supports_annotation_as_upstreams() {
        let stream = json!({"metadata": {"name": "nodejs"},
            "spec": {"tags": [
                {"name": "14", "annotations": {"supports": "nodejs:14,nodejs", "tags": "builder"}},
                {"name": "12", "annotations": {"supports": "nodejs:12"}},
                {"name": "10", "annotations": {"supports": "nodejs"}},
                {"name": "plain"}]},
            "status": {"tags": [
                {"tag": "14", "items": [{"image": "sha256:1"}]},
                {"tag": "12", "items": [{"image": "sha256:2"}]},
                {"tag": "10", "items": []}]}});
        let found = supports_matches("openshift", &stream, "nodejs");
        let named: Vec<(String, f32)> = found.iter().map(|m| (m.name(), m.score)).collect();
        assert_eq!(
            named,
            [
                ("openshift/nodejs:14".to_string(), 0.0),
                ("openshift/nodejs:12".to_string(), 0.5)
            ]
        );
        let text = |e: CliError| match e {
            CliError::Message(m) => m,
            other => other.to_string(),
        };
        assert!(text(no_perfect_match("ruby", vec![])).starts_with(
            "unable to locate any image stream images with a 'supports' annotation, images in image streams, images via the image stream import API with name \"ruby\"\n\nThe 'oc new-app' command"
        ));
        let partial = text(no_perfect_match("nodejs", vec![found[1].clone()]));
        assert!(
            partial.starts_with(
                "only a partial match was found for \"nodejs\": \"openshift/nodejs:12\"\n\nThe argument \"nodejs\" only partially matched"
            ),
            "{partial}"
        );
        assert!(partial.contains(
            "* Image stream \"nodejs\" (tag \"12\") in project \"openshift\"\n  Use --image-stream=\"openshift/nodejs:12\" to specify this image or template"
        ));
        let both = vec![found[0].clone(), found[0].clone()];
        assert!(
            text(no_perfect_match("nodejs", both))
                .starts_with("multiple images or templates matched \"nodejs\": 2")
        );
    }
}
