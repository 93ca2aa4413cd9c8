//! Which key a worker takes next, as upstream's rate-limited work queues: a key is queued
//! once however often it is touched, one that changes while worked on is worked on again
//! after, and one that fails is retried after a delay that doubles per failure, without
//! holding a worker while it waits. Nothing starts before the watched resources named at
//! creation have each been listed once (the garbage collector's graph must be whole before
//! it decides anything).

pub mod workers;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::time::{Duration, Instant};

use crate::backoff::Backoffs;

/// Keys worked on at once, unless said otherwise.
pub const WORKERS: usize = 32;
/// A drained queue with room for more than this many uids gives its memory back.
const SHRINK_ABOVE: usize = 1024;

pub struct Scheduler<K = String> {
    workers: usize,
    queue: VecDeque<K>,
    queued: HashSet<K>,
    running: HashSet<K>,
    /// Changed while running: queued again when done.
    dirty: HashSet<K>,
    /// Failed keys and when to retry them.
    retries: HashMap<K, Instant>,
    by_time: BTreeSet<(Instant, K)>,
    backoffs: Backoffs<K>,
    /// Watched resources whose first list has not ended.
    unsynced: HashSet<usize>,
}

impl<K: Clone + Eq + Hash + Ord> Scheduler<K> {
    /// A scheduler that waits for the first list of each of `resources`.
    pub fn new(resources: impl IntoIterator<Item = usize>) -> Self {
        Scheduler {
            workers: WORKERS,
            queue: VecDeque::new(),
            queued: HashSet::new(),
            running: HashSet::new(),
            dirty: HashSet::new(),
            retries: HashMap::new(),
            by_time: BTreeSet::new(),
            backoffs: Backoffs::new(Duration::from_millis(50), Duration::from_secs(30)),
            unsynced: resources.into_iter().collect(),
        }
    }

    /// At most `workers` keys worked on at once; failures retried from `first` doubling up
    /// to `max`.
    pub fn with(mut self, workers: usize, first: Duration, max: Duration) -> Self {
        self.workers = workers;
        self.backoffs = Backoffs::new(first, max);
        self
    }

    pub fn listed(&mut self, resource: usize) {
        self.unsynced.remove(&resource);
    }

    pub fn synced(&self) -> bool {
        self.unsynced.is_empty()
    }

    pub fn unsynced(&self) -> impl Iterator<Item = usize> + '_ {
        self.unsynced.iter().copied()
    }

    /// `uid` needs a look (now, even if it waits for a retry).
    pub fn touch(&mut self, uid: K) {
        if self.running.contains(&uid) {
            self.dirty.insert(uid);
            return;
        }
        if let Some(at) = self.retries.remove(&uid) {
            self.by_time.remove(&(at, uid.clone()));
        }
        if self.queued.insert(uid.clone()) {
            self.queue.push_back(uid);
        }
    }

    /// The next key to work on (then running), if a worker is free and the graph synced.
    pub fn next(&mut self, now: Instant) -> Option<K> {
        if !self.synced() || self.running.len() >= self.workers {
            return None;
        }
        while let Some((at, uid)) = self.by_time.first().cloned()
            && at <= now
        {
            self.by_time.pop_first();
            self.retries.remove(&uid);
            if self.queued.insert(uid.clone()) {
                self.queue.push_back(uid);
            }
        }
        let Some(uid) = self.queue.pop_front() else {
            self.shrink_when_drained();
            return None;
        };
        self.queued.remove(&uid);
        self.running.insert(uid.clone());
        Some(uid)
    }

    /// The first lists touch every object of the cluster at once: once that burst is worked
    /// off, its queue's memory goes back.
    fn shrink_when_drained(&mut self) {
        if self.queue.capacity() > SHRINK_ABOVE {
            self.queue = VecDeque::new();
            self.queued = HashSet::new();
        }
    }

    /// When the earliest retry is due.
    pub fn next_retry(&self) -> Option<Instant> {
        self.by_time.first().map(|(at, _)| *at)
    }

    /// The work on `uid` ended.
    pub fn finished(&mut self, uid: &K, ok: bool, now: Instant) {
        self.running.remove(uid);
        if ok {
            self.backoffs.succeeded(uid);
        }
        if self.dirty.remove(uid) {
            self.touch(uid.clone());
        } else if !ok {
            let at = now + self.backoffs.failed(uid);
            self.retries.insert(uid.clone(), at);
            self.by_time.insert((at, uid.clone()));
        }
    }

    #[cfg(test)]
    pub fn running(&self) -> usize {
        self.running.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An owner whose resource is not listed yet would look absent: nothing is decided
    /// before every resource's first list.
    #[test]
    fn nothing_starts_before_the_graph_synced() {
        let now = Instant::now();
        let mut s = Scheduler::<String>::new([0, 1]);
        s.touch("dependent".into());
        assert_eq!(s.next(now), None);
        s.listed(0);
        assert_eq!(s.next(now), None);
        s.listed(1);
        assert_eq!(s.next(now).as_deref(), Some("dependent"));
    }

    #[test]
    fn failures_wait_without_a_worker_and_back_off() {
        let now = Instant::now();
        let mut s = Scheduler::<String>::new([]);
        s.touch("a".into());
        s.touch("b".into());
        assert_eq!(s.next(now).as_deref(), Some("a"));
        s.finished(&"a".to_string(), false, now);
        assert_eq!(s.running(), 0);
        // The failed one waits; the others go on.
        assert_eq!(s.next(now).as_deref(), Some("b"));
        assert_eq!(s.next(now), None);
        assert_eq!(s.next_retry(), Some(now + Duration::from_millis(50)));
        let later = now + Duration::from_millis(50);
        assert_eq!(s.next(later).as_deref(), Some("a"));
        s.finished(&"a".to_string(), false, later);
        assert_eq!(s.next_retry(), Some(later + Duration::from_millis(100)));
        // A change brings it back at once; a success resets its delay.
        s.touch("a".into());
        assert_eq!(s.next_retry(), None);
        assert_eq!(s.next(later).as_deref(), Some("a"));
        s.finished(&"a".to_string(), true, later);
        s.touch("a".into());
        assert_eq!(s.next(later).as_deref(), Some("a"));
        s.finished(&"a".to_string(), false, later);
        assert_eq!(s.next_retry(), Some(later + Duration::from_millis(50)));
    }

    #[test]
    fn a_uid_changed_while_running_runs_again() {
        let now = Instant::now();
        let mut s = Scheduler::<String>::new([]);
        s.touch("a".into());
        assert_eq!(s.next(now).as_deref(), Some("a"));
        s.touch("a".into());
        assert_eq!(s.next(now), None);
        s.finished(&"a".to_string(), true, now);
        assert_eq!(s.next(now).as_deref(), Some("a"));
    }

    #[test]
    fn at_most_workers_run() {
        let now = Instant::now();
        let mut s = Scheduler::<String>::new([]);
        for i in 0..WORKERS + 5 {
            s.touch(i.to_string());
        }
        let started = std::iter::from_fn(|| s.next(now)).count();
        assert_eq!(started, WORKERS);
    }
}
