//! A small map of what was read from elsewhere, each entry served for a while after it was
//! put, bounded in entries and in bytes: when an entry would overflow it, stale entries go
//! first, then everything (a cache, not a record).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub struct Expiring<V> {
    keep: Duration,
    max_entries: usize,
    max_bytes: usize,
    entries: Mutex<Entries<V>>,
}

struct Entries<V> {
    /// The value, when it was put, and its weight in bytes.
    by_key: HashMap<String, (V, Instant, usize)>,
    bytes: usize,
}

impl<V: Clone> Expiring<V> {
    pub fn new(keep: Duration, max_entries: usize, max_bytes: usize) -> Self {
        Expiring {
            keep,
            max_entries,
            max_bytes,
            entries: Mutex::new(Entries {
                by_key: HashMap::new(),
                bytes: 0,
            }),
        }
    }

    fn entries(&self) -> MutexGuard<'_, Entries<V>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value put under `key` less than `keep` ago.
    pub fn get(&self, key: &str) -> Option<V> {
        let entries = self.entries();
        let (value, at, _) = entries.by_key.get(key)?;
        (at.elapsed() < self.keep).then(|| value.clone())
    }

    /// Puts `value` of `weight` bytes under `key`, within the bounds.
    pub fn insert(&self, key: String, value: V, weight: usize) {
        let mut entries = self.entries();
        let entries = &mut *entries;
        if let Some((_, _, old)) = entries.by_key.remove(&key) {
            entries.bytes -= old;
        }
        let weight = weight + key.len();
        let full = |e: &Entries<V>| {
            e.bytes + weight > self.max_bytes || e.by_key.len() >= self.max_entries
        };
        if full(entries) {
            let keep = self.keep;
            entries.by_key.retain(|_, (_, at, _)| at.elapsed() < keep);
            entries.bytes = entries.by_key.values().map(|(_, _, w)| w).sum();
        }
        if full(entries) {
            entries.by_key.clear();
            entries.bytes = 0;
        }
        entries.bytes += weight;
        entries.by_key.insert(key, (value, Instant::now(), weight));
    }

    /// Forgets everything (a benchmark's cold start).
    #[cfg(test)]
    pub fn clear(&self) {
        let mut entries = self.entries();
        entries.by_key.clear();
        entries.bytes = 0;
    }

    /// The bytes held, and the sum of the entries' weights (the same, or the account is off).
    #[cfg(test)]
    pub fn bytes(&self) -> (usize, usize) {
        let entries = self.entries();
        let counted = entries.by_key.values().map(|(_, _, w)| w).sum();
        (entries.bytes, counted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_served_while_fresh_and_within_the_bounds() {
        let map = Expiring::new(Duration::from_secs(60), 3, 100);
        map.insert("a".into(), 1, 10);
        assert_eq!(map.get("a"), Some(1));
        assert_eq!(map.get("b"), None);
        for (i, key) in ["b", "c", "d"].into_iter().enumerate() {
            map.insert(key.into(), i, 10);
        }
        // The fourth entry started the map over: only it is left.
        assert_eq!((map.get("a"), map.get("d")), (None, Some(2)));
        map.insert("big".into(), 9, 200);
        assert_eq!(map.bytes().0, map.bytes().1);

        let stale = Expiring::new(Duration::ZERO, 10, 100);
        stale.insert("a".into(), 1, 1);
        assert_eq!(stale.get("a"), None);
    }
}
