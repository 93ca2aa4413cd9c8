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
}
