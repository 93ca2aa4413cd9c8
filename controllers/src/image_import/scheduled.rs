//! The scheduled importer: tags with `importPolicy.scheduled` are imported again about once
//! per interval (15 minutes, as upstream's default). Streams are spread over the interval by
//! a fixed offset from their uid (the jitter), at most a few imports run at once, and a
//! stream whose import failed waits an extra interval per failure, up to four.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use kube::Client;
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;

use super::{decide, post, streams};

/// How often a scheduled tag is imported.
pub const INTERVAL: Duration = Duration::from_secs(900);
/// Imports run at once.
const CONCURRENCY: usize = 4;
/// How often the schedule is looked at.
const TICK: Duration = Duration::from_secs(15);

/// The offset of a stream within the interval, from its uid: the same every round.
pub fn offset(uid: &str, interval: Duration) -> Duration {
    let hash = uid
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    Duration::from_secs(hash % interval.as_secs().max(1))
}

/// Whether a stream whose turn comes at `offset` into every interval of `period` seconds
/// had its turn in the seconds `[from, to)` since the start, `failures` rounds skipped after
/// failures. A span of a whole period or more holds every stream's turn.
pub fn due(offset: Duration, (from, to): (u64, u64), period: u64, failures: u32) -> bool {
    let period = period.max(1);
    let span = to.saturating_sub(from);
    let wait = (offset.as_secs() % period + period - from % period) % period;
    let round = to / period;
    wait < span && (failures == 0 || round.is_multiple_of(u64::from(failures.min(4)) + 1))
}

pub async fn run_every(client: Client, interval: Duration) {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &streams());
    let mut failures: HashMap<String, u32> = HashMap::new();
    let started = tokio::time::Instant::now();
    let mut last = 0u64;
    let mut ticker = tokio::time::interval(TICK.min(interval));
    loop {
        ticker.tick().await;
        let elapsed = started.elapsed().as_secs();
        let period = interval.as_secs().max(1);
        let window = (last, elapsed);
        last = elapsed;
        if window.0 == window.1 {
            continue;
        }
        let Ok(list) = api.list(&ListParams::default()).await else {
            continue;
        };
        let mut due_now: Vec<(String, Value)> = Vec::new();
        for stream in list.items {
            let uid = stream.metadata.uid.clone().unwrap_or_default();
            let Ok(value) = serde_json::to_value(&stream) else {
                continue;
            };
            let Some(tags) = decide::scheduled_tags(&value).filter(|t| !t.is_empty()) else {
                continue;
            };
            let failed = failures.get(&uid).copied().unwrap_or(0);
            if !due(offset(&uid, interval), window, period, failed) {
                continue;
            }
            if let Some(isi) = decide::import_for(&value, Some(&tags)) {
                due_now.push((uid, isi));
            }
        }
        let results: Vec<(String, bool)> = futures::stream::iter(due_now)
            .map(|(uid, isi)| {
                let client = client.clone();
                async move { (uid, post(&client, isi).await.is_ok()) }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for (uid, ok) in results {
            if ok {
                failures.remove(&uid);
            } else {
                *failures.entry(uid).or_default() += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_come_up_once_per_interval_at_their_offset() {
        let interval = Duration::from_secs(900);
        let at = offset("some-uid", interval);
        assert!(at < interval);
        assert_eq!(at, offset("some-uid", interval));
        let s = at.as_secs();
        assert!(due(at, (s, s + 1), 900, 0));
        assert!(!due(at, (s + 1, s + 20), 900, 0));
        assert!(due(at, (s + 1, s + 901), 900, 0));
        // A span across the end of an interval.
        assert!(due(Duration::from_secs(5), (890, 910), 900, 0));
        assert!(!due(Duration::from_secs(15), (890, 910), 900, 0));
        // A whole interval or more between two looks: everyone's turn came.
        assert!(due(Duration::from_secs(1), (0, 2), 2, 0));
        assert!(due(Duration::from_secs(0), (4, 6), 2, 0));
        // After two failures, every third round.
        assert!(!due(at, (900 + s, 900 + s + 1), 900, 2));
        assert!(due(at, (2700 + s, 2700 + s + 1), 900, 2));
    }
}
