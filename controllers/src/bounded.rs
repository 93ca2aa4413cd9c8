//! A map that holds at most a fixed number of entries, forgetting the least recently used one
//! when full: the controllers' caches must not grow with the cluster's history.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

#[derive(Debug)]
pub struct Lru<K, V> {
    capacity: usize,
    /// Value and last use of each key.
    entries: HashMap<K, (V, u64)>,
    /// Keys by last use, oldest first.
    uses: BTreeMap<u64, K>,
    clock: u64,
}

impl<K: Clone + Eq + Hash, V> Lru<K, V> {
    pub fn new(capacity: usize) -> Self {
        Lru {
            capacity: capacity.max(1),
            entries: HashMap::new(),
            uses: BTreeMap::new(),
            clock: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// The value of `key`, marked as just used.
    pub fn get(&mut self, key: &K) -> Option<&mut V> {
        let now = self.tick();
        let (_, used) = self.entries.get_mut(key)?;
        self.uses.remove(used);
        *used = now;
        self.uses.insert(now, key.clone());
        self.entries.get_mut(key).map(|(v, _)| v)
    }

    pub fn contains(&mut self, key: &K) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key`; forgets the least recently used key if that makes one too many.
    pub fn insert(&mut self, key: K, value: V) {
        let now = self.tick();
        if let Some((_, used)) = self.entries.insert(key.clone(), (value, now)) {
            self.uses.remove(&used);
        }
        self.uses.insert(now, key);
        while self.entries.len() > self.capacity {
            let Some((_, oldest)) = self.uses.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let (value, used) = self.entries.remove(key)?;
        self.uses.remove(&used);
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_the_least_recently_used() {
        let mut lru = Lru::new(2);
        lru.insert("a", 1);
        lru.insert("b", 2);
        assert_eq!(lru.get(&"a"), Some(&mut 1));
        lru.insert("c", 3);
        assert_eq!(lru.len(), 2);
        assert!(lru.contains(&"a"));
        assert!(!lru.contains(&"b"));
        assert!(lru.contains(&"c"));
        lru.insert("c", 4);
        assert_eq!(lru.len(), 2);
        assert_eq!(lru.remove(&"c"), Some(4));
        assert_eq!(lru.len(), 1);
        for i in 0..1000 {
            lru.insert("x", i);
        }
        assert_eq!(lru.len(), 2);
        assert_eq!(lru.uses.len(), 2);
    }
}
