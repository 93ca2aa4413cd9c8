//! The etcd backend against a real etcd (started per test on loopback ports it picks): the
//! conformance suite, plus surviving an etcd restart and failing loudly when etcd is gone.

#![cfg(feature = "etcd")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod conformance;

use std::sync::Arc;
use std::time::{Duration, Instant};

use conformance::{Guard, b, events_through};
use futures::StreamExt;
use storage::etcd_server::EtcdServer;
use storage::*;

async fn etcd_store() -> (Arc<dyn Store>, Guard) {
    let server = EtcdServer::start().unwrap();
    let store = EtcdStore::connect(&[server.endpoint()]).await.unwrap();
    (Arc::new(store), Box::new(server))
}

conformance_tests!(etcd_store);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_an_etcd_restart_and_resumes_watches() {
    let mut server = EtcdServer::start().unwrap();
    let store = EtcdStore::connect(&[server.endpoint()]).await.unwrap();
    let a = store.create("/restart/a", b("1")).await.unwrap();
    let mut w = store.watch("/restart/", a.mod_revision).await.unwrap();
    server.kill();
    assert!(store.get("/restart/a", None).await.is_err(), "etcd is down");
    server.restart().unwrap();
    // The client reconnects by itself; retry the first write while the connection comes back.
    let deadline = Instant::now() + Duration::from_secs(30);
    let next = loop {
        match store.update("/restart/a", b("2"), a.mod_revision).await {
            Ok(kv) => break kv,
            Err(Error::Unavailable(e)) => {
                assert!(Instant::now() < deadline, "etcd not back within 30s: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("unexpected {e}"),
        }
    };
    let events = events_through(&mut w, next.mod_revision).await;
    assert_eq!(
        events.len(),
        1,
        "the watch resumed where it stopped: {events:?}"
    );
    assert_eq!(
        events[0].prev.as_ref().map(|p| p.value.clone()),
        Some(b("1"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_that_cannot_resume_ends_with_an_error() {
    let mut server = EtcdServer::start().unwrap();
    let store = EtcdStore::connect(&[server.endpoint()])
        .await
        .unwrap()
        .with_watch_resume_deadline(Duration::from_secs(2));
    let mut w = store.watch("/gone/", 0).await.unwrap();
    server.kill();
    let end = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match w.next().await {
                Some(Ok(_)) => continue,
                other => return other,
            }
        }
    })
    .await
    .expect("the watch must not stall");
    assert!(matches!(end, Some(Err(Error::WatchEnded(_)))), "{end:?}");
}
