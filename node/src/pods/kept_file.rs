//! A file the node keeps for the container tools from the cluster's configuration: written
//! whole and renamed into place, rewritten only when its text changes, removed with it.

use std::path::{Path, PathBuf};

/// `dir/name` holding `text` (written whole, then renamed: a concurrent pull reads the old
/// file or the new one), or removed when there is no text.
pub fn keep(dir: &Path, name: &str, text: Option<String>) -> Option<PathBuf> {
    let path = dir.join(name);
    let Some(text) = text else {
        let _ = std::fs::remove_file(&path);
        return None;
    };
    if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
        return Some(path);
    }
    let partial = dir.join(format!(".{name}.{}", std::process::id()));
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&partial, &text))
        .and_then(|()| std::fs::rename(&partial, &path));
    match written {
        Ok(()) => Some(path),
        Err(e) => {
            tracing::warn!(error = %e, file = name, "cannot keep the cluster's image configuration");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_written_replaced_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = keep(dir.path(), "policy.json", Some("a".into())).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a");
        keep(dir.path(), "policy.json", Some("b".into())).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "b");
        let nested = dir.path().join("home").join("registries.d");
        assert!(keep(&nested, "sigstore.yaml", Some("docker: {}\n".into())).is_some());
        assert_eq!(keep(dir.path(), "policy.json", None), None);
        assert!(!path.exists());
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["home"], "no partial file is left");
    }
}
