//! JSON parsed only along a few paths: what a selector reads of a stored object (its labels,
//! a field or two) without building the whole object. Everything off the paths is skipped
//! as it is read, so matching a list's objects costs a scan of their bytes, not a tree of
//! maps and strings each.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The paths to keep: a key's subtree is kept whole (`whole`) or only along its children.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Paths {
    whole: bool,
    children: BTreeMap<String, Paths>,
}

impl Paths {
    /// Keeps the value at `path` (its keys, outermost first) whole.
    pub fn keep(&mut self, path: &[&str]) {
        match path.split_first() {
            None => self.whole = true,
            Some((first, rest)) => self
                .children
                .entry((*first).to_string())
                .or_default()
                .keep(rest),
        }
    }

    /// `json` with only the kept paths. Where a path meets something other than an object
    /// before its end, the value there is `null` (as a path lookup finds nothing in either).
    pub fn parse(&self, json: &[u8]) -> serde_json::Result<Value> {
        let mut de = serde_json::Deserializer::from_slice(json);
        let value = self.deserialize(&mut de)?;
        de.end()?;
        Ok(value)
    }
}

impl<'de> DeserializeSeed<'de> for &Paths {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        if self.whole {
            return serde::Deserialize::deserialize(deserializer);
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for &Paths {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut kept = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            match self.children.get(&key) {
                Some(child) => {
                    let value = map.next_value_seed(child)?;
                    kept.insert(key, value);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(kept))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_str<E>(self, _: &str) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn paths(list: &[&[&str]]) -> Paths {
        let mut paths = Paths::default();
        for p in list {
            paths.keep(p);
        }
        paths
    }

    #[test]
    fn keeps_only_the_paths() {
        let object = json!({"kind": "Pod", "metadata": {"name": "a", "labels": {"app": "web"},
            "annotations": {"x": "y"}}, "spec": {"nodeName": "n1", "containers": [{"name": "c"}]},
            "status": {"phase": "Running"}});
        let bytes = serde_json::to_vec(&object).unwrap();
        let kept = paths(&[&["metadata", "labels"], &["spec", "nodeName"]])
            .parse(&bytes)
            .unwrap();
        assert_eq!(
            kept,
            json!({"metadata": {"labels": {"app": "web"}}, "spec": {"nodeName": "n1"}})
        );
        assert_eq!(Paths::default().parse(&bytes).unwrap(), json!({}));
        let mut whole = Paths::default();
        whole.keep(&[]);
        assert_eq!(whole.parse(&bytes).unwrap(), object);
    }

    /// A path lookup finds the same in the pruned value as in the whole one.
    #[test]
    fn lookups_agree_with_the_whole_value() {
        let object = json!({"metadata": "odd", "spec": [1, 2], "status": {"phase": 3,
            "ready": true, "n": null}, "a": {"b": {"c": {"d": "deep"}}}});
        let bytes = serde_json::to_vec(&object).unwrap();
        let all: &[&[&str]] = &[
            &["metadata", "labels"],
            &["spec", "x"],
            &["status", "phase"],
            &["status", "ready"],
            &["status", "n"],
            &["status", "missing"],
            &["a", "b", "c", "d"],
        ];
        let kept = paths(all).parse(&bytes).unwrap();
        for path in all {
            let find = |v: &Value| path.iter().try_fold(v.clone(), |v, k| v.get(k).cloned());
            assert_eq!(find(&kept), find(&object), "{path:?}");
        }
    }

    #[test]
    fn bad_json_is_refused() {
        let p = paths(&[&["metadata", "labels"]]);
        assert!(p.parse(b"{\"metadata\": {").is_err());
        assert!(p.parse(b"{} trailing").is_err());
    }
}
