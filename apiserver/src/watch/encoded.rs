//! Objects as JSON bytes, for the paths that never need to look inside them (lists and watch
//! events in JSON): the stored form with the resourceVersion spliced in, and list and event
//! envelopes around already-encoded items. Parsing and re-encoding every item would cost more
//! than everything else a large list does.

use api::scheme::ResourceDef;
use bytes::{BufMut, Bytes, BytesMut};
use serde_json::Value;

/// `stored` (a JSON object, as `object::to_store` writes it) with `metadata.resourceVersion`
/// set to `revision`; `None` if it has no top-level `metadata` object.
pub fn with_resource_version(stored: &[u8], revision: u64) -> Option<Bytes> {
    let mut out = BytesMut::with_capacity(stored.len() + 32);
    append_with_resource_version(&mut out, stored, revision).then(|| out.freeze())
}

/// Appends `stored` with its resourceVersion to `out`; false (nothing appended) if it has no
/// top-level `metadata` object.
pub fn append_with_resource_version(out: &mut BytesMut, stored: &[u8], revision: u64) -> bool {
    let Some(at) = top_level_metadata(stored) else {
        return false;
    };
    out.put_slice(&stored[..at]);
    out.put_slice(b"\"resourceVersion\":\"");
    out.put_slice(revision.to_string().as_bytes());
    out.put_u8(b'"');
    if stored.get(at) != Some(&b'}') {
        out.put_u8(b',');
    }
    out.put_slice(&stored[at..]);
    true
}

/// A stored key-value as the API shows it: its value with its mod revision as
/// resourceVersion.
pub fn stored(kv: &storage::KeyValue) -> Bytes {
    at_revision(&kv.value, kv.mod_revision)
}

/// A stored value shown at `revision` (its own, or a deletion's); as stored if it has no
/// metadata to carry one.
pub fn at_revision(value: &Bytes, revision: u64) -> Bytes {
    with_resource_version(value, revision).unwrap_or_else(|| value.clone())
}

/// The offset just inside the top-level `"metadata":{`. The pattern cannot occur inside a
/// JSON string (its inner quote would be escaped), so only nesting has to be ruled out.
fn top_level_metadata(json: &[u8]) -> Option<usize> {
    const PATTERN: &[u8] = b"\"metadata\":{";
    let finder = memchr::memmem::Finder::new(PATTERN);
    let (mut depth, mut in_string, mut escaped, mut scanned) = (0usize, false, false, 0usize);
    for candidate in finder.find_iter(json) {
        for &byte in &json[scanned..candidate] {
            match (in_string, escaped, byte) {
                (true, true, _) => escaped = false,
                (true, false, b'\\') => escaped = true,
                (true, false, b'"') => in_string = false,
                (true, false, _) => {}
                (false, _, b'"') => in_string = true,
                (false, _, b'{' | b'[') => depth += 1,
                (false, _, b'}' | b']') => depth = depth.saturating_sub(1),
                (false, _, _) => {}
            }
        }
        scanned = candidate;
        if depth == 1 && !in_string {
            return Some(candidate + PATTERN.len());
        }
    }
    None
}

/// A `<Kind>List` around `items`, the comma-separated encoded objects, as three chunks (head,
/// items, tail), so that the items are never copied again.
pub fn list_chunks(def: &ResourceDef, metadata: &Value, items: Bytes) -> [Bytes; 3] {
    let head = format!(
        r#"{{"kind":"{}List","apiVersion":"{}","metadata":{},"items":["#,
        def.kind,
        def.api_version(),
        metadata
    );
    [Bytes::from(head), items, Bytes::from_static(b"]}")]
}

/// One line of a JSON watch stream.
pub fn watch_event(kind: &str, object: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(object.len() + kind.len() + 24);
    out.put_slice(b"{\"type\":\"");
    out.put_slice(kind.as_bytes());
    out.put_slice(b"\",\"object\":");
    out.put_slice(object);
    out.put_slice(b"}\n");
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn splice(v: &Value) -> Value {
        let bytes = with_resource_version(v.to_string().as_bytes(), 42).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn splices_into_the_top_level_metadata_only() {
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
        assert_eq!(
            splice(&obj)["metadata"],
            json!({"resourceVersion": "42", "name": "a"})
        );
        // Empty metadata; nested metadata (a pod template) before the top-level one; strings
        // that look like keys.
        let obj = json!({"metadata": {}});
        assert_eq!(splice(&obj)["metadata"], json!({"resourceVersion": "42"}));
        let obj = json!({
            "spec": {"template": {"metadata": {"labels": {"a": "b"}}}},
            "data": {"x": "\"metadata\":{", "y": "}}}{{{\\"},
            "metadata": {"name": "d"},
        });
        let out = splice(&obj);
        assert_eq!(out["metadata"]["resourceVersion"], "42");
        assert!(
            out["spec"]["template"]["metadata"]
                .get("resourceVersion")
                .is_none()
        );
        assert_eq!(out["data"], obj["data"]);
        assert!(with_resource_version(br#"{"spec":{"metadata":{}}}"#, 1).is_none());
        assert!(with_resource_version(b"[1]", 1).is_none());
    }

    #[test]
    fn envelopes() {
        let def = api::Scheme::builtin()
            .lookup("", "v1", "configmaps")
            .copied()
            .unwrap();
        let join = |items: &str| -> Value {
            let metadata = json!({"resourceVersion": "7"});
            let chunks = list_chunks(&def, &metadata, Bytes::from(items.to_string()));
            serde_json::from_slice(&chunks.concat()).unwrap()
        };
        assert_eq!(
            join(r#"{"a":1},{"b":2}"#),
            json!({"kind": "ConfigMapList", "apiVersion": "v1",
                "metadata": {"resourceVersion": "7"}, "items": [{"a": 1}, {"b": 2}]})
        );
        assert_eq!(join("")["items"], json!([]));
        assert_eq!(
            &watch_event("ADDED", b"{}")[..],
            b"{\"type\":\"ADDED\",\"object\":{}}\n"
        );
    }
}
