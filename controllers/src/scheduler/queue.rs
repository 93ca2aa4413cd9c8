//! The pods waiting to be scheduled: queued by priority, then in arrival order (upstream's
//! `PrioritySort`), backing off after a failed attempt (1 s doubling to 10 s, upstream's), or
//! parked as unschedulable until the cluster changes (or 5 minutes pass), and those whose
//! binding is under way.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;

const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Upstream's podMaxInUnschedulablePodsDuration.
const MAX_PARKED: Duration = Duration::from_secs(300);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Queued,
    /// Tried and failed; waits until `ready_at` and a change in the cluster.
    Parked {
        ready_at: Instant,
        since: Instant,
    },
    /// Retried at `ready_at` whatever happens (a binding that failed).
    Waiting,
    Binding,
}

pub struct Pending {
    pub pod: Arc<Pod>,
    pub attempts: u32,
    pub state: State,
    /// The message of the PodScheduled=False condition last written, not to write it again.
    pub reported: Option<String>,
}

#[derive(Default)]
pub struct Queue {
    pub pods: HashMap<String, Pending>,
    /// Pods to try, the highest priority first, then the first queued.
    queued: BTreeMap<(Reverse<i32>, u64), String>,
    /// Waiting pods by the time they are retried.
    timers: BTreeMap<(Instant, u64), String>,
    seq: u64,
}

fn backoff(attempts: u32) -> Duration {
    INITIAL_BACKOFF
        .saturating_mul(1 << attempts.saturating_sub(1).min(8))
        .min(MAX_BACKOFF)
}

impl Queue {
    /// Adds a pod to schedule or refreshes the one known.
    pub fn upsert(&mut self, uid: &str, pod: Arc<Pod>) {
        match self.pods.get_mut(uid) {
            Some(p) => p.pod = pod,
            None => {
                self.pods.insert(
                    uid.to_string(),
                    Pending {
                        pod,
                        attempts: 0,
                        state: State::Queued,
                        reported: None,
                    },
                );
                self.enqueue(uid.to_string());
            }
        }
    }

    /// Queues a known pod behind those of its priority queued before it.
    fn enqueue(&mut self, uid: String) {
        let priority = self
            .pods
            .get(&uid)
            .and_then(|p| p.pod.spec.as_ref())
            .and_then(|spec| spec.priority)
            .unwrap_or(0);
        self.seq += 1;
        self.queued.insert((Reverse(priority), self.seq), uid);
    }

    pub fn remove(&mut self, uid: &str) -> Option<Pending> {
        self.pods.remove(uid)
    }

    /// The next pod to try, marked as being bound (the caller parks or requeues it if not).
    pub fn pop(&mut self) -> Option<(String, Arc<Pod>)> {
        while let Some((_, uid)) = self.queued.pop_first() {
            if let Some(p) = self.pods.get_mut(&uid)
                && p.state == State::Queued
            {
                p.state = State::Binding;
                return Some((uid, p.pod.clone()));
            }
        }
        None
    }

    /// After a failed attempt: parked until the cluster changes, not before its back-off.
    pub fn park(&mut self, uid: &str, now: Instant) {
        if let Some(p) = self.pods.get_mut(uid) {
            p.attempts += 1;
            p.state = State::Parked {
                ready_at: now + backoff(p.attempts),
                since: now,
            };
        }
    }

    /// Waiting for something other than a node (its claims being bound): parked until the
    /// cluster changes, without a back-off.
    pub fn hold(&mut self, uid: &str, now: Instant) {
        if let Some(p) = self.pods.get_mut(uid) {
            p.state = State::Parked {
                ready_at: now,
                since: now,
            };
        }
    }

    /// After a failed binding: tried again once its back-off has passed.
    pub fn retry_later(&mut self, uid: &str, now: Instant) {
        if let Some(p) = self.pods.get_mut(uid) {
            p.attempts += 1;
            p.state = State::Waiting;
            self.seq += 1;
            self.timers
                .insert((now + backoff(p.attempts), self.seq), uid.to_string());
        }
    }

    /// The cluster changed: parked pods go back to the queue once their back-off has passed.
    pub fn cluster_changed(&mut self, now: Instant) {
        for (uid, p) in self.pods.iter_mut() {
            if let State::Parked { ready_at, .. } = p.state {
                p.state = State::Waiting;
                self.seq += 1;
                self.timers
                    .insert((ready_at.max(now), self.seq), uid.clone());
            }
        }
    }

    /// Moves the pods whose time has come to the queue (and those parked too long).
    pub fn tick(&mut self, now: Instant) {
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let uid = entry.remove();
            if let Some(p) = self.pods.get_mut(&uid)
                && p.state == State::Waiting
            {
                p.state = State::Queued;
                self.enqueue(uid);
            }
        }
        let mut overdue = Vec::new();
        for (uid, p) in self.pods.iter_mut() {
            if let State::Parked { since, .. } = p.state
                && now.duration_since(since) >= MAX_PARKED
            {
                p.state = State::Queued;
                overdue.push(uid.clone());
            }
        }
        for uid in overdue {
            self.enqueue(uid);
        }
    }

    /// When `tick` next has something to do.
    pub fn next_timer(&self) -> Option<Instant> {
        self.timers.keys().next().map(|(t, _)| *t)
    }

    pub fn has_queued(&self) -> bool {
        !self.queued.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parked_pods_return_after_a_change_and_their_backoff() {
        let mut q = Queue::default();
        let now = Instant::now();
        q.upsert("a", Arc::new(Pod::default()));
        assert_eq!(q.pop().map(|(u, _)| u), Some("a".into()));
        q.park("a", now);
        assert!(q.pop().is_none());
        q.cluster_changed(now);
        q.tick(now);
        assert!(q.pop().is_none(), "still backing off");
        q.tick(now + Duration::from_secs(1));
        assert_eq!(q.pop().map(|(u, _)| u), Some("a".into()));
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(4));
        assert_eq!(backoff(30), MAX_BACKOFF);
    }

    #[test]
    fn higher_priorities_go_first_then_arrival_order() {
        let with_priority = |priority| {
            let mut pod = Pod::default();
            pod.spec.get_or_insert_with(Default::default).priority = Some(priority);
            Arc::new(pod)
        };
        let mut q = Queue::default();
        q.upsert("low", with_priority(0));
        q.upsert("high", with_priority(1000));
        q.upsert("low-later", with_priority(0));
        q.upsert("high-later", with_priority(1000));
        let order: Vec<String> = std::iter::from_fn(|| q.pop().map(|(u, _)| u)).collect();
        assert_eq!(order, ["high", "high-later", "low", "low-later"]);
    }
}
