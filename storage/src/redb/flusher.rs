//! Background write-back of the database file.
//!
//! Between checkpoints redb commits without syncing, so its dirty pages pile up in the page
//! cache and the checkpoint's fsync would have to write them all while every writer waits
//! (hundreds of milliseconds under load). This thread syncs the file every so often, so a
//! checkpoint only has the last moment's pages left to write. It changes only *when* pages
//! reach the disk, which the kernel's own write-back does anyway: redb's crash recovery and the
//! journal already cover any such moment.

use std::fs::File;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

pub(crate) struct Flusher {
    stop: Option<mpsc::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl Flusher {
    pub(crate) fn start(path: PathBuf, every: Duration) -> Flusher {
        let (stop, stopped) = mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("storage-flusher".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    // A read-only handle is enough: fdatasync flushes the file, not the handle.
                    if let Err(e) = File::open(&path).and_then(|f| f.sync_data()) {
                        tracing::warn!(error = %e, path = %path.display(), "background flush failed");
                    }
                }
            })
            .ok();
        Flusher {
            stop: Some(stop),
            handle,
        }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
