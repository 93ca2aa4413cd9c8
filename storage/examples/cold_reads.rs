//! How long a read of the embedded store holds its thread when the data is not in memory:
//! fills a store with KEYS values of 1 KiB (once), reopens it with an empty page cache (as
//! root, through /proc/sys/vm/drop_caches), and times gets, watch starts and a list, each as
//! the caller's thread sees it; then the same warm, and what moving a call to the blocking pool
//! costs.
//!
//!   cargo run --release -p storage --example cold_reads -- DIR [KEYS]

// A measurement harness: a failed operation invalidates the run, so it panics.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::Rng;
use storage::{ListOptions, RedbConfig, RedbStore, Store, Txn, TxnOp};

const SAMPLES: usize = 2000;

fn summary(mut times: Vec<Duration>) -> String {
    times.sort_unstable();
    let at = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms, total {:.0} ms",
        ms(at(0.5)),
        ms(at(0.99)),
        ms(times[times.len() - 1]),
        ms(times.iter().sum())
    )
}

fn key(i: usize) -> String {
    format!("/registry/cold/{i:08}")
}

fn drop_page_cache() -> bool {
    std::process::Command::new("sync").status().is_ok()
        && std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok()
}

async fn fill(store: &RedbStore, keys: usize) {
    let value = Bytes::from(vec![b'v'; 1024]);
    for start in (0..keys).step_by(100) {
        let ops = (start..(start + 100).min(keys))
            .map(|i| TxnOp::Put {
                key: key(i),
                value: value.clone(),
            })
            .collect();
        store
            .txn(Txn {
                compares: vec![],
                ops,
            })
            .await
            .unwrap();
    }
}

async fn measure(store: &RedbStore, keys: usize, label: &str) {
    let mut rng = rand::rng();
    let mut gets = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let k = key(rng.random_range(0..keys));
        let t = Instant::now();
        store.get(&k, None).await.unwrap();
        gets.push(t.elapsed());
    }
    println!("{label} get:         {}", summary(gets));
    let mut watches = Vec::with_capacity(100);
    for _ in 0..100 {
        let prefix = key(rng.random_range(0..keys));
        let t = Instant::now();
        let w = store.watch(&prefix, 0).await.unwrap();
        watches.push(t.elapsed());
        drop(w);
    }
    println!("{label} watch start: {}", summary(watches));
    let t = Instant::now();
    let n = store
        .list("/registry/cold/", ListOptions::default())
        .await
        .unwrap()
        .kvs
        .len();
    println!(
        "{label} list of {n}: {:.0} ms (on the blocking pool)",
        t.elapsed().as_secs_f64() * 1e3
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: cold_reads DIR [KEYS]");
    let keys: usize = args.next().map_or(200_000, |k| k.parse().expect("KEYS"));
    {
        let store = RedbStore::open(&dir, RedbConfig::default()).unwrap();
        if store.get(&key(keys - 1), None).await.unwrap().0.is_none() {
            let t = Instant::now();
            fill(&store, keys).await;
            println!("filled {keys} keys in {:.1} s", t.elapsed().as_secs_f64());
        }
    }
    let cold = drop_page_cache();
    if !cold {
        println!("(cannot drop the page cache: not root? the \"cold\" figures are warm)");
    }
    let store = RedbStore::open(&dir, RedbConfig::default()).unwrap();
    measure(&store, keys, "cold").await;
    measure(&store, keys, "warm").await;
    let mut hops = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let t = Instant::now();
        tokio::task::spawn_blocking(|| ()).await.unwrap();
        hops.push(t.elapsed());
    }
    println!("spawn_blocking round trip: {}", summary(hops));
}
