//! What the embedded store's files take on disk holding COUNT ConfigMaps as the API server
//! stores them (1 KiB payloads; `x`s as oxshift-load writes them, or incompressible random
//! text with PAYLOAD=random): after the creates (the log still holds every value), after a
//! compaction to the latest revision and its sweep, and after redb's own compaction of the
//! file; with the tables' page statistics each time.
//!
//!   cargo run --release -p storage --example disk_usage -- DIR [COUNT]

// A measurement harness: a failed operation invalidates the run, so it panics.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use rand::Rng;
use redb::{ReadableDatabase, ReadableTableMetadata, TableDefinition};
use storage::{RedbConfig, RedbStore, Store};

const CLIENTS: usize = 64;

fn value(i: usize, random: bool) -> Bytes {
    let mut rng = rand::rng();
    let payload: String = match random {
        true => (0..1024)
            .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)]))
            .collect(),
        false => "x".repeat(1024),
    };
    let uid = format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        rng.random::<u32>(),
        rng.random::<u16>(),
        rng.random_range(0..0x1000),
        rng.random_range(0..0x1000),
        rng.random_range(0..1u64 << 48)
    );
    Bytes::from(format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"c-{i}","namespace":"load-create-1796495503428","uid":"{uid}","creationTimestamp":"2026-12-05T18:31:43Z","managedFields":[{{"manager":"unknown","operation":"Update","apiVersion":"v1","time":"2026-12-05T18:31:43Z","fieldsType":"FieldsV1","fieldsV1":{{"f:data":{{"f:payload":{{}}}}}}}}]}},"data":{{"payload":"{payload}"}}}}"#
    ))
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1048576.0
}

fn files(dir: &Path, label: &str) {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        total += meta.blocks() * 512;
        lines.push(format!(
            "  {:22} {:8.1} MiB allocated, {:8.1} MiB apparent",
            entry.file_name().to_string_lossy(),
            mib(meta.blocks() * 512),
            mib(meta.len())
        ));
    }
    lines.sort();
    println!("{label}: {:.1} MiB allocated", mib(total));
    for line in lines {
        println!("{line}");
    }
}

/// The tables' page statistics, read with redb directly (the store must be closed).
fn tables(db_path: &Path) {
    let db = redb::Database::open(db_path).unwrap();
    let rtx = db.begin_read().unwrap();
    for name in ["oxshift.kv", "oxshift.log"] {
        let stats = match name {
            "oxshift.kv" => rtx
                .open_table(TableDefinition::<&str, &[u8]>::new(name))
                .unwrap()
                .stats(),
            _ => rtx
                .open_table(TableDefinition::<(u64, u32), &[u8]>::new(name))
                .unwrap()
                .stats(),
        }
        .unwrap();
        println!(
            "  table {name:12} {:8.1} MiB stored in {} leaf + {} branch pages (of 4 KiB: {:.1} MiB), {:.1} MiB fragmented",
            mib(stats.stored_bytes()),
            stats.leaf_pages(),
            stats.branch_pages(),
            mib((stats.leaf_pages() + stats.branch_pages()) * 4096),
            mib(stats.fragmented_bytes())
        );
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: disk_usage DIR [COUNT]");
    let count: usize = args.next().map_or(100_000, |k| k.parse().expect("COUNT"));
    let random = std::env::var("PAYLOAD").is_ok_and(|p| p == "random");
    let dir = Path::new(&dir);
    let db_path = dir.join(storage::DB_FILE);
    let store = Arc::new(RedbStore::open(dir, RedbConfig::default()).unwrap());
    let t = Instant::now();
    let mut payload = 0;
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut bytes = 0;
            for i in (client..count).step_by(CLIENTS) {
                let key = format!("/registry/core/configmaps/load-create-1796495503428/c-{i}");
                let v = value(i, random);
                bytes += v.len();
                store.create(&key, v).await.unwrap();
            }
            bytes
        }));
    }
    for task in tasks {
        payload += task.await.unwrap();
    }
    println!(
        "{count} creates in {:.1} s; values {:.1} MiB ({} payload)",
        t.elapsed().as_secs_f64(),
        mib(payload as u64),
        if random { "random" } else { "x" }
    );
    store.checkpoint().await.unwrap();
    files(dir, "after the creates");
    let revision = store.current_revision().await.unwrap();
    store.compact(revision).await.unwrap();
    store.checkpoint().await.unwrap();
    files(
        dir,
        "after a compaction to the latest revision and its sweep",
    );
    drop(store);
    tables(&db_path);
    let t = Instant::now();
    let mut db = redb::Database::open(&db_path).unwrap();
    let compacted = db.compact().unwrap();
    drop(db);
    files(
        dir,
        &format!(
            "after redb's compaction ({compacted}, {:.1} s)",
            t.elapsed().as_secs_f64()
        ),
    );
    tables(&db_path);
    let store = RedbStore::open(dir, RedbConfig::default()).unwrap();
    let n = store
        .count("/registry/core/configmaps/")
        .await
        .unwrap_or_default();
    println!("reopened: {n} objects");
}
