//! The write-ahead journal in front of the B-tree.
//!
//! A redb commit costs several page writes per fsync; appending one record to a preallocated
//! file and calling `fdatasync` costs one. So every group-commit batch is made durable here
//! first, then applied to redb with a non-durable commit. A checkpoint makes redb durable and
//! swaps in a fresh journal; on open, records above redb's durable revision are replayed.
//!
//! File layout: a 32-byte header (magic, generation, base revision, CRC), then records
//! `[len u32][crc32 u32][payload]` back to back in zero-filled, preallocated space. The CRC of
//! a record covers the journal's generation and the payload, so a stale record of an earlier
//! generation never validates. The first record that does not validate (zeros, torn tail) ends
//! the journal: a torn record was never acknowledged, because acks wait for the fsync.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use crate::error::{Error, Result};
use crate::types::Revision;

const MAGIC: &[u8; 8] = b"OXSJRNL1";
const HEADER_LEN: u64 = 32;
const RECORD_HEADER_LEN: usize = 8;
/// A record larger than this cannot be valid (a batch is bounded well below it).
const MAX_RECORD_LEN: u32 = 1 << 30;
const ZERO_CHUNK: usize = 1 << 20;

pub(crate) struct Journal {
    path: PathBuf,
    file: File,
    generation: u64,
    /// Where the next record goes.
    offset: u64,
    preallocate: u64,
    /// A zero-filled file being prepared in the background for the next rotation.
    spare: Option<JoinHandle<std::io::Result<File>>>,
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

fn spare_path(path: &Path) -> PathBuf {
    path.with_extension("journal.next")
}

fn record_crc(generation: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&generation.to_le_bytes());
    h.update(payload);
    h.finalize()
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
fn zero_filled(path: &Path, len: u64) -> std::io::Result<File> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    let chunk = vec![0u8; ZERO_CHUNK];
    let mut left = len;
    while left > 0 {
        let n = left.min(ZERO_CHUNK as u64) as usize;
        file.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    file.sync_all()?;
    Ok(file)
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) => File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

impl Journal {
    /// Creates a journal of `generation` whose records follow `base_revision`, replacing
    /// any journal at `path` atomically.
    pub(crate) fn create(
        path: &Path,
        generation: u64,
        base_revision: Revision,
        preallocate: u64,
    ) -> Result<Journal> {
        let file = zero_filled(&spare_path(path), preallocate)
            .map_err(|e| Error::io("journal preparation", e))?;
        install(path, &file, generation, base_revision)?;
        let mut journal = Journal {
            path: path.to_path_buf(),
            file,
            generation,
            offset: HEADER_LEN,
            preallocate,
            spare: None,
        };
        journal.prepare_spare();
        Ok(journal)
    }

    /// Reads an existing journal; refuses a file that is not one.
    pub(crate) fn read(path: &Path) -> Result<Replay> {
        let mut file =
            File::open(path).map_err(|e| corrupt(path, format!("cannot open journal: {e}")))?;
        let mut data = Vec::new();
        file.read_to_end(&mut data)
            .map_err(|e| corrupt(path, format!("cannot read journal: {e}")))?;
        if data.len() < HEADER_LEN as usize || &data[..8] != MAGIC {
            return Err(corrupt(path, "not an Oxshift storage journal (bad magic)"));
        }
        let crc = u32::from_le_bytes([data[24], data[25], data[26], data[27]]);
        if crc != crc32fast::hash(&data[..24]) {
            return Err(corrupt(path, "journal header checksum mismatch"));
        }
        let generation = u64::from_le_bytes(data[8..16].try_into().unwrap_or_default());
        let base_revision = u64::from_le_bytes(data[16..24].try_into().unwrap_or_default());
        let mut records = Vec::new();
        let mut at = HEADER_LEN as usize;
        while at + RECORD_HEADER_LEN <= data.len() {
            let len = u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
            let crc = u32::from_le_bytes([data[at + 4], data[at + 5], data[at + 6], data[at + 7]]);
            let start = at + RECORD_HEADER_LEN;
            if len == 0 || len > MAX_RECORD_LEN || start + len as usize > data.len() {
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
        fs::rename(&self.path, previous_path(&self.path))
            .and_then(|_| sync_dir(&self.path))
            .map_err(|e| Error::io("journal rotation", e))?;
        self.rotate(base_revision)
    }

    /// Deletes the previous journal once its records are durable in the database.
    pub(crate) fn drop_previous(&self) -> Result<()> {
        match fs::remove_file(previous_path(&self.path)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::io("journal cleanup", e))
            }
            _ => sync_dir(&self.path).map_err(|e| Error::io("journal cleanup", e)),
        }
    }

    /// Starts a new generation whose records follow `base_revision`, replacing the current
    /// file; everything in it must already be durable elsewhere.
    pub(crate) fn rotate(&mut self, base_revision: Revision) -> Result<()> {
        let file = match self.spare.take() {
            Some(handle) => handle
                .join()
                .map_err(|_| Error::Io("journal preparation panicked".into()))?,
            None => zero_filled(&spare_path(&self.path), self.preallocate),
        }
        .map_err(|e| Error::io("journal preparation", e))?;
        install(&self.path, &file, self.generation + 1, base_revision)?;
        self.file = file;
        self.generation += 1;
        self.offset = HEADER_LEN;
        self.prepare_spare();
        Ok(())
    }

    fn prepare_spare(&mut self) {
        let (spare, len) = (spare_path(&self.path), self.preallocate);
        self.spare = Some(std::thread::spawn(move || zero_filled(&spare, len)));
    }
}

/// Stamps the header on a prepared file and moves it over `path`: one atomic rename, so a
/// crash leaves either the old journal or the complete new one.
fn install(path: &Path, file: &File, generation: u64, base_revision: Revision) -> Result<()> {
    file.write_all_at(&encode_header(generation, base_revision), 0)
        .and_then(|_| file.sync_data())
        .and_then(|_| fs::rename(spare_path(path), path))
        .and_then(|_| sync_dir(path))
        .map_err(|e| Error::io("journal installation", e))
}

impl Drop for Journal {
    fn drop(&mut self) {
        if let Some(handle) = self.spare.take() {
            let _ = handle.join();
        }
        let _ = fs::remove_file(spare_path(&self.path));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_reopen_and_torn_tail_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.journal");
        let mut j = Journal::create(&path, 1, 7, 4096).unwrap();
        j.append(b"one").unwrap();
        j.append(b"two").unwrap();
        // A torn third record: header claims more bytes than were written.
        j.file
            .write_all_at(&[200, 0, 0, 0, 1, 2, 3, 4, b'x'], j.offset)
            .unwrap();
        let replay = Journal::read(&path).unwrap();
        assert_eq!(replay.base_revision, 7);
        assert_eq!(replay.records, vec![b"one".to_vec(), b"two".to_vec()]);
    }

    #[test]
    fn rotation_hides_earlier_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.journal");
        let mut j = Journal::create(&path, 1, 0, 4096).unwrap();
        j.append(b"kept").unwrap();
        assert_eq!(
            Journal::read(&path).unwrap().records,
            vec![b"kept".to_vec()]
        );
        j.rotate(12).unwrap();
        let replay = Journal::read(&path).unwrap();
        assert_eq!((replay.base_revision, replay.records.len()), (12, 0));
        // A record written at the same offset by the new generation is read; the old one is not.
        j.append(b"new").unwrap();
        assert_eq!(Journal::read(&path).unwrap().records, vec![b"new".to_vec()]);
    }

    #[test]
    fn rotation_can_keep_the_previous_file_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.journal");
        let mut j = Journal::create(&path, 1, 0, 4096).unwrap();
        j.append(b"old").unwrap();
        j.rotate_keeping_previous(1).unwrap();
        j.append(b"new").unwrap();
        assert_eq!(
            Journal::read(&previous_path(&path)).unwrap().records,
            vec![b"old".to_vec()]
        );
        assert_eq!(Journal::read(&path).unwrap().records, vec![b"new".to_vec()]);
        j.drop_previous().unwrap();
        assert!(!previous_path(&path).exists());
        j.drop_previous().unwrap();
    }

    #[test]
    fn foreign_file_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.journal");
        fs::write(&path, b"hello, this is not a journal at all, really").unwrap();
        let err = Journal::read(&path).err().unwrap().to_string();
        assert!(
            err.contains("store.journal") && err.contains("bad magic"),
            "{err}"
        );
    }
}
