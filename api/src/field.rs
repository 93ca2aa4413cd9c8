//! A JSON object's field found by scanning its few fields. `value["key"]` hashes the key
//! (serde_json's ordered maps use SipHash) on every step; the objects admission walks on each
//! request (a pod's spec, a container, a security context) hold a handful of fields, so
//! comparing their names costs a fraction of one hash.

use serde_json::Value;

static NULL: Value = Value::Null;

pub trait Field {
    /// The field `key` of an object; null when absent or when this is not an object, as
    /// `value["key"]` answers.
    fn field(&self, key: &str) -> &Value;
}

impl Field for Value {
    fn field(&self, key: &str) -> &Value {
        match self {
            Value::Object(map) => map
                .iter()
                .find_map(|(k, v)| (k == key).then_some(v))
                .unwrap_or(&NULL),
            _ => &NULL,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Field;
    use serde_json::json;

    #[test]
    fn answers_as_indexing_does() {
        let v = json!({"a": {"b": [1]}, "c": null});
        for key in ["a", "c", "missing"] {
            assert_eq!(v.field(key), &v[key]);
        }
        assert_eq!(v.field("a").field("b"), &v["a"]["b"]);
        assert!(v.field("a").field("b").field("x").is_null());
        assert!(json!([1]).field("a").is_null());
    }
}
