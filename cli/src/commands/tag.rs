//! `oc tag SOURCE DEST...`: points image stream tags at an image (a pull spec, another tag,
//! or an image of a stream) with a PUT of each ImageStreamTag, as upstream's `oc tag`; `-d`
//! deletes tags. A tag source is resolved to its current image unless `--alias` asks the
//! destination to track it.

use http::{Method, StatusCode};
use images::DockerImageReference;
use serde_json::{Value, json};

use super::Globals;
use crate::client::{Session, send, session};
use crate::error::CliError;

#[derive(Debug, Default, clap::Args)]
pub struct TagArgs {
    /// SOURCE DEST [DEST...], or DEST... with --delete.
    pub words: Vec<String>,
    /// The kind of the source: imagestreamtag, istag, imagestreamimage, isimage or docker.
    #[arg(long)]
    pub source: Option<String>,
    /// The destination tags track the source tag (same project only).
    #[arg(long)]
    pub alias: bool,
    /// The destination tags only reference the source, never import it.
    #[arg(long)]
    pub reference: bool,
    /// The destination tags are re-imported periodically.
    #[arg(long)]
    pub scheduled: bool,
    /// The source registry may be insecure.
    #[arg(long)]
    pub insecure: bool,
    /// Source (pull from the source registry) or local (pull through the integrated registry).
    #[arg(long = "reference-policy", default_value = "source")]
    pub reference_policy: String,
    /// Legacy or PreserveOriginal.
    #[arg(long = "import-mode")]
    pub import_mode: Option<String>,
    /// Delete the given tags.
    #[arg(short = 'd', long)]
    pub delete: bool,
}

/// `[ns/]name[:tag]` of the current namespace by default; `latest` when no tag is given.
fn split_destination(s: &str, default_ns: &str) -> Result<(String, String, String), CliError> {
    let (ns, rest) = match s.split_once('/') {
        Some((ns, rest)) => (ns.to_string(), rest),
        None => (default_ns.to_string(), s),
    };
    let (name, tag) = match rest.split_once(':') {
        Some((n, t)) => (n, t),
        None => (rest, "latest"),
    };
    if name.is_empty() || tag.is_empty() || tag.contains(':') || rest.contains('@') {
        return Err(CliError::msg(format!(
            "invalid tag {s:?}: must be of the form <namespace>/<name>:<tag>"
        )));
    }
    Ok((ns, name.to_string(), tag.to_string()))
}

fn tag_path(ns: &str, stream: &str, tag: &str) -> String {
    format!("/apis/image.openshift.io/v1/namespaces/{ns}/imagestreamtags/{stream}:{tag}")
}

/// The source as `(kind, name, namespace)`: a pull spec, a tag or an image of a stream.
async fn source(
    s: &Session,
    a: &TagArgs,
    text: &str,
) -> Result<(String, String, String), CliError> {
    let kind = match a.source.as_deref() {
        Some("docker") => "DockerImage",
        Some("imagestreamtag" | "istag") => "ImageStreamTag",
        Some("imagestreamimage" | "isimage") => "ImageStreamImage",
        Some(other) => {
            return Err(CliError::msg(format!(
                "invalid source {other:?}; valid values are \"imagestreamtag\", \"istag\", \"imagestreamimage\", \"isimage\", or \"docker\""
            )));
        }
        None => match DockerImageReference::parse(text) {
            Ok(r) if !r.registry.is_empty() => "DockerImage",
            _ if text.contains('@') => "ImageStreamImage",
            _ => "ImageStreamTag",
        },
    };
    if kind == "DockerImage" {
        let r = DockerImageReference::parse(text)
            .map_err(|e| CliError::msg(format!("invalid source {text:?}: {e}")))?;
        return Ok((kind.into(), r.exact(), String::new()));
    }
    let (ns, rest) = match text.split_once('/') {
        Some((ns, rest)) => (ns.to_string(), rest.to_string()),
        None => (s.namespace.clone(), text.to_string()),
    };
    if kind == "ImageStreamImage" {
        return Ok((kind.into(), rest, ns));
    }
    let rest = if rest.contains(':') {
        rest
    } else {
        format!("{rest}:latest")
    };
    if a.alias {
        return Ok((kind.into(), rest, ns));
    }
    // A tag stands for the image it points at now.
    let (stream, tag) = rest.split_once(':').unwrap_or((&rest, "latest"));
    let answer = send(
        &s.client,
        Method::GET,
        &tag_path(&ns, stream, tag),
        &[],
        None,
    )
    .await?;
    if answer.status == StatusCode::NOT_FOUND {
        return Ok((kind.into(), rest, ns));
    }
    let ist = answer.json()?;
    match ist["image"]["metadata"]["name"].as_str() {
        Some(image) if !image.is_empty() => {
            Ok(("ImageStreamImage".into(), format!("{stream}@{image}"), ns))
        }
        _ => Ok((kind.into(), rest, ns)),
    }
}

pub async fn tag(g: &Globals, a: &TagArgs) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    if a.delete {
        if a.words.is_empty() {
            return Err(CliError::msg("you must specify at least one tag to delete"));
        }
        for word in &a.words {
            let (ns, stream, tag) = split_destination(word, &s.namespace)?;
            send(
                &s.client,
                Method::DELETE,
                &tag_path(&ns, &stream, &tag),
                &[],
                None,
            )
            .await?
            .json()?;
            println!("Deleted tag {ns}/{stream}:{tag}.");
        }
        return Ok(());
    }
    let [src, dests @ ..] = a.words.as_slice() else {
        return Err(CliError::msg(
            "you must specify a source and at least one destination",
        ));
    };
    if dests.is_empty() {
        return Err(CliError::msg(
            "you must specify a source and at least one destination",
        ));
    }
    let (kind, name, source_ns) = source(&s, a, src).await?;
    if a.alias && kind != "ImageStreamTag" {
        return Err(CliError::msg(
            "cannot set alias for anything besides image stream tags",
        ));
    }
    if a.scheduled && kind != "DockerImage" {
        return Err(CliError::msg(
            "only Docker images can have importing scheduled",
        ));
    }
    let policy = match a.reference_policy.as_str() {
        "source" => "Source",
        "local" => "Local",
        other => {
            return Err(CliError::msg(format!(
                "reference policy values are source or local, got {other:?}"
            )));
        }
    };
    for dest in dests {
        let (ns, stream, tag) = split_destination(dest, &s.namespace)?;
        let mut from = json!({"kind": kind, "name": name});
        if kind != "DockerImage" && (source_ns != s.namespace || ns != s.namespace) {
            from["namespace"] = json!(source_ns);
        }
        let mut import_policy = json!({"insecure": a.insecure, "scheduled": a.scheduled});
        if let Some(mode) = &a.import_mode {
            import_policy["importMode"] = json!(mode);
        }
        let mut reference = json!({"name": tag, "reference": a.reference, "from": from,
                                   "importPolicy": import_policy, "referencePolicy": {"type": policy}});
        if kind == "DockerImage" {
            reference["generation"] = json!(0);
        }
        let body: Value = json!({"kind": "ImageStreamTag", "apiVersion": "image.openshift.io/v1",
            "metadata": {"name": format!("{stream}:{tag}"), "namespace": ns}, "tag": reference});
        let bytes = serde_json::to_vec(&body).map_err(|e| CliError::msg(e.to_string()))?;
        send(
            &s.client,
            Method::PUT,
            &tag_path(&ns, &stream, &tag),
            &[],
            Some(("application/json", bytes)),
        )
        .await?
        .json()?;
        let shown_source = match kind.as_str() {
            "DockerImage" => name.clone(),
            _ if source_ns != s.namespace => format!("{source_ns}/{name}"),
            _ => name.clone(),
        };
        let shown_dest = if ns == s.namespace {
            format!("{stream}:{tag}")
        } else {
            format!("{ns}/{stream}:{tag}")
        };
        if a.alias {
            println!("Tag {shown_dest} set up to track {shown_source}.");
        } else {
            println!("Tag {shown_dest} set to {shown_source}.");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_default_their_namespace_and_tag() {
        assert_eq!(
            split_destination("app", "p").ok(),
            Some(("p".into(), "app".into(), "latest".into()))
        );
        assert_eq!(
            split_destination("q/app:v1", "p").ok(),
            Some(("q".into(), "app".into(), "v1".into()))
        );
        assert!(split_destination("app@sha256:x", "p").is_err());
    }
}
