//! Where events go: a dedicated writer thread appends them, one line each, to stdout or to
//! the rotated log file. Requests hand it lines through a queue bounded in bytes (8 MiB);
//! when it is full, a request waits for room (upstream's blocking mode: nothing is dropped,
//! overload shows as latency instead). The writer flushes whenever the queue runs empty.

use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, mpsc};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::rotate::{RotatingFile, Rotation};

/// Bytes of lines queued at most before requests wait.
const QUEUE_BYTES: usize = 8 * 1024 * 1024;

enum Message {
    /// A line and the queue room it holds until written.
    Line(Vec<u8>, Option<OwnedSemaphorePermit>),
    /// Written and flushed everything before this.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// Where the writer thread puts lines.
trait Output: Send {
    fn write_line(&mut self, line: &[u8]) -> io::Result<()>;
    fn flush(&mut self) -> io::Result<()>;
}

impl Output for RotatingFile {
    fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        RotatingFile::write_line(self, line)
    }

    fn flush(&mut self) -> io::Result<()> {
        RotatingFile::flush(self)
    }
}

struct Stdout(io::BufWriter<io::Stdout>);

impl Output for Stdout {
    fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        self.0.write_all(line)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// The queue to the writer thread; cheap to clone.
#[derive(Clone)]
pub struct Sink {
    queue: mpsc::Sender<Message>,
    room: Arc<Semaphore>,
}

impl Sink {
    /// Lines to standard output (`--audit-log -`).
    pub fn stdout() -> io::Result<Sink> {
        Sink::start(Stdout(io::BufWriter::new(io::stdout())), QUEUE_BYTES)
    }

    /// Lines to the file at `path`, rotated as `rotation` says.
    pub fn file(path: &Path, rotation: Rotation) -> io::Result<Sink> {
        Sink::start(RotatingFile::open(path, rotation)?, QUEUE_BYTES)
    }

    fn start(mut output: impl Output + 'static, queue_bytes: usize) -> io::Result<Sink> {
        let (queue, lines) = mpsc::channel::<Message>();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || {
                let mut failing = false;
                let mut report = |result: io::Result<()>| match (result, failing) {
                    (Err(e), false) => {
                        failing = true;
                        tracing::error!(error = %e, "writing the audit log failed");
                    }
                    (Ok(()), true) => {
                        failing = false;
                        tracing::info!("writing the audit log works again");
                    }
                    _ => {}
                };
                // Blocks for the next message; then takes whatever else is queued.
                while let Ok(first) = lines.recv() {
                    let mut next = Some(first);
                    while let Some(message) = next.take() {
                        match message {
                            Message::Line(line, room) => {
                                report(output.write_line(&line));
                                drop(room);
                            }
                            Message::Flush(done) => {
                                report(output.flush());
                                let _ = done.send(());
                            }
                        }
                        next = lines.try_recv().ok();
                    }
                    report(output.flush());
                }
                report(output.flush());
            })?;
        Ok(Sink {
            queue,
            room: Arc::new(Semaphore::new(queue_bytes)),
        })
    }

    /// The queue room a line of `len` bytes takes (a line larger than the queue takes it all).
    fn permits(&self, len: usize) -> u32 {
        u32::try_from(len.clamp(1, QUEUE_BYTES)).unwrap_or(u32::MAX)
    }

    /// Queues `line`, waiting while the queue is full.
    pub async fn send(&self, line: Vec<u8>) {
        let room = self.room_for(line.len()).await;
        self.push(line, room);
    }

    /// Room in the queue for a line of `len` bytes, once there is.
    pub fn room_for(
        &self,
        len: usize,
    ) -> impl Future<Output = Option<OwnedSemaphorePermit>> + Send + 'static {
        let (room, permits) = (self.room.clone(), self.permits(len));
        async move { room.acquire_many_owned(permits).await.ok() }
    }

    /// Queues `line` into `room` taken for it.
    pub fn push(&self, line: Vec<u8>, room: Option<OwnedSemaphorePermit>) {
        let _ = self.queue.send(Message::Line(line, room));
    }

    /// Queues `line` from where nothing can wait (a response dropped before its end): at
    /// once if there is room, else from a task that waits for it. Never dropped.
    pub fn send_later(&self, line: Vec<u8>) {
        let permits = self.permits(line.len());
        match self.room.clone().try_acquire_many_owned(permits) {
            Ok(room) => self.push(line, Some(room)),
            Err(_) => match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    let sink = self.clone();
                    drop(runtime.spawn(async move { sink.send(line).await }));
                }
                Err(_) => self.push(line, None),
            },
        }
    }

    /// Resolves once everything queued so far is written and flushed.
    pub async fn flush(&self) {
        let (done, written) = tokio::sync::oneshot::channel();
        if self.queue.send(Message::Flush(done)).is_ok() {
            let _ = written.await;
        }
    }
}

/// A log kept in memory, for tests.
#[cfg(test)]
#[derive(Clone, Default)]
pub struct Memory(Arc<std::sync::Mutex<Vec<u8>>>);

#[cfg(test)]
impl Output for Memory {
    fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        self.0.lock().unwrap().extend_from_slice(line);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
impl Memory {
    pub fn sink() -> (Sink, Memory) {
        let memory = Memory::default();
        (Sink::start(memory.clone(), QUEUE_BYTES).unwrap(), memory)
    }

    /// The events written so far, parsed.
    pub fn events(&self) -> Vec<serde_json::Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// An output that writes only when let.
    struct Gated {
        gate: mpsc::Receiver<()>,
        written: Memory,
    }

    impl Output for Gated {
        fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
            let _ = self.gate.recv();
            self.written.write_line(line)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_full_queue_makes_senders_wait_and_drops_nothing() {
        let (open, gate) = mpsc::channel();
        let written = Memory::default();
        let output = Gated {
            gate,
            written: written.clone(),
        };
        let sink = Sink::start(output, 16).unwrap();
        // The writer holds the first line while it waits; the second fills the queue.
        sink.send(b"{\"n\":1}\n".to_vec()).await;
        sink.send(b"{\"n\":2}\n".to_vec()).await;
        let third = tokio::spawn({
            let sink = sink.clone();
            async move { sink.send(b"{\"n\":3}\n".to_vec()).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!third.is_finished(), "the queue is full: the sender waits");
        for _ in 0..3 {
            open.send(()).unwrap();
        }
        third.await.unwrap();
        sink.flush().await;
        // A line sent from where nothing can wait, while the queue is full, goes out later.
        sink.send(b"{\"n\":4}\n".to_vec()).await;
        sink.send(b"{\"n\":5}\n".to_vec()).await;
        sink.send_later(b"{\"n\":6}\n".to_vec());
        for _ in 0..3 {
            open.send(()).unwrap();
        }
        let numbers = || -> Vec<i64> {
            written
                .events()
                .iter()
                .map(|e| e["n"].as_i64().unwrap())
                .collect()
        };
        for _ in 0..100 {
            sink.flush().await;
            if numbers().len() == 6 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(numbers(), [1, 2, 3, 4, 5, 6]);
    }

    #[tokio::test]
    async fn lines_are_written_in_order() {
        let (sink, memory) = Memory::sink();
        for n in 0..100 {
            sink.send(format!("{{\"n\":{n}}}\n").into_bytes()).await;
        }
        sink.flush().await;
        let numbers: Vec<i64> = memory
            .events()
            .iter()
            .map(|e| e["n"].as_i64().unwrap())
            .collect();
        assert_eq!(numbers, (0..100).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn lines_reach_the_rotated_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let sink = Sink::file(&path, Rotation::default()).unwrap();
        sink.send(b"{}\n".to_vec()).await;
        sink.flush().await;
        assert_eq!(std::fs::read(&path).unwrap(), b"{}\n");
    }
}
