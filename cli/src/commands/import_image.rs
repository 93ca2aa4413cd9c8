//! `oc import-image NAME[:TAG]`: asks the server to import an image (or with `--all` a whole
//! repository) into a stream with one ImageStreamImport, as upstream's `oc import-image`;
//! prints the stream as `oc describe is` does, or why the import failed.

use http::{Method, StatusCode};
use images::DockerImageReference;
use serde_json::{Value, json};

use super::Globals;
use crate::client::{send, session};
use crate::error::CliError;

#[derive(Debug, Default, clap::Args)]
pub struct ImportImageArgs {
    /// The stream and tag to import into (`NAME[:TAG]`).
    pub target: String,
    /// The image to import, when it is not the stream's tag source.
    #[arg(long)]
    pub from: Option<String>,
    /// Create the stream (or change what it imports) when needed.
    #[arg(long)]
    pub confirm: bool,
    /// Import every tag of the repository.
    #[arg(long)]
    pub all: bool,
    /// Re-import the tag periodically.
    #[arg(long)]
    pub scheduled: bool,
    /// The source registry may be insecure.
    #[arg(long)]
    pub insecure: bool,
    /// Source or local.
    #[arg(long = "reference-policy", default_value = "source")]
    pub reference_policy: String,
    /// Legacy or PreserveOriginal.
    #[arg(long = "import-mode")]
    pub import_mode: Option<String>,
}

const PULL_SPEC: &str = "the image name must be a valid container image pull spec or reference to an image stream (e.g. myregistry/myteam/image:tag)";

pub async fn import_image(g: &Globals, a: &ImportImageArgs) -> Result<(), CliError> {
    let target = DockerImageReference::parse(&a.target).map_err(|_| CliError::msg(PULL_SPEC))?;
    if !target.id.is_empty() {
        return Err(CliError::msg(
            "to import images by ID, use the 'tag' command",
        ));
    }
    if a.all && !target.tag.is_empty() {
        return Err(CliError::msg(format!(
            "cannot specify a tag {:?} as well as --all",
            target.tag
        )));
    }
    let name = target.name.clone();
    let tag = match target.tag.as_str() {
        "" => "latest".to_string(),
        t => t.to_string(),
    };
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let base = format!("/apis/image.openshift.io/v1/namespaces/{}", s.namespace);
    let answer = send(
        &s.client,
        Method::GET,
        &format!("{base}/imagestreams/{name}"),
        &[],
        None,
    )
    .await?;
    let stream: Option<Value> = match answer.status {
        StatusCode::NOT_FOUND if !a.confirm => {
            return Err(CliError::msg(format!(
                "no image stream named {name:?} exists, pass --confirm to create and import"
            )));
        }
        StatusCode::NOT_FOUND => None,
        _ => Some(answer.json()?),
    };
    let spec_tag = stream
        .as_ref()
        .and_then(|st| images::tags::spec_tag(st, &tag))
        .cloned();
    let from = match (&a.from, &spec_tag) {
        (Some(from), Some(existing)) if !a.confirm && existing["from"]["name"] != from.as_str() => {
            return Err(CliError::msg(format!(
                "tag {tag:?} already exists - you must use the 'tag' command if you want to change the source to {from:?}"
            )));
        }
        (Some(from), _) => from.clone(),
        (None, Some(existing)) if existing["from"]["kind"] == "DockerImage" => {
            existing["from"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        }
        (None, Some(existing)) => {
            return Err(CliError::msg(format!(
                "tag {tag:?} points to existing {} {:?}, it cannot be re-imported",
                existing["from"]["kind"].as_str().unwrap_or_default(),
                existing["from"]["name"].as_str().unwrap_or_default()
            )));
        }
        (None, None) if stream.is_some() && !a.all => {
            return Err(CliError::msg(format!(
                "the tag {tag:?} does not exist on the image stream - choose an existing tag to import or use the 'tag' command to create a new tag"
            )));
        }
        (None, None) => match a.all {
            true => name.clone(),
            false => format!("{name}:{tag}"),
        },
    };
    let policy = if a.reference_policy == "local" {
        "Local"
    } else {
        "Source"
    };
    let mut import_policy = json!({"insecure": a.insecure, "scheduled": a.scheduled});
    if let Some(mode) = &a.import_mode {
        import_policy["importMode"] = json!(mode);
    }
    let mut spec = json!({"import": true});
    if a.all {
        spec["repository"] = json!({"from": {"kind": "DockerImage", "name": from},
            "importPolicy": import_policy, "referencePolicy": {"type": policy}});
    } else {
        spec["images"] = json!([{"from": {"kind": "DockerImage", "name": from}, "to": {"name": tag},
            "importPolicy": import_policy, "referencePolicy": {"type": policy}}]);
    }
    let mut metadata = json!({"name": name, "namespace": s.namespace});
    if let Some(st) = &stream {
        metadata["resourceVersion"] = st["metadata"]["resourceVersion"].clone();
    }
    let isi = json!({"kind": "ImageStreamImport", "apiVersion": "image.openshift.io/v1", "metadata": metadata, "spec": spec});
    let body = serde_json::to_vec(&isi).map_err(|e| CliError::msg(e.to_string()))?;
    let result = send(
        &s.client,
        Method::POST,
        &format!("{base}/imagestreamimports?timeout=1h0m0s"),
        &[],
        Some(("application/json", body)),
    )
    .await?
    .json()?;
    let statuses: Vec<&Value> = result["status"]["images"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(
            result["status"]["repository"]["images"]
                .as_array()
                .into_iter()
                .flatten(),
        )
        .collect();
    let failed: Vec<String> = statuses
        .iter()
        .filter(|i| i["status"]["status"] != "Success")
        .map(|i| {
            format!(
                "tag {} failed: {}",
                i["tag"].as_str().unwrap_or(&tag),
                i["status"]["message"].as_str().unwrap_or_default()
            )
        })
        .collect();
    let imported = &result["status"]["import"];
    if !failed.is_empty() {
        return Err(CliError::msg(failed.join("\n")));
    }
    println!("imagestream.image.openshift.io/{name} imported\n");
    print!("{}", super::describe::image_stream_text(imported));
    Ok(())
}
