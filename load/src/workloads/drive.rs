//! Many clients at once: each takes the next operation until all are done, and what they
//! measured (latencies, response statuses) is merged.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use hyper::StatusCode;

use crate::client::{Conn, Error};
use crate::stats::Latencies;

/// Counts of response statuses, printed as `200×N 409×M`.
#[derive(Default)]
pub(super) struct Statuses(pub BTreeMap<u16, usize>);

impl Statuses {
    pub fn add(&mut self, status: StatusCode) {
        *self.0.entry(status.as_u16()).or_default() += 1;
    }
    fn merge(&mut self, other: Statuses) {
        for (code, n) in other.0 {
            *self.0.entry(code).or_default() += n;
        }
    }
    pub fn ok(&self) -> usize {
        self.0
            .iter()
            .filter(|(c, _)| (200..300).contains(*c))
            .map(|(_, n)| n)
            .sum()
    }
}

impl std::fmt::Display for Statuses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(c, n)| format!("{c}x{n}")).collect();
        f.write_str(&parts.join(" "))
    }
}

/// The latencies and statuses of every client task, merged.
async fn gather(
    tasks: Vec<tokio::task::JoinHandle<Result<(Latencies, Statuses), Error>>>,
) -> Result<(Latencies, Statuses), Error> {
    let (mut lat, mut statuses) = (Latencies::default(), Statuses::default());
    for task in tasks {
        let (l, s) = task.await.map_err(|e| e.to_string())??;
        lat.extend(l);
        statuses.merge(s);
    }
    Ok((lat, statuses))
}

/// One client connection's state while it runs operations.
pub(super) struct Worker {
    pub conn: Conn,
    pub rng: XorShift,
    pub lat: Latencies,
    pub statuses: Statuses,
}

/// Runs operations `0..count` over `conns`, each client taking the next index and calling
/// `op` with its worker (handed back when done); merges what the workers measured. `seed`
/// gives each worker its own sequence of picks.
pub(super) async fn drive<F, Fut>(
    conns: Vec<Conn>,
    count: usize,
    seed: u64,
    op: F,
) -> Result<(Latencies, Statuses), Error>
where
    F: Fn(Worker, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Worker, Error>> + Send + 'static,
{
    drive_while(conns, seed, move |i| i < count, op).await
}

/// As `drive`, but every client keeps going until `until`, however many operations that is.
pub(super) async fn drive_until<F, Fut>(
    conns: Vec<Conn>,
    until: Instant,
    seed: u64,
    op: F,
) -> Result<(Latencies, Statuses), Error>
where
    F: Fn(Worker, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Worker, Error>> + Send + 'static,
{
    drive_while(conns, seed, move |_| Instant::now() < until, op).await
}

/// Each client takes the next index while `more(index)` holds.
async fn drive_while<M, F, Fut>(
    conns: Vec<Conn>,
    seed: u64,
    more: M,
    op: F,
) -> Result<(Latencies, Statuses), Error>
where
    M: Fn(usize) -> bool + Send + Sync + 'static,
    F: Fn(Worker, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Worker, Error>> + Send + 'static,
{
    let (op, more) = (Arc::new(op), Arc::new(more));
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for (n, conn) in conns.into_iter().enumerate() {
        let (op, more, next) = (op.clone(), more.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut worker = Worker {
                conn,
                rng: XorShift(seed ^ (n as u64 + 1)),
                lat: Latencies::default(),
                statuses: Statuses::default(),
            };
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if !more(i) {
                    break;
                }
                worker = op(worker, i).await?;
            }
            Ok::<_, Error>((worker.lat, worker.statuses))
        }));
    }
    gather(tasks).await
}

/// A small deterministic generator for picking objects.
pub(super) struct XorShift(u64);

impl XorShift {
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}
