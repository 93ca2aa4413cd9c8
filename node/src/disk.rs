//! How much a directory's file system holds and how much a tree uses, as `df` and `du` see
//! them (the crate forbids `unsafe`, so no `statvfs` call of its own).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The size and the free space of the file system holding a directory, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    pub size: u64,
    pub available: u64,
}

/// `df -Pk`'s second line: size and available, in KiB.
fn parse_df(output: &str) -> Option<Space> {
    let line = output.lines().nth(1)?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let kib = |i: usize| fields.get(i)?.parse::<u64>().ok().map(|k| k * 1024);
    Some(Space {
        size: kib(1)?,
        available: kib(3)?,
    })
}

/// The file system of `dir` (`None` when `df` cannot tell).
pub async fn space(dir: &Path) -> Option<Space> {
    let output = tokio::process::Command::new("df")
        .arg("-Pk")
        .arg(dir)
        .output()
        .await
        .ok()?;
    parse_df(&String::from_utf8_lossy(&output.stdout))
}

/// The bytes the tree under `dir` occupies (`du -s`: allocated blocks, links not followed,
/// other file systems not entered).
pub fn usage(dir: &Path) -> u64 {
    let Ok(root) = std::fs::symlink_metadata(dir) else {
        return 0;
    };
    let device = root.dev();
    let mut total = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.dev() != device {
            continue;
        }
        total += meta.blocks() * 512;
        if meta.is_dir()
            && let Ok(entries) = std::fs::read_dir(&path)
        {
            pending.extend(entries.flatten().map(|e| e.path()));
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn df_lines_give_size_and_free_space() {
        let out = "Filesystem     1024-blocks     Used Available Capacity Mounted on\n\
                   /dev/vda         263174212 51254296 200000000      21% /\n";
        assert_eq!(
            parse_df(out),
            Some(Space {
                size: 263174212 * 1024,
                available: 200000000 * 1024
            })
        );
        assert_eq!(parse_df("Filesystem\n"), None);
    }

    #[test]
    fn usage_counts_what_the_files_occupy() {
        let dir = tempfile::tempdir().unwrap();
        let empty = usage(dir.path());
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/data"), vec![7u8; 256 * 1024]).unwrap();
        std::os::unix::fs::symlink("/usr", dir.path().join("link")).unwrap();
        let used = usage(dir.path());
        assert!(used >= empty + 256 * 1024, "{empty} {used}");
        assert!(used < empty + 1024 * 1024, "{empty} {used}");
    }
}
