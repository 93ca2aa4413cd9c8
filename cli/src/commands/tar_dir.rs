//! A directory as a plain (ustar) tar stream, for `oc start-build --from-dir`: regular files
//! and directories, `.git` left out as upstream's default `--exclude` does.

use std::path::Path;

use crate::error::CliError;

const BLOCK: usize = 512;

fn header(name: &str, size: u64, mode: u32, kind: u8) -> Result<[u8; BLOCK], CliError> {
    let mut h = [0u8; BLOCK];
    let (prefix, base) = match name.len() {
        0..=100 => ("", name),
        _ => name
            .char_indices()
            .filter(|(i, c)| *c == '/' && *i <= 155 && name.len() - i - 1 <= 100)
            .map(|(i, _)| (&name[..i], &name[i + 1..]))
            .next()
            .ok_or_else(|| CliError::msg(format!("path too long for an archive: {name}")))?,
    };
    h[..base.len()].copy_from_slice(base.as_bytes());
    let octal = |field: &mut [u8], value: u64| {
        let text = format!("{value:0width$o}", width = field.len() - 1);
        field[..text.len()].copy_from_slice(text.as_bytes());
    };
    octal(&mut h[100..108], u64::from(mode));
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], 0);
    h[156] = kind;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    let text = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(text.as_bytes());
    Ok(h)
}

fn add(root: &Path, dir: &Path, out: &mut Vec<u8>) -> Result<(), CliError> {
    let io = |e: std::io::Error| CliError::msg(format!("{}: {e}", dir.display()));
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if entry.file_name() == ".git" {
            continue;
        }
        let path = entry.path();
        let name = path
            .strip_prefix(root)
            .map_err(|e| CliError::msg(e.to_string()))?
            .to_string_lossy()
            .replace('\\', "/");
        let meta = std::fs::metadata(&path).map_err(io)?;
        #[cfg(unix)]
        let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777;
        #[cfg(not(unix))]
        let mode = 0o644;
        if meta.is_dir() {
            out.extend_from_slice(&header(&format!("{name}/"), 0, mode, b'5')?);
            add(root, &path, out)?;
        } else if meta.is_file() {
            let data = std::fs::read(&path).map_err(io)?;
            out.extend_from_slice(&header(&name, data.len() as u64, mode, b'0')?);
            out.extend_from_slice(&data);
            out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
        }
    }
    Ok(())
}

/// The tar archive of `dir`'s content.
pub fn archive(dir: &Path) -> Result<Vec<u8>, CliError> {
    let mut out = Vec::new();
    add(dir, dir, &mut out)?;
    out.extend_from_slice(&[0u8; BLOCK * 2]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_directories_are_archived_without_git() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join("src/Dockerfile"), "FROM scratch\n").unwrap();
        let tar = archive(dir.path()).unwrap();
        assert_eq!(tar.len() % BLOCK, 0);
        assert_eq!(&tar[..4], b"src/");
        assert_eq!(&tar[BLOCK..BLOCK + 14], b"src/Dockerfile");
        assert_eq!(&tar[BLOCK * 2..BLOCK * 2 + 12], b"FROM scratch");
        assert!(!tar.windows(4).any(|w| w == b".git"));
    }
}
