//! Checking an object against its compiled rules, as upstream's CEL validator: each rule sees
//! its value as `self` (the root's metadata reduced to `name` and `generateName`), and on an
//! update the value before as `oldSelf`, found again through object properties, map keys and
//! `map` lists' keys. Transition rules run only where there was a value before; other rules
//! are not run again on a value the update left as it was (upstream's ratcheting). Failures
//! are worded as upstream's: `spec: Invalid value: "object": <message>`, `<nil>` at the root.

use serde_json::Value;

use super::{Node, OldSelf, Reason, Rule, Rules};
use crate::admission::cel::{self, Activation, CelValue};
use crate::registry::validation::{Bad, FieldErrors};

/// The reasons of schema errors after which rules are not run (upstream's blocking errors:
/// a rule could not make sense of such a value).
const BLOCKING: &[&str] = &[
    "FieldValueNotSupported",
    "FieldValueRequired",
    "FieldValueTooLong",
    "FieldValueTooMany",
    "FieldValueTypeInvalid",
];

/// Checks `obj` (and `old`, on an update) against `rules`, after the schema's validation
/// found `errors`.
pub fn check(rules: &Rules, obj: &Value, old: Option<&Value>, errors: &mut FieldErrors) {
    if errors.has_reason(BLOCKING) {
        errors.invalid(
            "<nil>",
            Bad::Str("null"),
            "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
        );
        return;
    }
    let _ = walk(&rules.root, obj, old, "", true, errors);
}

/// A rule's evaluation over the cost limit stops every rule after it, as upstream's.
struct Stop;

fn child(path: &str, name: &str) -> String {
    match path {
        "" => name.to_string(),
        p => format!("{p}.{name}"),
    }
}

fn walk(
    node: &Node,
    value: &Value,
    old: Option<&Value>,
    path: &str,
    root: bool,
    errors: &mut FieldErrors,
) -> Result<(), Stop> {
    if value.is_null() {
        return Ok(());
    }
    if !node.rules.is_empty() {
        rules_of(node, value, old, path, root, errors)?;
    }
    match value {
        Value::Object(map) => {
            for (name, prop) in &node.properties {
                if let Some(v) = map.get(name) {
                    let before = old.and_then(|o| o.get(name));
                    walk(prop, v, before, &child(path, name), false, errors)?;
                }
            }
            if let Some(additional) = &node.additional {
                for (key, v) in map {
                    let before = old.and_then(|o| o.get(key));
                    walk(
                        additional,
                        v,
                        before,
                        &format!("{path}[{key}]"),
                        false,
                        errors,
                    )?;
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = &node.items {
                let old_items = old.and_then(Value::as_array);
                for (i, v) in items.iter().enumerate() {
                    let before = old_items.and_then(|o| same_item(&node.map_keys, v, o));
                    walk(item, v, before, &format!("{path}[{i}]"), false, errors)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// The item of a `map` list's old items with the keys of `item` (none for other lists).
fn same_item<'a>(keys: &[String], item: &Value, old: &'a [Value]) -> Option<&'a Value> {
    if keys.is_empty() {
        return None;
    }
    old.iter()
        .find(|o| keys.iter().all(|k| o.get(k) == item.get(k)))
}

/// What `self` is: the value, or for the root the object with only the metadata rules may
/// read.
fn self_value(value: &Value, root: bool) -> CelValue {
    if !root {
        return cel::from_json(value);
    }
    let mut reduced = value.clone();
    if let Some(meta) = reduced.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.retain(|k, _| k == "name" || k == "generateName");
    }
    cel::from_json(&reduced)
}

fn rules_of(
    node: &Node,
    value: &Value,
    old: Option<&Value>,
    path: &str,
    root: bool,
    errors: &mut FieldErrors,
) -> Result<(), Stop> {
    let mut this: Option<CelValue> = None;
    let mut before: Option<CelValue> = None;
    for rule in &node.rules {
        let old_self = match rule.old_self {
            // Ratcheting: an unchanged value is not checked again.
            OldSelf::Unused if old == Some(value) => continue,
            OldSelf::Unused => None,
            OldSelf::Required => match old {
                Some(o) => Some(before.get_or_insert_with(|| self_value(o, root)).clone()),
                None => continue,
            },
            OldSelf::Optional => Some(cel::optional(old.map(|o| self_value(o, root)))),
        };
        let mut vars = Activation::default();
        vars.set(
            "self",
            this.get_or_insert_with(|| self_value(value, root)).clone(),
        );
        if let Some(old_self) = old_self {
            vars.set("oldSelf", old_self);
        }
        match rule.expression.eval(&vars) {
            Ok(CelValue::Bool(true)) => {}
            Ok(CelValue::Bool(false)) => failed(node, rule, &vars, path, errors),
            Ok(other) => errors.invalid(
                shown(path),
                Bad::Str(&node.ty),
                &format!(
                    "rule did not evaluate to a bool but to {:?} evaluating rule: {}",
                    other.type_of(),
                    rule.shown()
                ),
            ),
            Err(e) if e == cel::COST_EXCEEDED => {
                errors.invalid(
                    shown(path),
                    Bad::Str(&node.ty),
                    &format!(
                        "'{e}': no further validation rules will be run due to call cost exceeds limit for rule: {}",
                        rule.shown()
                    ),
                );
                return Err(Stop);
            }
            Err(e) => errors.invalid(
                shown(path),
                Bad::Str(&node.ty),
                &format!("{} evaluating rule: {}", lowered(&e), rule.shown()),
            ),
        }
    }
    Ok(())
}

/// A path as upstream prints it: `<nil>` for the root.
fn shown(path: &str) -> &str {
    match path {
        "" => "<nil>",
        p => p,
    }
}

/// An evaluation error in cel-go's words (which begin in lower case: `no such key: size`).
fn lowered(error: &str) -> String {
    let mut chars = error.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Reports a rule that evaluated to false.
fn failed(node: &Node, rule: &Rule, vars: &Activation, path: &str, errors: &mut FieldErrors) {
    let at = match rule.field_path.as_str() {
        "" => path.to_string(),
        field => child(path, field),
    };
    let at = shown(&at);
    let ty = Bad::Str(&node.ty);
    let detail = match &rule.message_expression {
        None => rule.message_or_default(),
        Some(expression) => match expression.eval(vars) {
            Ok(CelValue::String(s)) => {
                let s = s.trim();
                let problem = if s.is_empty() {
                    Some("messageExpression should evaluate to a non-empty string")
                } else if s.contains(['\n', '\r']) {
                    Some("messageExpression should not contain line breaks")
                } else if s.len() > MAX_MESSAGE_BYTES {
                    Some("messageExpression beyond allowable length of 5120")
                } else {
                    None
                };
                if let Some(problem) = problem {
                    errors.invalid(at, ty, problem);
                    return;
                }
                s.to_string()
            }
            Ok(_) => {
                errors.invalid(at, ty, "messageExpression failed to convert to string");
                return;
            }
            // Upstream falls back to the message when the expression fails.
            Err(_) => rule.message_or_default(),
        },
    };
    match rule.reason {
        Reason::Invalid => errors.invalid(at, ty, &detail),
        Reason::Forbidden => errors.forbidden(at, &detail),
        Reason::Required => errors.required(at, &detail),
        Reason::Duplicate => errors.duplicate(at, ty),
    }
}

/// The longest message a message expression may give (upstream's).
const MAX_MESSAGE_BYTES: usize = 5120;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn summary(schema: &Value, obj: &Value, old: Option<&Value>) -> String {
        let rules = super::super::compile(schema).expect("rules");
        let mut errors = FieldErrors::default();
        check(&rules, obj, old, &mut errors);
        match errors.is_empty() {
            true => String::new(),
            false => errors.summary(),
        }
    }

    fn schema() -> Value {
        json!({"type": "object",
            "x-kubernetes-validations": [{"rule": "self.metadata.name.startsWith('w')",
                                          "message": "name must start with w"}],
            "properties": {"spec": {"type": "object",
                "x-kubernetes-validations": [
                    {"rule": "self.min <= self.max"},
                    {"rule": "self.max < 100", "messageExpression": "'max is ' + string(self.max)",
                     "fieldPath": ".max", "reason": "FieldValueForbidden"}],
                "properties": {
                    "min": {"type": "integer"}, "max": {"type": "integer"},
                    "mode": {"type": "string",
                             "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "Value is immutable"}]},
                    "ports": {"type": "array", "x-kubernetes-list-type": "map",
                              "x-kubernetes-list-map-keys": ["name"],
                              "items": {"type": "object",
                                        "x-kubernetes-validations": [{"rule": "!has(oldSelf.port) || self.port >= oldSelf.port", "message": "ports only grow"}],
                                        "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}}},
                    "labels": {"type": "object", "additionalProperties": {"type": "string",
                               "x-kubernetes-validations": [{"rule": "self.size() < 4"}]}}}}}})
    }

    #[test]
    fn failures_in_upstream_words() {
        let s = schema();
        let good = json!({"metadata": {"name": "w1"}, "spec": {"min": 1, "max": 5}});
        assert_eq!(summary(&s, &good, None), "");
        let bad = json!({"metadata": {"name": "x1"}, "spec": {"min": 900, "max": 500,
            "labels": {"a": "long"}}});
        assert_eq!(
            summary(&s, &bad, None),
            r#"[<nil>: Invalid value: "object": name must start with w, spec: Invalid value: "object": failed rule: self.min <= self.max, spec.max: Forbidden: max is 500, spec.labels[a]: Invalid value: "string": failed rule: self.size() < 4]"#
        );
        let missing = json!({"metadata": {"name": "w"}, "spec": {"min": 1}});
        assert_eq!(
            summary(&s, &missing, None),
            r#"[spec: Invalid value: "object": no such key: max evaluating rule: self.min <= self.max, spec: Invalid value: "object": no such key: max evaluating rule: self.max < 100]"#
        );
    }

    #[test]
    fn transition_rules_see_the_old_value() {
        let s = schema();
        let old = json!({"metadata": {"name": "w"}, "spec": {"min": 1, "max": 2, "mode": "a",
            "ports": [{"name": "http", "port": 80}, {"name": "x", "port": 1}]}});
        let mut next = old.clone();
        next["spec"]["mode"] = json!("b");
        next["spec"]["ports"] = json!([{"name": "https", "port": 1}, {"name": "http", "port": 79}]);
        assert_eq!(
            summary(&s, &next, Some(&old)),
            r#"[spec.mode: Invalid value: "string": Value is immutable, spec.ports[1]: Invalid value: "object": ports only grow]"#
        );
        // Created: no old value, so the transition rules do not run.
        assert_eq!(summary(&s, &next, None), "");
    }

    #[test]
    fn unchanged_values_are_not_checked_again() {
        let s = schema();
        let old = json!({"metadata": {"name": "w"}, "spec": {"min": 5, "max": 2}});
        let mut next = old.clone();
        next["metadata"]["labels"] = json!({"a": "b"});
        assert_eq!(summary(&s, &next, Some(&old)), "");
        next["spec"]["max"] = json!(3);
        assert!(summary(&s, &next, Some(&old)).contains("failed rule: self.min <= self.max"));
    }

    #[test]
    fn optional_old_self_runs_on_create() {
        let s = json!({"type": "object", "properties": {"spec": {"type": "object",
            "x-kubernetes-validations": [{"rule": "oldSelf.hasValue() || self.n == 1",
                                          "optionalOldSelf": true, "message": "starts at 1"}],
            "properties": {"n": {"type": "integer"}}}}});
        assert_eq!(
            summary(&s, &json!({"spec": {"n": 2}}), None),
            r#"spec: Invalid value: "object": starts at 1"#
        );
        assert_eq!(
            summary(
                &s,
                &json!({"spec": {"n": 2}}),
                Some(&json!({"spec": {"n": 1}}))
            ),
            ""
        );
    }

    #[test]
    fn schema_errors_block_the_rules() {
        let rules = super::super::compile(&schema()).expect("rules");
        let mut errors = FieldErrors::default();
        errors.required("spec.min", "");
        check(&rules, &json!({"spec": {}}), None, &mut errors);
        assert_eq!(
            errors.summary(),
            r#"[spec.min: Required value, <nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation]"#
        );
    }

    #[test]
    fn an_evaluation_over_the_cost_limit_stops_the_rules() {
        let s = json!({"type": "object", "properties": {"spec": {"type": "object",
            "x-kubernetes-validations": [
                {"rule": "self.l.all(a, self.l.all(b, self.l.all(c, a + b + c >= 0)))"},
                {"rule": "self.l.size() < 3", "message": "short"}],
            "properties": {"l": {"type": "array", "items": {"type": "integer"}}}}}});
        assert_eq!(summary(&s, &json!({"spec": {"l": [1, 2]}}), None), "");
        assert_eq!(
            summary(&s, &json!({"spec": {"l": vec![1; 200]}}), None),
            r#"spec: Invalid value: "object": 'operation cancelled: actual cost limit exceeded': no further validation rules will be run due to call cost exceeds limit for rule: self.l.all(a, self.l.all(b, self.l.all(c, a + b + c >= 0)))"#
        );
    }
}
