//! Namespaces parsed once per state: the project and pod node selectors, the SCC admission,
//! Pod Security and the webhooks' selectors each read the pod's namespace on every create.
//! A namespace's parsed JSON is kept beside the watch cache's entry it came from and used
//! while that entry is current (the same `Arc`), so a change is seen at once. What plugins
//! derive from a parsed namespace (the SCC allocation) is kept the same way, beside the parse.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::watch::cache::Cached;

/// Namespaces kept, at most: past it the memo starts again (namespaces deleted meanwhile go).
const MAX: usize = 4096;

/// A value derived from each namespace's state `S`, kept while the state is the same `Arc`.
pub struct PerNamespaceState<S, T> {
    /// By name, hashed with foldhash: names are the server's own, and SipHash cost more than
    /// the look-up's work.
    kept: Mutex<HashMap<String, Derived<S, T>, foldhash::fast::RandomState>>,
}

/// A namespace's state and what was derived from it.
type Derived<S, T> = (Arc<S>, Arc<T>);

impl<S, T> Default for PerNamespaceState<S, T> {
    fn default() -> Self {
        PerNamespaceState {
            kept: Mutex::default(),
        }
    }
}

impl<S, T> PerNamespaceState<S, T> {
    /// What `derive` makes of the namespace `name` in `state`, derived again only for a new
    /// state (None: nothing can be derived, and nothing is kept).
    pub fn get_or_derive(
        &self,
        name: &str,
        state: &Arc<S>,
        derive: impl FnOnce(&S) -> Option<T>,
    ) -> Option<Arc<T>> {
        if let Ok(kept) = self.kept.lock()
            && let Some((from, value)) = kept.get(name)
            && Arc::ptr_eq(from, state)
        {
            return Some(value.clone());
        }
        let value = Arc::new(derive(state)?);
        if let Ok(mut kept) = self.kept.lock() {
            if kept.len() >= MAX {
                kept.clear();
            }
            kept.insert(name.to_string(), (state.clone(), value.clone()));
        }
        Some(value)
    }
}

/// Namespaces as the watch cache holds them, parsed.
#[derive(Default)]
pub struct ParsedNamespaces(PerNamespaceState<Cached, Value>);

impl ParsedNamespaces {
    /// The namespace `name` as `cached` holds it, parsed (None: not JSON).
    pub fn parse(&self, name: &str, cached: Arc<Cached>) -> Option<Arc<Value>> {
        self.0
            .get_or_derive(name, &cached, |c| serde_json::from_slice(&c.json).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_is_parsed_once_and_a_new_one_again() {
        let memo = ParsedNamespaces::default();
        let first = Arc::new(Cached {
            json: br#"{"metadata":{"name":"a","resourceVersion":"1"}}"#.to_vec().into(),
        });
        let a = memo.parse("a", first.clone());
        let again = memo.parse("a", first);
        assert!(matches!((&a, &again), (Some(x), Some(y)) if Arc::ptr_eq(x, y)));
        let second = Arc::new(Cached {
            json: br#"{"metadata":{"name":"a","resourceVersion":"2"}}"#.to_vec().into(),
        });
        let changed = memo.parse("a", second);
        assert_eq!(
            changed
                .as_ref()
                .map(|v| v["metadata"]["resourceVersion"].clone()),
            Some(Value::from("2"))
        );
        let garbage = Arc::new(Cached {
            json: b"not json".to_vec().into(),
        });
        assert!(memo.parse("b", garbage).is_none());
    }
}
