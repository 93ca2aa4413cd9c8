//! `oc process (TEMPLATE | -f FILE) [-p KEY=VALUE]... [--param-file F] [-l LABELS] [--local]
//! [--parameters] [--raw] [-o json|yaml|name]`: a template (from a file, or stored: `name`,
//! `template/name`, `ns/template/name`, `ns//name`) given the user's parameter values and
//! processed by the server's `processedtemplates` (or here, with `--local`); the objects printed
//! as a `v1` List. `oc new-app` processes its templates through the same functions.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::Globals;
use crate::client::{Session, send, session};
use crate::error::CliError;
use crate::printers::{self, Format};

#[derive(Debug, Default, clap::Args)]
pub struct ProcessArgs {
    /// The stored template's name, and parameters as KEY=VALUE.
    pub args: Vec<String>,
    /// The file (or `-`) to read a template from.
    #[arg(long = "filename", short = 'f')]
    pub filename: Option<String>,
    /// A parameter's value (KEY=VALUE), repeatable.
    #[arg(long = "param", short = 'p')]
    pub params: Vec<String>,
    /// Files of KEY=VALUE lines with parameter values.
    #[arg(long = "param-file")]
    pub param_files: Vec<String>,
    /// Do not stop at parameters the template does not have.
    #[arg(long)]
    pub ignore_unknown_parameters: bool,
    /// Process the template here instead of on the server.
    #[arg(long)]
    pub local: bool,
    /// Only print the template's parameters.
    #[arg(long)]
    pub parameters: bool,
    /// Labels (k=v,...) set on every object.
    #[arg(long, short = 'l')]
    pub labels: Option<String>,
    /// Print the objects one by one instead of a List.
    #[arg(long)]
    pub raw: bool,
    /// Output format: json (default), yaml or name.
    #[arg(long, short = 'o')]
    pub output: Option<String>,
}

/// `error: <message>` with kubectl's hint for usage errors.
pub(super) fn usage(command: &str, message: &str) -> CliError {
    CliError::msg(format!(
        "{message}\nSee 'oc {command} -h' for help and examples"
    ))
}

/// Parameter values from `-p` (and positional `K=V`) and parameter files, in the order given;
/// a key given twice on the command line is a usage error, a file's value for a key already
/// given is dropped with a warning.
pub(super) fn parameter_values(
    command: &str,
    given: &[String],
    files: &[String],
) -> Result<Vec<(String, String)>, CliError> {
    let mut values: Vec<(String, String)> = Vec::new();
    let mut twice = BTreeSet::new();
    for pair in given {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(CliError::msg(format!(
                "invalid parameter assignment in {pair:?}: {pair:?} must be formatted as key=value"
            )));
        };
        if values.iter().any(|(key, _)| key == k) {
            twice.insert(k.to_string());
            continue;
        }
        values.push((k.to_string(), v.to_string()));
    }
    if !twice.is_empty() {
        let keys: Vec<String> = twice.into_iter().collect();
        return Err(usage(
            command,
            &format!(
                "The following parameters were provided more than once: {}",
                keys.join(", ")
            ),
        ));
    }
    for file in files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| CliError::msg(format!("cannot read file {file:?}: {e}")))?;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(CliError::msg(format!(
                    "invalid parameter assignment in {line:?}"
                )));
            };
            if values.iter().any(|(key, _)| key == k) {
                eprintln!(
                    "warning: Template parameter {k:?} already defined, ignoring value from file {file:?}"
                );
                continue;
            }
            values.push((k.to_string(), v.to_string()));
        }
    }
    Ok(values)
}

/// `k=v,k2=v2` as a label map.
pub(super) fn parse_labels(text: &str) -> Result<Map<String, Value>, CliError> {
    let mut labels = Map::new();
    for pair in text.split(',').filter(|p| !p.is_empty()) {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(CliError::msg(format!(
                "error parsing labels: invalid label spec: {pair}"
            )));
        };
        labels.insert(k.to_string(), Value::String(v.to_string()));
    }
    Ok(labels)
}

/// The template in `file`: the first object read (others announced and ignored).
pub(super) fn template_from_file(file: &str) -> Result<Value, CliError> {
    let objects = crate::manifests::read(&[file.to_string()], false).map_err(|e| {
        CliError::msg(format!(
            "failed to read input object (not a Template?): {e}"
        ))
    })?;
    if objects.len() > 1 {
        println!(
            "{} input templates found, but only the first will be processed",
            objects.len()
        );
    }
    let Some(first) = objects.into_iter().next() else {
        return Err(CliError::msg(format!(
            "no objects passed to process from {file:?}"
        )));
    };
    if first.object["kind"] != "Template" {
        return Err(CliError::msg(format!(
            "unable to parse {file:?}, not a valid Template but *unstructured.Unstructured"
        )));
    }
    Ok(first.object)
}

/// The stored template `word` names (`name`, `template/name`, `ns/template/name`, `ns//name`).
pub(super) async fn stored_template(s: &Session, word: &str) -> Result<Value, CliError> {
    let parts: Vec<&str> = word.trim().split('/').collect();
    let (namespace, resource, name) = match parts.as_slice() {
        [ns, r, n] => (*ns, *r, *n),
        [r, n] => (s.namespace.as_str(), *r, *n),
        [n] => (s.namespace.as_str(), "", *n),
        _ => return Err(CliError::msg(format!("invalid argument {word:?}"))),
    };
    if !resource.is_empty() && resource != "template" && resource != "templates" {
        return Err(CliError::msg(format!(
            "unable to process invalid resource {resource:?}"
        )));
    }
    if name.is_empty() {
        return Err(CliError::msg(format!("invalid value syntax {word:?}")));
    }
    let path = format!("/apis/template.openshift.io/v1/namespaces/{namespace}/templates/{name}");
    match s.get(&path).await {
        Err(CliError::Server { reason, .. }) if reason == "NotFound" => Err(CliError::msg(
            format!("template {name:?} could not be found"),
        )),
        other => other,
    }
}

/// Sets the user's values on the template's parameters; names it lacks are errors unless
/// ignored (`unknown` words them: `unknown parameter name "X"`).
pub(super) fn inject(
    template: &mut Value,
    values: &[(String, String)],
    ignore_unknown: bool,
    unknown: &str,
) -> Result<(), CliError> {
    let mut errors = Vec::new();
    for (k, v) in values {
        if !templates::set_parameter(template, k, v) && !ignore_unknown {
            errors.push(format!("{unknown} {k:?}"));
        }
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(CliError::msg(errors.remove(0))),
        _ => Err(CliError::msg(format!("[{}]", errors.join(", ")))),
    }
}

/// The template processed by the server in the session's namespace, with upstream's lines
/// for what it refuses.
pub(super) async fn process_remotely(s: &Session, template: &Value) -> Result<Value, CliError> {
    let mut template = template.clone();
    template["apiVersion"] = json!("template.openshift.io/v1");
    let path = format!(
        "/apis/template.openshift.io/v1/namespaces/{}/processedtemplates",
        s.namespace
    );
    let body = serde_json::to_vec(&template).map_err(|e| CliError::msg(e.to_string()))?;
    let answer = send(
        &s.client,
        http::Method::POST,
        &path,
        &[],
        Some(("application/json", body)),
    )
    .await?;
    if answer.status.is_success() {
        return answer.json();
    }
    let status: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    if status["kind"] == "Status" && status["details"].is_object() {
        let mut text = String::from("unable to process template\n");
        let causes = status["details"]["causes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for cause in &causes {
            text.push_str(&format!(
                "  {}\n",
                cause["message"].as_str().unwrap_or_default()
            ));
        }
        if causes.is_empty() {
            text.push_str(&format!(
                "  {}\n",
                status["message"].as_str().unwrap_or_default()
            ));
        }
        return Err(CliError::msg(text.trim_end().to_string()));
    }
    Err(CliError::msg(format!(
        "unable to process template: {}",
        CliError::from_response(answer.status, &answer.body)
    )))
}

/// The template processed here, as the server would; its refusal worded as an Invalid Status.
pub(super) fn process_locally(template: &Value) -> Result<Value, CliError> {
    let mut template = template.clone();
    let found = templates::validate_parameters(&template);
    let result = match found.is_empty() {
        true => templates::process(&mut template, &mut rand::rng()),
        false => Err(found),
    };
    let Err(found) = result else {
        return Ok(template);
    };
    let causes: Vec<Value> = found
        .iter()
        .map(|e| json!({"reason": e.reason(), "message": e.message(), "field": e.field()}))
        .collect();
    let status = json!({
        "kind": "Status", "status": "Failure", "reason": "Invalid", "code": 422,
        "details": {"name": template["metadata"]["name"], "group": "template.openshift.io",
                    "kind": "Template", "causes": causes},
    });
    Err(CliError::from_response(
        http::StatusCode::UNPROCESSABLE_ENTITY,
        status.to_string().as_bytes(),
    ))
}

/// The parameters as `--parameters` prints them (Go's tabwriter, minimum width 20, padding 3).
fn parameters_table(template: &Value) -> String {
    let mut rows = vec![vec![
        "NAME".to_string(),
        "DESCRIPTION".into(),
        "GENERATOR".into(),
        "VALUE".into(),
    ]];
    for p in template["parameters"].as_array().into_iter().flatten() {
        let text = |k: &str| p[k].as_str().unwrap_or_default().to_string();
        let value = match text("generate").is_empty() {
            true => text("value"),
            false => text("from"),
        };
        rows.push(vec![
            text("name"),
            text("description"),
            text("generate"),
            value,
        ]);
    }
    let mut widths = [0usize; 3];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max((cell.chars().count() + 3).max(20));
        }
    }
    let mut out = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            match widths.get(i) {
                Some(w) => out.push_str(&format!("{cell:<w$}")),
                None => out.push_str(cell),
            }
        }
        out.push('\n');
    }
    out
}

/// An object as `-o name` prints it: `kind.group/name`.
pub(super) fn object_name(obj: &Value) -> String {
    let kind = obj["kind"].as_str().unwrap_or_default().to_lowercase();
    let group = obj["apiVersion"]
        .as_str()
        .and_then(|v| v.split_once('/'))
        .map(|(g, _)| g)
        .unwrap_or_default();
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    match group {
        "" => format!("{kind}/{name}"),
        g => format!("{kind}.{g}/{name}"),
    }
}

/// Prints `objects` as a `v1` List (or one by one, `raw`) in `output`'s format.
pub(super) fn print_objects(objects: &[Value], output: &str, raw: bool) -> Result<(), CliError> {
    let print_one = |v: &Value| -> Result<(), CliError> {
        match output {
            "yaml" => print!("{}", printers::yaml(v)?),
            "name" => println!("{}", object_name(v)),
            _ => print!("{}", printers::pretty_json(v)),
        }
        Ok(())
    };
    match Format::parse(Some(output))? {
        Format::Json | Format::Yaml | Format::Name => {}
        _ => {
            return Err(CliError::msg(format!(
                "unable to match a printer suitable for the output format {output:?}, allowed formats are: json,name,yaml"
            )));
        }
    }
    if raw || output == "name" {
        for obj in objects {
            print_one(&printers::sorted(obj.clone()))?;
        }
        return Ok(());
    }
    let items: Vec<Value> = objects.iter().cloned().map(printers::sorted).collect();
    let list = json!({"kind": "List", "apiVersion": "v1", "metadata": {}, "items": items});
    match output {
        "yaml" => print!("{}", printers::yaml(&list)?),
        _ => print!("{}", printers::pretty_json(&list)),
    }
    Ok(())
}

pub async fn process(g: &Globals, a: &ProcessArgs) -> Result<(), CliError> {
    let mut name = None;
    let mut given = a.params.clone();
    for arg in &a.args {
        if arg.contains('=') {
            given.push(arg.clone());
        } else if name.is_none() {
            name = Some(arg.clone());
        } else {
            return Err(usage(
                "process",
                &format!("template name must be specified only once: {arg}"),
            ));
        }
    }
    if a.parameters && (!a.params.is_empty() || a.labels.is_some() || a.output.is_some() || a.raw) {
        let flag = match () {
            _ if !a.params.is_empty() => "param",
            _ if a.labels.is_some() => "labels",
            _ if a.output.is_some() => "output",
            _ => "raw",
        };
        return Err(usage(
            "process",
            &format!(
                "The --parameters flag does not process the template, can't be used with --{flag}"
            ),
        ));
    }
    if name.is_some() && a.local {
        return Err(usage(
            "process",
            "You may only specify a local template file via -f when running this command with --local",
        ));
    }
    let values = parameter_values("process", &given, &a.param_files)?;
    if name.is_none() && a.filename.is_none() {
        return Err(usage(
            "process",
            "Must pass a filename or name of stored template",
        ));
    }
    let s = match a.local {
        true => None,
        false => Some(session(&g.kubeconfig()?, &g.overrides).await?),
    };
    let mut template = match (&name, &s) {
        (Some(name), Some(s)) => stored_template(s, name).await?,
        _ => template_from_file(a.filename.as_deref().unwrap_or("-"))?,
    };
    if a.parameters {
        print!("{}", parameters_table(&template));
        return Ok(());
    }
    if let Some(labels) = &a.labels {
        let labels = parse_labels(labels)?;
        if !template["labels"].is_object() {
            template["labels"] = json!({});
        }
        if let Some(own) = template["labels"].as_object_mut() {
            own.extend(labels);
        }
    }
    inject(
        &mut template,
        &values,
        a.ignore_unknown_parameters,
        "unknown parameter name",
    )?;
    let processed = match &s {
        Some(s) => process_remotely(s, &template).await?,
        None => process_locally(&template)?,
    };
    let objects = processed["objects"].as_array().cloned().unwrap_or_default();
    print_objects(&objects, a.output.as_deref().unwrap_or("json"), a.raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_table_as_oc_prints_it() {
        let t = json!({"parameters": [
            {"name": "NAME", "description": "The name", "value": "web"},
            {"name": "PASSWORD", "generate": "expression", "from": "[a-z]{8}"},
        ]});
        assert_eq!(
            parameters_table(&t),
            "NAME                DESCRIPTION         GENERATOR           VALUE\n\
             NAME                The name                                web\n\
             PASSWORD                                expression          [a-z]{8}\n"
        );
    }

    #[test]
    fn names_and_duplicates() {
        assert_eq!(
            object_name(
                &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"}})
            ),
            "deployment.apps/w"
        );
        assert_eq!(
            object_name(&json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "w"}})),
            "service/w"
        );
        let e = parameter_values("process", &["A=1".into(), "A=2".into()], &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "error: The following parameters were provided more than once: A\nSee 'oc process -h' for help and examples"
        );
    }

    #[test]
    fn local_processing_refuses_as_the_server_does() {
        let t = json!({"kind": "Template", "metadata": {"name": "t"},
            "parameters": [{"name": "DB", "required": true}], "objects": []});
        let e = process_locally(&t).unwrap_err().to_string();
        assert!(
            e.contains("template.parameters[0]: Required value: template.parameters[0]: parameter DB is required and must be specified"),
            "{e}"
        );
    }
}
