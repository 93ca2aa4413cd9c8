//! Stores written before values were compressed open, read and serve their history, and are
//! marked as the current format before anything compressed is written to them; a later format
//! is refused.

use bytes::Bytes;
use futures::StreamExt;
use redb::ReadableTable;

use super::codec::{self, Packing};
use super::tables::{FORMAT, FORMAT_UNCOMPRESSED, KV, LOG, META, META_FORMAT};
use super::*;

fn config() -> RedbConfig {
    RedbConfig {
        journal_bytes: 1 << 20,
        ..RedbConfig::default()
    }
}

fn big(n: usize) -> Bytes {
    Bytes::from(format!(r#"{{"n":{n},"data":"{}"}}"#, "x".repeat(1024)))
}

fn format_of(db: &Database) -> Option<u64> {
    let rtx = db.begin_read().unwrap();
    let meta = rtx.open_table(META).unwrap();
    meta.get(META_FORMAT).unwrap().map(|v| v.value())
}

/// Rewrites the store in `dir` as the first format wrote it: every value as it is.
fn as_first_format(dir: &Path) {
    let db = Database::open(dir.join(DB_FILE)).unwrap();
    let mut wtx = db.begin_write().unwrap();
    wtx.set_durability(Durability::Immediate).unwrap();
    wtx.set_quick_repair(true);
    {
        let mut kv = wtx.open_table(KV).unwrap();
        let records: Vec<(String, Vec<u8>)> = kv
            .iter()
            .unwrap()
            .map(|r| {
                let (k, v) = r.unwrap();
                let record = codec::decode_kv(k.value(), v.value()).unwrap();
                (
                    k.value().to_string(),
                    codec::encode_kv_as(&record, Packing::AsIs),
                )
            })
            .collect();
        for (key, raw) in records {
            kv.insert(key.as_str(), raw.as_slice()).unwrap();
        }
        let mut log = wtx.open_table(LOG).unwrap();
        let records: Vec<((u64, u32), Vec<u8>)> = log
            .iter()
            .unwrap()
            .map(|r| {
                let (k, v) = r.unwrap();
                let event = codec::decode_event(v.value()).unwrap();
                (k.value(), codec::encode_event_as(&event, Packing::AsIs))
            })
            .collect();
        for (at, raw) in records {
            log.insert(at, raw.as_slice()).unwrap();
        }
        wtx.open_table(META)
            .unwrap()
            .insert(META_FORMAT, FORMAT_UNCOMPRESSED)
            .unwrap();
    }
    wtx.commit().unwrap();
}

/// Whether the latest-value record of `key` is stored compressed (its create revision flag).
fn stored_compressed(dir: &Path, key: &str) -> bool {
    let db = Database::open(dir.join(DB_FILE)).unwrap();
    let rtx = db.begin_read().unwrap();
    let kv = rtx.open_table(KV).unwrap();
    let raw = kv.get(key).unwrap().unwrap().value().to_vec();
    raw[7] & 0x80 != 0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_of_the_first_format_is_read_and_upgraded() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    {
        let store = RedbStore::open(dir, config()).unwrap();
        store.create("/f/a", big(1)).await.unwrap();
        store
            .create("/f/b", Bytes::from_static(b"small"))
            .await
            .unwrap();
        let a = store.get("/f/a", None).await.unwrap().0.unwrap();
        store
            .txn(Txn {
                compares: vec![Compare {
                    key: "/f/a".into(),
                    mod_revision: a.mod_revision,
                }],
                ops: vec![TxnOp::Put {
                    key: "/f/a".into(),
                    value: big(2),
                }],
            })
            .await
            .unwrap();
    }
    assert!(stored_compressed(dir, "/f/a"));
    as_first_format(dir);
    assert!(!stored_compressed(dir, "/f/a"));

    let store = RedbStore::open(dir, config()).unwrap();
    assert_eq!(format_of(&store.db), Some(FORMAT));
    let a = store.get("/f/a", None).await.unwrap().0.unwrap();
    assert_eq!((a.value, a.version), (big(2), 2));
    let b = store.get("/f/b", None).await.unwrap().0.unwrap();
    assert_eq!(b.value, Bytes::from_static(b"small"));
    // The history of the first format's log replays with its values.
    let mut watch = store.watch("/f/", 0).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let response = watch.next().await.unwrap().unwrap();
        seen.extend(response.events);
    }
    assert_eq!(seen[0].kv.value, big(1));
    assert_eq!(seen[2].kv.value, big(2));
    assert_eq!(seen[2].prev.as_ref().map(|p| p.value.clone()), Some(big(1)));
    drop(watch);
    store.create("/f/c", big(3)).await.unwrap();
    drop(store);

    assert!(stored_compressed(dir, "/f/c"));
    assert!(!stored_compressed(dir, "/f/a"));
    let store = RedbStore::open(dir, config()).unwrap();
    let c = store.get("/f/c", None).await.unwrap().0.unwrap();
    assert_eq!(c.value, big(3));
    let listed = store.list("/f/", ListOptions::default()).await.unwrap();
    assert_eq!(listed.kvs.len(), 3);
}

#[tokio::test]
async fn a_later_format_is_refused_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    drop(RedbStore::open(dir, config()).unwrap());
    {
        let db = Database::open(dir.join(DB_FILE)).unwrap();
        let mut wtx = db.begin_write().unwrap();
        wtx.set_quick_repair(true);
        wtx.open_table(META)
            .unwrap()
            .insert(META_FORMAT, FORMAT + 1)
            .unwrap();
        wtx.commit().unwrap();
    }
    let before = std::fs::read(dir.join(DB_FILE)).unwrap();
    let err = RedbStore::open(dir, config()).err().unwrap();
    assert!(err.to_string().contains("unknown store format"), "{err}");
    assert_eq!(std::fs::read(dir.join(DB_FILE)).unwrap(), before);
}
