//! A work queue's running jobs, each known by the key it works on, so that one that panics
//! is reported as that key's failure (and retried) instead of leaving it running forever.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;

use tokio::task::{Id, JoinSet};

use crate::Error;

pub struct Workers<K = String> {
    tasks: JoinSet<Result<(), Error>>,
    uids: HashMap<Id, K>,
}

impl<K> Default for Workers<K> {
    fn default() -> Self {
        Workers {
            tasks: JoinSet::new(),
            uids: HashMap::new(),
        }
    }
}

/// How a job ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Failed(String),
    Panicked,
}

impl<K: Eq + Hash> Workers<K> {
    pub fn spawn(
        &mut self,
        uid: K,
        work: impl Future<Output = Result<(), Error>> + Send + 'static,
    ) {
        let handle = self.tasks.spawn(work);
        self.uids.insert(handle.id(), uid);
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// The next job to end, and its uid; None when none runs.
    pub async fn next(&mut self) -> Option<(K, Outcome)> {
        loop {
            let (id, outcome) = match self.tasks.join_next_with_id().await? {
                Ok((id, Ok(()))) => (id, Outcome::Done),
                Ok((id, Err(error))) => (id, Outcome::Failed(error.to_string())),
                Err(error) if error.is_panic() => (error.id(), Outcome::Panicked),
                // Cancelled: only when the set is dropped.
                Err(error) => (error.id(), Outcome::Failed(error.to_string())),
            };
            if let Some(uid) = self.uids.remove(&id) {
                return Some((uid, outcome));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_job_is_its_uids_failure() {
        let mut workers = Workers::<String>::default();
        workers.spawn("boom".into(), async { panic!("worker bug") });
        workers.spawn("fails".into(), async { Err(Error::Invalid("no".into())) });
        workers.spawn("works".into(), async { Ok(()) });
        let mut ended = Vec::new();
        while let Some(end) = workers.next().await {
            ended.push(end);
        }
        ended.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            ended,
            [
                ("boom".to_string(), Outcome::Panicked),
                ("fails".to_string(), Outcome::Failed("no".into())),
                ("works".to_string(), Outcome::Done),
            ]
        );
        assert!(workers.is_empty());
        assert!(workers.uids.is_empty());
    }
}
