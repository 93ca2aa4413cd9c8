//! Go templates as `-o go-template=` evaluates them on JSON objects: text and `{{ }}`
//! actions with fields (`.metadata.name`, `$.kind`, `$var.x`), string and number literals,
//! pipelines (`.data.password | base64decode`), `range` (with `$i, $v :=`), `if`/`else`,
//! `with`, and the functions scripts use (`index`, `len`, `printf`, `print`, `println`,
//! `eq`, `ne`, `not`, `and`, `or`, kubectl's `base64decode`/`base64encode`). `{{-` and `-}}`
//! trim the whitespace beside them. A missing key prints `<no value>`, as Go prints it.

use base64::Engine;
use serde_json::Value;

use super::go_value;

#[derive(Clone, Debug)]
enum Arg {
    /// `.a.b` (from dot), `$.a` or `$v.a` (from a variable; "" is `$`).
    Field(Option<String>, Vec<String>),
    Text(String),
    Number(Value),
    Bool(bool),
    Func(String),
}

type Pipeline = Vec<Vec<Arg>>;

#[derive(Clone, Debug)]
enum Node {
    Text(String),
    Print(Pipeline),
    Range {
        vars: Vec<String>,
        over: Pipeline,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
    If {
        test: Pipeline,
        body: Vec<Node>,
        otherwise: Vec<Node>,
        with: bool,
    },
}

#[derive(Clone, Debug)]
pub struct Template {
    nodes: Vec<Node>,
}

fn error(why: &str) -> String {
    why.to_string()
}

/// The template's pieces: text, and the inside of each action (trim markers applied).
fn lex(text: &str) -> Result<Vec<(bool, String)>, String> {
    let mut out: Vec<(bool, String)> = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let mut before = rest[..open].to_string();
        let mut inner_start = open + 2;
        if rest[inner_start..].starts_with("- ") {
            before = before.trim_end().to_string();
            inner_start += 2;
        }
        out.push((false, before));
        let close = rest[inner_start..]
            .find("}}")
            .ok_or_else(|| error("unclosed action"))?
            + inner_start;
        let mut inner = &rest[inner_start..close];
        rest = &rest[close + 2..];
        if let Some(trimmed) = inner.strip_suffix(" -") {
            inner = trimmed;
            rest = rest.trim_start();
        }
        out.push((true, inner.trim().to_string()));
    }
    out.push((false, rest.to_string()));
    Ok(out)
}

/// The words of an action, quoted strings kept whole.
fn words(action: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = action.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '"' || c == '`' {
            let quote = c;
            let mut word = String::from(quote);
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                word.push(c);
                if c == '\\' && quote == '"' {
                    if let Some(n) = chars.next() {
                        word.push(n);
                    }
                    continue;
                }
                if c == quote {
                    closed = true;
                    break;
                }
            }
            if !closed {
                return Err(error("unterminated quoted string"));
            }
            out.push(word);
            continue;
        }
        if c == '|' {
            chars.next();
            out.push("|".into());
            continue;
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == '|' {
                break;
            }
            // An identifier ends where a field begins (`range.items`).
            if c == '.' && word.starts_with(|f: char| f.is_alphabetic()) {
                break;
            }
            word.push(c);
            chars.next();
        }
        out.push(word);
    }
    Ok(out)
}

fn unquote(word: &str) -> Option<String> {
    if let Some(raw) = word.strip_prefix('`').and_then(|w| w.strip_suffix('`')) {
        return Some(raw.to_string());
    }
    serde_json::from_str::<String>(word).ok()
}

fn arg(word: &str) -> Result<Arg, String> {
    if word.starts_with('"') || word.starts_with('`') {
        return unquote(word)
            .map(Arg::Text)
            .ok_or_else(|| error(&format!("bad string {word}")));
    }
    if word == "true" || word == "false" {
        return Ok(Arg::Bool(word == "true"));
    }
    if let Some(fields) = word.strip_prefix('.') {
        let path = fields
            .split('.')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        return Ok(Arg::Field(None, path));
    }
    if let Some(rest) = word.strip_prefix('$') {
        let mut parts = rest.split('.');
        let name = parts.next().unwrap_or_default().to_string();
        let path = parts
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        return Ok(Arg::Field(Some(name), path));
    }
    if let Ok(n) = serde_json::from_str::<serde_json::Number>(word) {
        return Ok(Arg::Number(Value::Number(n)));
    }
    if word.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Ok(Arg::Func(word.to_string()));
    }
    Err(error(&format!("unexpected {word:?} in command")))
}

fn pipeline(words: &[String]) -> Result<Pipeline, String> {
    let mut out = Vec::new();
    for command in words.split(|w| w == "|") {
        if command.is_empty() {
            return Err(error("missing command in pipeline"));
        }
        out.push(command.iter().map(|w| arg(w)).collect::<Result<_, _>>()?);
    }
    Ok(out)
}

/// Parses nodes up to an `else` or `end` (returned as the terminator).
fn block(
    tokens: &mut std::iter::Peekable<std::vec::IntoIter<(bool, String)>>,
) -> Result<(Vec<Node>, Option<String>), String> {
    let mut nodes = Vec::new();
    while let Some((action, text)) = tokens.next() {
        if !action {
            if !text.is_empty() {
                nodes.push(Node::Text(text));
            }
            continue;
        }
        if text.starts_with("/*") {
            continue;
        }
        let w = words(&text)?;
        match w.first().map(String::as_str) {
            Some("end") | Some("else") => return Ok((nodes, Some(text))),
            Some("range") => {
                let rest = &w[1..];
                let (vars, over) = match rest.iter().position(|x| x == ":=") {
                    Some(at) => (
                        rest[..at]
                            .iter()
                            .map(|v| v.trim_end_matches(',').trim_start_matches('$').to_string())
                            .collect(),
                        &rest[at + 1..],
                    ),
                    None => (Vec::new(), rest),
                };
                let over = pipeline(over)?;
                let (body, end) = block(tokens)?;
                let otherwise = match end.as_deref() {
                    Some("else") => block(tokens)?.0,
                    Some(_) => Vec::new(),
                    None => return Err(error("unexpected EOF in range")),
                };
                nodes.push(Node::Range {
                    vars,
                    over,
                    body,
                    otherwise,
                });
            }
            Some(keyword @ ("if" | "with")) => {
                let with = keyword == "with";
                let test = pipeline(&w[1..])?;
                let (body, end) = block(tokens)?;
                let otherwise = match end.as_deref() {
                    Some("else") => block(tokens)?.0,
                    Some(_) => Vec::new(),
                    None => return Err(error(&format!("unexpected EOF in {keyword}"))),
                };
                nodes.push(Node::If {
                    test,
                    body,
                    otherwise,
                    with,
                });
            }
            Some(_) => nodes.push(Node::Print(pipeline(&w)?)),
            None => return Err(error("missing value for command")),
        }
    }
    Ok((nodes, None))
}

impl Template {
    /// The template, or the error as kubectl words it.
    pub fn parse(text: &str) -> Result<Template, String> {
        let parsed = lex(text).and_then(|tokens| {
            let mut tokens = tokens.into_iter().peekable();
            match block(&mut tokens)? {
                (nodes, None) => Ok(Template { nodes }),
                (_, Some(t)) => Err(format!("unexpected {{{{{t}}}}}")),
            }
        });
        parsed.map_err(|why| format!("error parsing template {text}, template: output:1: {why}"))
    }

    pub fn render(&self, data: &Value) -> Result<String, String> {
        let mut out = String::new();
        let mut scope = Scope {
            vars: vec![(String::new(), data.clone())],
        };
        render(&self.nodes, data, &mut scope, &mut out)?;
        Ok(out)
    }
}

struct Scope {
    vars: Vec<(String, Value)>,
}

impl Scope {
    fn get(&self, name: &str) -> Result<&Value, String> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .ok_or_else(|| format!("undefined variable: ${name}"))
    }
}

/// A field path's value; `None` for a missing key (printed `<no value>`).
fn walk(start: &Value, path: &[String]) -> Option<Value> {
    let mut v = start;
    for step in path {
        v = v.as_object()?.get(step)?;
    }
    Some(v.clone())
}

fn truthy(v: &Option<Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(m)) => !m.is_empty(),
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
    }
}

fn shown(v: &Option<Value>) -> String {
    match v {
        None => "<no value>".into(),
        Some(Value::Null) => "<nil>".into(),
        Some(other) => go_value(other),
    }
}

/// Go's `printf` for the verbs scripts use (`%s`, `%v`, `%d`, `%q`, `%%`).
fn printf(format: &str, args: &[Option<Value>]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('q') => out.push_str(&format!("{:?}", shown(args.next().unwrap_or(&None)))),
            Some(_) => out.push_str(&shown(args.next().unwrap_or(&None))),
            None => out.push('%'),
        }
    }
    out
}

fn call(name: &str, args: Vec<Option<Value>>) -> Result<Option<Value>, String> {
    let text = |v: &Option<Value>| match v {
        Some(Value::String(s)) => s.clone(),
        other => shown(other),
    };
    Ok(match (name, args.as_slice()) {
        ("index", [first, keys @ ..]) => {
            let mut v = first.clone();
            for key in keys {
                v = match (v, key) {
                    (Some(Value::Object(m)), Some(Value::String(k))) => m.get(k).cloned(),
                    (Some(Value::Array(a)), Some(Value::Number(n))) => {
                        n.as_u64().and_then(|i| a.get(i as usize).cloned())
                    }
                    _ => return Err(format!("error calling index: cannot index with {key:?}")),
                };
            }
            v
        }
        ("len", [v]) => Some(Value::from(match v {
            Some(Value::String(s)) => s.len(),
            Some(Value::Array(a)) => a.len(),
            Some(Value::Object(m)) => m.len(),
            _ => return Err("error calling len: len of value".into()),
        })),
        ("base64decode", [v]) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text(v))
                .map_err(|e| format!("error calling base64decode: {e}"))?;
            Some(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        }
        ("base64encode", [v]) => Some(Value::String(
            base64::engine::general_purpose::STANDARD.encode(text(v)),
        )),
        ("printf", [format, rest @ ..]) => Some(Value::String(printf(&text(format), rest))),
        ("print", all) => Some(Value::String(
            all.iter().map(shown).collect::<Vec<_>>().join(""),
        )),
        ("println", all) => Some(Value::String(
            all.iter().map(shown).collect::<Vec<_>>().join(" ") + "\n",
        )),
        ("eq", [a, rest @ ..]) if !rest.is_empty() => {
            Some(Value::Bool(rest.iter().any(|b| b == a)))
        }
        ("ne", [a, b]) => Some(Value::Bool(a != b)),
        ("not", [v]) => Some(Value::Bool(!truthy(v))),
        ("and", all) if !all.is_empty() => all
            .iter()
            .find(|v| !truthy(v))
            .or(all.last())
            .cloned()
            .unwrap_or_default(),
        ("or", all) if !all.is_empty() => all
            .iter()
            .find(|v| truthy(v))
            .or(all.last())
            .cloned()
            .unwrap_or_default(),
        (name, _) => {
            return Err(format!(
                "error calling {name}: unknown function or wrong number of arguments"
            ));
        }
    })
}

fn eval(p: &Pipeline, dot: &Value, scope: &Scope) -> Result<Option<Value>, String> {
    let mut piped: Option<Option<Value>> = None;
    for command in p {
        let value = |a: &Arg| -> Result<Option<Value>, String> {
            Ok(match a {
                Arg::Field(None, path) => walk(dot, path),
                Arg::Field(Some(var), path) => walk(scope.get(var)?, path),
                Arg::Text(t) => Some(Value::String(t.clone())),
                Arg::Number(n) => Some(n.clone()),
                Arg::Bool(b) => Some(Value::Bool(*b)),
                Arg::Func(f) => return Err(format!("{f} is not a value")),
            })
        };
        let result = match &command[0] {
            Arg::Func(name) => {
                let mut args = command[1..]
                    .iter()
                    .map(value)
                    .collect::<Result<Vec<_>, _>>()?;
                if let Some(prev) = piped.take() {
                    args.push(prev);
                }
                call(name, args)?
            }
            first if command.len() == 1 && piped.is_none() => value(first)?,
            _ => return Err("can't give argument to non-function".into()),
        };
        piped = Some(result);
    }
    Ok(piped.unwrap_or_default())
}

fn render(nodes: &[Node], dot: &Value, scope: &mut Scope, out: &mut String) -> Result<(), String> {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Print(p) => out.push_str(&shown(&eval(p, dot, scope)?)),
            Node::If {
                test,
                body,
                otherwise,
                with,
            } => {
                let value = eval(test, dot, scope)?;
                match (truthy(&value), with) {
                    (true, true) => render(body, &value.unwrap_or_default(), scope, out)?,
                    (true, false) => render(body, dot, scope, out)?,
                    (false, _) => render(otherwise, dot, scope, out)?,
                }
            }
            Node::Range {
                vars,
                over,
                body,
                otherwise,
            } => {
                let items: Vec<(Value, Value)> = match eval(over, dot, scope)? {
                    Some(Value::Array(a)) => a
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| (Value::from(i), v))
                        .collect(),
                    Some(Value::Object(m)) => {
                        let mut entries: Vec<(String, Value)> = m.into_iter().collect();
                        entries.sort_by(|a, b| a.0.cmp(&b.0));
                        entries
                            .into_iter()
                            .map(|(k, v)| (Value::String(k), v))
                            .collect()
                    }
                    None | Some(Value::Null) => Vec::new(),
                    Some(other) => return Err(format!("range can't iterate over {other}")),
                };
                if items.is_empty() {
                    render(otherwise, dot, scope, out)?;
                }
                for (key, item) in items {
                    let depth = scope.vars.len();
                    match vars.as_slice() {
                        [v] => scope.vars.push((v.clone(), item.clone())),
                        [k, v] => {
                            scope.vars.push((k.clone(), key));
                            scope.vars.push((v.clone(), item.clone()));
                        }
                        _ => {}
                    }
                    render(body, &item, scope, out)?;
                    scope.vars.truncate(depth);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Template;
    use serde_json::json;

    fn run(t: &str, data: &serde_json::Value) -> String {
        Template::parse(t).unwrap().render(data).unwrap()
    }

    #[test]
    fn what_scripts_write() {
        let list = json!({"kind": "List", "items": [
            {"metadata": {"name": "a"}, "data": {"password": "aHVudGVyMg==", "k": "v"}},
            {"metadata": {"name": "b"}}]});
        assert_eq!(run("{{.kind}}", &list), "List");
        assert_eq!(run("{{range.items}}{{.metadata.name}}{{end}}", &list), "ab");
        assert_eq!(
            run(
                "{{range .items}}{{.metadata.name}}{{\"\\n\"}}{{end}}",
                &list
            ),
            "a\nb\n"
        );
        assert_eq!(
            run(
                "{{range $i, $e := .items}}{{$i}}={{$e.metadata.name}} {{end}}",
                &list
            ),
            "0=a 1=b "
        );
        let secret = &list["items"][0];
        assert_eq!(run("{{.data.password | base64decode}}", secret), "hunter2");
        assert_eq!(run("{{index .data \"k\"}}", secret), "v");
        assert_eq!(run("{{.missing}}", secret), "<no value>");
        assert_eq!(run("{{.data}}", secret), "map[k:v password:aHVudGVyMg==]");
        assert_eq!(
            run("{{if .data}}has{{else}}none{{end}}", &list["items"][1]),
            "none"
        );
        assert_eq!(run("{{with .metadata}}{{.name}}{{end}}", secret), "a");
        assert_eq!(
            run("{{range .items -}}\n  {{.metadata.name}}\n{{- end}}", &list),
            "ab"
        );
        assert_eq!(run("{{printf \"%s-%d\" .metadata.name 3}}", secret), "a-3");
        assert_eq!(run("{{len .items}}", &list), "2");
        assert_eq!(
            run("{{range $k, $v := .data}}{{$k}} {{end}}", secret),
            "k password "
        );
        assert!(Template::parse("{{range .items}}").is_err());
        assert!(Template::parse("{{.a").is_err());
    }
}
