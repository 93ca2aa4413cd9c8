//! Crash safety of the embedded backend: a child process writes with many concurrent writers
//! and prints every acknowledged write; it is killed with SIGKILL at a random moment; the
//! store is reopened and must hold every acknowledged write, contiguous revisions and only
//! whole records. The child is this test binary itself, re-run on its ignored helper test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use rand::Rng;
use storage::*;

const CHILD_DIR: &str = "OXSHIFT_CRASH_CHILD_DIR";
const WRITERS: usize = 16;
const TRIALS: usize = 20;
/// Acknowledged creates to wait for before the kill may come: enough to check something.
const GOING: usize = 20;

/// Tiny journal and frequent checkpoints, so that kills also land in rotations and checkpoints.
fn config() -> RedbConfig {
    RedbConfig {
        journal_bytes: 64 << 10,
        freeze_interval: Duration::from_millis(30),
        cache_bytes: 16 << 20,
        watch_buffer: 64,
        ..RedbConfig::default()
    }
}

fn value_for(key: &str, n: u64) -> Bytes {
    // Variable sizes so records straddle pages; the content names its key for checking.
    let pad = "x".repeat((n as usize * 37) % 700);
    Bytes::from(format!("{key}|{n}|{pad}"))
}

fn parse_value(v: &[u8]) -> (String, u64) {
    let s = std::str::from_utf8(v).expect("value is UTF-8");
    let mut parts = s.splitn(3, '|');
    let key = parts.next().unwrap().to_string();
    let n = parts.next().expect("whole value").parse().expect("counter");
    let pad = parts.next().expect("whole value");
    assert_eq!(pad.len(), (n as usize * 37) % 700, "value cut short: {s:?}");
    (key, n)
}

#[test]
#[ignore = "child process of crash_safety_under_kill_9"]
fn crash_child_writer() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let store = Arc::new(RedbStore::open(&dir, config()).unwrap());
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    let counter = format!("/crash/counter/{w:02}");
                    let mut counter_rev = 0;
                    for i in 0u64.. {
                        let key = format!("/crash/items/{w:02}/{i:06}");
                        let kv = store.create(&key, value_for(&key, i)).await.unwrap();
                        println!("ACK create {key} {}", kv.mod_revision);
                        if i % 3 == 0 {
                            let kv = if counter_rev == 0 {
                                store
                                    .create(&counter, value_for(&counter, i))
                                    .await
                                    .unwrap()
                            } else {
                                store
                                    .update(&counter, value_for(&counter, i), counter_rev)
                                    .await
                                    .unwrap()
                            };
                            counter_rev = kv.mod_revision;
                            println!("ACK counter {counter} {i}");
                        }
                        if i % 50 == 49 {
                            let old = format!("/crash/items/{w:02}/{:06}", i - 40);
                            store.delete(&old, None).await.unwrap();
                            println!("ACK delete {old} 0");
                        }
                    }
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(writers);
    });
}

#[derive(Default)]
struct Acked {
    created: BTreeMap<String, Revision>,
    deleted: Vec<String>,
    counters: BTreeMap<String, u64>,
    /// The child's output has ended.
    ended: bool,
}

/// Whether the writer of `key` (`/crash/items/WW/NNNNNN`) had reached the create that is
/// followed by the delete of `key`.
fn delete_was_in_flight(acked: &Acked, key: &str) -> bool {
    let Some((prefix, n)) = key.rsplit_once('/') else {
        return false;
    };
    let n: u64 = n.parse().unwrap_or(0);
    n % 50 == 9
        && acked
            .created
            .contains_key(&format!("{prefix}/{:06}", n + 40))
}

fn run_trial(trial: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child_writer",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_DIR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let acked = Arc::new((Mutex::new(Acked::default()), Condvar::new()));
    let reader = {
        let acked = acked.clone();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let parts: Vec<&str> = line.split(' ').collect();
                let mut a = acked.0.lock().unwrap();
                match parts.as_slice() {
                    ["ACK", "create", key, rev] => {
                        a.created.insert(key.to_string(), rev.parse().unwrap());
                        acked.1.notify_all();
                    }
                    ["ACK", "delete", key, _] => a.deleted.push(key.to_string()),
                    ["ACK", "counter", key, n] => {
                        a.counters.insert(key.to_string(), n.parse().unwrap());
                    }
                    _ => {}
                }
            }
            // Whoever waits for more must not wait in vain.
            acked.0.lock().unwrap().ended = true;
            acked.1.notify_all();
        })
    };
    // Once it is going (however long its start takes), kill it at a random moment.
    let going = {
        let (acked, _) = acked
            .1
            .wait_timeout_while(acked.0.lock().unwrap(), Duration::from_secs(60), |a| {
                a.created.len() < GOING && !a.ended
            })
            .unwrap();
        acked.created.len()
    };
    if going < GOING {
        let _ = child.kill();
        panic!("trial {trial}: the child did not get going: {going} creates acknowledged");
    }
    let mut rng = rand::rng();
    std::thread::sleep(Duration::from_millis(rng.random_range(0..550)));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap();
    let acked = std::mem::take(&mut *acked.0.lock().unwrap());

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = RedbStore::open(dir.path(), config()).unwrap();
        // Every acknowledged create is there (unless acknowledged deleted later), intact.
        for (key, rev) in &acked.created {
            let (kv, _) = store.get(key, None).await.unwrap();
            if acked.deleted.contains(key) {
                assert!(
                    kv.is_none(),
                    "trial {trial}: acknowledged delete of {key} lost"
                );
                continue;
            }
            let Some(kv) = kv else {
                // A delete whose acknowledgement the kill cut off may still have landed: allowed
                // only for the key the writer deletes once it has created the item 40 later.
                assert!(
                    delete_was_in_flight(&acked, key),
                    "trial {trial}: acknowledged create of {key} lost"
                );
                continue;
            };
            assert_eq!(kv.create_revision, *rev, "trial {trial}: {key}");
            assert_eq!(parse_value(&kv.value).0, *key);
        }
        // Counters are at least at their last acknowledged value (one more may have landed).
        for (key, n) in &acked.counters {
            let kv = store.get(key, None).await.unwrap().0.unwrap();
            let (_, stored) = parse_value(&kv.value);
            assert!(
                stored == *n || stored == n + 3,
                "trial {trial}: {key} at {stored}, acked {n}"
            );
        }
        // History: every revision from 1 to the current one, each event whole, in order.
        let current = store.current_revision().await.unwrap();
        let mut watch = store.watch("/", 0).await.unwrap();
        let mut seen = Vec::new();
        while seen.last().copied().unwrap_or(0) < current {
            let r = tokio::time::timeout(Duration::from_secs(10), watch.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            for e in &r.events {
                if e.kind == EventKind::Put {
                    parse_value(&e.kv.value);
                }
                if seen.last() != Some(&e.revision()) {
                    seen.push(e.revision());
                }
            }
            if r.events.is_empty() && r.revision >= current {
                break;
            }
        }
        assert_eq!(
            seen,
            (1..=current).collect::<Vec<_>>(),
            "trial {trial}: revisions are contiguous"
        );
        // The latest state agrees with the counters and holds only whole values.
        let all = store.list("/crash/", ListOptions::default()).await.unwrap();
        for kv in &all.kvs {
            assert_eq!(parse_value(&kv.value).0, kv.key);
        }
        assert_eq!(store.stats().await.unwrap().keys, all.kvs.len() as u64);
        // And it takes writes again.
        store
            .create("/crash/after", Bytes::from_static(b"ok"))
            .await
            .unwrap();
    });
}

#[test]
fn crash_safety_under_kill_9() {
    for trial in 0..TRIALS {
        run_trial(trial);
    }
}
