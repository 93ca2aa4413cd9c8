//! The conformance suite: etcd v3 semantics that every `Store` backend must show, written once
//! and run unchanged against each backend (`tests/redb.rs`, `tests/etcd.rs`).
//! (Long on purpose: the one suite every backend must pass, kept in one place.)

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use storage::*;

/// Keeps a backend's resources (temporary directory, etcd process) alive for a test.
pub type Guard = Box<dyn std::any::Any + Send>;

/// Expands to one `#[tokio::test]` per conformance check, each on a fresh store from `$make`.
#[macro_export]
macro_rules! conformance_tests {
    ($make:path) => {
        conformance_tests!(@each $make;
            revisions_and_versions, create_refuses_existing_key, update_is_compare_and_swap,
            delete_preconditions, create_race_has_one_winner, concurrent_read_modify_write,
            list_pagination_at_fixed_revision, historical_reads, count_by_prefix,
            watch_resumes_from_every_revision, watch_live_events_carry_prev_values,
            watch_reports_progress_without_events, compaction_makes_old_revisions_gone,
            large_values_and_limits, many_concurrent_writers, multi_key_transactions,
            slow_watcher_loses_nothing);
    };
    (@each $make:path; $($name:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (store, _guard) = $make().await;
                conformance::$name(store).await;
            }
        )*
    };
}

pub fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

const WAIT: Duration = Duration::from_secs(20);

/// Events from `watch` until one at or past `revision`; fails on error or timeout.
pub async fn events_through(watch: &mut WatchStream, revision: Revision) -> Vec<Event> {
    let mut events = Vec::new();
    let mut reached = 0;
    while reached < revision {
        let response = tokio::time::timeout(WAIT, watch.next())
            .await
            .unwrap_or_else(|_| {
                panic!("watch stalled before revision {revision} (reached {reached})")
            })
            .expect("watch ended")
            .expect("watch failed");
        assert!(response.revision >= reached, "watch went backwards");
        reached = response.revision;
        for e in &response.events {
            assert!(
                e.revision() <= response.revision,
                "event after the response's revision"
            );
        }
        events.extend(response.events);
    }
    events
}

fn assert_ordered_without_duplicates(events: &[Event]) {
    for pair in events.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            a.revision() < b.revision() || (a.revision() == b.revision() && a.kv.key != b.kv.key),
            "events out of order or repeated: {a:?} then {b:?}"
        );
    }
}

pub async fn revisions_and_versions(s: Arc<dyn Store>) {
    let start = s.current_revision().await.unwrap();
    let a = s.create("/r/a", b("1")).await.unwrap();
    assert!(a.mod_revision > start);
    assert_eq!((a.create_revision, a.version), (a.mod_revision, 1));
    let other = s.create("/r/b", b("x")).await.unwrap();
    assert_eq!(
        other.mod_revision,
        a.mod_revision + 1,
        "one revision per write, globally"
    );
    let a2 = s.update("/r/a", b("2"), a.mod_revision).await.unwrap();
    assert_eq!((a2.create_revision, a2.version), (a.create_revision, 2));
    assert!(a2.mod_revision > other.mod_revision);
    let (got, read_at) = s.get("/r/a", None).await.unwrap();
    assert_eq!(got, Some(a2.clone()));
    assert_eq!(read_at, s.current_revision().await.unwrap());
    assert_eq!(s.get("/r/missing", None).await.unwrap().0, None);
    // Recreated after delete: create revision and version start over.
    s.delete("/r/a", None).await.unwrap();
    let again = s.create("/r/a", b("3")).await.unwrap();
    assert_eq!(
        (again.create_revision, again.version),
        (again.mod_revision, 1)
    );
}

pub async fn create_refuses_existing_key(s: Arc<dyn Store>) {
    s.create("/c/a", b("1")).await.unwrap();
    let before = s.current_revision().await.unwrap();
    assert_eq!(
        s.create("/c/a", b("2")).await,
        Err(Error::KeyExists { key: "/c/a".into() })
    );
    assert_eq!(
        s.current_revision().await.unwrap(),
        before,
        "a refused create writes nothing"
    );
    assert_eq!(s.get("/c/a", None).await.unwrap().0.unwrap().value, b("1"));
}

pub async fn update_is_compare_and_swap(s: Arc<dyn Store>) {
    let v1 = s.create("/u/a", b("1")).await.unwrap();
    let v2 = s.update("/u/a", b("2"), v1.mod_revision).await.unwrap();
    match s.update("/u/a", b("stale"), v1.mod_revision).await {
        Err(Error::Conflict {
            key,
            expected,
            current,
        }) => {
            assert_eq!((key.as_str(), expected), ("/u/a", v1.mod_revision));
            assert_eq!(
                current.map(|c| *c),
                Some(v2.clone()),
                "conflict carries the current value"
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(
        s.update("/u/missing", b("x"), 5).await,
        Err(Error::NotFound {
            key: "/u/missing".into()
        })
    );
    assert_eq!(s.get("/u/a", None).await.unwrap().0, Some(v2));
}

pub async fn delete_preconditions(s: Arc<dyn Store>) {
    let v1 = s.create("/d/a", b("1")).await.unwrap();
    let v2 = s.update("/d/a", b("2"), v1.mod_revision).await.unwrap();
    assert!(matches!(
        s.delete("/d/a", Some(v1.mod_revision)).await,
        Err(Error::Conflict { current: Some(c), .. }) if *c == v2
    ));
    assert_eq!(
        s.delete("/d/a", Some(v2.mod_revision)).await.unwrap(),
        v2,
        "delete returns the deleted value"
    );
    assert_eq!(
        s.delete("/d/a", None).await,
        Err(Error::NotFound { key: "/d/a".into() })
    );
    assert_eq!(
        s.delete("/d/a", Some(v2.mod_revision)).await,
        Err(Error::NotFound { key: "/d/a".into() })
    );
    let before = s.current_revision().await.unwrap();
    let _ = s.delete("/d/never", None).await;
    assert_eq!(
        s.current_revision().await.unwrap(),
        before,
        "deleting nothing writes nothing"
    );
}

pub async fn create_race_has_one_winner(s: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move { s.create("/race/k", b(&i.to_string())).await })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => wins += 1,
            Err(Error::KeyExists { .. }) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(wins, 1);
}

pub async fn concurrent_read_modify_write(s: Arc<dyn Store>) {
    s.create("/cas/counter", b("0")).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                for _ in 0..25 {
                    loop {
                        let (kv, _) = s.get("/cas/counter", None).await.unwrap();
                        let kv = kv.unwrap();
                        let n: u64 = std::str::from_utf8(&kv.value).unwrap().parse().unwrap();
                        match s
                            .update("/cas/counter", b(&(n + 1).to_string()), kv.mod_revision)
                            .await
                        {
                            Ok(_) => break,
                            Err(Error::Conflict { .. }) => continue,
                            Err(e) => panic!("unexpected {e}"),
                        }
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let kv = s.get("/cas/counter", None).await.unwrap().0.unwrap();
    assert_eq!(kv.value, b("200"), "no lost update");
    assert_eq!(kv.version, 201);
}

async fn list_all_pages(
    s: &dyn Store,
    prefix: &str,
    revision: Option<Revision>,
    page: usize,
) -> (Vec<KeyValue>, Revision) {
    let mut all = Vec::new();
    let mut opts = ListOptions {
        revision,
        limit: Some(page),
        continue_from: None,
    };
    loop {
        let r = s.list(prefix, opts.clone()).await.unwrap();
        assert!(r.kvs.len() <= page);
        let last = r.kvs.last().map(|kv| kv.key.clone());
        all.extend(r.kvs);
        if !r.more {
            return (all, r.revision);
        }
        opts.revision = Some(r.revision);
        opts.continue_from = Some(format!("{}\0", last.unwrap()));
    }
}

pub async fn list_pagination_at_fixed_revision(s: Arc<dyn Store>) {
    // Neighbours that share the prefix's bytes but are outside it.
    s.create("/p", b("no")).await.unwrap();
    s.create("/p0", b("no")).await.unwrap();
    s.create("/pa", b("no")).await.unwrap();
    for i in 0..50 {
        s.create(&format!("/p/{i:03}"), b(&format!("v{i}")))
            .await
            .unwrap();
    }
    let first = s
        .list(
            "/p/",
            ListOptions {
                limit: Some(10),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(first.kvs.len(), 10);
    assert!(first.more);
    let at = first.revision;
    // Writes continue while the client pages through.
    let writer = {
        let s = s.clone();
        tokio::spawn(async move {
            for i in 0..50 {
                let key = format!("/p/{i:03}");
                if i % 3 == 0 {
                    s.delete(&key, None).await.unwrap();
                } else {
                    let kv = s.get(&key, None).await.unwrap().0.unwrap();
                    s.update(&key, b("changed"), kv.mod_revision).await.unwrap();
                }
                s.create(&format!("/p/{i:03}x"), b("new")).await.unwrap();
            }
        })
    };
    let mut all = first.kvs.clone();
    let mut continue_from = Some(format!("{}\0", first.kvs.last().unwrap().key));
    loop {
        let r = s
            .list(
                "/p/",
                ListOptions {
                    revision: Some(at),
                    limit: Some(7),
                    continue_from: continue_from.clone(),
                },
            )
            .await
            .unwrap();
        assert_eq!(
            r.revision, at,
            "every page is served at the first page's revision"
        );
        all.extend(r.kvs.iter().cloned());
        if !r.more {
            break;
        }
        continue_from = Some(format!("{}\0", r.kvs.last().unwrap().key));
    }
    writer.await.unwrap();
    let keys: Vec<_> = all.iter().map(|kv| kv.key.clone()).collect();
    let expected: Vec<_> = (0..50).map(|i| format!("/p/{i:03}")).collect();
    assert_eq!(
        keys, expected,
        "the snapshot, all of it, nothing from later writes"
    );
    assert!(
        all.iter()
            .enumerate()
            .all(|(i, kv)| kv.value == b(&format!("v{i}")))
    );
    // The latest state, unpaginated, sees the writes.
    let (now, _) = list_all_pages(&*s, "/p/", None, 1000).await;
    assert_eq!(now.len(), 50 - 17 + 50);
    // A page without a limit and a limit larger than the set both report no more.
    let whole = s
        .list(
            "/p/",
            ListOptions {
                revision: Some(at),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((whole.kvs.len(), whole.more), (50, false));
}

pub async fn historical_reads(s: Arc<dyn Store>) {
    // Revision 0 means "latest": keep the first write below off revision 1.
    s.create("/h0", b("0")).await.unwrap();
    let v1 = s.create("/h/a", b("1")).await.unwrap();
    let v2 = s.update("/h/a", b("2"), v1.mod_revision).await.unwrap();
    let gone = s.create("/h/b", b("b")).await.unwrap();
    s.delete("/h/b", None).await.unwrap();
    assert_eq!(
        s.get("/h/a", Some(v1.mod_revision)).await.unwrap(),
        (Some(v1.clone()), v1.mod_revision)
    );
    assert_eq!(
        s.get("/h/a", Some(v2.mod_revision)).await.unwrap().0,
        Some(v2.clone())
    );
    assert_eq!(
        s.get("/h/b", Some(gone.mod_revision)).await.unwrap().0,
        Some(gone.clone())
    );
    assert_eq!(s.get("/h/b", None).await.unwrap().0, None);
    assert_eq!(
        s.get("/h/a", Some(v1.mod_revision - 1)).await.unwrap().0,
        None,
        "before creation"
    );
    let listed = s
        .list(
            "/h/",
            ListOptions {
                revision: Some(gone.mod_revision),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.kvs, vec![v2, gone]);
    let future = s.current_revision().await.unwrap() + 100;
    assert!(matches!(
        s.get("/h/a", Some(future)).await,
        Err(Error::FutureRevision { .. })
    ));
    assert!(matches!(
        s.list(
            "/h/",
            ListOptions {
                revision: Some(future),
                ..Default::default()
            }
        )
        .await,
        Err(Error::FutureRevision { .. })
    ));
}

pub async fn count_by_prefix(s: Arc<dyn Store>) {
    for i in 0..7 {
        s.create(&format!("/n/a/{i}"), b("x")).await.unwrap();
    }
    s.create("/n/b/1", b("x")).await.unwrap();
    s.create("/n/a", b("x")).await.unwrap();
    assert_eq!(s.count("/n/a/").await.unwrap(), 7);
    assert_eq!(
        s.count("/n/").await.unwrap(),
        9,
        "the prefix covers /n/a too"
    );
    assert_eq!(s.count("/nothing/").await.unwrap(), 0);
}

/// A deterministic mix of creates, updates and deletes on a few keys; returns the revision
/// before it and after it.
async fn churn(s: &dyn Store, prefix: &str, writes: usize) -> (Revision, Revision) {
    let start = s.current_revision().await.unwrap();
    for i in 0..writes {
        let key = format!("{prefix}{}", i % 4);
        match s.get(&key, None).await.unwrap().0 {
            None => {
                s.create(&key, b(&format!("c{i}"))).await.unwrap();
            }
            Some(kv) if i % 5 == 0 => {
                s.delete(&key, Some(kv.mod_revision)).await.unwrap();
            }
            Some(kv) => {
                s.update(&key, b(&format!("u{i}")), kv.mod_revision)
                    .await
                    .unwrap();
            }
        }
        // Writes outside the prefix interleave and must not show up.
        s.create(&format!("/elsewhere/{prefix}{i}"), b("x"))
            .await
            .unwrap();
    }
    (start, s.current_revision().await.unwrap())
}

pub async fn watch_resumes_from_every_revision(s: Arc<dyn Store>) {
    let mut from_start = s
        .watch("/w/", s.current_revision().await.unwrap())
        .await
        .unwrap();
    let (start, end) = churn(&*s, "/w/", 30).await;
    let all = events_through(&mut from_start, end).await;
    assert_eq!(all.len(), 30);
    assert_ordered_without_duplicates(&all);
    assert!(all.iter().all(|e| e.kv.key.starts_with("/w/")));
    for from in start..=end {
        let mut w = s.watch("/w/", from).await.unwrap();
        let got = if from == end {
            Vec::new()
        } else {
            events_through(&mut w, end).await
        };
        let expected: Vec<Event> = all
            .iter()
            .filter(|e| e.revision() > from)
            .cloned()
            .collect();
        assert_eq!(got, expected, "watch from revision {from}");
    }
}

pub async fn watch_live_events_carry_prev_values(s: Arc<dyn Store>) {
    let mut w = s
        .watch("/live/", s.current_revision().await.unwrap())
        .await
        .unwrap();
    let v1 = s.create("/live/a", b("1")).await.unwrap();
    let v2 = s.update("/live/a", b("2"), v1.mod_revision).await.unwrap();
    let deleted = s.delete("/live/a", None).await.unwrap();
    let end = s.current_revision().await.unwrap();
    let events = events_through(&mut w, end).await;
    assert_eq!(events.len(), 3);
    assert_eq!(
        (events[0].kind, &events[0].kv, &events[0].prev),
        (EventKind::Put, &v1, &None)
    );
    assert_eq!(
        (events[1].kind, &events[1].kv, events[1].prev.as_ref()),
        (EventKind::Put, &v2, Some(&v1))
    );
    assert_eq!(events[2].kind, EventKind::Delete);
    assert_eq!(
        (events[2].kv.key.as_str(), events[2].kv.mod_revision),
        ("/live/a", end)
    );
    assert_eq!(events[2].prev.as_ref(), Some(&deleted));
}

pub async fn watch_reports_progress_without_events(s: Arc<dyn Store>) {
    let mut w = s
        .watch("/quiet/", s.current_revision().await.unwrap())
        .await
        .unwrap();
    let other = s.create("/loud/a", b("x")).await.unwrap();
    let events = events_through(&mut w, other.mod_revision).await;
    assert!(events.is_empty(), "progress only: {events:?}");
}

/// The error a watch from `after` fails with, whether at creation or as its first item.
async fn watch_error(s: &dyn Store, prefix: &str, after: Revision) -> Option<Error> {
    match s.watch(prefix, after).await {
        Err(e) => Some(e),
        Ok(mut w) => match tokio::time::timeout(WAIT, w.next()).await {
            Ok(Some(Err(e))) => Some(e),
            _ => None,
        },
    }
}

pub async fn compaction_makes_old_revisions_gone(s: Arc<dyn Store>) {
    let (_, mid) = churn(&*s, "/cp/", 10).await;
    let (_, end) = churn(&*s, "/cp2/", 10).await;
    s.compact(mid).await.unwrap();
    assert!(matches!(
        s.get("/cp/0", Some(mid - 1)).await,
        Err(Error::Compacted { .. })
    ));
    assert!(matches!(
        s.list(
            "/cp/",
            ListOptions {
                revision: Some(mid - 1),
                ..Default::default()
            }
        )
        .await,
        Err(Error::Compacted { .. })
    ));
    // The compacted revision itself stays readable.
    s.get("/cp/0", Some(mid)).await.unwrap();
    s.list(
        "/cp/",
        ListOptions {
            revision: Some(mid),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(matches!(
        watch_error(&*s, "/cp2/", mid - 2).await,
        Some(Error::Compacted { .. })
    ));
    // Watching from just below the compacted revision still works: nothing it needs is gone.
    let mut w = s.watch("/cp2/", mid - 1).await.unwrap();
    assert_eq!(events_through(&mut w, end).await.len(), 10);
    assert!(
        matches!(s.compact(mid).await, Err(Error::Compacted { .. })),
        "compacting again"
    );
    assert!(matches!(
        s.compact(end + 10).await,
        Err(Error::FutureRevision { .. })
    ));
    // Latest reads are unaffected.
    assert_eq!(
        s.list("/cp2/", ListOptions::default())
            .await
            .unwrap()
            .kvs
            .len(),
        4
    );
}

pub async fn large_values_and_limits(s: Arc<dyn Store>) {
    let big = Bytes::from(vec![7u8; MAX_VALUE_BYTES]);
    let kv = s.create("/big/a", big.clone()).await.unwrap();
    assert_eq!(s.get("/big/a", None).await.unwrap().0.unwrap().value, big);
    let mut w = s.watch("/big/", kv.mod_revision - 1).await.unwrap();
    assert_eq!(
        events_through(&mut w, kv.mod_revision).await[0]
            .kv
            .value
            .len(),
        MAX_VALUE_BYTES
    );
    let before = s.current_revision().await.unwrap();
    let too_big = Bytes::from(vec![7u8; MAX_VALUE_BYTES + 1]);
    assert!(matches!(
        s.create("/big/b", too_big.clone()).await,
        Err(Error::TooLarge { what: "value", .. })
    ));
    assert!(matches!(
        s.update("/big/a", too_big, kv.mod_revision).await,
        Err(Error::TooLarge { .. })
    ));
    let long_key = format!("/big/{}", "k".repeat(MAX_KEY_BYTES));
    assert!(matches!(
        s.create(&long_key, b("x")).await,
        Err(Error::TooLarge { what: "key", .. })
    ));
    assert!(matches!(
        s.create("", b("x")).await,
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(
        s.current_revision().await.unwrap(),
        before,
        "refused writes change nothing"
    );
    assert_eq!(
        s.get("/big/a", None).await.unwrap().0.unwrap().mod_revision,
        kv.mod_revision
    );
}

pub async fn many_concurrent_writers(s: Arc<dyn Store>) {
    let start = s.current_revision().await.unwrap();
    let mut w = s.watch("/many/", start).await.unwrap();
    let tasks: Vec<_> = (0..64)
        .map(|t| {
            let s = s.clone();
            tokio::spawn(async move {
                let mut revs = Vec::new();
                for i in 0..40 {
                    revs.push(
                        s.create(&format!("/many/{t:02}/{i:02}"), b("x"))
                            .await
                            .unwrap()
                            .mod_revision,
                    );
                }
                revs
            })
        })
        .collect();
    let mut revisions = Vec::new();
    for t in tasks {
        revisions.extend(t.await.unwrap());
    }
    revisions.sort_unstable();
    revisions.dedup();
    assert_eq!(
        revisions.len(),
        64 * 40,
        "every create has its own revision"
    );
    let end = s.current_revision().await.unwrap();
    assert_eq!(end, start + 64 * 40);
    assert_eq!(revisions, (start + 1..=end).collect::<Vec<_>>(), "no gaps");
    let events = events_through(&mut w, end).await;
    assert_eq!(events.len(), 64 * 40);
    assert_ordered_without_duplicates(&events);
    assert_eq!(s.count("/many/").await.unwrap(), 64 * 40);
}

pub async fn multi_key_transactions(s: Arc<dyn Store>) {
    let a = s.create("/t/a", b("a1")).await.unwrap();
    let txn = Txn {
        compares: vec![
            Compare {
                key: "/t/a".into(),
                mod_revision: a.mod_revision,
            },
            Compare {
                key: "/t/b".into(),
                mod_revision: 0,
            },
        ],
        ops: vec![
            TxnOp::Put {
                key: "/t/a".into(),
                value: b("a2"),
            },
            TxnOp::Put {
                key: "/t/b".into(),
                value: b("b1"),
            },
            TxnOp::Delete {
                key: "/t/none".into(),
            },
        ],
    };
    let TxnOutcome::Committed { revision, results } = s.txn(txn.clone()).await.unwrap() else {
        panic!("guards held")
    };
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].prev.as_ref(), Some(&a));
    assert_eq!(results[0].kv.as_ref().unwrap().mod_revision, revision);
    assert_eq!(
        results[1].kv.as_ref().unwrap().mod_revision,
        revision,
        "one revision for the transaction"
    );
    assert_eq!(
        results[2],
        OpResult {
            prev: None,
            kv: None
        }
    );
    // The same transaction again: its guards fail, nothing is written, current values come back.
    let before = s.current_revision().await.unwrap();
    let TxnOutcome::Failed { current } = s.txn(txn).await.unwrap() else {
        panic!("guards must fail")
    };
    assert_eq!(current.len(), 2);
    assert_eq!(current[0].as_ref().unwrap().value, b("a2"));
    assert_eq!(current[1].as_ref().unwrap().value, b("b1"));
    assert_eq!(s.current_revision().await.unwrap(), before);
    let mut w = s.watch("/t/", revision - 1).await.unwrap();
    let events = events_through(&mut w, revision).await;
    assert_eq!(
        events.iter().map(|e| e.kv.key.as_str()).collect::<Vec<_>>(),
        ["/t/a", "/t/b"]
    );
}

pub async fn slow_watcher_loses_nothing(s: Arc<dyn Store>) {
    let start = s.current_revision().await.unwrap();
    let mut w = s.watch("/slow/", start).await.unwrap();
    // Write far more than any buffer holds while the watcher does not read.
    let writers: Vec<_> = (0..8)
        .map(|t| {
            let s = s.clone();
            tokio::spawn(async move {
                for i in 0..250 {
                    s.create(&format!("/slow/{t}/{i:03}"), b("x"))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in writers {
        t.await.unwrap();
    }
    let end = s.current_revision().await.unwrap();
    let events = events_through(&mut w, end).await;
    assert_eq!(events.len(), 2000);
    assert_ordered_without_duplicates(&events);
    let keys: BTreeMap<_, _> = events.iter().map(|e| (e.kv.key.clone(), ())).collect();
    assert_eq!(keys.len(), 2000);
}
