//! `oc get TYPE[,TYPE...] [NAME...] | TYPE/NAME...`: tables as the server renders them
//! (`-o wide` adds the low-priority columns, `-A` a NAMESPACE column, `--show-labels` a
//! LABELS column), or the objects as `-o name`, `-o json` or `-o yaml`, in kubectl's layout.

use http::Method;
use serde_json::{Value, json};

use super::Globals;
use crate::client::{self, Session, send, session};
use crate::discovery::{self, Resource};
use crate::error::CliError;

#[derive(Debug, Default)]
pub struct GetArgs {
    pub words: Vec<String>,
    pub output: Option<String>,
    pub selector: Option<String>,
    pub field_selector: Option<String>,
    pub all_namespaces: bool,
    pub show_labels: bool,
    pub no_headers: bool,
    pub show_managed_fields: bool,
}

const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

/// What to fetch: each resource with the names asked for (none: the whole collection).
fn requests(words: &[String]) -> Result<Vec<(String, Vec<String>)>, CliError> {
    let Some(first) = words.first() else {
        return Err(CliError::msg(
            "You must specify the type of resource to get. Use \"oc api-resources\" for a complete list of supported resources.",
        ));
    };
    if first.contains('/') {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for word in words {
            let (kind, name) = word.split_once('/').ok_or_else(|| {
                CliError::msg("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'oc get resource/<resource_name>' instead of 'oc get resource resource/<resource_name>'")
            })?;
            match out.iter_mut().find(|(k, _)| k == kind) {
                Some((_, names)) => names.push(name.to_string()),
                None => out.push((kind.to_string(), vec![name.to_string()])),
            }
        }
        return Ok(out);
    }
    let names: Vec<String> = words[1..].to_vec();
    Ok(first
        .split(',')
        .filter(|k| !k.is_empty())
        .map(|k| (k.to_string(), names.clone()))
        .collect())
}

fn query(a: &GetArgs) -> String {
    let mut params = Vec::new();
    if let Some(s) = &a.selector {
        params.push(format!("labelSelector={}", client::encode(s)));
    }
    if let Some(s) = &a.field_selector {
        params.push(format!("fieldSelector={}", client::encode(s)));
    }
    match params.is_empty() {
        true => String::new(),
        false => format!("?{}", params.join("&")),
    }
}

/// The objects (or Table) of one request: the collection, or each named object.
async fn fetch(
    s: &Session,
    r: &Resource,
    names: &[String],
    a: &GetArgs,
    accept: &str,
) -> Result<Vec<Value>, CliError> {
    let namespace = (!a.all_namespaces).then_some(s.namespace.as_str());
    let base = r.path(namespace);
    let headers = [("Accept", accept.to_string())];
    if names.is_empty() {
        let answer = send(
            &s.client,
            Method::GET,
            &format!("{base}{}", query(a)),
            &headers,
            None,
        )
        .await?;
        return Ok(vec![answer.json()?]);
    }
    let mut out = Vec::new();
    for name in names {
        let answer = send(
            &s.client,
            Method::GET,
            &format!("{base}/{name}"),
            &headers,
            None,
        )
        .await?;
        out.push(answer.json()?);
    }
    Ok(out)
}

/// A Table cell as kubectl prints it.
fn cell(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "<none>".into(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

fn labels(metadata: &Value) -> String {
    let pairs: Vec<String> = metadata["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    match pairs.is_empty() {
        true => "<none>".into(),
        false => pairs.join(","),
    }
}

/// Lines aligned as kubectl's tab writer aligns them (columns three spaces apart).
pub fn align(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, text) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(text);
            } else {
                line.push_str(&format!("{text:<width$}   ", width = widths[c]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The rows of Tables (one per request) as text.
fn render(
    tables: &[Value],
    a: &GetArgs,
    namespaced: bool,
    wide: bool,
    prefix: Option<&str>,
) -> String {
    let with_namespace = a.all_namespaces && namespaced;
    let Some(first) = tables.first() else {
        return String::new();
    };
    let definitions: Vec<(usize, &Value)> = first["columnDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, d)| wide || d["priority"].as_i64().unwrap_or(0) == 0)
        .collect();
    let mut rows = Vec::new();
    if !a.no_headers {
        let mut header: Vec<String> = Vec::new();
        if with_namespace {
            header.push("NAMESPACE".into());
        }
        header.extend(
            definitions
                .iter()
                .map(|(_, d)| d["name"].as_str().unwrap_or_default().to_uppercase()),
        );
        if a.show_labels {
            header.push("LABELS".into());
        }
        rows.push(header);
    }
    for table in tables {
        for row in table["rows"].as_array().into_iter().flatten() {
            let metadata = &row["object"]["metadata"];
            let mut line: Vec<String> = Vec::new();
            if with_namespace {
                line.push(
                    metadata["namespace"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
            for (i, d) in &definitions {
                let mut text = cell(&row["cells"][*i]);
                if let (Some(p), "name") = (prefix, d["format"].as_str().unwrap_or_default()) {
                    text = format!("{p}/{text}");
                }
                line.push(text);
            }
            if a.show_labels {
                line.push(labels(metadata));
            }
            rows.push(line);
        }
    }
    align(&rows)
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

/// kubectl leaves `metadata.managedFields` out unless asked for it.
fn without_managed_fields(mut obj: Value) -> Value {
    if let Some(meta) = obj["metadata"].as_object_mut() {
        meta.remove("managedFields");
    }
    obj
}

/// Pretty JSON as kubectl prints it (four-space indent, sorted keys).
pub fn pretty_json(value: &Value) -> String {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    let _ = serde::Serialize::serialize(value, &mut ser);
    String::from_utf8_lossy(&out).into_owned() + "\n"
}

pub async fn get(g: &Globals, a: &GetArgs) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let requests = requests(&a.words)?;
    let several = requests.len() > 1;
    let mut resolved = Vec::new();
    for (word, names) in &requests {
        resolved.push((discovery::resolve(&s, word).await?, names.clone()));
    }
    let output = a.output.as_deref().unwrap_or("");
    match output {
        "" | "wide" => {
            let mut printed = false;
            let mut text = String::new();
            for (r, names) in &resolved {
                let tables = fetch(&s, r, names, a, TABLE).await?;
                let empty = tables
                    .iter()
                    .all(|t| t["rows"].as_array().is_none_or(Vec::is_empty));
                if empty {
                    continue;
                }
                if printed {
                    text.push('\n');
                }
                let prefix = several.then(|| r.qualified_kind());
                text.push_str(&render(
                    &tables,
                    a,
                    r.namespaced,
                    output == "wide",
                    prefix.as_deref(),
                ));
                printed = true;
            }
            print!("{text}");
            if !printed {
                match a.all_namespaces || resolved.iter().all(|(r, _)| !r.namespaced) {
                    true => eprintln!("No resources found"),
                    false => eprintln!("No resources found in {} namespace.", s.namespace),
                }
            }
            Ok(())
        }
        "name" | "json" | "yaml" => {
            let mut objects = Vec::new();
            let mut single = !several;
            for (r, names) in &resolved {
                single &= names.len() == 1;
                for answer in fetch(&s, r, names, a, "application/json").await? {
                    match answer["items"].as_array() {
                        Some(items)
                            if answer["kind"].as_str().is_some_and(|k| k.ends_with("List")) =>
                        {
                            single = false;
                            objects.extend(items.iter().map(|item| with_type(item.clone(), r)));
                        }
                        _ => objects.push(answer),
                    }
                }
            }
            let text = match output {
                "name" => objects
                    .iter()
                    .map(|o| {
                        let r = resolved
                            .iter()
                            .map(|(r, _)| r)
                            .find(|r| o["kind"] == r.kind.as_str())
                            .map(Resource::qualified_kind)
                            .unwrap_or_default();
                        format!(
                            "{r}/{}\n",
                            o["metadata"]["name"].as_str().unwrap_or_default()
                        )
                    })
                    .collect(),
                format => {
                    if !a.show_managed_fields {
                        objects = objects.into_iter().map(without_managed_fields).collect();
                    }
                    let value = sorted(match (single, objects.len()) {
                        (true, 1) => objects.remove(0),
                        _ => json!({"apiVersion": "v1", "items": objects, "kind": "List",
                            "metadata": {"resourceVersion": ""}}),
                    });
                    match format {
                        "json" => pretty_json(&value),
                        _ => serde_saphyr::to_string(&value)
                            .map_err(|e| CliError::msg(e.to_string()))?,
                    }
                }
            };
            print!("{text}");
            Ok(())
        }
        other => Err(CliError::msg(format!(
            "unable to match a printer suitable for the output format \"{other}\", allowed formats are: json,name,wide,yaml"
        ))),
    }
}

/// List items lack their type; kubectl fills it in.
fn with_type(mut item: Value, r: &Resource) -> Value {
    if let Some(map) = item.as_object_mut() {
        map.entry("apiVersion")
            .or_insert_with(|| json!(r.group_version()));
        map.entry("kind").or_insert_with(|| json!(r.kind));
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn what_to_fetch() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            requests(&words(&["cm,secret", "a"])).unwrap(),
            vec![
                ("cm".to_string(), vec!["a".to_string()]),
                ("secret".to_string(), vec!["a".to_string()])
            ]
        );
        assert_eq!(
            requests(&words(&["cm/a", "cm/b", "secret/c"])).unwrap(),
            vec![
                ("cm".to_string(), vec!["a".to_string(), "b".to_string()]),
                ("secret".to_string(), vec!["c".to_string()])
            ]
        );
    }
}
