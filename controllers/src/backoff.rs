//! Per-object retry delays that double on each failure and reset on success, as upstream's
//! rate-limited work queues: a failing object is retried soon, then ever more slowly, and
//! never holds back the others.

use std::hash::Hash;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::runtime::controller::Action;

use crate::bounded::Lru;

/// Objects whose failures are remembered at once; the least recently failed are forgotten
/// (and start again from the first delay).
const REMEMBERED: usize = 4096;

#[derive(Debug)]
pub struct Backoffs<K> {
    first: Duration,
    max: Duration,
    failures: Lru<K, u32>,
}

impl<K: Clone + Eq + Hash> Backoffs<K> {
    pub fn new(first: Duration, max: Duration) -> Self {
        Backoffs {
            first,
            max,
            failures: Lru::new(REMEMBERED),
        }
    }

    /// The delay before `key` is tried again after one more failure.
    pub fn failed(&mut self, key: &K) -> Duration {
        let failures = match self.failures.get(key) {
            Some(n) => {
                *n = n.saturating_add(1);
                *n
            }
            None => {
                self.failures.insert(key.clone(), 1);
                1
            }
        };
        let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(31));
        self.first.saturating_mul(factor).min(self.max)
    }

    pub fn succeeded(&mut self, key: &K) {
        self.failures.remove(key);
    }

    pub fn len(&self) -> usize {
        self.failures.len()
    }

    pub fn is_empty(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The retry delays of a kube-runtime controller's objects, shared between its reconciler
/// (which resets them on success) and its error policy (which grows them): a fixed requeue
/// would retry a failing object at the same pace forever.
#[derive(Debug)]
pub struct Retries(std::sync::Mutex<Backoffs<String>>);

impl Retries {
    /// 50 ms doubling up to 5 minutes.
    pub fn new() -> Self {
        Retries(std::sync::Mutex::new(Backoffs::new(
            Duration::from_millis(50),
            Duration::from_secs(300),
        )))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Backoffs<String>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn failed(&self, key: &str) -> Duration {
        self.lock().failed(&key.to_string())
    }

    pub fn succeeded(&self, key: &str) {
        self.lock().succeeded(&key.to_string());
    }

    /// One reconcile of the object at `key`: its back-off is forgotten when it succeeds.
    pub async fn track<E>(
        &self,
        key: &str,
        sync: impl std::future::Future<Output = Result<Action, E>>,
    ) -> Result<Action, E> {
        let action = sync.await?;
        self.succeeded(key);
        Ok(action)
    }

    /// The error policy of a controller: the object is retried after its grown back-off.
    pub fn retry(&self, controller: &str, key: &str, error: &dyn std::fmt::Display) -> Action {
        let delay = self.failed(key);
        tracing::warn!(%error, object = %key, ?delay, "{controller}: retrying");
        Action::requeue(delay)
    }
}

/// `namespace/name` of an object: the key of its retries.
pub fn key_of(meta: &ObjectMeta) -> String {
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default()
    )
}

impl Default for Retries {
    fn default() -> Self {
        Retries::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_maximum_and_reset_on_success() {
        let mut b = Backoffs::new(Duration::from_millis(50), Duration::from_secs(30));
        let delays: Vec<u128> = (0..12).map(|_| b.failed(&"a").as_millis()).collect();
        assert_eq!(
            delays,
            [
                50, 100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000
            ]
        );
        // Others are not slowed by it.
        assert_eq!(b.failed(&"b"), Duration::from_millis(50));
        b.succeeded(&"a");
        assert_eq!(b.failed(&"a"), Duration::from_millis(50));
        for _ in 0..100 {
            b.failed(&"a");
        }
        assert_eq!(b.failed(&"a"), Duration::from_secs(30));
    }

    #[test]
    fn retries_grow_per_object() {
        let retries = Retries::new();
        assert_eq!(retries.failed("a"), Duration::from_millis(50));
        assert_eq!(retries.failed("a"), Duration::from_millis(100));
        assert_eq!(retries.failed("b"), Duration::from_millis(50));
        retries.succeeded("a");
        assert_eq!(retries.failed("a"), Duration::from_millis(50));
    }

    #[test]
    fn failures_are_remembered_for_a_bounded_number_of_objects() {
        let mut b = Backoffs::new(Duration::from_millis(1), Duration::from_secs(1));
        for i in 0..REMEMBERED + 100 {
            b.failed(&i);
        }
        assert_eq!(b.len(), REMEMBERED);
    }
}
