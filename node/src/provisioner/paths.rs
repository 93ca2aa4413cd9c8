//! Where the local provisioner keeps a volume, and the check that it never reaches outside
//! its storage directory: a volume is one directory directly under it, named from the
//! claim, never `..`, never a symbolic link.

use std::path::{Path, PathBuf};

/// The directory of a claim's volume: `pvc-<uid>_<namespace>_<name>` (as k3s's
/// local-path-provisioner names them), under `root`.
pub fn volume_dir(root: &Path, uid: &str, namespace: &str, name: &str) -> Option<PathBuf> {
    let leaf = format!("pvc-{uid}_{namespace}_{name}");
    safe_leaf(&leaf).then(|| root.join(leaf))
}

/// A single path component that stays where it is put.
fn safe_leaf(leaf: &str) -> bool {
    !leaf.is_empty() && leaf != "." && leaf != ".." && !leaf.contains('/') && !leaf.contains('\0')
}

/// Why `path` may not be removed as one of `root`'s volumes, if it may not: it must be a
/// directory directly under `root` (compared without following links), and not a link.
pub fn refuse_removal(root: &Path, path: &Path) -> Option<String> {
    let (Some(parent), Some(leaf)) = (path.parent(), path.file_name()) else {
        return Some(format!("{} is not a volume directory", path.display()));
    };
    if parent != root || !safe_leaf(&leaf.to_string_lossy()) {
        return Some(format!(
            "{} is outside the storage directory {}",
            path.display(),
            root.display()
        ));
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Some(format!(
            "{} is a symbolic link; it is not removed",
            path.display()
        )),
        Ok(meta) if !meta.is_dir() => Some(format!("{} is not a directory", path.display())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_stay_in_their_directory() {
        let root = Path::new("/srv/storage");
        assert_eq!(
            volume_dir(root, "u1", "ns", "data"),
            Some(PathBuf::from("/srv/storage/pvc-u1_ns_data"))
        );
        assert_eq!(volume_dir(root, "u1", "ns", "a/b"), None);
        assert!(refuse_removal(root, Path::new("/srv/storage/../etc")).is_some());
        assert!(refuse_removal(root, Path::new("/srv/other/pvc-x")).is_some());
        assert!(refuse_removal(root, Path::new("/srv/storage/a/b")).is_some());
        assert!(refuse_removal(root, Path::new("/srv/storage/pvc-gone")).is_none());
    }

    #[test]
    fn links_are_never_followed_out() {
        let root = std::env::temp_dir().join(format!("provisioner-paths-{}", std::process::id()));
        let outside = root.with_extension("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        let link = root.join("pvc-link");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        assert!(
            refuse_removal(&root, &link)
                .unwrap()
                .contains("symbolic link")
        );
        std::fs::create_dir_all(root.join("pvc-real")).unwrap();
        assert_eq!(refuse_removal(&root, &root.join("pvc-real")), None);
        std::fs::remove_dir_all(&root).unwrap();
        std::fs::remove_dir_all(&outside).unwrap();
    }
}
