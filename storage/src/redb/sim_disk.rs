//! A simulated disk for power-loss tests. Every file's content and every directory entry exist
//! in two versions: what the OS has been told (what reads see) and what a sync made durable.
//! `sync_data`/`sync_all` make a file's content and length durable, `sync_dir` the entries of
//! one directory (creations, renames, removals), as POSIX promises and no more.
//!
//! A power loss leaves the durable version only, or, in a harsh one, also a random part of what
//! was not synced: whole pages of file data (the kernel may have written some back) and the
//! oldest directory changes (file systems journal them in order). The disk that lost power
//! fails every later operation; `power_loss` returns the disk as the next boot finds it.
//! (Long on purpose: the disk model and its own tests, which pin down what it promises.)

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use redb::{Builder, Database, DatabaseError, ReadOnlyDatabase, StorageBackend};

use super::disk::{self, Disk, DiskFile};

/// The unit in which unsynced data survives a harsh power loss.
const PAGE: u64 = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Loss {
    /// Everything not synced is gone.
    Unsynced,
    /// Some of what was not synced survives, at random.
    Harsh,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    Dir,
    File(u64),
}

#[derive(Clone, Debug)]
enum Change {
    Link(PathBuf, Node),
    Rename(PathBuf, PathBuf),
    Remove(PathBuf),
}

impl Change {
    fn apply(&self, names: &mut BTreeMap<PathBuf, Node>) {
        match self {
            Change::Link(path, node) => drop(names.insert(path.clone(), *node)),
            Change::Rename(from, to) => {
                if let Some(node) = names.remove(from) {
                    names.insert(to.clone(), node);
                }
            }
            Change::Remove(path) => drop(names.remove(path)),
        }
    }

    /// The directory whose sync makes this change durable.
    fn dir(&self) -> &Path {
        match self {
            Change::Link(path, _) | Change::Rename(path, _) | Change::Remove(path) => {
                disk::parent(path)
            }
        }
    }
}

#[derive(Clone, Default)]
struct Inode {
    data: Vec<u8>,
    durable: Vec<u8>,
    /// Pages written since the last sync.
    dirty: BTreeSet<u64>,
}

impl Inode {
    fn sync(&mut self) {
        self.durable.resize(self.data.len(), 0);
        for &page in &self.dirty {
            let start = (page * PAGE) as usize;
            let end = ((page + 1) * PAGE).min(self.data.len() as u64) as usize;
            if start < end {
                self.durable[start..end].copy_from_slice(&self.data[start..end]);
            }
        }
        self.dirty.clear();
    }

    /// What survives a power loss.
    fn after_loss(&self, loss: Loss, rng: &mut StdRng) -> Vec<u8> {
        let mut image = self.durable.clone();
        if loss == Loss::Unsynced {
            return image;
        }
        if rng.random_bool(0.5) {
            image.resize(self.data.len(), 0);
        }
        for &page in &self.dirty {
            if !rng.random_bool(0.5) {
                continue;
            }
            let start = (page * PAGE) as usize;
            let end = (((page + 1) * PAGE) as usize)
                .min(image.len())
                .min(self.data.len());
            if start < end {
                image[start..end].copy_from_slice(&self.data[start..end]);
            }
        }
        image
    }
}

struct State {
    powered: bool,
    rng: StdRng,
    inodes: HashMap<u64, Inode>,
    next_inode: u64,
    names: BTreeMap<PathBuf, Node>,
    durable_names: BTreeMap<PathBuf, Node>,
    /// Directory changes not yet durable, oldest first.
    changes: Vec<Change>,
    /// Operations left before the power goes, and how.
    cut_after: Option<(u64, Loss)>,
    /// The disk as found after the power loss.
    after: Option<Arc<SimDisk>>,
    /// Writes to these inodes fail (a failing device).
    failing: BTreeSet<u64>,
    /// How long each file sync takes (a slow device).
    sync_time: Duration,
    /// How long each read of the database takes (a cold page cache).
    read_time: Duration,
}

pub(crate) struct SimDisk {
    state: Arc<Mutex<State>>,
}

fn power_off() -> io::Error {
    io::Error::other("simulated power loss: the disk is off")
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, path.display().to_string())
}

impl State {
    fn new(seed: u64) -> State {
        let root = BTreeMap::from([(PathBuf::from("/"), Node::Dir)]);
        State {
            powered: true,
            rng: StdRng::seed_from_u64(seed),
            inodes: HashMap::new(),
            next_inode: 1,
            names: root.clone(),
            durable_names: root,
            changes: Vec::new(),
            cut_after: None,
            after: None,
            failing: BTreeSet::new(),
            sync_time: Duration::ZERO,
            read_time: Duration::ZERO,
        }
    }

    /// Checks the power before an operation; counts it if it changes anything.
    fn operate(&mut self, mutating: bool) -> io::Result<()> {
        if !self.powered {
            return Err(power_off());
        }
        if let Some((left, loss)) = self.cut_after.as_mut()
            && mutating
        {
            if *left == 0 {
                let loss = *loss;
                self.cut(loss);
                return Err(power_off());
            }
            *left -= 1;
        }
        Ok(())
    }

    fn cut(&mut self, loss: Loss) {
        self.powered = false;
        self.cut_after = None;
        let seed = self.rng.random();
        let mut next = State::new(seed);
        let mut names = self.durable_names.clone();
        if loss == Loss::Harsh {
            let kept = self.rng.random_range(0..=self.changes.len());
            self.changes[..kept]
                .iter()
                .for_each(|c| c.apply(&mut names));
        }
        // An entry whose directory's own entry was lost is lost with it.
        let reachable = |path: &Path| {
            path.ancestors()
                .skip(1)
                .all(|dir| names.get(dir) == Some(&Node::Dir))
        };
        let names: BTreeMap<PathBuf, Node> = names
            .iter()
            .filter(|(path, _)| reachable(path))
            .map(|(path, node)| (path.clone(), *node))
            .collect();
        for node in names.values() {
            if let Node::File(ino) = node
                && let Some(inode) = self.inodes.get(ino)
            {
                let data = inode.after_loss(loss, &mut self.rng);
                let fresh = Inode {
                    durable: data.clone(),
                    data,
                    dirty: BTreeSet::new(),
                };
                next.inodes.insert(*ino, fresh);
                next.next_inode = next.next_inode.max(ino + 1);
            }
        }
        next.names = names.clone();
        next.durable_names = names;
        self.after = Some(Arc::new(SimDisk {
            state: Arc::new(Mutex::new(next)),
        }));
    }

    fn change(&mut self, change: Change) {
        change.apply(&mut self.names);
        self.changes.push(change);
    }

    fn file(&self, path: &Path) -> io::Result<u64> {
        match self.names.get(path) {
            Some(Node::File(ino)) => Ok(*ino),
            Some(Node::Dir) => Err(io::Error::other(format!(
                "{} is a directory",
                path.display()
            ))),
            None => Err(not_found(path)),
        }
    }

    fn inode(&mut self, ino: u64) -> io::Result<&mut Inode> {
        self.inodes
            .get_mut(&ino)
            .ok_or_else(|| io::Error::other("stale inode"))
    }

    fn writable(&mut self, ino: u64) -> io::Result<&mut Inode> {
        self.operate(true)?;
        if self.failing.contains(&ino) {
            return Err(io::Error::other("simulated device error"));
        }
        self.inode(ino)
    }
}

impl SimDisk {
    pub(crate) fn new(seed: u64) -> Arc<SimDisk> {
        Arc::new(SimDisk {
            state: Arc::new(Mutex::new(State::new(seed))),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not hide the state from the others.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Cuts the power now; returns the disk as the next boot finds it.
    pub(crate) fn power_loss(&self, loss: Loss) -> Arc<SimDisk> {
        let mut state = self.lock();
        if state.powered {
            state.cut(loss);
        }
        state.after.clone().unwrap_or_else(|| SimDisk::new(0))
    }

    /// Cuts the power just before the `ops`-th next operation that changes the disk.
    pub(crate) fn cut_power_after(&self, ops: u64, loss: Loss) {
        self.lock().cut_after = Some((ops, loss));
    }

    /// Keeps the power on after all.
    pub(crate) fn disarm(&self) {
        self.lock().cut_after = None;
    }

    /// The disk after the power loss, once it happened.
    pub(crate) fn after_power_loss(&self) -> Option<Arc<SimDisk>> {
        self.lock().after.clone()
    }

    /// From now on, writes to the file at `path` fail, as on a failing device.
    pub(crate) fn fail_writes_to(&self, path: &Path) -> io::Result<()> {
        let mut state = self.lock();
        let ino = state.file(path)?;
        state.failing.insert(ino);
        Ok(())
    }

    /// From now on, each file sync takes `time`.
    pub(crate) fn slow_syncs(&self, time: Duration) {
        self.lock().sync_time = time;
    }

    /// From now on, each read of a database page takes `time`.
    pub(crate) fn slow_reads(&self, time: Duration) {
        self.lock().read_time = time;
    }

    fn handle(&self, path: &Path, create: bool, truncate: bool) -> io::Result<SimFile> {
        let mut state = self.lock();
        state.operate(create || truncate)?;
        let ino = match state.file(path) {
            Ok(ino) => ino,
            Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                if state.names.get(disk::parent(path)) != Some(&Node::Dir) {
                    return Err(not_found(disk::parent(path)));
                }
                let ino = state.next_inode;
                state.next_inode += 1;
                state.inodes.insert(ino, Inode::default());
                state.change(Change::Link(path.to_path_buf(), Node::File(ino)));
                ino
            }
            Err(e) => return Err(e),
        };
        if truncate {
            if state.failing.contains(&ino) {
                return Err(io::Error::other("simulated device error"));
            }
            state.inode(ino)?.data.clear();
        }
        Ok(SimFile {
            state: self.state.clone(),
            ino,
        })
    }
}

impl Disk for SimDisk {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.lock();
        state.operate(true)?;
        let mut missing = Vec::new();
        let mut at = Some(dir);
        while let Some(d) = at {
            match state.names.get(d) {
                Some(Node::Dir) => break,
                Some(Node::File(_)) => return Err(io::Error::other("not a directory")),
                None => missing.push(d.to_path_buf()),
            }
            at = d.parent();
        }
        for d in missing.into_iter().rev() {
            state.change(Change::Link(d, Node::Dir));
        }
        Ok(())
    }

    fn make_private(&self, path: &Path) -> io::Result<()> {
        let mut state = self.lock();
        state.operate(false)?;
        match state.names.contains_key(path) {
            true => Ok(()),
            false => Err(not_found(path)),
        }
    }

    fn exists(&self, path: &Path) -> bool {
        let mut state = self.lock();
        state.operate(false).is_ok() && state.names.contains_key(path)
    }

    fn len(&self, path: &Path) -> io::Result<u64> {
        let mut state = self.lock();
        state.operate(false)?;
        let ino = state.file(path)?;
        Ok(state.inode(ino)?.data.len() as u64)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let mut state = self.lock();
        state.operate(false)?;
        let ino = state.file(path)?;
        Ok(state.inode(ino)?.data.clone())
    }

    fn open(&self, path: &Path, truncate: bool) -> io::Result<Box<dyn DiskFile>> {
        Ok(Box::new(self.handle(path, true, truncate)?))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut state = self.lock();
        state.operate(true)?;
        state.file(from)?;
        state.change(Change::Rename(from.to_path_buf(), to.to_path_buf()));
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut state = self.lock();
        state.operate(true)?;
        state.file(path)?;
        state.change(Change::Remove(path.to_path_buf()));
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.lock();
        state.operate(true)?;
        let changes = std::mem::take(&mut state.changes);
        let (now, later): (Vec<Change>, Vec<Change>) =
            changes.into_iter().partition(|c| c.dir() == dir);
        for change in &now {
            change.apply(&mut state.durable_names);
        }
        state.changes = later;
        Ok(())
    }

    fn database(&self, builder: &Builder, path: &Path) -> Result<Database, DatabaseError> {
        builder.create_with_backend(self.handle(path, true, false)?)
    }

    fn read_only_database(&self, path: &Path) -> Result<ReadOnlyDatabase, DatabaseError> {
        Builder::new().open_read_only_with_backend(self.handle(path, false, false)?)
    }
}

/// An open file of the simulated disk: for the journal, and as redb's storage backend.
pub(crate) struct SimFile {
    state: Arc<Mutex<State>>,
    ino: u64,
}

impl std::fmt::Debug for SimFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimFile").field("inode", &self.ino).finish()
    }
}

impl SimFile {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self, offset: u64, buf: &[u8]) -> io::Result<()> {
        let mut state = self.lock();
        let inode = state.writable(self.ino)?;
        let end = offset as usize + buf.len();
        if inode.data.len() < end {
            inode.data.resize(end, 0);
        }
        inode.data[offset as usize..end].copy_from_slice(buf);
        if !buf.is_empty() {
            inode.dirty.extend(offset / PAGE..=(end as u64 - 1) / PAGE);
        }
        Ok(())
    }

    fn sync(&self) -> io::Result<()> {
        let time = self.lock().sync_time;
        std::thread::sleep(time);
        self.lock().writable(self.ino)?.sync();
        Ok(())
    }
}

impl DiskFile for SimFile {
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.write(offset, buf)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.sync()
    }

    fn sync_all(&self) -> io::Result<()> {
        self.sync()
    }
}

impl StorageBackend for SimFile {
    fn len(&self) -> Result<u64, io::Error> {
        let mut state = self.lock();
        state.operate(false)?;
        Ok(state.inode(self.ino)?.data.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        let time = self.lock().read_time;
        std::thread::sleep(time);
        let mut state = self.lock();
        state.operate(false)?;
        let data = &state.inode(self.ino)?.data;
        let end = offset as usize + out.len();
        let source = data
            .get(offset as usize..end)
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end"))?;
        out.copy_from_slice(source);
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        let mut state = self.lock();
        let inode = state.writable(self.ino)?;
        let old = inode.data.len() as u64;
        inode.data.resize(len as usize, 0);
        // The length is part of what a sync makes durable; mark the pages it changed.
        let (low, high) = (old.min(len), old.max(len));
        if low < high {
            inode.dirty.extend(low / PAGE..=(high - 1) / PAGE);
        }
        Ok(())
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        self.sync()
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        SimFile::write(self, offset, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(disk: &SimDisk, path: &str, data: &[u8], sync: bool) {
        let file = disk.open(Path::new(path), true).unwrap();
        file.write_all_at(data, 0).unwrap();
        if sync {
            file.sync_data().unwrap();
        }
    }

    #[test]
    fn unsynced_data_and_entries_are_lost() {
        let disk = SimDisk::new(1);
        disk.create_dir_all(Path::new("/d")).unwrap();
        disk.sync_dir(Path::new("/")).unwrap();
        write(&disk, "/d/synced", b"kept", true);
        write(&disk, "/d/named-only", b"lost", false);
        disk.sync_dir(Path::new("/d")).unwrap();
        write(&disk, "/d/unnamed", b"synced data, unsynced name", true);
        disk.rename(Path::new("/d/synced"), Path::new("/d/moved"))
            .unwrap();

        let after = disk.power_loss(Loss::Unsynced);
        assert!(
            disk.read(Path::new("/d/synced")).is_err(),
            "the old disk is off"
        );
        assert_eq!(after.read(Path::new("/d/synced")).unwrap(), b"kept");
        assert!(!after.exists(Path::new("/d/moved")), "rename not synced");
        assert_eq!(after.read(Path::new("/d/named-only")).unwrap(), b"");
        assert!(!after.exists(Path::new("/d/unnamed")));
    }

    #[test]
    fn a_directory_entry_needs_its_parent_synced() {
        let disk = SimDisk::new(2);
        disk.create_dir_all(Path::new("/d")).unwrap();
        write(&disk, "/d/f", b"data", true);
        disk.sync_dir(Path::new("/d")).unwrap();
        let after = disk.power_loss(Loss::Unsynced);
        assert!(!after.exists(Path::new("/d")));
        assert!(!after.exists(Path::new("/d/f")));
    }

    #[test]
    fn a_harsh_loss_keeps_whole_pages_of_unsynced_data() {
        for seed in 0..20 {
            let disk = SimDisk::new(seed);
            let file = disk.open(Path::new("/f"), true).unwrap();
            disk.sync_dir(Path::new("/")).unwrap();
            file.write_all_at(&[1; 3 * PAGE as usize], 0).unwrap();
            file.sync_data().unwrap();
            file.write_all_at(&[2; 3 * PAGE as usize], 0).unwrap();
            let after = disk.power_loss(Loss::Harsh).read(Path::new("/f")).unwrap();
            assert_eq!(after.len(), 3 * PAGE as usize);
            for page in after.chunks(PAGE as usize) {
                assert!(page.iter().all(|&b| b == page[0]), "pages are whole");
            }
        }
    }

    #[test]
    fn the_power_goes_at_the_chosen_operation() {
        let disk = SimDisk::new(3);
        disk.cut_power_after(2, Loss::Unsynced);
        let file = disk.open(Path::new("/f"), true).unwrap(); // 1
        file.write_all_at(b"x", 0).unwrap(); // 2
        assert!(file.sync_data().is_err(), "third operation: power is off");
        let after = disk.after_power_loss().unwrap();
        assert!(!after.exists(Path::new("/f")));
    }
}
