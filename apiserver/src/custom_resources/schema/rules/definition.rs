//! The rules of a definition's schemas checked when the definition is written, with
//! upstream's messages: a rule is given and compiles, its message is one line, its reason is
//! one upstream knows, its `fieldPath` names a field of the schema, its message expression
//! compiles, names only fields the schema has and evaluates to a bool (cel-go's type
//! errors), costs no more than upstream's budget — each rule, and all of them times how many
//! values each may run on — and `oldSelf` is read only where an old value can be found again
//! (not below a list that is not a `map` list).

use serde_json::Value;

use super::REASONS;
use crate::admission::cel::{self, shape::Shape};
use crate::registry::validation::{Bad, FieldErrors};

/// The longest `message` upstream takes.
const MAX_MESSAGE: usize = 2048;

/// The most a rule may be estimated to cost (upstream's `StaticEstimatedCostLimit`).
pub const RULE_COST_LIMIT: u64 = 10_000_000;

/// The most all rules of a schema may be estimated to cost, each times the values it may run
/// on (upstream's `StaticEstimatedCRDCostLimit`).
pub const SCHEMA_COST_LIMIT: u64 = 100_000_000;

/// Where a rule is: the path of its schema, whether that is the root, and how many values it
/// may run on.
struct Place<'a> {
    path: &'a str,
    uncorrelatable: Option<&'a str>,
    root: bool,
    cardinality: u64,
}

/// Checks every rule in the root `schema` at `path` (`spec.versions[0].schema.openAPIV3Schema`).
pub fn check(schema: &Value, path: &str, errors: &mut FieldErrors) {
    let mut total = 0u64;
    let place = Place {
        path,
        uncorrelatable: None,
        root: true,
        cardinality: 1,
    };
    node(schema, &place, &mut total, errors);
    if total > SCHEMA_COST_LIMIT {
        errors.forbidden(
            path,
            &cost_message(
                "x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema",
                total,
                SCHEMA_COST_LIMIT,
            ),
        );
    }
}

/// Upstream's words for an estimate over a limit.
pub fn cost_message(what: &str, cost: u64, limit: u64) -> String {
    let factor = cost as f64 / limit as f64;
    let factor = if factor > 100.0 {
        "more than 100x".to_string()
    } else if factor < 1.5 {
        format!("{factor:.6}x")
    } else {
        format!("{factor:.1}x")
    };
    format!(
        "{what} exceeds budget by factor of {factor} (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)"
    )
}

/// How many values of a list's items or a map's values there may be.
fn bound(schema: &Value) -> u64 {
    match Shape::of_schema(schema, false) {
        Shape::List(_, n) | Shape::Map(_, n) => n.max(1),
        _ => 1,
    }
}

fn node(schema: &Value, place: &Place<'_>, total: &mut u64, errors: &mut FieldErrors) {
    let (path, uncorrelatable) = (place.path, place.uncorrelatable);
    if let Some(rules) = schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
    {
        for (i, rule) in rules.iter().enumerate() {
            let base = format!("{path}.x-kubernetes-validations[{i}]");
            let cost = one(schema, rule, &base, place, errors);
            *total = total.saturating_add(cost.saturating_mul(place.cardinality));
        }
    }
    fn within<'a>(path: &'a str, uncorrelatable: Option<&'a str>, cardinality: u64) -> Place<'a> {
        Place {
            path,
            uncorrelatable,
            root: false,
            cardinality,
        }
    }
    for (name, prop) in schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let at = format!("{path}.properties[{name}]");
        node(
            prop,
            &within(&at, uncorrelatable, place.cardinality),
            total,
            errors,
        );
    }
    if let Some(additional) = super::super::additional(schema) {
        let at = format!("{path}.additionalProperties");
        let cardinality = place.cardinality.saturating_mul(bound(schema));
        node(
            additional,
            &within(&at, uncorrelatable, cardinality),
            total,
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
        let at = format!("{path}.items");
        let place = Place {
            path: &at,
            uncorrelatable: within.as_deref(),
            root: false,
            cardinality: place.cardinality.saturating_mul(bound(schema)),
        };
        node(items, &place, total, errors);
    }
}

fn has_newlines(s: &str) -> bool {
    s.contains(['\n', '\r'])
}

/// One rule at `base` (`...x-kubernetes-validations[i]`): its estimated cost (0 when it is
/// refused).
fn one(
    schema: &Value,
    rule: &Value,
    base: &str,
    place: &Place<'_>,
    errors: &mut FieldErrors,
) -> u64 {
    let uncorrelatable = place.uncorrelatable;
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
        return 0;
    }
    let shown = Bad::Go(go_rule(rule));
    let mut cost = 0;
    match cel::compile(source.trim()) {
        Err(detail) => errors.invalid(&at("rule"), shown.clone(), &detail),
        Ok(expression) => {
            match typed(schema, rule, &expression, place.root) {
                Err(detail) => errors.invalid(&at("rule"), shown.clone(), &detail),
                Ok(c) if c > RULE_COST_LIMIT => errors.forbidden(
                    &at("rule"),
                    &cost_message("estimated rule cost", c, RULE_COST_LIMIT),
                ),
                Ok(c) => cost = c,
            }
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
    cost
}

/// The variables a rule sees: `self`, and `oldSelf` (an optional with `optionalOldSelf`).
pub fn variables(schema: &Value, rule: &Value, root: bool) -> Vec<(&'static str, Shape)> {
    let this = Shape::of_schema(schema, root);
    let old = match rule.get("optionalOldSelf") == Some(&Value::Bool(true)) {
        true => Shape::Dyn,
        false => this.clone(),
    };
    vec![("self", this), ("oldSelf", old)]
}

/// The rule checked against its schema: its estimated cost, or the compile error (cel-go's
/// type errors, or a result that is not a bool).
fn typed(
    schema: &Value,
    rule: &Value,
    expression: &cel::Expression,
    root: bool,
) -> Result<u64, String> {
    let checked = expression.check(&variables(schema, rule, root));
    if !checked.problems.is_empty() {
        let described: Vec<String> = checked
            .problems
            .iter()
            .map(|p| expression.describe(p))
            .collect();
        return Err(format!("compilation failed: {}", described.join("\n")));
    }
    if !matches!(checked.shape, Shape::Bool | Shape::Dyn) {
        return Err("cel expression must evaluate to a bool".into());
    }
    Ok(checked.cost)
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

    #[test]
    fn rules_are_typed_and_costed_against_the_schema() {
        let with_rule = |rule: Value| {
            let mut s = with_rule(rule);
            if let Some(props) = s["properties"]["spec"]["properties"].as_object_mut() {
                props.remove("l");
            }
            s
        };
        let s = summary(with_rule(json!({"rule": "self.b > 0"})));
        assert!(
            s.ends_with("compilation failed: ERROR: <input>:1:5: undefined field 'b'\n | self.b > 0\n | ....^"),
            "{s}"
        );
        let s = summary(with_rule(json!({"rule": "self.a + 1"})));
        assert!(
            s.ends_with(": cel expression must evaluate to a bool"),
            "{s}"
        );
        // Every pair of items of an unbounded list of unbounded strings.
        let mut costly = with_rule(json!({"rule": "self.t.all(x, self.t.all(y, x == y))"}));
        costly["properties"]["spec"]["properties"]["t"] =
            json!({"type": "array", "items": {"type": "string"}});
        assert_eq!(
            summary(costly.clone()),
            "s.properties[spec].x-kubernetes-validations[0].rule: Forbidden: estimated rule cost exceeds budget by factor of more than 100x (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)"
        );
        costly["properties"]["spec"]["properties"]["t"] = json!({"type": "array", "maxItems": 20,
            "items": {"type": "string", "maxLength": 20}});
        assert_eq!(summary(costly), "");
        assert_eq!(
            cost_message("x", 12_000_000, 10_000_000),
            "x exceeds budget by factor of 1.200000x (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)"
        );
    }

    #[test]
    fn cheap_rules_on_many_values_exceed_the_schema_budget() {
        // A rule on every item of every item of unbounded lists runs on too many values.
        let s = json!({"type": "object", "properties": {"l": {"type": "array", "items": {
            "type": "array", "items": {"type": "string",
                "x-kubernetes-validations": [{"rule": "self.startsWith('a')"}]}}}}});
        let s = summary(s);
        assert!(
            s.starts_with("s: Forbidden: x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema exceeds budget by factor of "),
            "{s}"
        );
    }
}
