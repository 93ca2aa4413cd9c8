//! The write-ahead journal in front of the B-tree.
//!
//! A redb commit costs several page writes per fsync; appending one record to a preallocated
//! file and calling `fdatasync` costs one. So every group-commit batch is made durable here
//! first; the database gets it later, in bulk (see `committer`).
//!
//! File layout: a 32-byte header (magic, generation, base revision, CRC), then records
//! `[len u32][crc32 u32][generation u64][payload]` back to back in preallocated space. A
//! record is valid only if it carries the file's generation and its CRC (over generation and
//! payload) matches; the first record that is not (zeros, a torn tail, a stale record of an
//! earlier generation in a recycled file) ends the journal. A torn record was never
//! acknowledged: acks wait for the fsync.
//!
//! Rotation moves the journal aside as the *previous* journal (kept until its records are
//! durable in the database) and installs a spare file by atomic rename. Dropping the previous
//! journal recycles it as the next spare: its blocks are already allocated, so appends never
//! change file metadata and `fdatasync` stays a single write.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::disk::{self, Disk, DiskFile};
use crate::error::{Error, Result};
use crate::types::Revision;

const MAGIC: &[u8; 8] = b"OXSJRNL2";
const HEADER_LEN: u64 = 32;
const RECORD_HEADER_LEN: usize = 16;
/// A record larger than this cannot be valid (a batch is bounded well below it).
const MAX_RECORD_LEN: u32 = 1 << 30;
const ZERO_CHUNK: usize = 1 << 20;

pub(crate) struct Journal {
    disk: Arc<dyn Disk>,
    path: PathBuf,
    file: Box<dyn DiskFile>,
    generation: u64,
    /// Where the next record goes.
    offset: u64,
    /// Is full (time to rotate) past this offset.
    preallocate: u64,
    /// A zero-filled spare being prepared in the background (only before the first recycling).
    preparing: Option<JoinHandle<std::io::Result<Box<dyn DiskFile>>>>,
}

/// The contents of an existing journal, as read on open.
pub(crate) struct Replay {
    pub(crate) generation: u64,
    pub(crate) base_revision: Revision,
    pub(crate) records: Vec<Vec<u8>>,
}

fn corrupt(path: &Path, detail: impl Into<String>) -> Error {
    Error::Corrupt {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

/// Where the journal goes while the records it holds are written to the database.
pub(crate) fn previous_path(path: &Path) -> PathBuf {
    path.with_extension("journal.prev")
}

/// The file the next rotation installs.
pub(crate) fn spare_path(path: &Path) -> PathBuf {
    path.with_extension("journal.next")
}

fn record_crc(generation: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&generation.to_le_bytes());
    h.update(payload);
    h.finalize()
}

fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn le_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

fn encode_header(generation: u64, base_revision: Revision) -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    h[..8].copy_from_slice(MAGIC);
    h[8..16].copy_from_slice(&generation.to_le_bytes());
    h[16..24].copy_from_slice(&base_revision.to_le_bytes());
    let crc = crc32fast::hash(&h[..24]);
    h[24..28].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Writes `len` zero bytes to a new file and syncs it, so that later record writes only
/// overwrite allocated blocks and `fdatasync` has no metadata to flush.
fn zero_filled(disk: &dyn Disk, path: &Path, len: u64) -> std::io::Result<Box<dyn DiskFile>> {
    let file = disk.open(path, true)?;
    let chunk = vec![0u8; ZERO_CHUNK];
    let mut at = 0;
    while at < len {
        let n = (len - at).min(ZERO_CHUNK as u64);
        file.write_all_at(&chunk[..n as usize], at)?;
        at += n;
    }
    file.sync_all()?;
    Ok(file)
}

/// Makes renames and removals of `path`'s siblings durable.
fn sync_dir(disk: &dyn Disk, path: &Path) -> std::io::Result<()> {
    disk.sync_dir(disk::parent(path))
}

/// Stamps the header on a prepared file and moves it to `path`: one atomic rename, so a crash
/// leaves either no journal at `path` or the complete new one.
fn install(
    disk: &dyn Disk,
    from: &Path,
    path: &Path,
    file: &dyn DiskFile,
    generation: u64,
    base_revision: Revision,
) -> Result<()> {
    file.write_all_at(&encode_header(generation, base_revision), 0)
        .and_then(|_| file.sync_data())
        .and_then(|_| disk.rename(from, path))
        .and_then(|_| sync_dir(disk, path))
        .map_err(|e| Error::io("journal installation", e))
}

impl Journal {
    /// Creates a journal of `generation` whose records follow `base_revision`, replacing any
    /// journal at `path` atomically.
    pub(crate) fn create(
        disk: Arc<dyn Disk>,
        path: &Path,
        generation: u64,
        base_revision: Revision,
        preallocate: u64,
    ) -> Result<Journal> {
        let spare = spare_path(path);
        let file = zero_filled(&*disk, &spare, preallocate)
            .map_err(|e| Error::io("journal preparation", e))?;
        install(&*disk, &spare, path, &*file, generation, base_revision)?;
        let mut journal = Journal {
            disk: disk.clone(),
            path: path.to_path_buf(),
            file,
            generation,
            offset: HEADER_LEN,
            preallocate,
            preparing: None,
        };
        let (spare, len) = (spare_path(path), preallocate);
        journal.preparing = Some(std::thread::spawn(move || zero_filled(&*disk, &spare, len)));
        Ok(journal)
    }

    /// Writes a journal with no records (generation 0, from revision 0) at `path`.
    pub(crate) fn create_empty(disk: &dyn Disk, path: &Path) -> Result<()> {
        let spare = spare_path(path);
        let file = zero_filled(disk, &spare, HEADER_LEN)
            .map_err(|e| Error::io("journal preparation", e))?;
        install(disk, &spare, path, &*file, 0, 0)
    }

    /// Reads an existing journal; refuses a file that is not one.
    pub(crate) fn read(disk: &dyn Disk, path: &Path) -> Result<Replay> {
        let data = disk
            .read(path)
            .map_err(|e| corrupt(path, format!("cannot read journal: {e}")))?;
        if data.len() < HEADER_LEN as usize || &data[..8] != MAGIC {
            return Err(corrupt(path, "not an Oxshift storage journal (bad magic)"));
        }
        if le_u32(&data[24..28]) != crc32fast::hash(&data[..24]) {
            return Err(corrupt(path, "journal header checksum mismatch"));
        }
        let generation = le_u64(&data[8..16]);
        let base_revision = le_u64(&data[16..24]);
        let mut records = Vec::new();
        let mut at = HEADER_LEN as usize;
        while at + RECORD_HEADER_LEN <= data.len() {
            let len = le_u32(&data[at..]);
            let crc = le_u32(&data[at + 4..]);
            let record_generation = le_u64(&data[at + 8..]);
            let start = at + RECORD_HEADER_LEN;
            if len == 0
                || len > MAX_RECORD_LEN
                || start + len as usize > data.len()
                || record_generation != generation
            {
                break;
            }
            let payload = &data[start..start + len as usize];
            if record_crc(generation, payload) != crc {
                break;
            }
            records.push(payload.to_vec());
            at = start + len as usize;
        }
        Ok(Replay {
            generation,
            base_revision,
            records,
        })
    }

    /// Appends one record and makes it durable.
    pub(crate) fn append(&mut self, payload: &[u8]) -> Result<()> {
        let mut buf = Vec::with_capacity(RECORD_HEADER_LEN + payload.len());
        buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        buf.extend_from_slice(&record_crc(self.generation, payload).to_le_bytes());
        buf.extend_from_slice(&self.generation.to_le_bytes());
        buf.extend_from_slice(payload);
        self.file
            .write_all_at(&buf, self.offset)
            .and_then(|_| self.file.sync_data())
            .map_err(|e| Error::io("journal write", e))?;
        self.offset += buf.len() as u64;
        Ok(())
    }

    pub(crate) fn is_full(&self) -> bool {
        self.offset >= self.preallocate
    }

    /// Starts a new generation whose records follow `base_revision`, keeping the current file
    /// as the previous journal until `drop_previous` (its records are not yet durable in the
    /// database). There is at most one previous journal.
    pub(crate) fn rotate_keeping_previous(&mut self, base_revision: Revision) -> Result<()> {
        let spare = spare_path(&self.path);
        let file = match self.preparing.take() {
            Some(handle) => handle
                .join()
                .map_err(|_| Error::Io("journal preparation panicked".into()))?,
            None if self.disk.exists(&spare) => self.disk.open(&spare, false),
            None => zero_filled(&*self.disk, &spare, self.preallocate),
        }
        .map_err(|e| Error::io("journal preparation", e))?;
        self.disk
            .rename(&self.path, &previous_path(&self.path))
            .and_then(|_| sync_dir(&*self.disk, &self.path))
            .map_err(|e| Error::io("journal rotation", e))?;
        install(
            &*self.disk,
            &spare,
            &self.path,
            &*file,
            self.generation + 1,
            base_revision,
        )?;
        self.file = file;
        self.generation += 1;
        self.offset = HEADER_LEN;
        Ok(())
    }

    /// Once the previous journal's records are durable in the database, it becomes the next
    /// spare (its stale records carry an older generation and never validate again).
    pub(crate) fn drop_previous(&mut self) -> Result<()> {
        let previous = previous_path(&self.path);
        if !self.disk.exists(&previous) {
            return Ok(());
        }
        let spare = spare_path(&self.path);
        let outcome = if self.preparing.is_some() || self.disk.exists(&spare) {
            self.disk.remove(&previous)
        } else {
            self.disk.rename(&previous, &spare)
        };
        outcome
            .and_then(|_| sync_dir(&*self.disk, &self.path))
            .map_err(|e| Error::io("journal recycling", e))
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        if let Some(handle) = self.preparing.take() {
            let _ = handle.join();
        }
        let _ = self.disk.remove(&spare_path(&self.path));
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::redb::disk::OsDisk;

    fn journal(dir: &Path) -> (PathBuf, Journal) {
        let path = dir.join("store.journal");
        let j = Journal::create(Arc::new(OsDisk), &path, 1, 7, 4096).unwrap();
        (path, j)
    }

    fn read(path: &Path) -> Result<Replay> {
        Journal::read(&OsDisk, path)
    }

    #[test]
    fn records_survive_reopen_and_torn_tail_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut j) = journal(dir.path());
        j.append(b"one").unwrap();
        j.append(b"two").unwrap();
        // A torn third record: its header claims more bytes than were written.
        j.file
            .write_all_at(
                &[200, 0, 0, 0, 1, 2, 3, 4, 1, 0, 0, 0, 0, 0, 0, 0, b'x'],
                j.offset,
            )
            .unwrap();
        let replay = read(&path).unwrap();
        assert_eq!((replay.generation, replay.base_revision), (1, 7));
        assert_eq!(replay.records, vec![b"one".to_vec(), b"two".to_vec()]);
    }

    #[test]
    fn rotation_keeps_the_previous_journal_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut j) = journal(dir.path());
        j.append(b"old").unwrap();
        j.rotate_keeping_previous(8).unwrap();
        j.append(b"new").unwrap();
        assert_eq!(
            read(&previous_path(&path)).unwrap().records,
            vec![b"old".to_vec()]
        );
        let replay = read(&path).unwrap();
        assert_eq!(
            (replay.generation, replay.base_revision, replay.records),
            (2, 8, vec![b"new".to_vec()])
        );
        j.drop_previous().unwrap();
        assert!(!previous_path(&path).exists());
        j.drop_previous().unwrap();
    }

    #[test]
    fn a_recycled_file_shows_none_of_its_old_records() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut j) = journal(dir.path());
        j.rotate_keeping_previous(0).unwrap(); // generation 2 (uses the prepared spare)
        for n in 0..20u8 {
            j.append(&[n; 40]).unwrap();
        }
        j.rotate_keeping_previous(1).unwrap(); // generation 3
        j.drop_previous().unwrap(); // generation 2's file becomes the spare
        assert!(spare_path(&path).exists());
        j.rotate_keeping_previous(2).unwrap(); // generation 4 in the recycled file
        let replay = read(&path).unwrap();
        assert_eq!(
            (replay.generation, replay.records.len()),
            (4, 0),
            "stale records never validate"
        );
        j.append(b"fresh").unwrap();
        assert_eq!(read(&path).unwrap().records, vec![b"fresh".to_vec()]);
    }

    #[test]
    fn foreign_file_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.journal");
        fs::write(&path, b"hello, this is not a journal at all, really").unwrap();
        let err = read(&path).err().unwrap().to_string();
        assert!(
            err.contains("store.journal") && err.contains("bad magic"),
            "{err}"
        );
    }
}
