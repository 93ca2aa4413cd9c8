//! The values a namespace has been allocated for its pods (`openshift.io/sa.scc.*`
//! annotations, written by the namespace security controller), parsed as upstream parses them.

use std::sync::Arc;

use api::field::Field;
use serde_json::Value;

use crate::admission::parsed_namespaces::PerNamespaceState;

use crate::registry::security::model::IdRange;

pub const UID_RANGE: &str = "openshift.io/sa.scc.uid-range";
pub const SUPPLEMENTAL_GROUPS: &str = "openshift.io/sa.scc.supplemental-groups";
pub const MCS: &str = "openshift.io/sa.scc.mcs";

/// A namespace's allocation; each part absent when its annotation is missing or unreadable.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Allocation {
    pub uids: Option<IdRange>,
    /// The supplemental-groups blocks, else the UID block (upstream's fallback).
    pub groups: Option<Vec<IdRange>>,
    pub mcs: Option<String>,
}

impl Allocation {
    pub fn of(namespace: &Value) -> Allocation {
        // Found once, each key by a scan of the few annotations.
        let annotations = namespace.field("metadata").field("annotations");
        let annotation = |key: &str| {
            annotations
                .field(key)
                .as_str()
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let uids = annotation(UID_RANGE).and_then(block);
        let groups = annotation(SUPPLEMENTAL_GROUPS)
            .and_then(|v| {
                v.split(',')
                    .map(|b| block(b.trim()))
                    .collect::<Option<Vec<_>>>()
            })
            .or_else(|| uids.map(|u| vec![u]));
        Allocation {
            uids,
            groups,
            mcs: annotation(MCS).map(str::to_string),
        }
    }

    /// Whether the controller has allocated anything yet.
    pub fn is_complete(&self) -> bool {
        self.uids.is_some() && self.mcs.is_some()
    }
}

/// Namespaces' allocations parsed once per state: the state is the parsed namespace the
/// namespace memo shares (`ParsedNamespaces`), the same `Arc` until the namespace changes.
#[derive(Default)]
pub struct Allocations(PerNamespaceState<Value, Allocation>);

impl Allocations {
    /// The allocation of the namespace `name` in the state `namespace`.
    pub fn of(&self, name: &str, namespace: &Arc<Value>) -> Arc<Allocation> {
        self.0
            .get_or_derive(name, namespace, |ns| Some(Allocation::of(ns)))
            .unwrap_or_default()
    }
}

/// `<start>/<length>` or `<start>-<end>`, inclusive.
fn block(text: &str) -> Option<IdRange> {
    if let Some((start, length)) = text.split_once('/') {
        let (min, length) = (start.parse::<i64>().ok()?, length.parse::<i64>().ok()?);
        return (length > 0).then_some(IdRange {
            min,
            max: min + length - 1,
        });
    }
    let (min, max) = text.split_once('-')?;
    let (min, max) = (min.parse::<i64>().ok()?, max.parse::<i64>().ok()?);
    (min <= max).then_some(IdRange { min, max })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn blocks_by_length_or_end_and_the_uid_fallback() {
        let ns = json!({"metadata": {"annotations": {
            UID_RANGE: "1000680000/10000", MCS: "s0:c26,c15"}}});
        let a = Allocation::of(&ns);
        assert_eq!(
            a.uids,
            Some(IdRange {
                min: 1000680000,
                max: 1000689999
            })
        );
        assert_eq!(
            a.groups,
            Some(vec![IdRange {
                min: 1000680000,
                max: 1000689999
            }])
        );
        assert!(a.is_complete());
        let ns = json!({"metadata": {"annotations": {SUPPLEMENTAL_GROUPS: "5-9, 100/2"}}});
        let a = Allocation::of(&ns);
        assert_eq!(
            a.groups,
            Some(vec![
                IdRange { min: 5, max: 9 },
                IdRange { min: 100, max: 101 }
            ])
        );
        assert!(!a.is_complete());
        assert_eq!(block("7/0"), None);
    }

    #[test]
    fn an_allocation_is_parsed_once_per_namespace_state() {
        let memo = Allocations::default();
        let state = Arc::new(json!({"metadata": {"annotations": {
            UID_RANGE: "1000680000/10000", MCS: "s0:c26,c15"}}}));
        let first = memo.of("a", &state);
        assert!(Arc::ptr_eq(&first, &memo.of("a", &state)));
        // A new state of the namespace (even an equal one) is parsed again.
        let changed = Arc::new(json!({"metadata": {"annotations": {MCS: "s0:c1,c2"}}}));
        let second = memo.of("a", &changed);
        assert_eq!(second.mcs.as_deref(), Some("s0:c1,c2"));
        assert_eq!(second.uids, None);
        assert_eq!(*memo.of("b", &state), *first);
    }
}
