//! The committer's event feed: the latest committed batches in a ring, read by the watches.
//!
//! A batch wakes only the watches with an event under their prefix. The others are woken once
//! when revisions start passing without events for them (so they can report progress), not
//! once per batch: with many watches on different prefixes (every watch cache is one), waking
//! each on every commit would cost more than the commit itself.
//!
//! Each watch remembers the first batch it was woken for and not yet read; if the ring has
//! dropped that batch, the watch has lagged and goes back to the log.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::committer::Committed;
use crate::types::Revision;

pub(crate) struct EventFeed {
    state: Mutex<State>,
    capacity: usize,
}

struct State {
    open: bool,
    /// The latest batches, oldest first; the last one's sequence number is `next_seq - 1`.
    ring: VecDeque<Arc<Committed>>,
    next_seq: u64,
    /// The revision of the latest batch.
    latest: Revision,
    next_id: u64,
    watchers: HashMap<u64, Watcher>,
}

struct Watcher {
    prefix: String,
    notify: Arc<Notify>,
    /// The first batch with events for this watch that it has not read.
    unread_from: Option<u64>,
    /// Whether a batch without events for it should wake it: once it knows revisions have
    /// passed, it reports them on its own schedule.
    wake_on_advance: bool,
}

/// What a watch reads from the feed.
pub(crate) enum Taken {
    /// The batches since the first one with events for it (others' batches included), and
    /// the latest revision committed.
    Batches(Vec<Arc<Committed>>, Revision),
    /// A batch with events for it has left the ring: read the log instead.
    Lagged,
    /// The store has closed (and every batch for it was read).
    Closed,
}

impl EventFeed {
    /// A feed keeping the last `capacity` batches.
    pub(crate) fn new(capacity: usize) -> EventFeed {
        EventFeed {
            state: Mutex::new(State {
                open: true,
                ring: VecDeque::new(),
                next_seq: 0,
                latest: 0,
                next_id: 0,
                watchers: HashMap::new(),
            }),
            capacity: capacity.max(1),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes a committed batch, waking the watches it concerns.
    pub(crate) fn publish(&self, batch: Committed) {
        let mut state = self.state();
        if !state.open {
            return;
        }
        let seq = state.next_seq;
        state.next_seq += 1;
        state.latest = state.latest.max(batch.revision);
        for w in state.watchers.values_mut() {
            let concerned = batch.events.iter().any(|e| e.kv.key.starts_with(&w.prefix));
            if concerned && w.unread_from.is_none() {
                w.unread_from = Some(seq);
                w.notify.notify_one();
            } else if !concerned && w.wake_on_advance {
                w.wake_on_advance = false;
                w.notify.notify_one();
            }
        }
        state.ring.push_back(Arc::new(batch));
        if state.ring.len() > self.capacity {
            state.ring.pop_front();
        }
    }

    /// Closes the feed: every watch is woken to learn it.
    pub(crate) fn close(&self) {
        let mut state = self.state();
        state.open = false;
        for w in state.watchers.values() {
            w.notify.notify_one();
        }
    }

    /// A watch of `prefix`, woken for every batch published from now on that concerns it;
    /// None once the feed has closed.
    pub(crate) fn subscribe(self: &Arc<Self>, prefix: &str) -> Option<Subscription> {
        let mut state = self.state();
        if !state.open {
            return None;
        }
        let id = state.next_id;
        state.next_id += 1;
        let notify = Arc::new(Notify::new());
        state.watchers.insert(
            id,
            Watcher {
                prefix: prefix.to_string(),
                notify: notify.clone(),
                unread_from: None,
                wake_on_advance: true,
            },
        );
        Some(Subscription {
            feed: self.clone(),
            id,
            notify,
        })
    }
}

/// One watch's place in the feed; leaves it when dropped.
pub(crate) struct Subscription {
    feed: Arc<EventFeed>,
    id: u64,
    notify: Arc<Notify>,
}

impl Subscription {
    /// Waits until a batch concerns this watch, revisions pass without one, or the feed
    /// closes (at once if that happened since the last wait).
    pub(crate) async fn wait(&self) {
        self.notify.notified().await
    }

    /// The batches this watch has not read. `after` is the last revision it delivered;
    /// `reporting` says it will report progress up to the latest revision now, so the next
    /// batch without events for it wakes it again.
    pub(crate) fn take(&self, after: Revision, reporting: bool) -> Taken {
        let mut state = self.feed.state();
        let state = &mut *state;
        let Some(w) = state.watchers.get_mut(&self.id) else {
            return Taken::Closed;
        };
        let batches: Vec<Arc<Committed>> = match w.unread_from.take() {
            Some(first) => {
                // Sequence numbers run without gaps: the batch's place in the ring follows.
                let oldest = state.next_seq - state.ring.len() as u64;
                let Some(at) = first.checked_sub(oldest) else {
                    return Taken::Lagged;
                };
                state.ring.range(at as usize..).cloned().collect()
            }
            None if !state.open => return Taken::Closed,
            None => Vec::new(),
        };
        let reached = batches.last().map_or(after, |b| b.revision.max(after));
        w.wake_on_advance = reporting || state.latest <= reached;
        Taken::Batches(batches, state.latest)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.feed.state().watchers.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Event, EventKind, KeyValue};

    fn batch(revision: Revision, key: &str) -> Committed {
        Committed {
            revision,
            events: vec![Event {
                kind: EventKind::Put,
                kv: KeyValue {
                    key: key.into(),
                    mod_revision: revision,
                    create_revision: revision,
                    version: 1,
                    value: Default::default(),
                },
                prev: None,
            }],
        }
    }

    fn revisions(taken: Taken) -> (Vec<Revision>, Revision) {
        match taken {
            Taken::Batches(b, latest) => (b.iter().map(|b| b.revision).collect(), latest),
            Taken::Lagged => panic!("lagged"),
            Taken::Closed => panic!("closed"),
        }
    }

    async fn woken(s: &Subscription) -> bool {
        tokio::time::timeout(std::time::Duration::from_millis(20), s.wait())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn only_batches_for_a_prefix_wake_its_watch() {
        let feed = Arc::new(EventFeed::new(8));
        let pods = feed.subscribe("/pods/").unwrap();
        feed.publish(batch(1, "/pods/a"));
        assert!(woken(&pods).await);
        assert_eq!(revisions(pods.take(0, false)), (vec![1], 1));
        // Others' batches: one wake to learn that revisions passed, then none until it
        // reports them.
        feed.publish(batch(2, "/secrets/a"));
        assert!(woken(&pods).await);
        assert_eq!(revisions(pods.take(1, false)), (vec![], 2));
        feed.publish(batch(3, "/secrets/b"));
        assert!(!woken(&pods).await);
        assert_eq!(revisions(pods.take(1, true)), (vec![], 3));
        feed.publish(batch(4, "/secrets/c"));
        assert!(woken(&pods).await);
        // A batch for it after others': read from the first one for it.
        feed.publish(batch(5, "/secrets/d"));
        feed.publish(batch(6, "/pods/b"));
        feed.publish(batch(7, "/secrets/e"));
        assert!(woken(&pods).await);
        assert_eq!(revisions(pods.take(3, false)), (vec![6, 7], 7));
    }

    #[tokio::test]
    async fn a_watch_whose_batch_left_the_ring_has_lagged() {
        let feed = Arc::new(EventFeed::new(2));
        let pods = feed.subscribe("/pods/").unwrap();
        feed.publish(batch(1, "/pods/a"));
        feed.publish(batch(2, "/pods/b"));
        assert_eq!(revisions(pods.take(0, false)), (vec![1, 2], 2));
        feed.publish(batch(3, "/pods/c"));
        feed.publish(batch(4, "/x"));
        feed.publish(batch(5, "/x"));
        assert!(matches!(pods.take(2, false), Taken::Lagged));
        // Others' batches leaving the ring are no lag.
        feed.publish(batch(6, "/x"));
        feed.publish(batch(7, "/x"));
        feed.publish(batch(8, "/x"));
        assert_eq!(revisions(pods.take(5, false)), (vec![], 8));
    }

    #[tokio::test]
    async fn closing_wakes_watches_after_their_batches() {
        let feed = Arc::new(EventFeed::new(8));
        let pods = feed.subscribe("/pods/").unwrap();
        feed.publish(batch(1, "/pods/a"));
        feed.close();
        assert!(woken(&pods).await);
        assert_eq!(revisions(pods.take(0, false)), (vec![1], 1));
        assert!(matches!(pods.take(1, false), Taken::Closed));
        assert!(feed.subscribe("/pods/").is_none());
        drop(pods);
        assert!(feed.state().watchers.is_empty());
    }
}
