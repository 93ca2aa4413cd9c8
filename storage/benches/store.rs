//! Storage benchmark: durable creates/s with p50/p99 latency at 1, 8 and 64 concurrent
//! writers (1 KiB values) for the embedded backend, the etcd backend and raw etcd through the
//! same client, side by side; then watch delivery latency (commit → watcher) at 1,000
//! events/s. Run: `cargo bench -p storage --features etcd --bench store`
//! (`-- --quick` for a shorter run). Needs `etcd` on the PATH (hack/setup.sh).

// A measurement harness: a failed operation invalidates the run, so it panics.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use etcd_client::{Client, Compare, CompareOp, Txn, TxnOp};
use futures::StreamExt;
use storage::etcd_server::EtcdServer;
use storage::{EtcdStore, RedbConfig, RedbStore, Store};

type CreateFn =
    Arc<dyn Fn(String, Bytes) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Latencies and wall time of one or more runs.
struct Run {
    latencies: Vec<Duration>,
    elapsed: Duration,
}

struct Figures {
    per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
}

impl Run {
    fn merge(mut self, other: Run) -> Run {
        self.latencies.extend(other.latencies);
        self.elapsed += other.elapsed;
        self
    }

    fn figures(mut self) -> Figures {
        self.latencies.sort_unstable();
        Figures {
            per_sec: self.latencies.len() as f64 / self.elapsed.as_secs_f64(),
            p50_ms: percentile(&self.latencies, 0.50),
            p99_ms: percentile(&self.latencies, 0.99),
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

/// `writers` tasks each create keys back to back until `total` creates are done.
async fn creates(create: CreateFn, prefix: &str, writers: usize, total: usize) -> Run {
    let value = Bytes::from(vec![b'v'; 1024]);
    let per_writer = total / writers;
    let start = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let (create, value, prefix) = (create.clone(), value.clone(), prefix.to_string());
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(per_writer);
                for i in 0..per_writer {
                    let t = Instant::now();
                    create(format!("{prefix}{w:03}/{i:07}"), value.clone()).await;
                    lat.push(t.elapsed());
                }
                lat
            })
        })
        .collect();
    let mut lat = Vec::with_capacity(total);
    for t in tasks {
        lat.extend(t.await.expect("writer task"));
    }
    Run {
        latencies: lat,
        elapsed: start.elapsed(),
    }
}

fn store_create(store: Arc<dyn Store>) -> CreateFn {
    Arc::new(move |key, value| {
        let store = store.clone();
        Box::pin(async move {
            store.create(&key, value).await.expect("create");
        })
    })
}

/// The same guarded create the etcd backend sends, issued directly with etcd-client.
fn raw_etcd_create(client: Client) -> CreateFn {
    Arc::new(move |key, value| {
        let mut kv = client.kv_client();
        Box::pin(async move {
            let txn = Txn::new()
                .when([Compare::create_revision(key.as_str(), CompareOp::Equal, 0)])
                .and_then([TxnOp::put(key.as_str(), value.to_vec(), None)])
                .or_else([TxnOp::get(key.as_str(), None)]);
            let resp = kv.txn(txn).await.expect("txn");
            assert!(resp.succeeded(), "key existed");
        })
    })
}

struct Delivery {
    /// From the write's acknowledgement to the watcher (0 when the event came first).
    ack_p50: f64,
    ack_p99: f64,
    /// From issuing the write (so including its commit) to the watcher.
    issue_p50: f64,
    issue_p99: f64,
    lost: usize,
}

/// Latency of watch delivery, with creates paced at `rate` per second for `seconds`.
async fn watch_delivery(store: Arc<dyn Store>, prefix: &str, rate: u64, seconds: u64) -> Delivery {
    let acked: Arc<Mutex<HashMap<String, (Instant, Instant)>>> = Arc::default();
    let received: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let total = (rate * seconds) as usize;
    let from = store.current_revision().await.expect("revision");
    let mut watch = store.watch(prefix, from).await.expect("watch");
    let watcher = {
        let received = received.clone();
        tokio::spawn(async move {
            while received.lock().expect("lock").len() < total {
                let Some(Ok(r)) = watch.next().await else {
                    break;
                };
                let now = Instant::now();
                let mut got = received.lock().expect("lock");
                got.extend(r.events.into_iter().map(|e| (e.kv.key, now)));
            }
        })
    };
    let value = Bytes::from(vec![b'v'; 1024]);
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    let mut writes = Vec::new();
    for i in 0..total {
        tick.tick().await;
        let (store, acked, value, key) = (
            store.clone(),
            acked.clone(),
            value.clone(),
            format!("{prefix}{i:07}"),
        );
        writes.push(tokio::spawn(async move {
            let issued = Instant::now();
            store.create(&key, value).await.expect("create");
            acked
                .lock()
                .expect("lock")
                .insert(key, (issued, Instant::now()));
        }));
    }
    for w in writes {
        w.await.expect("write");
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), watcher).await;
    let acked = acked.lock().expect("lock");
    let received = received.lock().expect("lock");
    let latencies = |pick: fn(&(Instant, Instant)) -> Instant| {
        let mut lat: Vec<Duration> = received
            .iter()
            .filter_map(|(k, at)| acked.get(k).map(|t| at.saturating_duration_since(pick(t))))
            .collect();
        lat.sort_unstable();
        lat
    };
    let (from_ack, from_issue) = (latencies(|t| t.1), latencies(|t| t.0));
    Delivery {
        ack_p50: percentile(&from_ack, 0.5),
        ack_p99: percentile(&from_ack, 0.99),
        issue_p50: percentile(&from_issue, 0.5),
        issue_p99: percentile(&from_issue, 0.99),
        lost: total - received.len(),
    }
}

fn redb_config() -> RedbConfig {
    RedbConfig::default()
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let scale = if quick { 4 } else { 1 };
    let etcd = EtcdServer::start().expect("start etcd");
    let client = Client::connect([etcd.endpoint()], None)
        .await
        .expect("connect etcd");
    let etcd_store: Arc<dyn Store> = Arc::new(
        EtcdStore::connect(&[etcd.endpoint()])
            .await
            .expect("etcd store"),
    );
    let redb_dir = tempfile::tempdir_in(std::env::current_dir().expect("cwd")).expect("tempdir");
    let redb: Arc<dyn Store> =
        Arc::new(RedbStore::open(redb_dir.path(), redb_config()).expect("redb"));

    // Warm etcd up first, so the raw column (measured first) is not the cold one.
    let _ = creates(
        raw_etcd_create(client.clone()),
        "/bench/warmup/",
        8,
        4_000 / scale,
    )
    .await;
    println!("durable creates, 1 KiB values (fresh keys), same machine, same run");
    println!(
        "{:<8} {:>12} {:>9} {:>9} | {:>12} {:>9} {:>9} {:>8} | {:>12} {:>9} {:>9} {:>8}",
        "writers",
        "raw etcd/s",
        "p50 ms",
        "p99 ms",
        "etcd-bk/s",
        "p50 ms",
        "p99 ms",
        "vs raw",
        "redb/s",
        "p50 ms",
        "p99 ms",
        "vs raw"
    );
    for (writers, total) in [(1usize, 3_000usize), (8, 12_000), (64, 40_000)] {
        let total = total / scale;
        // Raw etcd and the etcd backend share one etcd whose database grows as they run:
        // alternate them (A B B A) so that drift falls on both equally.
        let half = total / 2;
        let (raw_create, backend_create) = (
            raw_etcd_create(client.clone()),
            store_create(etcd_store.clone()),
        );
        let raw_a = creates(
            raw_create.clone(),
            &format!("/bench/raw/{writers}/a/"),
            writers,
            half,
        )
        .await;
        let backend_a = creates(
            backend_create.clone(),
            &format!("/bench/etcd/{writers}/a/"),
            writers,
            half,
        )
        .await;
        let backend_b = creates(
            backend_create,
            &format!("/bench/etcd/{writers}/b/"),
            writers,
            half,
        )
        .await;
        let raw_b = creates(
            raw_create,
            &format!("/bench/raw/{writers}/b/"),
            writers,
            half,
        )
        .await;
        let raw = raw_a.merge(raw_b).figures();
        let backend = backend_a.merge(backend_b).figures();
        let embedded = creates(
            store_create(redb.clone()),
            &format!("/bench/redb/{writers}/"),
            writers,
            total,
        )
        .await
        .figures();
        println!(
            "{:<8} {:>12.0} {:>9.2} {:>9.2} | {:>12.0} {:>9.2} {:>9.2} {:>7.2}x | {:>12.0} {:>9.2} {:>9.2} {:>7.2}x",
            writers,
            raw.per_sec,
            raw.p50_ms,
            raw.p99_ms,
            backend.per_sec,
            backend.p50_ms,
            backend.p99_ms,
            backend.per_sec / raw.per_sec,
            embedded.per_sec,
            embedded.p50_ms,
            embedded.p99_ms,
            embedded.per_sec / raw.per_sec,
        );
    }

    let seconds = if quick { 2 } else { 5 };
    println!();
    println!("watch delivery, 1,000 creates/s for {seconds} s (ms)");
    println!(
        "{:<16} {:>12} {:>12} {:>14} {:>14} {:>6}",
        "", "ack p50", "ack p99", "issue p50", "issue p99", "lost"
    );
    for (name, store) in [
        ("etcd backend", etcd_store.clone()),
        ("redb (embedded)", redb.clone()),
    ] {
        let d = watch_delivery(
            store,
            &format!("/bench/watch/{}/", name.len()),
            1000,
            seconds,
        )
        .await;
        println!(
            "{name:<16} {:>12.3} {:>12.3} {:>14.3} {:>14.3} {:>6}",
            d.ack_p50, d.ack_p99, d.issue_p50, d.issue_p99, d.lost
        );
    }
}
