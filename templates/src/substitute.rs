//! Parameter references in strings: `${NAME}` anywhere in a string is replaced by the value
//! (names not declared are left as written); a string that is exactly `${{NAME}}` becomes the
//! value read as JSON (`"3"` → 3, `true`, objects), or the value as a string when it is not
//! JSON. Map keys are substituted too, as strings.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::{Captures, Regex};
use serde_json::{Map, Value};

static STRING_REF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$\{([a-zA-Z0-9_]+?)\}").unwrap_or_else(|_| unreachable!()));
static WHOLE_REF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\$\{\{([a-zA-Z0-9_]+)\}\}$").unwrap_or_else(|_| unreachable!()));

/// Parameter values by name.
pub type Values = HashMap<String, String>;

/// Whether `text` refers to a parameter (`${...}`), as upstream checks a namespace.
pub fn has_reference(text: &str) -> bool {
    STRING_REF.is_match(text)
}

/// `text` with its references replaced; `false` when the result is to be read as JSON.
pub fn in_string(values: &Values, text: &str) -> (String, bool) {
    if let Some(name) = WHOLE_REF.captures(text).and_then(|c| c.get(1))
        && let Some(value) = values.get(name.as_str())
    {
        return (value.clone(), false);
    }
    let out = STRING_REF.replace_all(text, |c: &Captures<'_>| match values.get(&c[1]) {
        Some(v) => v.clone(),
        None => c[0].to_string(),
    });
    (out.into_owned(), true)
}

/// Every string of `value` (map keys included) with its references replaced.
pub fn in_value(values: &Values, value: &mut Value) {
    match value {
        Value::String(s) => *value = substituted(values, s),
        Value::Array(items) => items.iter_mut().for_each(|v| in_value(values, v)),
        Value::Object(map) => {
            let old = std::mem::take(map);
            let mut new = Map::with_capacity(old.len());
            for (k, mut v) in old {
                in_value(values, &mut v);
                new.insert(in_string(values, &k).0, v);
            }
            *map = new;
        }
        _ => {}
    }
}

fn substituted(values: &Values, s: &str) -> Value {
    match in_string(values, s) {
        (out, true) => Value::String(out),
        (out, false) => serde_json::from_str(&out).unwrap_or(Value::String(out)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn values() -> Values {
        [
            ("A", "x"),
            ("N", "3"),
            ("B", "true"),
            ("O", r#"{"k":1}"#),
            ("S", "not json"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn string_and_non_string_references() {
        let mut v = json!({
            "a": "pre-${A}-${A}-${UNKNOWN}",
            "n": "${{N}}", "b": "${{B}}", "o": "${{O}}", "s": "${{S}}",
            "embedded": "x${{N}}", "unknown": "${{NOPE}}",
            "${A}-key": ["${A}", 1, true, null],
        });
        in_value(&values(), &mut v);
        assert_eq!(
            v,
            json!({
                "a": "pre-x-x-${UNKNOWN}",
                "n": 3, "b": true, "o": {"k": 1}, "s": "not json",
                "embedded": "x${{N}}", "unknown": "${{NOPE}}",
                "x-key": ["x", 1, true, null],
            })
        );
    }
}
