//! Namespaces parsed once per state: the project and pod node selectors, the SCC admission,
//! Pod Security and the webhooks' selectors each read the pod's namespace on every create.
//! A namespace's parsed JSON is kept beside the watch cache's entry it came from and used
//! while that entry is current (the same `Arc`), so a change is seen at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::watch::cache::Cached;

/// Namespaces kept, at most: past it the memo starts again (namespaces deleted meanwhile go).
const MAX: usize = 4096;

/// A cached state and its parse.
type Parsed = (Arc<Cached>, Arc<Value>);

#[derive(Default)]
pub struct ParsedNamespaces {
    /// By name, hashed with foldhash: names are the server's own, and SipHash cost more than
    /// the look-up's work.
    parsed: Mutex<HashMap<String, Parsed, foldhash::fast::RandomState>>,
}

impl ParsedNamespaces {
    /// The namespace `name` as `cached` holds it, parsed (None: not JSON).
    pub fn parse(&self, name: &str, cached: Arc<Cached>) -> Option<Arc<Value>> {
        if let Ok(memo) = self.parsed.lock()
            && let Some((from, value)) = memo.get(name)
            && Arc::ptr_eq(from, &cached)
        {
            return Some(value.clone());
        }
        let value: Arc<Value> = Arc::new(serde_json::from_slice(&cached.json).ok()?);
        if let Ok(mut memo) = self.parsed.lock() {
            if memo.len() >= MAX {
                memo.clear();
            }
            memo.insert(name.to_string(), (cached, value.clone()));
        }
        Some(value)
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
