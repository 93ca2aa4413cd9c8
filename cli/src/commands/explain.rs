//! `oc explain TYPE[.FIELD...] [--recursive]`: the documentation of a kind or one of its
//! fields, from the server's OpenAPI v3 documents, in kubectl's plain-text layout.

use serde_json::Value;

use super::Globals;
use crate::client::{Session, session};
use crate::discovery;
use crate::error::CliError;

#[derive(Debug, Default, clap::Args)]
pub struct ExplainArgs {
    /// TYPE or TYPE.FIELD.FIELD...
    pub what: String,
    /// Print the fields of fields (currently only 1 level deep).
    #[arg(long)]
    pub recursive: bool,
    /// The API version (group/version) of the resource.
    #[arg(long)]
    pub api_version: Option<String>,
}

/// The fields of an object schema: name, type and description (`--recursive`: name and type,
/// with the fields of object fields nested under them).
fn fields<'a>(
    schemas: &'a Value,
    object: &'a Value,
    indent: usize,
    recursive: bool,
    seen: &mut Vec<&'a Value>,
    out: &mut String,
) {
    let Some(props) = object["properties"].as_object() else {
        return;
    };
    let required: Vec<&str> = object["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut names: Vec<&String> = props.keys().collect();
    names.sort();
    let pad = " ".repeat(indent);
    for name in names {
        let prop = &props[name.as_str()];
        let marker = match required.contains(&name.as_str()) {
            true => " -required-",
            false => "",
        };
        out.push_str(&format!(
            "{pad}{name}\t<{}>{marker}\n",
            type_name(schemas, prop)
        ));
        if recursive {
            let mut inner = deref(schemas, prop);
            while inner["type"] == "array" {
                inner = deref(schemas, &inner["items"]);
            }
            // Recursive types (JSON schemas of schemas) are shown once per branch.
            if !seen.iter().any(|s| std::ptr::eq(*s, inner)) {
                seen.push(inner);
                fields(schemas, inner, indent + 2, true, seen, out);
                seen.pop();
            }
            continue;
        }
        let text = prop["description"]
            .as_str()
            .or_else(|| deref(schemas, prop)["description"].as_str())
            .unwrap_or_default();
        out.push_str(&wrapped(text, indent + 2, 80));
        out.push('\n');
    }
}

/// The schema `#/components/schemas/X` names.
fn deref<'a>(schemas: &'a Value, schema: &'a Value) -> &'a Value {
    let reference = schema["$ref"]
        .as_str()
        .or_else(|| schema["allOf"][0]["$ref"].as_str());
    match reference.and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => &schemas[name],
        None => schema,
    }
}

/// `<string>`, `<Object>`, `<[]Container>`, `<map[string]string>`, as kubectl names types.
fn type_name(schemas: &Value, schema: &Value) -> String {
    let reference = schema["$ref"]
        .as_str()
        .or_else(|| schema["allOf"][0]["$ref"].as_str());
    if let Some(r) = reference {
        let target = deref(schemas, schema);
        if let Some(t) = target["type"].as_str().filter(|t| *t != "object") {
            return t.to_string();
        }
        return r.rsplit('.').next().unwrap_or("Object").to_string();
    }
    match schema["type"].as_str() {
        Some("array") => format!("[]{}", type_name(schemas, &schema["items"])),
        Some("object") => match schema.get("additionalProperties") {
            Some(inner) if inner.is_object() => {
                format!("map[string]{}", type_name(schemas, inner))
            }
            _ => "Object".into(),
        },
        Some(t) => t.to_string(),
        None if schema.get("x-kubernetes-int-or-string").is_some() => "IntOrString".into(),
        None => "Object".into(),
    }
}

/// The schema of fields under `schema` (arrays and maps are stepped through).
fn field<'a>(schemas: &'a Value, schema: &'a Value, name: &str) -> Option<&'a Value> {
    let mut s = deref(schemas, schema);
    loop {
        match s["type"].as_str() {
            Some("array") => s = deref(schemas, &s["items"]),
            Some("object")
                if s.get("properties").is_none() && s["additionalProperties"].is_object() =>
            {
                s = deref(schemas, &s["additionalProperties"])
            }
            _ => break,
        }
    }
    s["properties"].get(name)
}

/// `text` wrapped at `width` columns, each line indented by `indent` spaces; runs of
/// spaces and each paragraph's own indentation are kept, as upstream's wrapper keeps them.
fn wrapped(text: &str, indent: usize, width: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    for paragraph in text.split('\n') {
        let body = paragraph.trim_start_matches(' ');
        let mut line = " ".repeat(paragraph.len() - body.len());
        let mut has_word = false;
        for word in body.split(' ') {
            if has_word && indent + line.chars().count() + 1 + word.chars().count() > width {
                out.push_str(&format!("{pad}{}\n", line.trim_end()));
                line.clear();
                has_word = false;
                if word.is_empty() {
                    continue;
                }
            }
            if has_word {
                line.push(' ');
            }
            line.push_str(word);
            has_word = true;
        }
        out.push_str(&format!("{pad}{}\n", line.trim_end()));
    }
    out
}

/// The schemas of the OpenAPI v3 document of a group version.
async fn schemas(s: &Session, group: &str, version: &str) -> Result<Value, CliError> {
    let index = s.get("/openapi/v3").await?;
    let key = match group {
        "" => format!("api/{version}"),
        g => format!("apis/{g}/{version}"),
    };
    let url = index["paths"][&key]["serverRelativeURL"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("/openapi/v3/{key}"));
    let doc = s.get(&url).await?;
    Ok(doc["components"]["schemas"].clone())
}

pub async fn explain(g: &Globals, a: &ExplainArgs) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let mut parts = a.what.split('.');
    let word = parts.next().unwrap_or_default();
    let path: Vec<&str> = parts.collect();
    let r = discovery::resolve(&s, word).await?;
    let (group, version) = match &a.api_version {
        Some(gv) => match gv.split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), gv.clone()),
        },
        None => (r.group.clone(), r.version.clone()),
    };
    let schemas = schemas(&s, &group, &version).await?;
    let root = schemas
        .as_object()
        .into_iter()
        .flatten()
        .find(|(_, v)| {
            v["x-kubernetes-group-version-kind"]
                .as_array()
                .is_some_and(|gvks| {
                    gvks.iter().any(|gvk| {
                        gvk["group"] == group.as_str()
                            && gvk["version"] == version.as_str()
                            && gvk["kind"] == r.kind.as_str()
                    })
                })
        })
        .map(|(_, v)| v)
        .ok_or_else(|| {
            CliError::msg(format!(
                "couldn't find resource for \"{}\"",
                r.qualified_kind()
            ))
        })?;
    let mut schema = root;
    let mut field_line = None;
    for (i, name) in path.iter().enumerate() {
        let found = field(&schemas, schema, name)
            .ok_or_else(|| CliError::msg(format!("field \"{name}\" does not exist")))?;
        if i + 1 == path.len() {
            field_line = Some(format!("FIELD: {name} <{}>\n", type_name(&schemas, found)));
        }
        schema = found;
    }
    let mut out = String::new();
    if !group.is_empty() {
        out.push_str(&format!("GROUP:      {group}\n"));
    }
    out.push_str(&format!(
        "KIND:       {}\nVERSION:    {version}\n\n",
        r.kind
    ));
    if let Some(line) = field_line {
        out.push_str(&line);
        out.push_str("\n\n");
    }
    // A field's own description, then its type's.
    let body = deref(&schemas, schema);
    let mut target = body;
    while target["type"] == "array" {
        target = deref(&schemas, &target["items"]);
    }
    let mut description: Vec<&str> = schema["description"].as_str().into_iter().collect();
    if !std::ptr::eq(target, schema)
        && let Some(d) = target["description"].as_str()
    {
        description.push(d);
    }
    out.push_str("DESCRIPTION:\n");
    for d in description {
        out.push_str(&wrapped(d, 4, 80));
    }
    out.push_str("    \n");
    if target["properties"].is_object() {
        out.push_str("FIELDS:\n");
        fields(&schemas, target, 2, a.recursive, &mut Vec::new(), &mut out);
    }
    out.push('\n');
    print!("{out}");
    Ok(())
}
