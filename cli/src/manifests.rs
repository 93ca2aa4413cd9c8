//! The objects of `-f` arguments: files, directories (with `-R`, recursively) and `-` for
//! standard input; YAML with several documents, JSON, and `kind: List` flattened, as kubectl
//! reads them. Each object remembers where it came from, for error messages.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::CliError;

pub struct Manifest {
    /// The file name as given (`-` for standard input).
    pub source: String,
    pub object: Value,
}

fn files(path: &Path, recursive: bool, top: bool, out: &mut Vec<PathBuf>) -> Result<(), CliError> {
    if path.is_dir() {
        if !top && !recursive {
            return Ok(());
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| CliError::msg(format!("{}: {e}", path.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for entry in entries {
            let wanted = entry.is_dir()
                || entry
                    .extension()
                    .is_some_and(|x| matches!(x.to_str(), Some("yaml" | "yml" | "json")));
            if wanted {
                files(&entry, recursive, false, out)?;
            }
        }
        return Ok(());
    }
    if !path.exists() {
        return Err(CliError::msg(format!(
            "the path \"{}\" does not exist",
            path.display()
        )));
    }
    out.push(path.to_path_buf());
    Ok(())
}

fn parse(text: &str, source: &str) -> Result<Vec<Value>, CliError> {
    let documents: Vec<Value> = serde_saphyr::from_multiple(text)
        .map_err(|e| CliError::msg(format!("error parsing {source}: {e}")))?;
    let mut objects = Vec::new();
    for doc in documents.into_iter().filter(|d| !d.is_null()) {
        match doc["items"].as_array() {
            Some(items) if doc["kind"].as_str().is_some_and(|k| k.ends_with("List")) => {
                objects.extend(items.iter().cloned());
            }
            _ => objects.push(doc),
        }
    }
    Ok(objects)
}

/// The objects of the `-f` arguments, in order.
pub fn read(filenames: &[String], recursive: bool) -> Result<Vec<Manifest>, CliError> {
    if filenames.is_empty() {
        return Err(CliError::msg("must specify one of -f and -k"));
    }
    let mut out = Vec::new();
    for name in filenames {
        if name == "-" {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .map_err(|e| CliError::msg(e.to_string()))?;
            out.extend(parse(&text, "STDIN")?.into_iter().map(|object| Manifest {
                source: "STDIN".into(),
                object,
            }));
            continue;
        }
        let mut paths = Vec::new();
        files(Path::new(name), recursive, true, &mut paths)?;
        for path in paths {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| CliError::msg(format!("{}: {e}", path.display())))?;
            let source = path.display().to_string();
            out.extend(parse(&text, &source)?.into_iter().map(|object| Manifest {
                source: source.clone(),
                object,
            }));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_lists_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(
            dir.path().join("sub/c.json"),
            r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let top = dir.path().display().to_string();
        let names = |ms: Vec<Manifest>| {
            ms.iter()
                .map(|m| m.object["metadata"]["name"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(read(std::slice::from_ref(&top), false).unwrap()),
            ["a", "b"]
        );
        assert_eq!(names(read(&[top], true).unwrap()), ["a", "b", "c"]);
        assert!(read(&["/nonexistent".into()], false).is_err());
    }
}
