//! `oc get TYPE[,TYPE...] [NAME...] | TYPE/NAME...`: tables as the server renders them
//! (`-o wide` adds the low-priority columns, `-A` a NAMESPACE column, `--show-labels` a
//! LABELS column), or the objects as `-o name`, `-o json` or `-o yaml`, in kubectl's layout.

use http::Method;
use serde_json::{Value, json};

use super::Globals;
use crate::client::{self, Session, send, session};
use crate::discovery::{self, Resource};
use crate::error::CliError;
use crate::printers::{self, Format, align};

mod watch;

#[derive(Debug, Default, clap::Args)]
pub struct GetArgs {
    /// TYPE[,TYPE...] [NAME...], or TYPE/NAME...
    #[arg(required = true)]
    pub words: Vec<String>,
    /// Output format: wide, name, json, yaml, jsonpath=TEMPLATE, custom-columns=SPEC.
    #[arg(long, short = 'o')]
    pub output: Option<String>,
    /// Selector (label query) to filter on.
    #[arg(long, short = 'l')]
    pub selector: Option<String>,
    /// Selector (field query) to filter on.
    #[arg(long)]
    pub field_selector: Option<String>,
    /// List the requested objects across all namespaces.
    #[arg(long, short = 'A')]
    pub all_namespaces: bool,
    /// Show all labels as the last column.
    #[arg(long)]
    pub show_labels: bool,
    /// Don't print headers.
    #[arg(long)]
    pub no_headers: bool,
    /// If true, keep the managedFields when printing objects in JSON or YAML format.
    #[arg(long)]
    pub show_managed_fields: bool,
    /// After listing/getting the requested objects, watch for changes.
    #[arg(long, short = 'w')]
    pub watch: bool,
    /// Watch for changes to the requested objects, without listing them first.
    #[arg(long)]
    pub watch_only: bool,
}

const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

/// What to fetch: each resource with the names asked for (none: the whole collection).
fn requests(words: &[String]) -> Result<Vec<(String, Vec<String>)>, CliError> {
    if words.is_empty() {
        return Err(CliError::msg(
            "You must specify the type of resource to get. Use \"oc api-resources\" for a complete list of supported resources.",
        ));
    }
    let named = crate::objects::words(words)?;
    if !named.kinds.is_empty() {
        let names: Vec<String> = words[1..].to_vec();
        return Ok(named
            .kinds
            .into_iter()
            .map(|k| (k, names.clone()))
            .collect());
    }
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (kind, name) in named.pairs {
        match out.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, names)) => names.push(name),
            None => out.push((kind, vec![name])),
        }
    }
    Ok(out)
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

/// The rows of Tables (one per request) as text.
fn render(
    tables: &[Value],
    a: &GetArgs,
    namespaced: bool,
    wide: bool,
    prefix: Option<&str>,
) -> String {
    align(&rows(tables, a, namespaced, wide, prefix))
}

/// The cells of Tables (one per request), headers first unless left out.
fn rows(
    tables: &[Value],
    a: &GetArgs,
    namespaced: bool,
    wide: bool,
    prefix: Option<&str>,
) -> Vec<Vec<String>> {
    let with_namespace = a.all_namespaces && namespaced;
    let Some(first) = tables.first() else {
        return Vec::new();
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
    rows
}

/// kubectl leaves `metadata.managedFields` out unless asked for it.
fn without_managed_fields(mut obj: Value) -> Value {
    if let Some(meta) = obj["metadata"].as_object_mut() {
        meta.remove("managedFields");
    }
    obj
}

pub async fn get(g: &Globals, a: &GetArgs) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let format = Format::parse(a.output.as_deref())?;
    let requests = requests(&a.words)?;
    let mut resolved = Vec::new();
    for (word, names) in &requests {
        for r in discovery::resolve_many(&s, word).await? {
            resolved.push((r, names.clone()));
        }
    }
    if a.watch || a.watch_only {
        return watch::watch(&s, &resolved, a, &format).await;
    }
    let text = match &format {
        Format::Table { wide } => {
            let (text, printed) = tables(&s, &resolved, a, *wide).await?;
            if !printed {
                match a.all_namespaces || resolved.iter().all(|(r, _)| !r.namespaced) {
                    true => eprintln!("No resources found"),
                    false => eprintln!("No resources found in {} namespace.", s.namespace),
                }
            }
            text
        }
        format => {
            let (objects, single) = objects(&s, &resolved, a).await?;
            print_objects(format, &resolved, objects, single, a)?
        }
    };
    print!("{text}");
    Ok(())
}

/// The server's Tables of each request, rendered one after the other (a blank line between
/// types); whether any row was printed.
async fn tables(
    s: &Session,
    resolved: &[(Resource, Vec<String>)],
    a: &GetArgs,
    wide: bool,
) -> Result<(String, bool), CliError> {
    let several = resolved.len() > 1;
    let mut printed = false;
    let mut text = String::new();
    for (r, names) in resolved {
        let tables = fetch(s, r, names, a, TABLE).await?;
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
        text.push_str(&render(&tables, a, r.namespaced, wide, prefix.as_deref()));
        printed = true;
    }
    Ok((text, printed))
}

/// The objects asked for, and whether exactly one object was named (printed bare rather
/// than in a List).
async fn objects(
    s: &Session,
    resolved: &[(Resource, Vec<String>)],
    a: &GetArgs,
) -> Result<(Vec<Value>, bool), CliError> {
    let mut objects = Vec::new();
    let mut single = resolved.len() == 1;
    for (r, names) in resolved {
        single &= names.len() == 1;
        for answer in fetch(s, r, names, a, "application/json").await? {
            match answer["items"].as_array() {
                Some(items) if answer["kind"].as_str().is_some_and(|k| k.ends_with("List")) => {
                    single = false;
                    objects.extend(items.iter().map(|item| with_type(item.clone(), r)));
                }
                _ => objects.push(answer),
            }
        }
    }
    if !a.show_managed_fields {
        objects = objects.into_iter().map(without_managed_fields).collect();
    }
    let single = single && objects.len() == 1;
    Ok((objects, single))
}

/// `objects` in a format other than a table.
fn print_objects(
    format: &Format,
    resolved: &[(Resource, Vec<String>)],
    mut objects: Vec<Value>,
    single: bool,
    a: &GetArgs,
) -> Result<String, CliError> {
    let whole = |objects: Vec<Value>| match single {
        true => objects.into_iter().next().unwrap_or_default(),
        false => json!({"apiVersion": "v1", "items": objects, "kind": "List",
            "metadata": {"resourceVersion": ""}}),
    };
    Ok(match format {
        Format::Name => objects
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
        Format::Json => printers::pretty_json(&printers::sorted(whole(objects))),
        Format::Yaml => printers::yaml(&whole(objects))?,
        Format::JsonPath(_) | Format::GoTemplate(_) => format
            .template(&whole(objects))
            .unwrap_or(Ok(String::new()))?,
        Format::CustomColumns(spec) => {
            objects.retain(|o| !o.is_null());
            printers::custom_columns(spec, &objects, !a.no_headers)
        }
        Format::Table { .. } => String::new(),
    })
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
