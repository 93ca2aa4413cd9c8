//! The kubelet's restart and image-pull back-off: per key (pod UID and container, or pod UID
//! and image), 10 s doubling to 300 s, no jitter. A failure within the current period after
//! the last one waits; the first failure restarts at once. An entry not touched for twice
//! the maximum starts over.

use std::collections::HashMap;
use std::time::{Duration, Instant};

pub const INITIAL: Duration = Duration::from_secs(10);
pub const MAX: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy)]
struct Entry {
    period: Duration,
    updated: Instant,
}

#[derive(Debug, Default)]
pub struct Backoff {
    entries: HashMap<String, Entry>,
}

impl Backoff {
    pub fn new() -> Backoff {
        Backoff::default()
    }

    fn live(&self, key: &str, now: Instant) -> Option<Entry> {
        self.entries
            .get(key)
            .copied()
            .filter(|e| now.saturating_duration_since(e.updated) <= 2 * MAX)
    }

    /// The period still to wait out, if the failure at `failed_at` is within the key's
    /// current period.
    pub fn waiting(&self, key: &str, failed_at: Instant, now: Instant) -> Option<Duration> {
        let entry = self.live(key, now)?;
        (now.saturating_duration_since(failed_at) < entry.period).then_some(entry.period)
    }

    /// Records a retry: the first (or one after a long quiet) sets the initial period, each
    /// later one doubles it up to the maximum.
    pub fn next(&mut self, key: &str, now: Instant) {
        let period = match self.live(key, now) {
            Some(e) => (e.period * 2).min(MAX),
            None => INITIAL,
        };
        self.entries.insert(
            key.to_string(),
            Entry {
                period,
                updated: now,
            },
        );
    }

    /// Forgets every key starting with `prefix` (a pod's, once it is gone).
    pub fn forget_prefix(&mut self, prefix: &str) {
        self.entries.retain(|k, _| !k.starts_with(prefix));
    }
}

/// A duration as Go prints it (`10s`, `1m20s`, `5m0s`, `1.286s`, `512ms`), truncated to
/// milliseconds as the kubelet's messages are.
pub fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (hours, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (minutes, rest) = (rest / 60_000, rest % 60_000);
    let (secs, frac) = (rest / 1000, rest % 1000);
    let mut seconds = secs.to_string();
    if frac > 0 {
        let f = format!("{frac:03}");
        seconds.push('.');
        seconds.push_str(f.trim_end_matches('0'));
    }
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, m) => format!("{m}m{seconds}s"),
        (h, m) => format!("{h}h{m}m{seconds}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_wait_0_10_20_40_80_160_300_300() {
        let mut b = Backoff::new();
        let mut now = Instant::now();
        let mut waits = Vec::new();
        for _ in 0..8 {
            // The container fails at once after each start.
            let failed = now;
            match b.waiting("uid_app", failed, now) {
                None => waits.push(0),
                Some(period) => {
                    waits.push(period.as_secs());
                    now += period;
                    assert!(b.waiting("uid_app", failed, now).is_none());
                }
            }
            b.next("uid_app", now);
        }
        assert_eq!(waits, [0, 10, 20, 40, 80, 160, 300, 300]);
    }

    #[test]
    fn a_container_that_ran_ten_minutes_starts_over() {
        let mut b = Backoff::new();
        let start = Instant::now();
        b.next("k", start);
        b.next("k", start);
        let later = start + Duration::from_secs(601);
        assert!(b.waiting("k", later, later).is_none());
        b.next("k", later);
        assert_eq!(b.waiting("k", later, later), Some(INITIAL));
        b.forget_prefix("k");
        assert!(b.waiting("k", later, later).is_none());
    }

    #[test]
    fn durations_print_as_go_prints_them() {
        let s = Duration::from_secs;
        assert_eq!(go_duration(s(10)), "10s");
        assert_eq!(go_duration(s(80)), "1m20s");
        assert_eq!(go_duration(s(160)), "2m40s");
        assert_eq!(go_duration(s(300)), "5m0s");
        assert_eq!(go_duration(Duration::from_millis(1286)), "1.286s");
        assert_eq!(go_duration(Duration::from_micros(512_700)), "512ms");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::ZERO), "0s");
        assert_eq!(go_duration(s(3723)), "1h2m3s");
    }
}
