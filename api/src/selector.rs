//! Label and field selectors, with upstream's syntax and matching rules.
//!
//! Labels: comma-separated requirements `key`, `!key`, `key=v`, `key==v`, `key!=v`,
//! `key in (a,b)`, `key notin (a,b)`, `key>n`, `key<n`. A `!=` or `notin` requirement also
//! matches objects without the label. Fields: `field=v`, `field==v`, `field!=v` over dotted
//! paths into the object (`metadata.name`, `status.phase`, ...).

use serde_json::{Map, Value};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    Exists,
    NotExists,
    Equals,
    NotEquals,
    In,
    NotIn,
    GreaterThan,
    LessThan,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Requirement {
    key: String,
    op: Op,
    values: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn valid_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    let prefix_ok = prefix.is_none_or(|p| crate::names::dns1123_subdomain(p).is_empty());
    match name_ok && prefix_ok {
        true => Ok(()),
        false => Err(format!(
            "invalid label key \"{key}\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        )),
    }
}

fn valid_value(value: &str) -> Result<(), String> {
    let ok = value.is_empty()
        || (value.len() <= 63
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && value.starts_with(|c: char| c.is_ascii_alphanumeric())
            && value.ends_with(|c: char| c.is_ascii_alphanumeric()));
    match ok {
        true => Ok(()),
        false => Err(format!(
            "invalid label value: \"{value}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        )),
    }
}

fn parse_requirement(raw: &str) -> Result<Requirement, String> {
    let r = raw.trim();
    let fail = |why: String| format!("unable to parse requirement: {why}");
    if r.is_empty() {
        return Err(fail("found '', expected: identifier".into()));
    }
    if let Some(key) = r.strip_prefix('!') {
        let key = key.trim();
        valid_key(key).map_err(fail)?;
        return Ok(Requirement {
            key: key.into(),
            op: Op::NotExists,
            values: vec![],
        });
    }
    // Set-based: `key in (a,b)` / `key notin (a,b)`.
    if let Some(open) = r.find('(') {
        let close = r
            .rfind(')')
            .filter(|&c| c == r.len() - 1)
            .ok_or_else(|| fail(format!("missing ')' in \"{r}\"")))?;
        let head: Vec<&str> = r[..open].split_whitespace().collect();
        let op = match head.as_slice() {
            [_, "in"] => Op::In,
            [_, "notin"] => Op::NotIn,
            _ => return Err(fail(format!("expected 'in' or 'notin' in \"{r}\""))),
        };
        let values: Vec<String> = r[open + 1..close]
            .split(',')
            .map(|v| v.trim().to_string())
            .collect();
        for v in &values {
            valid_value(v).map_err(fail)?;
        }
        valid_key(head[0]).map_err(fail)?;
        return Ok(Requirement {
            key: head[0].into(),
            op,
            values,
        });
    }
    for (token, op) in [
        ("!=", Op::NotEquals),
        ("==", Op::Equals),
        ("=", Op::Equals),
        (">", Op::GreaterThan),
        ("<", Op::LessThan),
    ] {
        if let Some((key, value)) = r.split_once(token) {
            let (key, value) = (key.trim(), value.trim());
            valid_key(key).map_err(fail)?;
            if matches!(op, Op::GreaterThan | Op::LessThan) {
                value.parse::<i64>().map_err(|_| {
                    fail(format!(
                        "for 'Gt', 'Lt' operators, the value must be an integer: \"{value}\""
                    ))
                })?;
            } else {
                valid_value(value).map_err(fail)?;
            }
            return Ok(Requirement {
                key: key.into(),
                op,
                values: vec![value.into()],
            });
        }
    }
    if r.split_whitespace().count() > 1 {
        return Err(fail(format!(
            "found '{r}', expected: ',', '=', '==', '!=', 'in', notin'"
        )));
    }
    valid_key(r).map_err(fail)?;
    Ok(Requirement {
        key: r.into(),
        op: Op::Exists,
        values: vec![],
    })
}

impl LabelSelector {
    pub fn parse(selector: &str) -> Result<LabelSelector, String> {
        if selector.trim().is_empty() {
            return Ok(LabelSelector::default());
        }
        let requirements = split_top_level(selector)
            .into_iter()
            .map(parse_requirement)
            .collect::<Result<_, _>>()?;
        Ok(LabelSelector { requirements })
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The selector as a LabelSelector object (upstream's `ParseToLabelSelector`): equalities
    /// in `matchLabels`, the rest in `matchExpressions`; `>` and `<` have no object form.
    pub fn to_object(&self) -> Result<Value, String> {
        let mut labels = Map::new();
        let mut expressions = Vec::new();
        for r in &self.requirements {
            let values: Vec<Value> = r.values.iter().map(|v| Value::String(v.clone())).collect();
            let (operator, values) = match r.op {
                Op::Equals => {
                    let value = r.values.first().cloned().unwrap_or_default();
                    labels.insert(r.key.clone(), Value::String(value));
                    continue;
                }
                Op::In => ("In", values),
                Op::NotEquals | Op::NotIn => ("NotIn", values),
                Op::Exists => ("Exists", Vec::new()),
                Op::NotExists => ("DoesNotExist", Vec::new()),
                Op::GreaterThan => {
                    return Err("\">\" is not a valid label selector operator".into());
                }
                Op::LessThan => return Err("\"<\" is not a valid label selector operator".into()),
            };
            let mut e = Map::new();
            e.insert("key".into(), Value::String(r.key.clone()));
            e.insert("operator".into(), Value::String(operator.into()));
            if !values.is_empty() {
                e.insert("values".into(), Value::Array(values));
            }
            expressions.push(Value::Object(e));
        }
        let mut selector = Map::new();
        if !labels.is_empty() {
            selector.insert("matchLabels".into(), Value::Object(labels));
        }
        if !expressions.is_empty() {
            selector.insert("matchExpressions".into(), Value::Array(expressions));
        }
        Ok(Value::Object(selector))
    }

    /// Whether `labels` (an object's `metadata.labels`, if any) satisfy every requirement.
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.requirements.iter().all(|r| {
            let value = get(&r.key);
            let number = || value.and_then(|v| v.parse::<i64>().ok());
            let bound = || r.values.first().and_then(|v| v.parse::<i64>().ok());
            match r.op {
                Op::Exists => value.is_some(),
                Op::NotExists => value.is_none(),
                Op::Equals => value == r.values.first().map(String::as_str),
                Op::NotEquals => value != r.values.first().map(String::as_str),
                Op::In => value.is_some_and(|v| r.values.iter().any(|x| x == v)),
                Op::NotIn => !value.is_some_and(|v| r.values.iter().any(|x| x == v)),
                Op::GreaterThan => matches!((number(), bound()), (Some(n), Some(b)) if n > b),
                Op::LessThan => matches!((number(), bound()), (Some(n), Some(b)) if n < b),
            }
        })
    }
}

/// Whether a LabelSelector object (`matchLabels`, `matchExpressions`) selects `labels`; an
/// empty one selects everything.
pub fn label_selector_matches(selector: &Value, labels: Option<&Map<String, Value>>) -> bool {
    let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    let match_labels = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| label(k) == v.as_str());
    let expressions = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|e| {
            let key = e["key"].as_str().unwrap_or_default();
            let values: Vec<&str> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            match (e["operator"].as_str(), label(key)) {
                (Some("In"), Some(v)) => values.contains(&v),
                (Some("NotIn"), v) => v.is_none_or(|v| !values.contains(&v)),
                (Some("Exists"), v) => v.is_some(),
                (Some("DoesNotExist"), v) => v.is_none(),
                _ => false,
            }
        });
    match_labels && expressions
}

/// A label selector object in its string form, as kubectl prints it: `matchLabels` (or a
/// plain label map, as in ReplicationControllers and DeploymentConfigs) as `k=v`, then
/// `matchExpressions`. Empty when there is no selector.
pub fn format_label_selector(selector: Option<&Value>) -> String {
    let Some(selector) = selector.and_then(Value::as_object) else {
        return String::new();
    };
    let structured =
        selector.contains_key("matchLabels") || selector.contains_key("matchExpressions");
    let labels = match selector.get("matchLabels") {
        Some(Value::Object(m)) => m.clone(),
        _ if structured => Map::new(),
        _ => selector.clone(),
    };
    let mut terms: Vec<String> = labels
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}")))
        .collect();
    for e in selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = e["key"].as_str().unwrap_or_default();
        let values: Vec<&str> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        terms.push(match e["operator"].as_str().unwrap_or_default() {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            _ => format!("!{key}"),
        });
    }
    terms.join(",")
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    /// (field path, must equal?, value)
    terms: Vec<(String, bool, String)>,
}

impl FieldSelector {
    /// Parses `selector`, accepting only fields for which `supported` holds.
    pub fn parse(
        selector: &str,
        supported: impl Fn(&str) -> bool,
    ) -> Result<FieldSelector, String> {
        let mut terms = Vec::new();
        for raw in selector.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (field, equal, value) = if let Some((f, v)) = raw.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = raw.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = raw.split_once('=') {
                (f, true, v)
            } else {
                return Err(format!(
                    "invalid selector: '{raw}'; can't understand '{raw}'"
                ));
            };
            let field = field.trim();
            if !supported(field) {
                return Err(format!("field label not supported: {field}"));
            }
            terms.push((field.to_string(), equal, value.trim().to_string()));
        }
        Ok(FieldSelector { terms })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The value `field` must equal, if a term requires one (upstream's
    /// `RequiresExactMatch`).
    pub fn exact_match(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|(f, equal, _)| *equal && f == field)
            .map(|(_, _, value)| value.as_str())
    }

    /// The field paths the terms read (e.g. `status.phase`).
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.terms.iter().map(|(field, ..)| field.as_str())
    }

    /// Whether `obj` satisfies every term; a missing field counts as the empty string.
    pub fn matches(&self, obj: &Value) -> bool {
        self.terms.iter().all(|(field, equal, want)| {
            let found = field.split('.').try_fold(obj, |v, part| v.get(part));
            let have = match found {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            (have == *want) == *equal
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn selectors_as_objects() {
        let object = |s: &str| LabelSelector::parse(s).and_then(|l| l.to_object());
        assert_eq!(
            object("team=a,env in (x,y),!old,tier!=web"),
            Ok(json!({"matchLabels": {"team": "a"}, "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["x", "y"]},
                {"key": "old", "operator": "DoesNotExist"},
                {"key": "tier", "operator": "NotIn", "values": ["web"]}]}))
        );
        assert!(object("n>1").is_err());
        let selector = json!({"matchLabels": {"team": "a"},
            "matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["x"]}]});
        let l = labels(json!({"team": "a"}));
        assert!(label_selector_matches(&selector, Some(&l)));
        assert!(!label_selector_matches(&selector, None));
    }

    #[test]
    fn label_requirements() {
        let l = labels(json!({"app": "web", "tier": "front", "n": "5"}));
        let yes = |s: &str| {
            assert!(
                LabelSelector::parse(s).unwrap().matches(Some(&l)),
                "{s} should match"
            )
        };
        let no = |s: &str| {
            assert!(
                !LabelSelector::parse(s).unwrap().matches(Some(&l)),
                "{s} should not match"
            )
        };
        yes("app=web");
        yes("app==web,tier");
        yes("app in (web, api),tier notin (back)");
        yes("env!=prod");
        yes("!env");
        yes("n>3,n<6");
        yes("");
        no("app=api");
        no("!app");
        no("app notin (web)");
        no("env");
        no("n>5");
        assert!(
            LabelSelector::parse("env!=prod").unwrap().matches(None),
            "!= matches objects without labels"
        );
    }

    #[test]
    fn label_syntax_errors() {
        for bad in [
            "app=",
            "=web",
            "app in web",
            "app in (web",
            "a b",
            "app=we b",
            "n>x",
            ",",
        ] {
            if bad == "app=" {
                assert!(LabelSelector::parse(bad).is_ok(), "empty value is valid");
                continue;
            }
            let err = LabelSelector::parse(bad).unwrap_err();
            assert!(
                err.starts_with("unable to parse requirement"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn selectors_print_as_kubectl_does() {
        let structured = json!({"matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}, {"key": "x", "operator": "DoesNotExist"}]});
        assert_eq!(
            format_label_selector(Some(&structured)),
            "app=web,tier in (a,b),!x"
        );
        assert_eq!(format_label_selector(Some(&json!({"app": "x"}))), "app=x");
        assert_eq!(format_label_selector(None), "");
    }

    #[test]
    fn field_selectors() {
        let obj =
            json!({"metadata": {"name": "a", "namespace": "ns"}, "status": {"phase": "Running"}});
        let known = |f: &str| matches!(f, "metadata.name" | "metadata.namespace" | "status.phase");
        let sel = FieldSelector::parse("metadata.name=a,status.phase!=Pending", known).unwrap();
        assert!(sel.matches(&obj));
        assert!(
            !FieldSelector::parse("metadata.name==b", known)
                .unwrap()
                .matches(&obj)
        );
        assert_eq!(
            FieldSelector::parse("spec.x=1", known).unwrap_err(),
            "field label not supported: spec.x"
        );
        assert!(FieldSelector::parse("", known).unwrap().is_empty());
    }
}
