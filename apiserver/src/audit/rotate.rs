//! The audit log file, rotated by size as upstream's log library rotates it: when a line
//! would take the file past its size limit, the file is renamed `<name>-<UTC time>.<ext>`
//! (`audit-2025-01-02T03-04-05.678.log`) and a new one started; then backups beyond the
//! count limit (newest kept) and older than the age limit (by the time in their name) are
//! removed. Files are created `0600` (a rotated file's successor keeps its mode).

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Size limit when none is given (0), as upstream's log library: 100 MB.
const DEFAULT_MAX_MB: u64 = 100;
const BACKUP_TIME: &str = "%Y-%m-%dT%H-%M-%S%.3f";
const MODE: u32 = 0o600;

/// When to rotate and what to keep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rotation {
    /// `--audit-log-maxsize`, in megabytes (0: 100).
    pub max_size_mb: u64,
    /// `--audit-log-maxbackup`: rotated files kept (0: all).
    pub max_backups: usize,
    /// `--audit-log-maxage`: days a rotated file is kept (0: no limit).
    pub max_age_days: u64,
}

pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    rotation: Rotation,
    file: Option<BufWriter<File>>,
    size: u64,
}

impl RotatingFile {
    /// Opens (or creates) the log at `path`, with its directory.
    pub fn open(path: &Path, rotation: Rotation) -> io::Result<RotatingFile> {
        let max_mb = match rotation.max_size_mb {
            0 => DEFAULT_MAX_MB,
            mb => mb,
        };
        let mut file = RotatingFile {
            path: path.to_path_buf(),
            max_bytes: max_mb.saturating_mul(1024 * 1024),
            rotation,
            file: None,
            size: 0,
        };
        file.open_existing()?;
        Ok(file)
    }

    #[cfg(test)]
    fn with_max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    fn open_existing(&mut self) -> io::Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(MODE)
            .open(&self.path)?;
        self.size = file.metadata()?.len();
        self.file = Some(BufWriter::new(file));
        Ok(())
    }

    /// Appends one line, rotating first if it would not fit. A line longer than the limit
    /// gets a file of its own.
    pub fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        let len = line.len() as u64;
        if self.file.is_none() || (self.size > 0 && self.size + len > self.max_bytes) {
            self.rotate()?;
        }
        let file = match &mut self.file {
            Some(file) => file,
            None => return Err(io::Error::other("the audit log is not open")),
        };
        file.write_all(line)?;
        self.size += len;
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }

    /// Moves the current file aside and starts a new one, then prunes old backups.
    fn rotate(&mut self) -> io::Result<()> {
        if let Some(mut file) = self.file.take() {
            file.flush()?;
        }
        let mode = std::fs::metadata(&self.path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(MODE);
        if self.path.exists() {
            std::fs::rename(&self.path, self.backup_name())?;
        }
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&self.path)?;
        // The umask may have narrowed the mode asked for; the old file's is kept exactly.
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        self.file = Some(BufWriter::new(file));
        self.size = 0;
        if let Err(e) = self.prune() {
            tracing::warn!(error = %e, "removing old audit logs failed");
        }
        Ok(())
    }

    /// `<dir>/<stem>-` and `.<ext>` of the log's name.
    fn name_parts(&self) -> (PathBuf, String, String) {
        let dir = self
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (stem, ext) = match name.rfind('.') {
            Some(dot) if dot > 0 => (name[..dot].to_string(), name[dot..].to_string()),
            _ => (name, String::new()),
        };
        (dir, format!("{stem}-"), ext)
    }

    /// A name for the file being rotated now, unused so far (rotations within one
    /// millisecond get the next millisecond).
    fn backup_name(&self) -> PathBuf {
        let (dir, prefix, ext) = self.name_parts();
        let mut at = jiff::Timestamp::now();
        loop {
            let candidate = dir.join(format!("{prefix}{}{ext}", at.strftime(BACKUP_TIME)));
            if !candidate.exists() {
                return candidate;
            }
            at += jiff::SignedDuration::from_millis(1);
        }
    }

    /// Removes backups beyond `max_backups` (the newest are kept) and older than
    /// `max_age_days`, by the time in their names.
    fn prune(&self) -> io::Result<()> {
        let Rotation {
            max_backups,
            max_age_days,
            ..
        } = self.rotation;
        if max_backups == 0 && max_age_days == 0 {
            return Ok(());
        }
        let (dir, prefix, ext) = self.name_parts();
        let listed = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir.as_path()
        };
        let mut backups: Vec<(jiff::Timestamp, PathBuf)> = std::fs::read_dir(listed)?
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let time = name.strip_prefix(&prefix)?.strip_suffix(&ext)?;
                let at = jiff::civil::DateTime::strptime(BACKUP_TIME, time)
                    .ok()?
                    .to_zoned(jiff::tz::TimeZone::UTC)
                    .ok()?
                    .timestamp();
                Some((at, entry.path()))
            })
            .collect();
        backups.sort_by_key(|b| std::cmp::Reverse(b.0));
        let cutoff = (max_age_days > 0).then(|| {
            let age = jiff::SignedDuration::from_hours(24 * max_age_days as i64);
            jiff::Timestamp::now() - age
        });
        for (i, (at, path)) in backups.iter().enumerate() {
            let too_many = max_backups > 0 && i >= max_backups;
            let too_old = cutoff.is_some_and(|c| *at < c);
            if too_many || too_old {
                std::fs::remove_file(path)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn files_rotate_by_size_with_timestamped_names_and_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/audit.log");
        let rotation = Rotation {
            max_backups: 2,
            ..Default::default()
        };
        let mut log = RotatingFile::open(&path, rotation)
            .unwrap()
            .with_max_bytes(100);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("logs")), 0o700);
        let line = [b'x'; 39].iter().chain(b"\n").copied().collect::<Vec<u8>>();
        for _ in 0..9 {
            log.write_line(&line).unwrap();
        }
        log.flush().unwrap();
        // Two lines fit in 100 bytes: 9 lines made 5 files, of which the current one and
        // the two newest backups are kept.
        let names = files(&dir.path().join("logs"));
        assert_eq!(names.len(), 3, "{names:?}");
        assert_eq!(std::fs::read(&path).unwrap(), line);
        for name in &names {
            let file = dir.path().join("logs").join(name);
            assert_eq!(mode(&file), 0o600, "{name}");
            if name != "audit.log" {
                let time = name
                    .strip_prefix("audit-")
                    .unwrap()
                    .strip_suffix(".log")
                    .unwrap();
                jiff::civil::DateTime::strptime(BACKUP_TIME, time).unwrap();
                assert_eq!(time.len(), "2025-01-02T03-04-05.678".len());
                assert_eq!(std::fs::read(&file).unwrap().len(), 80);
            }
        }
    }

    #[test]
    fn an_existing_log_is_appended_to_and_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        std::fs::write(&path, b"old\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let mut log = RotatingFile::open(&path, Rotation::default())
            .unwrap()
            .with_max_bytes(10);
        log.write_line(b"new\n").unwrap();
        log.flush().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"old\nnew\n");
        log.write_line(b"next\n").unwrap();
        log.flush().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"next\n");
        assert_eq!(mode(&path), 0o640);
        assert_eq!(files(dir.path()).len(), 2, "no backup limit: all kept");
    }

    #[test]
    fn old_backups_are_removed_by_age() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let old = dir.path().join("audit-2001-02-03T04-05-06.789.log");
        let unrelated = dir.path().join("audit-notes.log");
        std::fs::write(&old, b"x").unwrap();
        std::fs::write(&unrelated, b"x").unwrap();
        let rotation = Rotation {
            max_age_days: 30,
            ..Default::default()
        };
        let mut log = RotatingFile::open(&path, rotation)
            .unwrap()
            .with_max_bytes(4);
        log.write_line(b"one\n").unwrap();
        log.write_line(b"two\n").unwrap();
        assert!(!old.exists());
        assert!(
            unrelated.exists(),
            "files not named as backups are left alone"
        );
        assert_eq!(files(dir.path()).len(), 3);
    }

    #[test]
    fn default_limit_is_100_megabytes() {
        let dir = tempfile::tempdir().unwrap();
        let log = RotatingFile::open(&dir.path().join("a.log"), Rotation::default()).unwrap();
        assert_eq!(log.max_bytes, 100 * 1024 * 1024);
    }
}
