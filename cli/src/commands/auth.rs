//! `oc auth can-i VERB [TYPE[/NAME] | /URL]` (a SelfSubjectAccessReview; `yes` or `no`, exit
//! code 1 for no), `oc auth can-i --list` (a SelfSubjectRulesReview as kubectl's table) and
//! `oc auth whoami` (a SelfSubjectReview).

use serde_json::{Value, json};

use super::Globals;
use crate::client::session;
use crate::discovery;
use crate::error::CliError;
use crate::printers::{self, Format, go_value, rules};

#[derive(Debug, clap::Subcommand)]
pub enum AuthCommand {
    /// Check whether an action is allowed.
    CanI(CanIArgs),
    /// Check who you are and your attributes (groups, extra).
    Whoami {
        /// Output format: json or yaml.
        #[arg(long, short = 'o')]
        output: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
pub struct CanIArgs {
    /// VERB, then TYPE, TYPE/NAME or a non-resource URL (`/healthz`); none with --list.
    words: Vec<String>,
    /// If true, check the specified action in all namespaces.
    #[arg(long, short = 'A')]
    all_namespaces: bool,
    /// SubResource such as pod/log or deployment/scale.
    #[arg(long)]
    subresource: Option<String>,
    /// If true, suppress output and just return the exit code.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// If true, prints all allowed actions.
    #[arg(long)]
    list: bool,
    /// If true, prints allowed actions without headers.
    #[arg(long)]
    no_headers: bool,
}

pub async fn run(g: &Globals, command: AuthCommand) -> Result<(), CliError> {
    match command {
        AuthCommand::CanI(a) if a.list => can_i_list(g, &a).await,
        AuthCommand::CanI(a) => can_i(g, &a).await,
        AuthCommand::Whoami { output } => whoami(g, output.as_deref()).await,
    }
}

async fn can_i(g: &Globals, a: &CanIArgs) -> Result<(), CliError> {
    let [verb, what, rest @ ..] = a.words.as_slice() else {
        return Err(CliError::msg(
            "you must specify two arguments: verb resource or verb resource/resourceName.",
        ));
    };
    if !rest.is_empty() {
        return Err(CliError::msg(format!(
            "you must specify two arguments: verb resource or verb resource/resourceName.\nUnexpected arguments: {rest:?}"
        )));
    }
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let spec = if what.starts_with('/') {
        json!({"nonResourceAttributes": {"verb": verb, "path": what}})
    } else {
        let (word, name) = what.split_once('/').unwrap_or((what, ""));
        let (group, resource) = match discovery::resolve(&s, word).await {
            Ok(r) => (r.group, r.plural),
            Err(_) => {
                if !a.quiet {
                    eprintln!("Warning: the server doesn't have a resource type '{word}'\n");
                }
                let (res, group) = word.split_once('.').unwrap_or((word, ""));
                (group.to_string(), res.to_string())
            }
        };
        let namespace = match a.all_namespaces {
            true => "",
            false => s.namespace.as_str(),
        };
        json!({"resourceAttributes": {
            "namespace": namespace, "verb": verb, "group": group, "resource": resource,
            "subresource": a.subresource.clone().unwrap_or_default(), "name": name,
        }})
    };
    let review = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": spec});
    let answer = s
        .post(
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            &review,
        )
        .await?;
    let status = &answer["status"];
    let allowed = status["allowed"].as_bool().unwrap_or(false);
    if !a.quiet {
        let mut line = match allowed {
            true => "yes".to_string(),
            false => "no".to_string(),
        };
        if !allowed {
            for field in ["reason", "evaluationError"] {
                if let Some(text) = status[field].as_str().filter(|t| !t.is_empty()) {
                    line.push_str(&format!(" - {text}"));
                }
            }
        }
        println!("{line}");
    }
    match allowed {
        true => Ok(()),
        false => Err(CliError::Exit(1)),
    }
}

async fn can_i_list(g: &Globals, a: &CanIArgs) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let review = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
        "spec": {"namespace": s.namespace}});
    let answer = s
        .post(
            "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
            &review,
        )
        .await?;
    let mut rows = Vec::new();
    if !a.no_headers {
        rows.push(
            ["Resources", "Non-Resource URLs", "Resource Names", "Verbs"]
                .map(String::from)
                .to_vec(),
        );
    }
    let status = &answer["status"];
    let rules: Vec<Value> = ["resourceRules", "nonResourceRules"]
        .iter()
        .flat_map(|k| status[*k].as_array().cloned().unwrap_or_default())
        .collect();
    rows.extend(rules::rows(&rules).into_iter().map(Vec::from));
    print!("{}", printers::align(&rows));
    Ok(())
}

/// A SelfSubjectReview with its keys in the order of Go's struct (what kubectl's JSON shows).
fn review_in_struct_order(review: &Value) -> Value {
    let user = &review["status"]["userInfo"];
    let mut info = serde_json::Map::new();
    for key in ["username", "uid", "groups", "extra"] {
        if let Some(v) = user.get(key).filter(|v| !v.is_null()) {
            info.insert(key.into(), v.clone());
        }
    }
    let mut metadata = review["metadata"].as_object().cloned().unwrap_or_default();
    metadata.entry("creationTimestamp").or_insert(Value::Null);
    json!({
        "kind": "SelfSubjectReview",
        "apiVersion": review["apiVersion"],
        "metadata": metadata,
        "status": {"userInfo": info},
    })
}

async fn whoami(g: &Globals, output: Option<&str>) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let review = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"});
    let answer = s
        .post("/apis/authentication.k8s.io/v1/selfsubjectreviews", &review)
        .await?;
    let text = match Format::parse(output)? {
        Format::Table { .. } => {
            let user = &answer["status"]["userInfo"];
            let mut rows = vec![vec!["ATTRIBUTE".to_string(), "VALUE".to_string()]];
            rows.push(vec![
                "Username".into(),
                user["username"].as_str().unwrap_or_default().into(),
            ]);
            if let Some(uid) = user["uid"].as_str().filter(|u| !u.is_empty()) {
                rows.push(vec!["UID".into(), uid.into()]);
            }
            if user["groups"].as_array().is_some_and(|g| !g.is_empty()) {
                rows.push(vec!["Groups".into(), go_value(&user["groups"])]);
            }
            let mut extra: Vec<(&String, &Value)> =
                user["extra"].as_object().into_iter().flatten().collect();
            extra.sort_by(|a, b| a.0.cmp(b.0));
            for (k, v) in extra {
                rows.push(vec![format!("Extra: {k}"), go_value(v)]);
            }
            printers::align(&rows)
        }
        Format::Json => printers::pretty_json(&review_in_struct_order(&answer)),
        Format::Yaml => printers::yaml(&answer)?,
        format @ (Format::JsonPath(_) | Format::GoTemplate(_)) => {
            format.template(&answer).unwrap_or(Ok(String::new()))?
        }
        _ => {
            return Err(CliError::msg(
                "unable to match a printer suitable for the output format, allowed formats are: go-template,json,jsonpath,yaml",
            ));
        }
    };
    print!("{text}");
    Ok(())
}
