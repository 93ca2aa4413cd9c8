//! JSON values as upstream's Go code prints them in messages: decoded into Go's generic
//! types (`map[string]interface {}`, `[]interface {}`, `int64`, `float64`, `string`, `bool`)
//! and formatted with `%v`.

use serde_json::Value;

/// Go's type name of a JSON value decoded without a schema (integers stay `int64`, as
/// upstream's decoder keeps them).
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() || n.is_u64() => "int64",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// `%v` of a decoded JSON value: `map[a:1 b:[x y]]`, keys sorted, strings bare.
pub fn value(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if !(n.is_i64() || n.is_u64()) => float(f),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(self::value).collect();
            format!("[{}]", inner.join(" "))
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{k}:{}", self::value(v)))
                .collect();
            format!("map[{}]", inner.join(" "))
        }
    }
}

/// A float as `%v` prints it: the shortest form, exponent past 1e21 or below 1e-4.
fn float(f: f64) -> String {
    let magnitude = f.abs();
    if magnitude != 0.0 && !(1e-4..1e21).contains(&magnitude) {
        let text = format!("{f:e}");
        // Rust writes `1e21`; Go writes `1e+21`.
        match text.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp:0>2}"),
            Some((mantissa, exp)) => format!("{mantissa}e-{:0>2}", &exp[1..]),
            None => text,
        }
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_as_go_prints_them() {
        assert_eq!(
            value(&json!({"spec": {"replicas": "abc", "b": [1, 2.5, true, null]}})),
            "map[spec:map[b:[1 2.5 true <nil>] replicas:abc]]"
        );
        assert_eq!(
            value(&json!({"$patch": "frobnicate"})),
            "map[$patch:frobnicate]"
        );
        assert_eq!(value(&json!(1e21)), "1e+21");
        assert_eq!(type_name(&json!(5)), "int64");
        assert_eq!(type_name(&json!(5.5)), "float64");
    }
}
