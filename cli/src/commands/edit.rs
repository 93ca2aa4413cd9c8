//! `oc edit TYPE NAME`: the object as YAML in `$OC_EDITOR`, `$KUBE_EDITOR` or `$EDITOR`
//! (else `vi`); the changes go back as a merge patch (what the user removed, set to null).
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

/// Edits one object; whether it changed.
async fn edit_one(s: &Session, t: &Target, a: &EditArgs) -> Result<bool, CliError> {
    let mut original = s.get(&t.path()).await?;
    if !a.show_managed_fields
        && let Some(meta) = original["metadata"].as_object_mut()
    {
        meta.remove("managedFields");
    }
    let file = scratch_file(t);
    // Owner-only, as the object may be a secret.
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
    write(&format!("{HEADER}{}", printers::yaml(&original)?))?;
    let mut failed: Option<String> = None;
    loop {
        open(&file)?;
        let text = std::fs::read_to_string(&file)
            .map_err(|e| CliError::msg(format!("{}: {e}", file.display())))?;
        let body = uncommented(&text);
        if body.trim().is_empty() {
            let _ = std::fs::remove_file(&file);
            eprintln!("Edit cancelled, saved file was empty.");
            return Ok(false);
        }
        if failed.as_deref() == Some(body.as_str()) {
            return Err(CliError::msg(format!(
                "Edit cancelled, no valid changes were saved.\nA copy of your changes has been stored to \"{}\"",
                file.display()
            )));
        }
        let outcome = match serde_saphyr::from_str::<Value>(&body) {
            Err(e) => Err(format!("The edited file had a syntax error: {e}")),
            Ok(edited) if edited == original => {
                let _ = std::fs::remove_file(&file);
                eprintln!("Edit cancelled, no changes made.");
                return Ok(false);
            }
            Ok(edited)
                if ["apiVersion", "kind"]
                    .iter()
                    .any(|f| edited[*f] != original[*f])
                    || edited["metadata"]["name"] != original["metadata"]["name"] =>
            {
                eprintln!(
                    "A copy of your changes has been stored to \"{}\"",
                    file.display()
                );
                return Err(CliError::msg(
                    "At least one of apiVersion, kind and name was changed",
                ));
            }
            Ok(edited) => save(s, t, &original, &edited).await,
        };
        match outcome {
            Ok(()) => {
                let _ = std::fs::remove_file(&file);
                return Ok(true);
            }
            Err(message) => {
                let notes: String = message.lines().map(|l| format!("# {l}\n")).collect();
                write(&format!("{HEADER}{notes}#\n{body}"))?;
                failed = Some(body);
            }
        }
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
    for t in objects::named(&s, &a.words).await? {
        if edit_one(&s, &t, a).await? {
            println!("{} edited", t.display());
        }
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
