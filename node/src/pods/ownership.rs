//! A volume given to the pod's fsGroup, as the kubelet's `SetVolumeOwnership` does: every
//! file's group becomes the fsGroup (links themselves, never what they point to), files get
//! group read and write (read only for read-only volumes), directories also search and
//! setgid so what is made later keeps the group. `OnRootMismatch` skips the walk when the
//! volume's root already has the group and the bits.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use super::env::ConfigError;

const RW: u32 = 0o660;
const RO: u32 = 0o440;
const EXEC: u32 = 0o110;
const SETGID: u32 = 0o2000;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ConfigError + '_ {
    move |e| ConfigError(format!("{}: {e}", path.display()))
}

/// Whether the root already is the group's with the bits (`requiresPermissionChange`).
fn root_matches(root: &Path, gid: u32, read_only: bool) -> bool {
    let Ok(meta) = std::fs::metadata(root) else {
        return false;
    };
    let wanted = if read_only { RO } else { RW } | EXEC;
    let mode = meta.permissions().mode();
    meta.is_dir() && meta.gid() == gid && mode & wanted == wanted && mode & SETGID != 0
}

/// Gives the tree under `root` to group `group`; `policy` is the pod's
/// `fsGroupChangePolicy` (`Always` when unset).
pub fn apply(
    root: &Path,
    group: i64,
    read_only: bool,
    policy: Option<&str>,
) -> Result<(), ConfigError> {
    let gid = u32::try_from(group).map_err(|_| ConfigError(format!("invalid fsGroup {group}")))?;
    if policy == Some("OnRootMismatch") && root_matches(root, gid, read_only) {
        return Ok(());
    }
    let mask = if read_only { RO } else { RW };
    let mut pending = vec![root.to_path_buf()];
    while let Some(path) = pending.pop() {
        std::os::unix::fs::lchown(&path, None, Some(gid)).map_err(io(&path))?;
        let meta = std::fs::symlink_metadata(&path).map_err(io(&path))?;
        // A link's mode means nothing, and chmod would reach what it points to.
        if meta.file_type().is_symlink() {
            continue;
        }
        let mode = meta.permissions().mode() & 0o7777;
        let wanted = match meta.is_dir() {
            true => mode | mask | EXEC | SETGID,
            false => mode | mask,
        };
        if wanted != mode {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(wanted))
                .map_err(io(&path))?;
        }
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).map_err(io(&path))? {
                pending.push(entry.map_err(io(&path))?.path());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    }

    #[test]
    fn the_tree_gets_the_group_bits_but_links_lead_nowhere() {
        let base = tempfile::tempdir().unwrap();
        let root = base.path().join("vol");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::write(root.join("sub/f"), b"x").unwrap();
        std::fs::set_permissions(root.join("sub/f"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        let outside = base.path().join("outside");
        std::fs::write(&outside, b"y").unwrap();
        std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("escape")).unwrap();
        // Our own group: chown to it needs no privilege.
        let gid = std::fs::metadata(&root).unwrap().gid();
        apply(&root, i64::from(gid), false, None).unwrap();
        assert_eq!(mode(&root), 0o2770);
        assert_eq!(mode(&root.join("sub")), 0o2775);
        assert_eq!(mode(&root.join("sub/f")), 0o660);
        assert_eq!(mode(&outside), 0o600);
        assert!(root_matches(&root, gid, false));
        // A root that already matches is left alone with OnRootMismatch, its tree too.
        std::fs::set_permissions(root.join("sub/f"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        apply(&root, i64::from(gid), false, Some("OnRootMismatch")).unwrap();
        assert_eq!(mode(&root.join("sub/f")), 0o600);
        apply(&root, i64::from(gid), false, Some("Always")).unwrap();
        assert_eq!(mode(&root.join("sub/f")), 0o660);
        assert!(apply(&root, -1, false, None).is_err());
    }
}
