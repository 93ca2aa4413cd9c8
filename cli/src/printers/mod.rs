//! Output as kubectl prints it: aligned columns, JSON and YAML with sorted keys, `-o name`,
//! JSONPath templates and custom columns.

pub mod go_yaml;
pub mod gotemplate;
pub mod jsonpath;
pub mod rules;
pub mod tabwriter;

use serde_json::Value;

use crate::error::CliError;
use jsonpath::Template;

/// What `-o` asks for.
#[derive(Debug)]
pub enum Format {
    Table { wide: bool },
    Name,
    Json,
    Yaml,
    JsonPath(Template),
    GoTemplate(gotemplate::Template),
    CustomColumns(Vec<(String, Template)>),
}

impl Format {
    pub fn parse(output: Option<&str>) -> Result<Format, CliError> {
        let output = output.unwrap_or("");
        let (kind, arg) = output.split_once('=').unwrap_or((output, ""));
        Ok(match kind {
            "" => Format::Table { wide: false },
            "wide" => Format::Table { wide: true },
            "name" => Format::Name,
            "json" => Format::Json,
            "yaml" => Format::Yaml,
            "jsonpath" => Format::JsonPath(Template::parse(arg).map_err(CliError::Message)?),
            "custom-columns" => Format::CustomColumns(columns(arg)?),
            "go-template" => {
                Format::GoTemplate(gotemplate::Template::parse(arg).map_err(CliError::Message)?)
            }
            other => {
                return Err(CliError::msg(format!(
                    "unable to match a printer suitable for the output format \"{other}\", allowed formats are: custom-columns,go-template,json,jsonpath,name,wide,yaml"
                )));
            }
        })
    }
}

impl Format {
    /// `value` printed by a template format (JSONPath or Go template); `None` for the others.
    pub fn template(&self, value: &Value) -> Option<Result<String, CliError>> {
        match self {
            Format::JsonPath(t) => Some(Ok(t.render(value))),
            Format::GoTemplate(t) => Some(
                t.render(value)
                    .map_err(|e| CliError::msg(format!("error executing template: {e}"))),
            ),
            _ => None,
        }
    }
}

/// `NAME:.path,...` as headers and templates.
fn columns(spec: &str) -> Result<Vec<(String, Template)>, CliError> {
    if spec.is_empty() {
        return Err(CliError::msg(
            "custom-columns format specified but no custom columns given",
        ));
    }
    spec.split(',')
        .map(|column| {
            let (name, path) = column.split_once(':').ok_or_else(|| {
                CliError::msg(format!(
                    "unexpected custom-columns spec: {column}, expected <header>:<json-path-expr>"
                ))
            })?;
            let path = match path.starts_with('{') {
                true => path.to_string(),
                false => format!("{{.{}}}", path.trim_start_matches('.')),
            };
            Ok((
                name.to_string(),
                Template::parse(&path).map_err(CliError::Message)?,
            ))
        })
        .collect()
}

/// The rows of custom columns for `objects`.
pub fn custom_columns(spec: &[(String, Template)], objects: &[Value], headers: bool) -> String {
    let mut rows = Vec::new();
    if headers {
        rows.push(spec.iter().map(|(name, _)| name.clone()).collect());
    }
    for obj in objects {
        rows.push(
            spec.iter()
                .map(|(_, t)| {
                    let values = t.values(obj);
                    match values.is_empty() {
                        true => "<none>".to_string(),
                        false => values
                            .into_iter()
                            .map(go_value)
                            .collect::<Vec<_>>()
                            .join(","),
                    }
                })
                .collect(),
        );
    }
    align(&rows)
}

/// A value as Go's `%v` prints decoded JSON (`map[a:1 b:2]`, `[x y]`).
pub fn go_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".into(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(go_value).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{k}:{}", go_value(v)))
                .collect();
            format!("map[{}]", inner.join(" "))
        }
        other => other.to_string(),
    }
}

/// Lines aligned as kubectl's tab writer aligns them: cells padded by three spaces to at
/// least six columns, the last cell unpadded.
pub fn align(rows: &[Vec<String>]) -> String {
    align_with(rows, &mut Vec::new())
}

/// `align`, with columns at least as wide as `widths` (which keeps the widths used, for
/// rows printed later under the same header).
pub fn align_with(rows: &[Vec<String>], widths: &mut Vec<usize>) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    widths.resize(widths.len().max(columns), 0);
    for (c, width) in widths.iter_mut().enumerate().take(columns) {
        let widest = rows
            .iter()
            .filter_map(|r| r.get(c))
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0);
        *width = (*width).max((widest + 3).max(6));
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, text) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(text);
            } else {
                line.push_str(&format!("{text:<width$}", width = widths[c]));
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The value with every object's keys in order, as Go's encoders write maps.
pub fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// Pretty JSON as kubectl prints it (four-space indent, sorted keys).
pub fn pretty_json(value: &Value) -> String {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    let _ = serde::Serialize::serialize(value, &mut ser);
    String::from_utf8_lossy(&out).into_owned() + "\n"
}

/// YAML as kubectl prints it (go-yaml v2's key order, styles and folding).
pub fn yaml(value: &Value) -> Result<String, CliError> {
    Ok(go_yaml::to_string(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_align_as_kubectl() {
        let rows = vec![
            vec!["NAME".to_string(), "DATA".to_string(), "AGE".to_string()],
            vec![
                "kube-root-ca.crt".to_string(),
                "1".to_string(),
                "5m".to_string(),
            ],
        ];
        assert_eq!(
            align(&rows),
            "NAME               DATA   AGE\nkube-root-ca.crt   1      5m\n"
        );
        let narrow = vec![vec!["A".to_string(), "B".to_string()]];
        assert_eq!(align(&narrow), "A     B\n");
    }

    #[test]
    fn custom_columns_print_go_values() {
        let Format::CustomColumns(spec) = Format::parse(Some(
            "custom-columns=NAME:.metadata.name,DATA:.data,MISSING:.spec.x",
        ))
        .unwrap() else {
            panic!("not custom columns");
        };
        let objects = [json!({"metadata": {"name": "a"}, "data": {"k": "v", "a": "b"}})];
        assert_eq!(
            custom_columns(&spec, &objects, true),
            "NAME   DATA           MISSING\na      map[a:b k:v]   <none>\n"
        );
        assert!(Format::parse(Some("go-template={{.x")).is_err());
        assert!(Format::parse(Some("template={{.x}}")).is_err());
    }
}
