//! `oc patch (TYPE NAME | TYPE/NAME | -f FILE) -p PATCH [--type strategic|merge|json]`:
//! the patch (JSON or YAML) sent as is; `patched`, or `patched (no change)` when the object
//! came back as it was.

use http::Method;
use serde_json::Value;

use super::Globals;
use super::write::resource_of;
use crate::client::{Session, send, session};
use crate::error::CliError;
use crate::manifests;
use crate::objects::{self, Target};
use crate::printers::{self, Format};

#[derive(Debug, Default, clap::Args)]
pub struct PatchArgs {
    /// TYPE NAME or TYPE/NAME.
    pub words: Vec<String>,
    /// Files naming the objects to patch.
    #[arg(long = "filename", short = 'f')]
    pub filenames: Vec<String>,
    /// The patch to be applied to the resource JSON file.
    #[arg(long, short = 'p')]
    pub patch: Option<String>,
    /// A file containing a patch to be applied to the resource.
    #[arg(long)]
    pub patch_file: Option<std::path::PathBuf>,
    /// The type of patch being provided; one of [json merge strategic].
    #[arg(long = "type", default_value = "strategic")]
    pub patch_type: String,
    /// If specified, patch will operate on the subresource of the requested object.
    #[arg(long)]
    pub subresource: Option<String>,
    /// Output format: name, json, yaml, jsonpath=...
    #[arg(long, short = 'o')]
    pub output: Option<String>,
}

fn content_type(patch_type: &str) -> Result<&'static str, CliError> {
    match patch_type {
        "strategic" => Ok("application/strategic-merge-patch+json"),
        "merge" => Ok("application/merge-patch+json"),
        "json" => Ok("application/json-patch+json"),
        other => Err(CliError::msg(format!(
            "--type must be one of [json merge strategic], not \"{other}\""
        ))),
    }
}

/// The patch as JSON (users may write YAML).
fn patch_body(a: &PatchArgs) -> Result<Vec<u8>, CliError> {
    let text = match (&a.patch, &a.patch_file) {
        (Some(p), None) => p.clone(),
        (None, Some(f)) => std::fs::read_to_string(f)
            .map_err(|e| CliError::msg(format!("unable to read patch file: {e}")))?,
        (Some(_), Some(_)) => {
            return Err(CliError::msg(
                "cannot specify --patch and --patch-file together",
            ));
        }
        (None, None) => {
            return Err(CliError::msg(
                "must specify --patch or --patch-file containing the contents of the patch",
            ));
        }
    };
    let value: Value = serde_json::from_str(&text)
        .or_else(|_| serde_saphyr::from_str(&text))
        .map_err(|e| CliError::msg(format!("unable to parse \"{text}\": {e}")))?;
    serde_json::to_vec(&value).map_err(|e| CliError::msg(e.to_string()))
}

async fn targets(s: &Session, a: &PatchArgs) -> Result<Vec<Target>, CliError> {
    if a.filenames.is_empty() {
        return objects::named(s, &a.words).await;
    }
    let mut out = Vec::new();
    for m in manifests::read(&a.filenames, false)? {
        let r = resource_of(s, &m.object).await?;
        out.push(Target::of_object(s, r, &m.object));
    }
    Ok(out)
}

pub async fn patch(g: &Globals, a: &PatchArgs) -> Result<(), CliError> {
    let content_type = content_type(&a.patch_type)?;
    let body = patch_body(a)?;
    let format = Format::parse(a.output.as_deref())?;
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    for t in targets(&s, a).await? {
        let path = match &a.subresource {
            Some(sub) => format!("{}/{sub}", t.path()),
            None => t.path(),
        };
        let before = s.get(&path).await?;
        let after = send(
            &s.client,
            Method::PATCH,
            &format!("{path}?fieldManager=kubectl-patch"),
            &[],
            Some((content_type, body.clone())),
        )
        .await?
        .json()?;
        let text = match &format {
            Format::Table { .. } => match before == after {
                true => format!("{} patched (no change)\n", t.display()),
                false => format!("{} patched\n", t.display()),
            },
            Format::Name => format!("{}\n", t.display()),
            Format::Json => printers::pretty_json(&printers::sorted(after)),
            Format::Yaml => printers::yaml(&after)?,
            Format::JsonPath(_) | Format::GoTemplate(_) => {
                format.template(&after).unwrap_or(Ok(String::new()))?
            }
            Format::CustomColumns(spec) => printers::custom_columns(spec, &[after], true),
        };
        print!("{text}");
    }
    Ok(())
}
