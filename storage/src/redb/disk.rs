//! The file operations of the embedded backend, behind one trait: the operating system's in
//! production, a simulated disk in tests (`sim_disk`) that loses what was not synced when the
//! power goes. A journal append makes two calls through it, next to an `fdatasync` that costs
//! a thousand times more.
//!
//! The store's files hold every Secret: the operating system's directories are created 0700
//! and its files 0600, and older ones are tightened on open.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use redb::backends::FileBackend;
use redb::{Builder, Database, DatabaseError, ReadOnlyDatabase};

const PRIVATE_DIR: u32 = 0o700;
const PRIVATE_FILE: u32 = 0o600;

pub(crate) trait Disk: Send + Sync + 'static {
    /// Creates `dir` and its missing parents, private to the owner (not durably: see
    /// `sync_dir`).
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Takes the group's and others' access away from an existing file or directory.
    fn make_private(&self, path: &Path) -> io::Result<()>;
    fn exists(&self, path: &Path) -> bool;
    fn len(&self, path: &Path) -> io::Result<u64>;
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Opens `path` for reading and writing, creating it (private to the owner) if absent;
    /// `truncate` empties it.
    fn open(&self, path: &Path, truncate: bool) -> io::Result<Box<dyn DiskFile>>;
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Makes the directory's entries durable: a created, renamed or removed name is only
    /// certain to survive a power loss once its directory is synced.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Opens (or creates) a redb database stored at `path`.
    fn database(&self, builder: &Builder, path: &Path) -> Result<Database, DatabaseError>;
    /// Opens an existing redb database without writing to it.
    fn read_only_database(&self, path: &Path) -> Result<ReadOnlyDatabase, DatabaseError>;
}

pub(crate) trait DiskFile: Send + Sync {
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Makes the file's data (and its length) durable.
    fn sync_data(&self) -> io::Result<()>;
    /// `sync_data` plus the rest of the file's metadata.
    fn sync_all(&self) -> io::Result<()>;
}

/// The operating system's file system.
pub(crate) struct OsDisk;

impl Disk for OsDisk {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        DirBuilder::new()
            .recursive(true)
            .mode(PRIVATE_DIR)
            .create(dir)
    }

    fn make_private(&self, path: &Path) -> io::Result<()> {
        let meta = fs::metadata(path)?;
        let private = if meta.is_dir() {
            PRIVATE_DIR
        } else {
            PRIVATE_FILE
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & !private == 0 {
            return Ok(());
        }
        fs::set_permissions(path, Permissions::from_mode(mode & private))
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn len(&self, path: &Path) -> io::Result<u64> {
        fs::metadata(path).map(|m| m.len())
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        fs::read(path)
    }

    fn open(&self, path: &Path, truncate: bool) -> io::Result<Box<dyn DiskFile>> {
        Ok(Box::new(open_private(path, truncate)?))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn database(&self, builder: &Builder, path: &Path) -> Result<Database, DatabaseError> {
        builder.create_with_backend(FileBackend::new(open_private(path, false)?)?)
    }

    fn read_only_database(&self, path: &Path) -> Result<ReadOnlyDatabase, DatabaseError> {
        ReadOnlyDatabase::open(path)
    }
}

impl DiskFile for File {
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        FileExt::write_all_at(self, buf, offset)
    }

    fn sync_data(&self) -> io::Result<()> {
        File::sync_data(self)
    }

    fn sync_all(&self) -> io::Result<()> {
        File::sync_all(self)
    }
}

fn open_private(path: &Path, truncate: bool) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(truncate)
        .mode(PRIVATE_FILE)
        .open(path)
}

/// The directory holding `path` (for `sync_dir`).
pub(crate) fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Creates `dir` and its missing parents, private to the owner and durably (a directory
/// whose own entry is lost at a power loss takes every file in it along); an existing `dir`
/// is made private.
pub(crate) fn create_private_dir(disk: &dyn Disk, dir: &Path) -> io::Result<()> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && !disk.exists(d))
        .collect();
    disk.create_dir_all(dir)?;
    for created in missing.iter().rev() {
        disk.sync_dir(parent(created))?;
    }
    make_private(disk, dir);
    Ok(())
}

/// Makes an existing `path` private to its owner; a failure (another owner) is only logged,
/// as the store works regardless.
pub(crate) fn make_private(disk: &dyn Disk, path: &Path) {
    if let Err(e) = disk.make_private(path) {
        tracing::warn!(path = %path.display(), error = %e, "cannot make private to its owner");
    }
}
