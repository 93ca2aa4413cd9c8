//! Power-loss safety of the embedded backend. The store runs on a simulated disk (`sim_disk`)
//! under concurrent writers and a compactor; the power goes at a random disk operation, and
//! everything not synced is lost (in harsh losses, a random part of it survives). The store
//! that opens on what remains must hold every acknowledged write, whole values, whole
//! transactions, revisions contiguous from the compacted one, counters that match its keys, and
//! take writes again. Each trial loses power several times on the same disk, sometimes in the
//! middle of the recovery of the previous loss.
//!
//! (`tests/crash.rs` kills a process instead: the page cache survives that, so it cannot tell
//! a missing sync.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::sim_disk::{Loss, SimDisk};
use super::{RedbConfig, RedbStore};
use crate::store::Store;
use crate::types::*;

const TRIALS: u64 = 50;
const LOSSES_PER_TRIAL: usize = 4;
const WRITERS: usize = 6;
/// The power goes within this many disk operations of a cycle (or at `CYCLE_LIMIT`).
const OPS_BUDGET: u64 = 4000;
const CYCLE_LIMIT: Duration = Duration::from_millis(400);
const DIR: &str = "/data/storage";

/// Tiny journal and frequent freezes: losses land in rotations and checkpoints too.
fn config() -> RedbConfig {
    RedbConfig {
        journal_bytes: 24 << 10,
        freeze_interval: Duration::from_millis(15),
        cache_bytes: 1 << 20,
        watch_buffer: 64,
        ..RedbConfig::default()
    }
}

fn open(disk: &Arc<SimDisk>) -> crate::Result<RedbStore> {
    RedbStore::open_on(disk.clone(), Path::new(DIR), config())
}

fn value_for(key: &str, n: u64) -> Bytes {
    // Sizes up to a few pages, so records straddle pages; the value names its key.
    let pad = "x".repeat((n as usize * 397) % 5000);
    Bytes::from(format!("{key}|{n}|{pad}"))
}

fn parse_value(v: &[u8]) -> (String, u64) {
    let s = std::str::from_utf8(v).expect("value is UTF-8");
    let mut parts = s.splitn(3, '|');
    let key = parts.next().unwrap_or_default().to_string();
    let n = parts.next().expect("whole value").parse().expect("counter");
    let pad = parts.next().expect("whole value");
    assert_eq!(
        pad.len(),
        (n as usize * 397) % 5000,
        "value cut short: {key}"
    );
    (key, n)
}

/// What the store must hold: acknowledged writes, and writes whose outcome is unknown.
#[derive(Default)]
struct Expect {
    /// Acknowledged creates, with their revision.
    created: BTreeMap<String, Revision>,
    /// Acknowledged deletes.
    deleted: BTreeSet<String>,
    /// Deletes sent but not acknowledged: either outcome is allowed.
    deleting: BTreeSet<String>,
    /// Per writer, the pair's acknowledged value and the one in flight.
    pairs: BTreeMap<usize, (Option<u64>, Option<u64>)>,
}

/// What the trials went through, to show the test exercised something.
#[derive(Default, Debug)]
struct Tally {
    losses_while_writing: usize,
    losses_in_recovery: usize,
    harsh: usize,
    /// Losses at `CYCLE_LIMIT` rather than at the chosen operation.
    by_time: usize,
    acknowledged_creates: usize,
}

fn pair_keys(w: usize) -> (String, String) {
    (format!("/pl/pair/{w}/a"), format!("/pl/pair/{w}/b"))
}

/// One writer: creates, a two-key transaction every third step, a delete every seventh;
/// stops at the first error (the power is gone).
async fn writer(store: Arc<RedbStore>, expect: Arc<Mutex<Expect>>, cycle: usize, w: usize) {
    for i in 0u64.. {
        let key = format!("/pl/items/{cycle}/{w}/{i:05}");
        let Ok(kv) = store.create(&key, value_for(&key, i)).await else {
            return;
        };
        expect.lock().unwrap().created.insert(key, kv.mod_revision);
        if i % 3 == 0 {
            let (a, b) = pair_keys(w);
            expect.lock().unwrap().pairs.entry(w).or_default().1 = Some(i);
            let txn = Txn {
                compares: vec![],
                ops: vec![
                    TxnOp::Put {
                        value: value_for(&a, i),
                        key: a,
                    },
                    TxnOp::Put {
                        value: value_for(&b, i),
                        key: b,
                    },
                ],
            };
            if store.txn(txn).await.is_err() {
                return;
            }
            *expect.lock().unwrap().pairs.entry(w).or_default() = (Some(i), None);
        }
        if i % 7 == 6 {
            let old = format!("/pl/items/{cycle}/{w}/{:05}", i - 5);
            expect.lock().unwrap().deleting.insert(old.clone());
            if store.delete(&old, None).await.is_err() {
                return;
            }
            let mut e = expect.lock().unwrap();
            e.deleting.remove(&old);
            e.deleted.insert(old);
        }
    }
}

/// Compacts to a little behind the head, as the periodic compactor would.
async fn compactor(store: Arc<RedbStore>) {
    loop {
        tokio::time::sleep(Duration::from_millis(7)).await;
        let Ok(current) = store.current_revision().await else {
            return;
        };
        if current > 60 && store.compact(current - 40).await.is_err() {
            return;
        }
    }
}

/// Checks the recovered store against what was acknowledged, then settles the writes whose
/// outcome was unknown to what the store holds.
async fn verify(store: &RedbStore, expect: &mut Expect, trial: u64) {
    let at = |what: &str| format!("trial {trial}: {what}");
    for (key, rev) in &expect.created {
        let (kv, _) = store.get(key, None).await.unwrap();
        if expect.deleted.contains(key) {
            assert!(
                kv.is_none(),
                "{}",
                at(&format!("acknowledged delete of {key} lost"))
            );
            continue;
        }
        match kv {
            Some(kv) => {
                assert_eq!(kv.create_revision, *rev, "{}", at(key));
                assert_eq!(parse_value(&kv.value).0, *key, "{}", at(key));
            }
            None => assert!(
                expect.deleting.contains(key),
                "{}",
                at(&format!("acknowledged create of {key} lost"))
            ),
        }
    }
    for key in std::mem::take(&mut expect.deleting) {
        if store.get(&key, None).await.unwrap().0.is_none() {
            expect.deleted.insert(key);
        }
    }
    for (w, (acked, in_flight)) in expect.pairs.iter_mut() {
        let (a, b) = pair_keys(*w);
        let a = store.get(&a, None).await.unwrap().0;
        let b = store.get(&b, None).await.unwrap().0;
        let (a, b) = (
            a.map(|kv| (kv.mod_revision, parse_value(&kv.value).1)),
            b.map(|kv| (kv.mod_revision, parse_value(&kv.value).1)),
        );
        assert_eq!(a, b, "{}", at("a transaction was applied in part"));
        let found = a.map(|(_, n)| n);
        assert!(
            found == *acked || (found.is_some() && found == *in_flight),
            "{}",
            at(&format!(
                "pair {w}: found {found:?}, acknowledged {acked:?}"
            ))
        );
        *acked = found;
        *in_flight = None;
    }

    // History: each revision from the compacted one to the head, each value whole, every
    // acknowledged create at its revision.
    let stats = store.stats().await.unwrap();
    let (current, compacted) = (stats.revision, stats.compacted_revision);
    let mut watch = store.watch("/", compacted.saturating_sub(1)).await.unwrap();
    let mut revisions = Vec::new();
    let mut creates = BTreeMap::new();
    while revisions.last().copied().unwrap_or(0) < current {
        let r = tokio::time::timeout(Duration::from_secs(10), watch.next())
            .await
            .expect("history is readable")
            .expect("the watch goes on")
            .unwrap();
        for e in &r.events {
            if e.kind == EventKind::Put {
                parse_value(&e.kv.value);
                if e.kv.version == 1 {
                    creates.insert(e.kv.key.clone(), e.revision());
                }
            }
            if revisions.last() != Some(&e.revision()) {
                revisions.push(e.revision());
            }
        }
        if r.events.is_empty() && r.revision >= current {
            break;
        }
    }
    let first = compacted.max(1);
    assert_eq!(
        revisions,
        (first..=current).collect::<Vec<_>>(),
        "{}",
        at("revisions are contiguous")
    );
    for (key, rev) in &expect.created {
        if *rev > first {
            assert_eq!(creates.get(key), Some(rev), "{}", at(key));
        }
    }

    // The latest state: whole values, counters that match.
    let all = store.list("/", ListOptions::default()).await.unwrap();
    for kv in &all.kvs {
        assert_eq!(
            parse_value(&kv.value).0,
            kv.key,
            "{}",
            at("value of its key")
        );
    }
    let bytes: usize = all.kvs.iter().map(|kv| kv.key.len() + kv.value.len()).sum();
    assert_eq!(
        (stats.keys, stats.live_bytes),
        (all.kvs.len() as u64, bytes as u64),
        "{}",
        at("counters")
    );
    // Creates that landed without an acknowledgement are durable now too.
    for kv in &all.kvs {
        if kv.key.starts_with("/pl/items/") {
            expect
                .created
                .entry(kv.key.clone())
                .or_insert(kv.create_revision);
        }
    }
}

/// Opens the store with the power set to go within a few operations, so that the loss lands
/// in the recovery; returns the disk after the loss (or as it is if recovery finished).
fn lose_power_in_recovery(disk: Arc<SimDisk>, loss: Loss, rng: &mut StdRng) -> Arc<SimDisk> {
    disk.cut_power_after(rng.random_range(0..60), loss);
    drop(open(&disk));
    disk.disarm();
    disk.after_power_loss().unwrap_or(disk)
}

fn run_trial(trial: u64, tally: &mut Tally, rt: &tokio::runtime::Runtime) {
    let mut rng = StdRng::seed_from_u64(trial);
    let mut disk = SimDisk::new(trial);
    let mut expect = Expect::default();
    for cycle in 0..=LOSSES_PER_TRIAL {
        if rng.random_bool(0.3) {
            let before = Arc::as_ptr(&disk);
            let loss = if rng.random_bool(0.5) {
                Loss::Harsh
            } else {
                Loss::Unsynced
            };
            disk = lose_power_in_recovery(disk, loss, &mut rng);
            if Arc::as_ptr(&disk) != before {
                tally.losses_in_recovery += 1;
                tally.harsh += usize::from(loss == Loss::Harsh);
            }
        }
        let store = Arc::new(open(&disk).unwrap_or_else(|e| panic!("trial {trial}: reopen: {e}")));
        rt.block_on(verify(&store, &mut expect, trial));
        if cycle == LOSSES_PER_TRIAL {
            rt.block_on(async {
                store
                    .create("/pl/after", Bytes::from_static(b"ok"))
                    .await
                    .unwrap()
            });
            break;
        }

        let loss = if rng.random_bool(0.3) {
            Loss::Harsh
        } else {
            Loss::Unsynced
        };
        disk.cut_power_after(rng.random_range(0..OPS_BUDGET), loss);
        let known = expect.created.len();
        let shared = Arc::new(Mutex::new(std::mem::take(&mut expect)));
        rt.block_on(async {
            let compaction = tokio::spawn(compactor(store.clone()));
            let writers: Vec<_> = (0..WRITERS)
                .map(|w| tokio::spawn(writer(store.clone(), shared.clone(), cycle, w)))
                .collect();
            let mut all = futures::future::join_all(writers);
            if tokio::time::timeout(CYCLE_LIMIT, &mut all).await.is_err() {
                tally.by_time += 1;
                disk.power_loss(loss);
                all.await;
            }
            compaction.abort();
            let _ = compaction.await;
        });
        // The old store's threads see a dead disk; closing it must not hang.
        drop(store);
        disk = disk.after_power_loss().expect("the power went");
        expect = std::mem::take(&mut *shared.lock().unwrap());
        tally.acknowledged_creates += expect.created.len() - known;
        tally.losses_while_writing += 1;
        tally.harsh += usize::from(loss == Loss::Harsh);
    }
}

#[test]
fn acknowledged_writes_survive_power_loss() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut tally = Tally::default();
    for trial in 0..TRIALS {
        run_trial(trial, &mut tally, &rt);
    }
    eprintln!("power-loss trials: {TRIALS}, {tally:?}");
    assert_eq!(
        tally.losses_while_writing,
        TRIALS as usize * LOSSES_PER_TRIAL
    );
}
