//! `oc get -w` / `--watch-only`: the listing (unless watch-only), then one line (or object)
//! per change from a watch that starts at the listing's resourceVersion, until interrupted.

use serde_json::Value;

use super::{GetArgs, TABLE, fetch, print_objects, query, rows};
use crate::client::{Session, watch_lines};
use crate::discovery::Resource;
use crate::error::CliError;
use crate::printers::{Format, align_with};

pub async fn watch(
    s: &Session,
    resolved: &[(Resource, Vec<String>)],
    a: &GetArgs,
    format: &Format,
) -> Result<(), CliError> {
    let ([(r, names)], true) = (resolved, resolved[0].1.len() <= 1) else {
        return Err(CliError::msg(
            "you may only specify a single resource type and name with --watch",
        ));
    };
    let table = matches!(format, Format::Table { .. });
    let accept = match table {
        true => TABLE,
        false => "application/json",
    };
    // The listing (printed unless watch-only) gives the resourceVersion to start from.
    let listing = fetch(s, r, names, a, accept).await?;
    let version = listing
        .first()
        .and_then(|l| l["metadata"]["resourceVersion"].as_str())
        .unwrap_or_default()
        .to_string();
    let mut definitions = listing
        .first()
        .map(|t| t["columnDefinitions"].clone())
        .unwrap_or(Value::Null);
    let mut headers_printed = false;
    // As kubectl, columns keep (at least) the widths they had, so rows stay aligned.
    let mut widths = Vec::new();
    if !a.watch_only {
        let text = match format {
            Format::Table { wide } => {
                let listed = listing
                    .iter()
                    .any(|t| t["rows"].as_array().is_some_and(|r| !r.is_empty()));
                headers_printed = listed;
                match listed {
                    true => align_with(&rows(&listing, a, r.namespaced, *wide, None), &mut widths),
                    false => String::new(),
                }
            }
            format => {
                let objects = listing
                    .iter()
                    .flat_map(|l| match l["items"].as_array() {
                        Some(items) => items.clone(),
                        None => vec![l.clone()],
                    })
                    .collect();
                print_objects(format, resolved, objects, false, a)?
            }
        };
        print!("{text}");
    }
    let mut params = vec!["watch=true".to_string()];
    if let Some(name) = names.first() {
        params.push(format!("fieldSelector=metadata.name%3D{name}"));
    }
    let extra = query(a);
    if let Some(q) = extra.strip_prefix('?').filter(|_| names.is_empty()) {
        params.push(q.to_string());
    }
    if !version.is_empty() {
        params.push(format!("resourceVersion={version}"));
    }
    let namespace = (!a.all_namespaces).then_some(s.namespace.as_str());
    let path = format!("{}?{}", r.path(namespace), params.join("&"));
    let headers = [("Accept", accept.to_string())];
    watch_lines(&s.client, &path, &headers, |line| {
        let event: Value = serde_json::from_slice(line)
            .map_err(|e| CliError::msg(format!("the server sent an invalid watch event: {e}")))?;
        if event["type"] == "ERROR" {
            return Err(CliError::from_response(
                http::StatusCode::INTERNAL_SERVER_ERROR,
                event["object"].to_string().as_bytes(),
            ));
        }
        if event["type"] == "BOOKMARK" {
            return Ok(true);
        }
        let mut object = event["object"].clone();
        let text = match format {
            Format::Table { wide } => {
                if object["columnDefinitions"].is_array() {
                    definitions = object["columnDefinitions"].clone();
                } else {
                    object["columnDefinitions"] = definitions.clone();
                }
                let shown = GetArgs {
                    no_headers: a.no_headers || headers_printed,
                    show_labels: a.show_labels,
                    all_namespaces: a.all_namespaces,
                    ..GetArgs::default()
                };
                headers_printed = true;
                align_with(
                    &rows(&[object], &shown, r.namespaced, *wide, None),
                    &mut widths,
                )
            }
            format => {
                let separator = match (format, headers_printed) {
                    (Format::Yaml, true) => "---\n",
                    _ => "",
                };
                headers_printed = true;
                format!(
                    "{separator}{}",
                    print_objects(format, resolved, vec![object], true, a)?
                )
            }
        };
        print!("{text}");
        use std::io::Write;
        let _ = std::io::stdout().flush();
        Ok(true)
    })
    .await
}
