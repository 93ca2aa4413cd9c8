//! A JSON object's field found by scanning its few fields. `value["key"]` hashes the key
//! (serde_json's ordered maps use SipHash) on every step; the objects admission walks on each
//! request (a pod's spec, a container, a security context) hold a handful of fields, so
//! comparing their names costs a fraction of one hash.

use serde_json::Value;

/// The null an absent field reads as, for references that must outlive any object.
pub static NULL: Value = Value::Null;

pub trait Field {
    /// The field `key` of an object; null when absent or when this is not an object, as
    /// `value["key"]` answers.
    fn field(&self, key: &str) -> &Value;

    /// The field `key` of an object when it has one (even null), as `value.get(key)` answers.
    fn present(&self, key: &str) -> Option<&Value>;
}

impl Field for Value {
    fn field(&self, key: &str) -> &Value {
        self.present(key).unwrap_or(&NULL)
    }

    fn present(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(map) => map.iter().find_map(|(k, v)| (k == key).then_some(v)),
            _ => None,
        }
    }
}

/// `value[key]` for writing, the field found by scanning names as `Field::field` finds it:
/// a missing field is added as null (one hash, on insertion only), and a null value becomes
/// an empty object first, as indexing makes it. None when the value is neither an object nor
/// null (where indexing would panic).
pub fn field_mut<'a>(value: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    if value.is_null() {
        *value = Value::Object(serde_json::Map::new());
    }
    let map = value.as_object_mut()?;
    let at = match map.keys().position(|k| k == key) {
        Some(at) => at,
        None => {
            // A new key goes last in the ordered map.
            map.insert(key.to_string(), Value::Null);
            map.len() - 1
        }
    };
    map.values_mut().nth(at)
}

/// `value[key] = new`, the field found as `field_mut` finds it; nothing when the value is
/// neither an object nor null.
pub fn set_field(value: &mut Value, key: &str, new: Value) {
    if let Some(field) = field_mut(value, key) {
        *field = new;
    }
}

/// `field_mut`, made an empty object when it is not an object (as a default's parent is).
pub fn object_field_mut<'a>(value: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    let field = field_mut(value, key)?;
    if !field.is_object() {
        *field = Value::Object(serde_json::Map::new());
    }
    Some(field)
}

#[cfg(test)]
mod tests {
    use super::{Field, field_mut, object_field_mut, set_field};
    use serde_json::json;

    #[test]
    fn writes_as_indexing_does() {
        let mut by_index = json!({"a": {"b": 1}, "n": null});
        let mut by_scan = by_index.clone();
        by_index["a"]["b"] = json!(2);
        by_index["a"]["c"] = json!(3);
        by_index["n"]["x"] = json!(4);
        by_index["new"] = json!(5);
        for (path, v) in [(["a", "b"], 2), (["a", "c"], 3), (["n", "x"], 4)] {
            let parent = field_mut(&mut by_scan, path[0]).unwrap();
            *field_mut(parent, path[1]).unwrap() = json!(v);
        }
        set_field(&mut by_scan, "new", json!(5));
        assert_eq!(by_scan, by_index);
        // Key order too: new keys go last, as indexing puts them.
        let keys =
            |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&by_scan), keys(&by_index));
        assert_eq!(keys(&by_scan["a"]), ["b", "c"]);
        assert!(field_mut(&mut json!([1]), "a").is_none());
        assert!(field_mut(&mut json!("s"), "a").is_none());
    }

    #[test]
    fn an_object_field_replaces_what_is_not_an_object() {
        let mut v = json!({"a": 1});
        *field_mut(object_field_mut(&mut v, "a").unwrap(), "b").unwrap() = json!(2);
        object_field_mut(&mut v, "c").unwrap();
        assert_eq!(v, json!({"a": {"b": 2}, "c": {}}));
    }

    #[test]
    fn answers_as_indexing_does() {
        let v = json!({"a": {"b": [1]}, "c": null});
        for key in ["a", "c", "missing"] {
            assert_eq!(v.field(key), &v[key]);
        }
        assert_eq!(v.field("a").field("b"), &v["a"]["b"]);
        assert!(v.field("a").field("b").field("x").is_null());
        assert!(json!([1]).field("a").is_null());
        for key in ["a", "c", "missing"] {
            assert_eq!(v.present(key), v.get(key));
        }
    }
}
