//! Watches of the embedded backend.
//!
//! A watch subscribes to the committer's event feed (`feed.rs`) *before* reading history,
//! replays the log from its start revision to a snapshot, then serves live batches, skipping
//! what the replay already covered. A watcher that falls behind the feed's ring buffer does
//! not lose events: it goes back to the log from the last revision it delivered. The stream
//! ends with an error if that history has been compacted meanwhile, or when the store closes.

use std::sync::Arc;
use std::time::Duration;

use async_stream::stream;
use redb::Database;
use tokio::time::Instant;

use super::committer::{Committed, Published};
use super::feed::{EventFeed, Taken};
use super::reads::Snapshot;
use crate::error::{Error, Result};
use crate::store::WatchStream;
use crate::types::*;

/// Log entries read per replay step (each step is one short read transaction).
const REPLAY_CHUNK: usize = 1024;
/// How soon a watcher learns that revisions passed without events for it.
pub(crate) const PROGRESS_INTERVAL: Duration = Duration::from_millis(500);

pub(crate) fn watch(
    db: Arc<Database>,
    published: Arc<Published>,
    feed: &Arc<EventFeed>,
    prefix: String,
    after: Revision,
) -> Result<WatchStream> {
    let live = feed
        .subscribe(&prefix)
        .ok_or_else(|| Error::Unavailable("embedded store is closed".into()))?;
    // Fail fast (not as a first stream item) when the start revision is already compacted.
    let snapshot = Snapshot::open(&db, &published)?;
    if after + 1 < snapshot.counters.compacted {
        return Err(Error::Compacted {
            requested: after,
            compacted: snapshot.counters.compacted,
        });
    }
    drop(snapshot);

    Ok(Box::pin(stream! {
        let mut last = after;
        let mut unreported = false;
        let mut last_sent = Instant::now();
        let mut catching_up = true;
        // Whether this round reports progress up to the latest revision.
        let mut reporting = false;
        loop {
            if catching_up {
                match replay_step(&db, &published, &prefix, &mut last).await {
                    Ok((response, done)) => {
                        catching_up = !done;
                        if let Some(r) = response {
                            last_sent = Instant::now();
                            yield Ok(r);
                        }
                    }
                    Err(e) => { yield Err(e); return; }
                }
                continue;
            }
            match live.take(last, reporting) {
                Taken::Batches(batches, latest) => {
                    for batch in &batches {
                        if let Some(response) = select_events(batch, &prefix, &mut last) {
                            last_sent = Instant::now();
                            unreported = false;
                            yield Ok(response);
                        }
                    }
                    if reporting {
                        last = last.max(latest);
                        unreported = false;
                        last_sent = Instant::now();
                        yield Ok(WatchResponse { revision: last, events: Vec::new() });
                    } else if latest > last {
                        // Revisions passed without events for this watch.
                        unreported = true;
                    }
                }
                // Fell behind the feed: catch up from the log, then skip what the feed repeats.
                Taken::Lagged => {
                    catching_up = true;
                    reporting = false;
                    continue;
                }
                Taken::Closed => {
                    yield Err(Error::Unavailable("embedded store closed".into()));
                    return;
                }
            }
            let progress_due = last_sent + PROGRESS_INTERVAL;
            reporting = tokio::select! {
                _ = live.wait() => false,
                _ = tokio::time::sleep_until(progress_due), if unreported => true,
            };
        }
    }))
}

/// The events of a live batch that this watcher has not seen yet.
fn select_events(batch: &Committed, prefix: &str, last: &mut Revision) -> Option<WatchResponse> {
    if batch.revision <= *last {
        return None;
    }
    let events: Vec<Event> = batch
        .events
        .iter()
        .filter(|e| e.revision() > *last && e.kv.key.starts_with(prefix))
        .cloned()
        .collect();
    *last = batch.revision;
    (!events.is_empty()).then(|| WatchResponse {
        revision: batch.revision,
        events,
    })
}

/// Reads one chunk of the log after `last`, advancing `last`; says whether it reached the end.
async fn replay_step(
    db: &Arc<Database>,
    published: &Arc<Published>,
    prefix: &str,
    last: &mut Revision,
) -> Result<(Option<WatchResponse>, bool)> {
    let (db, published, prefix, after) = (db.clone(), published.clone(), prefix.to_string(), *last);
    let (events, through, done) = tokio::task::spawn_blocking(move || {
        Snapshot::open(&db, &published)?.events_after(&prefix, after, REPLAY_CHUNK)
    })
    .await
    .map_err(|e| Error::Io(format!("watch replay task failed: {e}")))??;
    *last = through;
    // Even without events, tell the watcher how far history has been read: otherwise a watch
    // whose replay skipped only other prefixes' revisions would wait for the next event.
    Ok((
        (through > after).then_some(WatchResponse {
            revision: through,
            events,
        }),
        done,
    ))
}
