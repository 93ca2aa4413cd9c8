//! kubectl's JSONPath templates (`-o jsonpath=`, `custom-columns=`): text with `{...}`
//! actions — paths (`.a.b`, `['a.b']`, `[0]`, `[1:3]`, `[*]`, `..name`, `[?(@.x=="v")]`),
//! quoted text (`{"\n"}`), and `{range PATH}...{end}`. Missing keys print nothing, as
//! `oc get` allows them. Unions (`[0,1]`, `['a.b','c']`) give each member's results in turn.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
enum Step {
    Field(String),
    Wildcard,
    Recursive(String),
    Index(i64),
    Slice(Option<i64>, Option<i64>),
    Filter(Filter),
    /// `[0,2]` or `['a.b','c']`: each member's results over all the current values, in turn.
    Union(Vec<Vec<Step>>),
}

#[derive(Clone, Debug, PartialEq)]
struct Filter {
    path: Vec<Step>,
    /// `None`: the path exists.
    compare: Option<(String, Value)>,
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Text(String),
    Path(Vec<Step>),
    Range(Vec<Step>, Vec<Node>),
}

/// A parsed template.
#[derive(Clone, Debug)]
pub struct Template {
    nodes: Vec<Node>,
}

fn error(template: &str, why: &str) -> String {
    format!("error parsing jsonpath {template}, {why}")
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut stack: Vec<(Vec<Step>, Vec<Node>)> = Vec::new();
        let mut nodes = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let Some(open) = rest.find('{') else {
                nodes.push(Node::Text(rest.to_string()));
                break;
            };
            if open > 0 {
                nodes.push(Node::Text(rest[..open].to_string()));
            }
            let inner_start = open + 1;
            let close = closing(&rest[inner_start..])
                .ok_or_else(|| error(text, "unclosed action"))?
                + inner_start;
            let action = rest[inner_start..close].trim();
            rest = &rest[close + 1..];
            if let Some(path) = action
                .strip_prefix("range")
                .filter(|rest| rest.starts_with([' ', '.', '@', '$', '[']))
            {
                stack.push((steps(path.trim(), text)?, std::mem::take(&mut nodes)));
            } else if action == "end" {
                let (path, outer) = stack
                    .pop()
                    .ok_or_else(|| error(text, "not in range, nothing to end"))?;
                let body = std::mem::replace(&mut nodes, outer);
                nodes.push(Node::Range(path, body));
            } else if action.starts_with('"') {
                nodes.push(Node::Text(unquote(action).ok_or_else(|| {
                    error(text, &format!("invalid quoted text {action}"))
                })?));
            } else {
                nodes.push(Node::Path(steps(action, text)?));
            }
        }
        if !stack.is_empty() {
            return Err(error(text, "unclosed range"));
        }
        Ok(Template { nodes })
    }

    /// The template applied to `data`.
    pub fn render(&self, data: &Value) -> String {
        let mut out = String::new();
        render(&self.nodes, data, &mut out);
        out
    }

    /// Each path action's values, for custom columns (one action per column).
    pub fn values<'a>(&self, data: &'a Value) -> Vec<&'a Value> {
        let mut out = Vec::new();
        for node in &self.nodes {
            if let Node::Path(p) = node {
                out.extend(eval(p, data));
            }
        }
        out
    }
}

/// Where the action opened before `text` closes, skipping quoted text.
fn closing(text: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            '}' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

fn unquote(text: &str) -> Option<String> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            other => out.push(other),
        }
    }
    Some(out)
}

/// The steps of a path (`$.a.b[0]`, `@.a`, `.a\.b`, `['a.b']`).
fn steps(path: &str, template: &str) -> Result<Vec<Step>, String> {
    let bad = |why: &str| error(template, why);
    let mut out = Vec::new();
    let chars: Vec<char> = path.chars().collect();
    let mut i = 0;
    if matches!(chars.first(), Some('$') | Some('@')) {
        i = 1;
    }
    while i < chars.len() {
        match chars[i] {
            '.' if chars.get(i + 1) == Some(&'.') => {
                let (name, next) = field(&chars, i + 2);
                out.push(Step::Recursive(name));
                i = next;
            }
            '.' => {
                let (name, next) = field(&chars, i + 1);
                match name.as_str() {
                    "*" => out.push(Step::Wildcard),
                    "" => {}
                    _ => out.push(Step::Field(name)),
                }
                i = next;
            }
            '[' => {
                let end = bracket_end(&chars, i).ok_or_else(|| bad("unterminated array"))?;
                let inner: String = chars[i + 1..end].iter().collect();
                out.push(subscript(inner.trim(), template)?);
                i = end + 1;
            }
            c if i == 0 && c.is_alphanumeric() => {
                let (name, next) = field(&chars, i);
                out.push(Step::Field(name));
                i = next;
            }
            c => return Err(bad(&format!("unrecognized character in action: {c:?}"))),
        }
    }
    Ok(out)
}

/// A field name from `start` to the next unescaped `.` or `[`.
fn field(chars: &[char], start: usize) -> (String, usize) {
    let mut name = String::new();
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                name.push(chars[i + 1]);
                i += 2;
                continue;
            }
            '.' | '[' => break,
            c => name.push(c),
        }
        i += 1;
    }
    (name, i)
}

fn bracket_end(chars: &[char], open: usize) -> Option<usize> {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for (i, &c) in chars.iter().enumerate().skip(open) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `inner` split at its top-level commas (not inside quotes).
fn members(inner: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quote) = (0, None);
    for (i, c) in inner.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, ',') => {
                out.push(inner[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(inner[start..].trim());
    out
}

fn subscript(inner: &str, template: &str) -> Result<Step, String> {
    if inner == "*" {
        return Ok(Step::Wildcard);
    }
    let parts = members(inner);
    if parts.len() > 1 && !inner.starts_with("?(") {
        let mut union = Vec::new();
        for part in parts {
            let quoted = part
                .strip_prefix('\'')
                .and_then(|p| p.strip_suffix('\''))
                .or_else(|| part.strip_prefix('"').and_then(|p| p.strip_suffix('"')));
            union.push(match quoted {
                Some(path) => steps(&format!(".{path}"), template)?,
                None => vec![subscript(part, template)?],
            });
        }
        return Ok(Step::Union(union));
    }
    // A quoted name is a path of its own (`['metadata.name']`), as kubectl reads it.
    if let Some(path) = inner
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
    {
        return Ok(Step::Union(vec![steps(&format!(".{path}"), template)?]));
    }
    if let Some(expr) = inner.strip_prefix("?(").and_then(|s| s.strip_suffix(')')) {
        return filter(expr.trim(), template).map(Step::Filter);
    }
    let number = |s: &str| -> Result<Option<i64>, String> {
        match s.trim() {
            "" => Ok(None),
            n => n
                .parse()
                .map(Some)
                .map_err(|_| error(template, &format!("invalid array index {n}"))),
        }
    };
    match inner.split_once(':') {
        Some((a, b)) => {
            let b = b.split(':').next().unwrap_or_default();
            Ok(Step::Slice(number(a)?, number(b)?))
        }
        None => Ok(Step::Index(
            number(inner)?.ok_or_else(|| error(template, "empty array index"))?,
        )),
    }
}

fn filter(expr: &str, template: &str) -> Result<Filter, String> {
    for op in ["==", "!=", "<=", ">=", "<", ">"] {
        if let Some((left, right)) = expr.split_once(op) {
            let right = right.trim();
            let literal = match right
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .or_else(|| right.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
            {
                Some(s) => Value::String(s.to_string()),
                None => serde_json::from_str(right)
                    .map_err(|_| error(template, &format!("unrecognized filter value {right}")))?,
            };
            return Ok(Filter {
                path: steps(left.trim(), template)?,
                compare: Some((op.to_string(), literal)),
            });
        }
    }
    Ok(Filter {
        path: steps(expr, template)?,
        compare: None,
    })
}

fn eval<'a>(path: &[Step], root: &'a Value) -> Vec<&'a Value> {
    let mut current = vec![root];
    for step in path {
        let mut next = Vec::new();
        match step {
            Step::Union(union) => {
                for member in union {
                    for v in &current {
                        next.extend(eval(member, v));
                    }
                }
            }
            step => {
                for v in current {
                    apply(step, v, &mut next);
                }
            }
        }
        current = next;
    }
    current
}

fn apply<'a>(step: &Step, v: &'a Value, out: &mut Vec<&'a Value>) {
    match step {
        Step::Field(name) => {
            if let Some(x) = v.get(name.as_str()) {
                out.push(x);
            }
        }
        Step::Wildcard => match v {
            Value::Array(items) => out.extend(items),
            Value::Object(map) => out.extend(map.values()),
            _ => {}
        },
        Step::Recursive(name) => descend(name, v, out),
        Step::Index(i) => {
            if let Some(items) = v.as_array() {
                let len = items.len() as i64;
                let at = if *i < 0 { len + i } else { *i };
                if let Some(x) = usize::try_from(at).ok().and_then(|a| items.get(a)) {
                    out.push(x);
                }
            }
        }
        Step::Slice(a, b) => {
            if let Some(items) = v.as_array() {
                let len = items.len() as i64;
                let clamp = |x: i64| (if x < 0 { len + x } else { x }).clamp(0, len) as usize;
                let (from, to) = (clamp(a.unwrap_or(0)), clamp(b.unwrap_or(len)));
                if from < to {
                    out.extend(&items[from..to]);
                }
            }
        }
        // Unions are evaluated over all the current values at once (`eval`).
        Step::Union(_) => {}
        Step::Filter(f) => {
            let candidates: Vec<&Value> = match v {
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            out.extend(candidates.into_iter().filter(|c| passes(f, c)));
        }
    }
}

fn descend<'a>(name: &str, v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(map) => {
            if let Some(x) = map.get(name) {
                out.push(x);
            }
            for child in map.values() {
                descend(name, child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| descend(name, i, out)),
        _ => {}
    }
}

fn passes(f: &Filter, item: &Value) -> bool {
    let found = eval(&f.path, item);
    let Some((op, literal)) = &f.compare else {
        return !found.is_empty();
    };
    found.iter().any(|v| {
        let ordering = match (v, literal) {
            (Value::Number(a), Value::Number(b)) => a
                .as_f64()
                .zip(b.as_f64())
                .and_then(|(a, b)| a.partial_cmp(&b)),
            (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
            (a, b) => (*a == b).then_some(std::cmp::Ordering::Equal),
        };
        use std::cmp::Ordering::*;
        match (op.as_str(), ordering) {
            ("==", Some(Equal)) => true,
            ("!=", o) => o != Some(Equal),
            ("<", Some(Less)) | (">", Some(Greater)) => true,
            ("<=", Some(Less | Equal)) | (">=", Some(Greater | Equal)) => true,
            _ => false,
        }
    })
}

/// A value as the template prints it: text raw, lists and maps as JSON.
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn render(nodes: &[Node], data: &Value, out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Path(p) => {
                let values: Vec<String> = eval(p, data).into_iter().map(text).collect();
                out.push_str(&values.join(" "));
            }
            Node::Range(p, body) => {
                for item in eval(p, data) {
                    render(body, item, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(template: &str, data: &Value) -> String {
        Template::parse(template).unwrap().render(data)
    }

    #[test]
    fn paths_ranges_and_filters() {
        let list = json!({"kind": "List", "items": [
            {"metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "x"}}, "data": {"k": "1"},
             "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Other", "status": "False"}]}},
            {"metadata": {"name": "b"}, "spec": {"replicas": 3}}]});
        assert_eq!(run("{.items[*].metadata.name}", &list), "a b");
        assert_eq!(run("kind is {.kind}", &list), "kind is List");
        assert_eq!(
            run("{range .items[*]}{.metadata.name}{\"\\n\"}{end}", &list),
            "a\nb\n"
        );
        assert_eq!(run("{.items[0].data}", &list), "{\"k\":\"1\"}");
        assert_eq!(run("{.items[-1].spec.replicas}", &list), "3");
        assert_eq!(run("{.items[0:1].metadata.name}", &list), "a");
        assert_eq!(run("{['kind']}", &list), "List");
        assert_eq!(
            run(
                "{.items[0].metadata.labels.app\\.kubernetes\\.io/name}",
                &list
            ),
            "x"
        );
        assert_eq!(
            run(
                "{.items[0].status.conditions[?(@.type==\"Ready\")].status}",
                &list
            ),
            "True"
        );
        assert_eq!(
            run("{.items[?(@.spec.replicas>2)].metadata.name}", &list),
            "b"
        );
        assert_eq!(run("{..name}", &list), "a b");
        assert_eq!(
            run("{.items[*]['metadata.name','spec.replicas']}", &list),
            "a b 3"
        );
        assert_eq!(run("{.items[0,1].metadata.name}", &list), "a b");
        assert_eq!(run("{.items[0]['metadata.name']}", &list), "a");
        assert_eq!(run("{range.items[*]}{.metadata.name},{end}", &list), "a,b,");
        assert_eq!(run("{.missing.field}", &list), "");
        assert!(Template::parse("{.items[*]").is_err());
        assert!(Template::parse("{range .items[*]}").is_err());
    }
}
