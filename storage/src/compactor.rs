//! Periodic compaction, the same for every backend: keep at least `retention` of history and
//! at least `min_revisions` revisions, discard the rest.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::store::Store;
use crate::types::Revision;

#[derive(Clone, Copy, Debug)]
pub struct CompactionPolicy {
    /// History younger than this is kept.
    pub retention: Duration,
    /// At least this many revisions are kept, however old.
    pub min_revisions: u64,
    /// How often the policy is applied.
    pub interval: Duration,
}

impl Default for CompactionPolicy {
    fn default() -> Self {
        Self {
            retention: Duration::from_secs(300),
            min_revisions: 1000,
            interval: Duration::from_secs(30),
        }
    }
}

/// Remembers which revision was current when, to find the revision `retention` ago.
#[derive(Debug, Default)]
pub struct Compactor {
    policy: CompactionPolicy,
    samples: VecDeque<(Instant, Revision)>,
    compacted: Revision,
}

impl Compactor {
    pub fn new(policy: CompactionPolicy) -> Self {
        Self {
            policy,
            samples: VecDeque::new(),
            compacted: 0,
        }
    }

    /// Records the current revision at `now` and returns the revision to compact to, if any.
    pub fn target(&mut self, now: Instant, current: Revision) -> Option<Revision> {
        self.samples.push_back((now, current));
        // The newest sample at least `retention` old bounds what may go; older ones are useless.
        let mut old_enough = None;
        while let Some(&(at, rev)) = self.samples.front() {
            if now.duration_since(at) < self.policy.retention {
                break;
            }
            old_enough = Some(rev);
            self.samples.pop_front();
        }
        if let Some(rev) = old_enough {
            // Keep that sample: it still bounds the next round.
            self.samples.push_front((now - self.policy.retention, rev));
        }
        let target = old_enough?.min(current.saturating_sub(self.policy.min_revisions));
        (target > self.compacted).then_some(target)
    }

    /// Applies the policy to `store` until the task is dropped.
    pub async fn run(mut self, store: Arc<dyn Store>) {
        let mut tick = tokio::time::interval(self.policy.interval);
        loop {
            tick.tick().await;
            let current = match store.current_revision().await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "compaction skipped: no current revision");
                    continue;
                }
            };
            let Some(target) = self.target(Instant::now(), current) else {
                continue;
            };
            match store.compact(target).await {
                Ok(()) => {
                    tracing::debug!(revision = target, "compacted storage history");
                    self.compacted = target;
                }
                // Another server sharing the backend compacted further already.
                Err(Error::Compacted { compacted, .. }) => self.compacted = compacted,
                Err(e) => tracing::warn!(error = %e, revision = target, "compaction failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_retention_and_min_revisions() {
        let policy = CompactionPolicy {
            retention: Duration::from_secs(300),
            min_revisions: 1000,
            interval: Duration::from_secs(30),
        };
        let mut c = Compactor::new(policy);
        let t0 = Instant::now();
        assert_eq!(c.target(t0, 5_000), None, "nothing is old enough yet");
        assert_eq!(c.target(t0 + Duration::from_secs(200), 8_000), None);
        // 5,000 was current 300 s ago: it may go, and 9,000 - 1,000 allows it.
        assert_eq!(c.target(t0 + Duration::from_secs(300), 9_000), Some(5_000));
        c.compacted = 5_000;
        // 8,000 was current 300 s before t0+500, but only 8,100 - 1,000 = 7,100 may go.
        assert_eq!(c.target(t0 + Duration::from_secs(500), 8_100), Some(7_100));
        c.compacted = 7_100;
        assert_eq!(
            c.target(t0 + Duration::from_secs(510), 8_100),
            None,
            "nothing new to discard"
        );
    }
}
