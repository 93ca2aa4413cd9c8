//! `oc label` and `oc annotate`: `key=value` sets, `key-` removes, an existing different value
//! needs `--overwrite`; one merge patch per object.

use http::Method;
use serde_json::{Map, Value, json};

use super::Globals;
use crate::client::{send, session};
use crate::discovery;
use crate::error::CliError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Labels,
    Annotations,
}

impl Field {
    fn key(self) -> &'static str {
        match self {
            Field::Labels => "labels",
            Field::Annotations => "annotations",
        }
    }
    fn noun(self) -> &'static str {
        match self {
            Field::Labels => "label",
            Field::Annotations => "annotation",
        }
    }
}

#[derive(Debug, Default, clap::Args)]
pub struct MetaArgs {
    /// TYPE NAME... or TYPE/NAME..., then KEY=VALUE or KEY-.
    #[arg(required = true)]
    pub words: Vec<String>,
    /// Replace existing values.
    #[arg(long)]
    pub overwrite: bool,
}

/// The objects (type word, name) and the changes (key, Some(value) or None to remove).
type Parsed = (Vec<(String, String)>, Vec<(String, Option<String>)>);

fn parse(words: &[String], field: Field) -> Result<Parsed, CliError> {
    let mut targets = Vec::new();
    let mut changes = Vec::new();
    let mut kind: Option<&str> = None;
    for word in words {
        if let Some((k, v)) = word.split_once('=') {
            changes.push((k.to_string(), Some(v.to_string())));
        } else if let Some(k) = word
            .strip_suffix('-')
            .filter(|_| kind.is_some() || !targets.is_empty())
        {
            changes.push((k.to_string(), None));
        } else if let Some((t, n)) = word.split_once('/') {
            targets.push((t.to_string(), n.to_string()));
        } else if let Some(t) = kind {
            targets.push((t.to_string(), word.clone()));
        } else {
            kind = Some(word);
        }
    }
    if targets.is_empty() {
        return Err(CliError::msg(
            "one or more resources must be specified as <resource> <name> or <resource>/<name>",
        ));
    }
    if changes.is_empty() {
        return Err(CliError::msg(format!(
            "at least one {} update is required",
            field.noun()
        )));
    }
    Ok((targets, changes))
}

pub async fn run(g: &Globals, field: Field, a: &MetaArgs) -> Result<(), CliError> {
    let (targets, changes) = parse(&a.words, field)?;
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    for (word, name) in targets {
        let r = discovery::resolve(&s, &word).await?;
        let path = format!(
            "{}/{name}",
            r.path(r.namespaced.then_some(s.namespace.as_str()))
        );
        let current = s.get(&path).await?;
        let existing = &current["metadata"][field.key()];
        let mut patch = Map::new();
        for (key, value) in &changes {
            match (value, existing.get(key)) {
                (Some(v), Some(old)) if old.as_str() != Some(v.as_str()) && !a.overwrite => {
                    return Err(CliError::msg(format!(
                        "'{key}' already has a value ({}), and --overwrite is false",
                        old.as_str().unwrap_or_default()
                    )));
                }
                (Some(v), _) => drop(patch.insert(key.clone(), json!(v))),
                (None, _) => drop(patch.insert(key.clone(), Value::Null)),
            }
        }
        let changed = changes.iter().any(|(k, v)| match v {
            Some(v) => existing.get(k).and_then(Value::as_str) != Some(v.as_str()),
            None => existing.get(k).is_some(),
        });
        let verb = match (field, changed) {
            (Field::Labels, false) => "not labeled",
            (Field::Labels, true) if changes.iter().all(|(_, v)| v.is_none()) => "unlabeled",
            (Field::Labels, true) => "labeled",
            (Field::Annotations, _) => "annotated",
        };
        if changed {
            let body = json!({"metadata": {field.key(): patch}});
            let manager = match field {
                Field::Labels => "kubectl-label",
                Field::Annotations => "kubectl-annotate",
            };
            send(
                &s.client,
                Method::PATCH,
                &format!("{path}?fieldManager={manager}"),
                &[],
                Some((
                    "application/merge-patch+json",
                    serde_json::to_vec(&body).map_err(|e| CliError::msg(e.to_string()))?,
                )),
            )
            .await?
            .json()?;
        }
        println!("{}/{name} {verb}", r.qualified_kind());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (targets, changes) = parse(&w(&["cm", "a", "b", "x=1", "y-"]), Field::Labels).unwrap();
        assert_eq!(
            targets,
            [("cm".into(), "a".into()), ("cm".into(), "b".into())]
        );
        assert_eq!(
            changes,
            [("x".into(), Some("1".into())), ("y".into(), None)]
        );
        let (targets, _) = parse(&w(&["cm/a", "x=1"]), Field::Labels).unwrap();
        assert_eq!(targets, [("cm".into(), "a".into())]);
        assert!(parse(&w(&["cm", "a"]), Field::Labels).is_err());
    }
}
