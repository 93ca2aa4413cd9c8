//! The watch caches of built-in kinds that the code names, found by the addresses of their
//! names: admission reads about ten of them on every request, and a scheme look-up and a
//! cache look-up each cost more than the rest of such a read.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::cache::{Cache, mix};

/// A kind's group, version and plural as static text, by address and length: text that lives
/// as long as the program is never another text's, so equal keys name the same kind.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct StaticNames([usize; 6]);

impl StaticNames {
    pub(crate) fn of(group: &'static str, version: &'static str, plural: &'static str) -> Self {
        let word = |s: &str| [s.as_ptr() as usize, s.len()];
        let ([g0, g1], [v0, v1], [p0, p1]) = (word(group), word(version), word(plural));
        StaticNames([g0, g1, v0, v1, p0, p1])
    }
}

impl std::hash::Hash for StaticNames {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(mix(&self.0));
    }
}

/// Each named kind's place in the server's scheme, and its cache as last found.
#[derive(Default)]
pub(crate) struct NamedCaches {
    found: RwLock<HashMap<StaticNames, (usize, Arc<Cache>), foldhash::fast::RandomState>>,
}

impl NamedCaches {
    /// The kind's place in the scheme and its cache, unless the cache has broken since (a
    /// broken cache is replaced through `WatchCaches::of`).
    pub(crate) fn get(&self, names: StaticNames) -> Option<(usize, Arc<Cache>)> {
        let found = self.found.read().unwrap_or_else(|e| e.into_inner());
        let (at, cache) = found.get(&names)?;
        (!cache.is_broken()).then(|| (*at, cache.clone()))
    }

    pub(crate) fn keep(&self, names: StaticNames, at: usize, cache: Arc<Cache>) {
        self.found
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(names, (at, cache));
    }
}

#[cfg(test)]
mod tests {
    use super::StaticNames;

    #[test]
    fn names_are_told_apart_by_each_part() {
        let (version, plural): (&'static str, &'static str) = ("v1", "podsx");
        let names = StaticNames::of("", version, plural);
        assert!(names == StaticNames::of("", version, plural));
        assert!(names != StaticNames::of("", version, &plural[..4]));
        assert!(names != StaticNames::of("", &plural[..2], plural));
        assert!(names != StaticNames::of(version, version, plural));
    }
}
