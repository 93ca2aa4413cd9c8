//! The rules of a definition's schemas checked when the definition is written, with
//! upstream's messages: a rule is given and compiles, its message is one line, its reason is
//! one upstream knows, its `fieldPath` names a field of the schema, its message expression
//! compiles, and `oldSelf` is read only where an old value can be found again (not below a
//! list that is not a `map` list).

use serde_json::Value;

use super::REASONS;
use crate::admission::cel;
use crate::registry::validation::{Bad, FieldErrors};

/// The longest `message` upstream takes.
const MAX_MESSAGE: usize = 2048;

/// Checks every rule in the root `schema` at `path` (`spec.versions[0].schema.openAPIV3Schema`).
pub fn check(schema: &Value, path: &str, errors: &mut FieldErrors) {
    node(schema, path, None, errors);
}

fn node(schema: &Value, path: &str, uncorrelatable: Option<&str>, errors: &mut FieldErrors) {
    if let Some(rules) = schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
    {
        for (i, rule) in rules.iter().enumerate() {
            let base = format!("{path}.x-kubernetes-validations[{i}]");
            one(schema, rule, &base, uncorrelatable, errors);
        }
    }
    for (name, prop) in schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        node(
            prop,
            &format!("{path}.properties[{name}]"),
            uncorrelatable,
            errors,
        );
    }
    if let Some(additional) = super::super::additional(schema) {
        node(
            additional,
            &format!("{path}.additionalProperties"),
            uncorrelatable,
            errors,
        );
    }
    if let Some(items) = schema.get("items") {
        let map_list = schema.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("map");
        let within = match (uncorrelatable, map_list) {
            (Some(p), _) => Some(p.to_string()),
            (None, true) => None,
            (None, false) => Some(path.to_string()),
        };
        node(items, &format!("{path}.items"), within.as_deref(), errors);
    }
}

fn has_newlines(s: &str) -> bool {
    s.contains(['\n', '\r'])
}

/// One rule at `base` (`...x-kubernetes-validations[i]`).
fn one(
    schema: &Value,
    rule: &Value,
    base: &str,
    uncorrelatable: Option<&str>,
    errors: &mut FieldErrors,
) {
    let text = |field: &str| rule.get(field).and_then(Value::as_str).unwrap_or_default();
    let (source, message, message_expression, field_path) = (
        text("rule"),
        text("message"),
        text("messageExpression"),
        text("fieldPath"),
    );
    let at = |field: &str| format!("{base}.{field}");
    let mut problems = FieldErrors::default();
    if source.trim().is_empty() {
        problems.required(&at("rule"), "rule is not specified");
    } else if !message.is_empty() && message.trim().is_empty() {
        problems.invalid(
            &at("message"),
            Bad::Str(message),
            "message must be non-empty if specified",
        );
    } else if message.len() > MAX_MESSAGE {
        let start: String = message.chars().take(10).collect();
        problems.invalid(
            &at("message"),
            Bad::Str(&format!("{start}...")),
            "message must have a maximum length of 2048 characters",
        );
    } else if has_newlines(message.trim()) {
        problems.invalid(
            &at("message"),
            Bad::Str(message),
            "message must not contain line breaks",
        );
    } else if has_newlines(source.trim()) && message.trim().is_empty() {
        problems.required(
            &at("message"),
            "message must be specified if rule contains line breaks",
        );
    }
    if !message_expression.is_empty() && message_expression.trim().is_empty() {
        problems.required(
            &at("messageExpression"),
            "messageExpression must be non-empty if specified",
        );
    }
    if let Some(reason) = rule.get("reason").and_then(Value::as_str)
        && !REASONS.contains(&reason)
    {
        problems.not_supported(&at("reason"), Bad::Str(reason), REASONS);
    }
    if !field_path.is_empty() && field_path.trim().is_empty() {
        problems.invalid(
            &at("fieldPath"),
            Bad::Str(field_path),
            "fieldPath must be non-empty if specified",
        );
    }
    if has_newlines(field_path) {
        problems.invalid(
            &at("fieldPath"),
            Bad::Str(field_path),
            "fieldPath must not contain line breaks",
        );
    }
    if !field_path.is_empty()
        && let Err(e) = self::field_path(schema, field_path)
    {
        problems.invalid(
            &at("fieldPath"),
            Bad::Str(field_path),
            &format!("fieldPath must be a valid path: {e}"),
        );
    }
    // As upstream, expressions are compiled only once the rule is otherwise well formed.
    if !problems.is_empty() {
        errors.extend(problems);
        return;
    }
    let shown = Bad::Go(go_rule(rule));
    match cel::compile(source.trim()) {
        Err(detail) => errors.invalid(&at("rule"), shown.clone(), &detail),
        Ok(expression) => {
            if expression.reads("oldSelf") {
                if let Some(within) = uncorrelatable {
                    errors.invalid(
                        &at("rule"),
                        Bad::Str(source),
                        &format!(
                            "oldSelf cannot be used on the uncorrelatable portion of the schema within {within}"
                        ),
                    );
                }
            } else if rule.get("optionalOldSelf") == Some(&Value::Bool(true)) {
                errors.invalid(
                    &at("optionalOldSelf"),
                    Bad::Go("true".into()),
                    "may not be set to true if oldSelf is not referenced",
                );
            }
        }
    }
    if !message_expression.trim().is_empty()
        && let Err(detail) = cel::compile(message_expression.trim())
    {
        errors.invalid(&at("messageExpression"), shown, &detail);
    }
}

/// A rule as Go prints upstream's `ValidationRule` (`%#v`), the bad value of its compile
/// errors.
fn go_rule(rule: &Value) -> String {
    let text = |field: &str| rule.get(field).and_then(Value::as_str).unwrap_or_default();
    let reason = match rule.get("reason").and_then(Value::as_str) {
        Some(r) => format!("(*apiextensions.FieldValueErrorReason)({r:?})"),
        None => "(*apiextensions.FieldValueErrorReason)(nil)".into(),
    };
    let optional = match rule.get("optionalOldSelf").and_then(Value::as_bool) {
        Some(b) => format!("(*bool)({b})"),
        None => "(*bool)(nil)".into(),
    };
    format!(
        "apiextensions.ValidationRule{{Rule:{:?}, Message:{:?}, MessageExpression:{:?}, Reason:{reason}, FieldPath:{:?}, OptionalOldSelf:{optional}}}",
        text("rule"),
        text("message"),
        text("messageExpression"),
        text("fieldPath"),
    )
}

/// A rule's `fieldPath` (`.spec.size`, `.labels['a.b']`) resolved in `schema`: the path it
/// names below the rule's value (`spec.size`, `labels[a.b]`), or why it names nothing, in
/// upstream's words.
pub fn field_path(schema: &Value, path: &str) -> Result<String, String> {
    let mut current = schema;
    let mut out = String::new();
    let mut rest = path.trim();
    while !rest.is_empty() {
        let (name, tail) = if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            (after[..end].to_string(), &after[end..])
        } else if let Some(after) = rest.strip_prefix('[') {
            let Some(quoted) = after.strip_prefix('\'') else {
                let got: String = after.chars().take_while(|c| *c != ']').collect();
                return Err(format!("expected single quoted string but got {got}"));
            };
            let Some(end) = quoted.find("']") else {
                return Err("unexpected end of JSON path".into());
            };
            (quoted[..end].to_string(), &quoted[end + 2..])
        } else {
            return Err("expected [ or . but got ".to_string() + &rest[..1]);
        };
        if name.is_empty() {
            return Err("does not refer to a valid field".into());
        }
        if let Some(prop) = super::super::property(current, &name) {
            current = prop;
            out = match out.as_str() {
                "" => name,
                o => format!("{o}.{name}"),
            };
        } else if let Some(additional) = super::super::additional(current) {
            current = additional;
            out = format!("{out}[{name}]");
        } else {
            return Err("does not refer to a valid field".into());
        }
        rest = tail;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn summary(schema: Value) -> String {
        let mut errors = FieldErrors::default();
        check(&schema, "s", &mut errors);
        match errors.is_empty() {
            true => String::new(),
            false => errors.summary(),
        }
    }

    fn with_rule(rule: Value) -> Value {
        json!({"type": "object", "properties": {"spec": {"type": "object",
            "x-kubernetes-validations": [rule],
            "properties": {"a": {"type": "integer"},
                           "m": {"type": "object", "additionalProperties": {"type": "string"}},
                           "l": {"type": "array", "items": {"type": "object",
                                 "x-kubernetes-validations": [{"rule": "self == oldSelf"}]}}}}}})
    }

    #[test]
    fn good_rules_pass() {
        let mut s = with_rule(json!({"rule": "self.a > 0", "fieldPath": ".m['x.y']"}));
        s["properties"]["spec"]["properties"]["l"]["x-kubernetes-list-type"] = json!("map");
        s["properties"]["spec"]["properties"]["l"]["x-kubernetes-list-map-keys"] = json!(["k"]);
        assert_eq!(summary(s), "");
        assert_eq!(
            field_path(&with_rule(json!({}))["properties"]["spec"], ".m['x.y']"),
            Ok("m[x.y]".to_string())
        );
    }

    #[test]
    fn bad_rules_in_upstream_words() {
        let s = summary(with_rule(json!({"rule": "self.a >"})));
        assert!(
            s.starts_with(r#"[s.properties[spec].x-kubernetes-validations[0].rule: Invalid value: apiextensions.ValidationRule{Rule:"self.a >", Message:"", MessageExpression:"", Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:"", OptionalOldSelf:(*bool)(nil)}: compilation failed: "#),
            "{s}"
        );
        assert!(
            s.ends_with(r#"s.properties[spec].properties[l].items.x-kubernetes-validations[0].rule: Invalid value: "self == oldSelf": oldSelf cannot be used on the uncorrelatable portion of the schema within s.properties[spec].properties[l]]"#),
            "{s}"
        );
        let mut s = with_rule(json!({"rule": " ", "reason": "Bad", "fieldPath": ".b"}));
        s["properties"]["spec"]["properties"]["l"]["items"] = json!({"type": "object"});
        assert_eq!(
            summary(s),
            r#"[s.properties[spec].x-kubernetes-validations[0].rule: Required value: rule is not specified, s.properties[spec].x-kubernetes-validations[0].reason: Unsupported value: "Bad": supported values: "FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired", s.properties[spec].x-kubernetes-validations[0].fieldPath: Invalid value: ".b": fieldPath must be a valid path: does not refer to a valid field]"#
        );
        let mut s = with_rule(json!({"rule": "self.a\n> 0", "fieldPath": ".l[0]"}));
        s["properties"]["spec"]["properties"]["l"]["items"] = json!({"type": "object"});
        assert_eq!(
            summary(s),
            r#"[s.properties[spec].x-kubernetes-validations[0].message: Required value: message must be specified if rule contains line breaks, s.properties[spec].x-kubernetes-validations[0].fieldPath: Invalid value: ".l[0]": fieldPath must be a valid path: expected single quoted string but got 0]"#
        );
    }
}
