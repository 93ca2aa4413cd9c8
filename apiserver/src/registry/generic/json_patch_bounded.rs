//! JSON patches within upstream's bounds. A small patch of `copy` operations can double a
//! field again and again (the CVE-2019-1002100 class), so, as upstream, a patch has at most
//! 10,000 operations and its copies may add at most the request body limit to the object.

use json_patch::PatchOperation;
use serde_json::Value;

use crate::http::body::MAX_BODY_BYTES;

/// Operations a JSON patch may have.
pub const MAX_OPERATIONS: usize = 10_000;

#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Over a bound (413, with this message after "Request entity too large: ").
    TooLarge(String),
    /// An operation failed (a missing path, a failed test).
    Failed(String),
}

/// Applies `patch` to `doc`; on any refusal `doc` is left as it was.
pub fn apply(doc: &mut Value, patch: &json_patch::Patch) -> Result<(), Refused> {
    let operations = &patch.0;
    if operations.len() > MAX_OPERATIONS {
        return Err(Refused::TooLarge(format!(
            "The allowed maximum operations in a JSON patch is {MAX_OPERATIONS}, got {}",
            operations.len()
        )));
    }
    // The copies' sizes are counted as the patch goes (a copy of a copy counts again), on a
    // copy of the document so that a refusal leaves it untouched.
    let mut result = doc.clone();
    let mut grown = 0usize;
    for operation in operations {
        if let PatchOperation::Copy(copy) = operation
            && let Some(source) = result.pointer(copy.from.as_str())
        {
            grown = grown.saturating_add(encoded_len(source));
            if grown > MAX_BODY_BYTES {
                return Err(Refused::TooLarge(format!(
                    "Unable to complete the copy, the accumulated size increase of copy is {grown}, exceeding the limit {MAX_BODY_BYTES}"
                )));
            }
        }
        json_patch::patch(&mut result, std::slice::from_ref(operation))
            .map_err(|e| Refused::Failed(e.to_string()))?;
    }
    *doc = result;
    Ok(())
}

/// The length of `value`'s JSON, counted without building it.
fn encoded_len(value: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(ops: Value) -> json_patch::Patch {
        serde_json::from_value(ops).unwrap()
    }

    #[test]
    fn doubling_copies_are_stopped_before_they_exhaust_memory() {
        let mut doc = json!({"data": {"a": "x".repeat(1 << 20)}});
        let ops: Vec<Value> = (0..30)
            .map(|i| json!({"op": "copy", "from": "/data", "path": format!("/data/c{i}")}))
            .collect();
        let err = apply(&mut doc, &patch(json!(ops))).unwrap_err();
        assert!(
            matches!(err, Refused::TooLarge(ref m) if m.starts_with("Unable to complete the copy")),
            "{err:?}"
        );
        assert_eq!(doc["data"].as_object().unwrap().len(), 1, "left as it was");
    }

    #[test]
    fn too_many_operations() {
        let ops: Vec<Value> = (0..=MAX_OPERATIONS)
            .map(|_| json!({"op": "test", "path": "/a", "value": 1}))
            .collect();
        assert_eq!(
            apply(&mut json!({"a": 1}), &patch(json!(ops))),
            Err(Refused::TooLarge(
                "The allowed maximum operations in a JSON patch is 10000, got 10001".into()
            ))
        );
    }

    #[test]
    fn ordinary_patches_apply() {
        let mut doc = json!({"a": {"b": 1}});
        let p = patch(
            json!([{"op": "copy", "from": "/a", "path": "/c"}, {"op": "replace", "path": "/a/b", "value": 2}]),
        );
        apply(&mut doc, &p).unwrap();
        assert_eq!(doc, json!({"a": {"b": 2}, "c": {"b": 1}}));
        let failing = patch(
            json!([{"op": "replace", "path": "/a/b", "value": 3}, {"op": "test", "path": "/a/b", "value": 9}]),
        );
        assert!(matches!(apply(&mut doc, &failing), Err(Refused::Failed(_))));
        assert_eq!(doc["a"]["b"], 2);
    }
}
