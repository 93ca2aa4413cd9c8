//! The file operations of the embedded backend, behind one trait: the operating system's in
//! production, a simulated disk in tests (`sim_disk`) that loses what was not synced when the
//! power goes. A journal append makes two calls through it, next to an `fdatasync` that costs
//! a thousand times more.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use redb::{Builder, Database, DatabaseError, ReadOnlyDatabase};

pub(crate) trait Disk: Send + Sync + 'static {
    /// Creates `dir` and its missing parents (not durably: see `sync_dir`).
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    fn exists(&self, path: &Path) -> bool;
    fn len(&self, path: &Path) -> io::Result<u64>;
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Opens `path` for reading and writing, creating it if absent; `truncate` empties it.
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
        fs::create_dir_all(dir)
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
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(truncate)
            .open(path)?;
        Ok(Box::new(file))
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
        builder.create(path)
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

/// The directory holding `path` (for `sync_dir`).
pub(crate) fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Creates `dir` and its missing parents, durably: a directory whose own entry is lost at a
/// power loss takes every file in it along.
pub(crate) fn create_dir_durably(disk: &dyn Disk, dir: &Path) -> io::Result<()> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && !disk.exists(d))
        .collect();
    disk.create_dir_all(dir)?;
    for created in missing.iter().rev() {
        disk.sync_dir(parent(created))?;
    }
    Ok(())
}
