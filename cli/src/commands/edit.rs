//! `oc edit TYPE NAME...`: the object (several: a `List` of them) as YAML in `$OC_EDITOR`,
//! `$KUBE_EDITOR` or `$EDITOR` (else `vi`); each changed object goes back as a merge patch
//! (what the user removed, set to null).
//! An error from the server re-opens the file with the error on top, as upstream does; saving
//! it unchanged again gives up, keeping a copy of the edits.

use std::path::{Path, PathBuf};

use http::Method;
use serde_json::Value;

use super::Globals;
use super::apply::three_way;
use crate::client::{Session, send, session};
use crate::error::CliError;
use crate::objects::{self, Target};
use crate::printers;

#[derive(Debug, Default, clap::Args)]
pub struct EditArgs {
    /// TYPE NAME or TYPE/NAME.
    #[arg(required = true)]
    pub words: Vec<String>,
    /// If true, keep the managedFields when editing.
    #[arg(long)]
    pub show_managed_fields: bool,
}

const HEADER: &str = "# Please edit the object below. Lines beginning with a '#' will be ignored,\n# and an empty file will abort the edit. If an error occurs while saving this file will be\n# reopened with the relevant failures.\n#\n";

fn editor() -> String {
    ["OC_EDITOR", "KUBE_EDITOR", "EDITOR"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|e| !e.trim().is_empty()))
        .unwrap_or_else(|| "vi".to_string())
}

/// Opens `file` in the editor (through the shell, so editors given with flags work).
fn open(file: &Path) -> Result<(), CliError> {
    let editor = editor();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(file)
        .status()
        .map_err(|e| CliError::msg(format!("unable to launch the editor \"{editor}\": {e}")))?;
    match status.success() {
        true => Ok(()),
        false => Err(CliError::msg(format!(
            "there was a problem with the editor \"{editor}\""
        ))),
    }
}

fn scratch_file(t: &Target) -> PathBuf {
    let n: u32 = rand::random();
    std::env::temp_dir().join(format!("oc-edit-{}-{n:08x}.yaml", t.name))
}

/// The text without comment lines.
fn uncommented(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The objects as the file shows them: the one object, or a `List` of several.
fn document(objects: &[Value]) -> Value {
    match objects {
        [one] => one.clone(),
        many => serde_json::json!({"apiVersion": "v1", "items": many, "kind": "List",
            "metadata": {}}),
    }
}

/// The objects of an edited document, in the order they were given.
fn edited_objects(doc: Value, count: usize) -> Vec<Value> {
    match (count, doc) {
        (1, one) => vec![one],
        (_, Value::Object(mut list)) => match list.remove("items") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// Edits the objects in one file (a `List` when there are several); the ones that changed.
async fn edit_all<'a>(
    s: &Session,
    targets: &'a [Target],
    a: &EditArgs,
) -> Result<Vec<&'a Target>, CliError> {
    let mut originals = Vec::new();
    for t in targets {
        let mut original = s.get(&t.path()).await?;
        if !a.show_managed_fields
            && let Some(meta) = original["metadata"].as_object_mut()
        {
            meta.remove("managedFields");
        }
        originals.push(original);
    }
    let file = scratch_file(&targets[0]);
    // Owner-only, as an object may be a secret.
    let write = |text: &str| {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&file)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| CliError::msg(format!("{}: {e}", file.display())))
    };
    write(&format!(
        "{HEADER}{}",
        printers::yaml(&document(&originals))?
    ))?;
    let mut failed: Option<String> = None;
    // Objects already saved by an earlier round (a re-opened file still shows them).
    let mut saved: Vec<usize> = Vec::new();
    loop {
        open(&file)?;
        let text = std::fs::read_to_string(&file)
            .map_err(|e| CliError::msg(format!("{}: {e}", file.display())))?;
        let body = uncommented(&text);
        if body.trim().is_empty() {
            let _ = std::fs::remove_file(&file);
            eprintln!("Edit cancelled, saved file was empty.");
            return Ok(Vec::new());
        }
        if failed.as_deref() == Some(body.as_str()) {
            return Err(CliError::msg(format!(
                "Edit cancelled, no valid changes were saved.\nA copy of your changes has been stored to \"{}\"",
                file.display()
            )));
        }
        let edited = match serde_saphyr::from_str::<Value>(&body) {
            Ok(doc) => edited_objects(doc, targets.len()),
            Err(e) => {
                let notes = format!("# The edited file had a syntax error: {e}\n");
                write(&format!("{HEADER}{notes}#\n{body}"))?;
                failed = Some(body);
                continue;
            }
        };
        let same_objects = edited.len() == originals.len()
            && edited.iter().zip(&originals).all(|(e, o)| {
                ["apiVersion", "kind"].iter().all(|f| e[*f] == o[*f])
                    && e["metadata"]["name"] == o["metadata"]["name"]
            });
        if !same_objects {
            eprintln!(
                "A copy of your changes has been stored to \"{}\"",
                file.display()
            );
            return Err(CliError::msg(
                "At least one of apiVersion, kind and name was changed",
            ));
        }
        let changed: Vec<usize> = (0..edited.len())
            .filter(|i| edited[*i] != originals[*i] && !saved.contains(i))
            .collect();
        if changed.is_empty() && saved.is_empty() {
            let _ = std::fs::remove_file(&file);
            eprintln!("Edit cancelled, no changes made.");
            return Ok(Vec::new());
        }
        let mut errors = Vec::new();
        for i in changed {
            match save(s, &targets[i], &originals[i], &edited[i]).await {
                Ok(()) => saved.push(i),
                Err(message) => errors.push(message),
            }
        }
        if errors.is_empty() {
            let _ = std::fs::remove_file(&file);
            saved.sort();
            return Ok(saved.into_iter().map(|i| &targets[i]).collect());
        }
        let notes: String = errors
            .iter()
            .flat_map(|m| m.lines())
            .map(|l| format!("# {l}\n"))
            .collect();
        write(&format!("{HEADER}{notes}#\n{body}"))?;
        failed = Some(body);
    }
}

/// Sends the edits; the error message when the server refuses them.
async fn save(s: &Session, t: &Target, original: &Value, edited: &Value) -> Result<(), String> {
    let patch = three_way(original, edited, original);
    let body = serde_json::to_vec(&patch).map_err(|e| e.to_string())?;
    let answer = send(
        &s.client,
        Method::PATCH,
        &format!("{}?fieldManager=kubectl-edit", t.path()),
        &[],
        Some(("application/merge-patch+json", body)),
    )
    .await
    .map_err(|e| e.to_string())?;
    answer.json().map(drop).map_err(|e| match e {
        CliError::Server { message, .. } => message,
        other => other.to_string(),
    })
}

pub async fn edit(g: &Globals, a: &EditArgs) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let targets = objects::named(&s, &a.words).await?;
    for t in edit_all(&s, &targets, a).await? {
        println!("{} edited", t.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn comments_are_ignored() {
        assert_eq!(
            super::uncommented("# a\nkind: X\n  # b\nx: 1\n"),
            "kind: X\nx: 1\n"
        );
    }
}
