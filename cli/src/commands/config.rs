//! `oc config view | current-context | use-context | get-contexts | set-context |
//! set-credentials | set-cluster`: the kubeconfig, read and edited locally. The connection
//! flags (`--server`, `--token`, `--namespace`, `--certificate-authority`,
//! `--insecure-skip-tls-verify`) are the global ones, read here as the values to set.

use base64::Engine;
use serde_json::{Value, json};

use super::Globals;
use crate::error::CliError;
use crate::kubeconfig::Kubeconfig;
use crate::printers;

#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Display merged kubeconfig settings or a specified kubeconfig file.
    View(ViewArgs),
    /// Display the current-context.
    CurrentContext,
    /// Set the current-context in a kubeconfig file.
    UseContext { name: String },
    /// Describe one or many contexts.
    GetContexts {
        names: Vec<String>,
        #[arg(long, short = 'o')]
        output: Option<String>,
    },
    /// Set a context entry in kubeconfig (`--namespace` sets its namespace).
    SetContext(SetContextArgs),
    /// Set a user entry in kubeconfig (`--token` sets its token).
    SetCredentials(SetCredentialsArgs),
    /// Set a cluster entry in kubeconfig (`--server`, `--certificate-authority`,
    /// `--insecure-skip-tls-verify` set its fields).
    SetCluster(SetClusterArgs),
}

#[derive(Debug, clap::Args)]
pub struct ViewArgs {
    /// Remove all information not used by current-context from the output.
    #[arg(long)]
    minify: bool,
    /// Display raw byte data and sensitive data.
    #[arg(long)]
    raw: bool,
    /// Output format: yaml (default) or json.
    #[arg(long, short = 'o')]
    output: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct SetContextArgs {
    /// The context to set (default with --current: the current one).
    name: Option<String>,
    /// Modify the current context.
    #[arg(long)]
    current: bool,
    /// The cluster entry of the context.
    #[arg(long)]
    cluster: Option<String>,
    /// The user entry of the context.
    #[arg(long)]
    user: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct SetCredentialsArgs {
    name: String,
    /// Path to a client certificate file for TLS.
    #[arg(long)]
    client_certificate: Option<std::path::PathBuf>,
    /// Path to a client key file for TLS.
    #[arg(long)]
    client_key: Option<std::path::PathBuf>,
    /// Username for basic authentication.
    #[arg(long)]
    username: Option<String>,
    /// Password for basic authentication.
    #[arg(long)]
    password: Option<String>,
    /// Embed the client certificate and key in the kubeconfig.
    #[arg(long)]
    embed_certs: bool,
}

#[derive(Debug, clap::Args)]
pub struct SetClusterArgs {
    name: String,
    /// Embed the certificate authority in the kubeconfig.
    #[arg(long)]
    embed_certs: bool,
    /// The TLS server name to check the server's certificate against.
    #[arg(long)]
    tls_server_name: Option<String>,
}

pub fn run(g: &Globals, command: ConfigCommand) -> Result<(), CliError> {
    match command {
        ConfigCommand::View(a) => view(g, &a),
        ConfigCommand::CurrentContext => current_context(g),
        ConfigCommand::UseContext { name } => use_context(g, &name),
        ConfigCommand::GetContexts { names, output } => {
            get_contexts(g, &names, output.as_deref() == Some("name"))
        }
        ConfigCommand::SetContext(a) => set_context(g, &a),
        ConfigCommand::SetCredentials(a) => set_credentials(g, &a),
        ConfigCommand::SetCluster(a) => set_cluster(g, &a),
    }
}

/// Secrets and certificate data replaced as kubectl replaces them unless `--raw`.
fn redacted(mut doc: Value) -> Value {
    for entry in doc["users"].as_array_mut().into_iter().flatten() {
        let user = &mut entry["user"];
        for (field, shown) in [
            ("client-certificate-data", "DATA+OMITTED"),
            ("client-key-data", "DATA+OMITTED"),
            ("token", "REDACTED"),
            ("password", "REDACTED"),
        ] {
            if user[field].as_str().is_some_and(|v| !v.is_empty()) {
                user[field] = json!(shown);
            }
        }
    }
    for entry in doc["clusters"].as_array_mut().into_iter().flatten() {
        if entry["cluster"]["certificate-authority-data"]
            .as_str()
            .is_some_and(|v| !v.is_empty())
        {
            entry["cluster"]["certificate-authority-data"] = json!("DATA+OMITTED");
        }
    }
    doc
}

/// Only the current context and the cluster and user it names.
fn minified(mut doc: Value, context: &str) -> Result<Value, CliError> {
    let entry = |list: &str, name: &str| -> Vec<Value> {
        doc[list]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["name"] == name)
            .cloned()
            .collect()
    };
    let contexts = entry("contexts", context);
    let Some(c) = contexts.first() else {
        return Err(CliError::msg(
            "current-context must exist in order to minify",
        ));
    };
    let cluster = c["context"]["cluster"].as_str().unwrap_or_default();
    let user = c["context"]["user"].as_str().unwrap_or_default();
    let (clusters, users) = (entry("clusters", cluster), entry("users", user));
    if users.is_empty() && !user.is_empty() {
        return Err(CliError::msg(format!("cannot locate user {user}")));
    }
    if clusters.is_empty() && !cluster.is_empty() {
        return Err(CliError::msg(format!("cannot locate cluster {cluster}")));
    }
    doc["contexts"] = json!(contexts);
    doc["clusters"] = json!(clusters);
    doc["users"] = json!(users);
    doc["current-context"] = json!(context);
    Ok(doc)
}

fn view(g: &Globals, a: &ViewArgs) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let mut doc = config.canonical();
    for (key, empty) in [("preferences", json!({})), ("current-context", json!(""))] {
        if doc.get(key).is_none() {
            doc[key] = empty;
        }
    }
    if a.minify {
        let context = g
            .overrides
            .context
            .clone()
            .or_else(|| config.current_context().map(str::to_string))
            .unwrap_or_default();
        doc = minified(doc, &context)?;
    }
    if !a.raw {
        doc = redacted(doc);
    }
    let text = match a.output.as_deref().unwrap_or("yaml") {
        "yaml" => printers::yaml(&doc)?,
        "json" => printers::pretty_json(&in_struct_order(&doc)),
        other => {
            return match printers::Format::parse(Some(other))?.template(&doc) {
                Some(text) => {
                    print!("{}", text?);
                    Ok(())
                }
                None => Err(CliError::msg(format!(
                    "unable to match a printer suitable for the output format \"{other}\", allowed formats are: go-template,json,jsonpath,yaml"
                ))),
            };
        }
    };
    print!("{text}");
    Ok(())
}

/// The document with its keys in the order of Go's kubeconfig struct (what kubectl's JSON
/// shows); keys it does not know come after, as they are.
fn in_struct_order(doc: &Value) -> Value {
    fn ordered(v: &Value, order: &[&str]) -> Value {
        let Some(map) = v.as_object() else {
            return v.clone();
        };
        let mut out = serde_json::Map::new();
        for key in order {
            if let Some(x) = map.get(*key) {
                out.insert(key.to_string(), x.clone());
            }
        }
        for (k, x) in map {
            out.entry(k.clone()).or_insert_with(|| x.clone());
        }
        Value::Object(out)
    }
    let entries = |list: &str, field: &str, order: &[&str]| -> Value {
        let items: Vec<Value> = doc[list]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                let mut e = ordered(e, &["name", field]);
                e[field] = ordered(&e[field], order);
                e
            })
            .collect();
        Value::Array(items)
    };
    let mut out = ordered(
        doc,
        &[
            "kind",
            "apiVersion",
            "preferences",
            "clusters",
            "users",
            "contexts",
            "current-context",
        ],
    );
    out["clusters"] = entries(
        "clusters",
        "cluster",
        &[
            "server",
            "tls-server-name",
            "insecure-skip-tls-verify",
            "certificate-authority",
            "certificate-authority-data",
            "proxy-url",
            "disable-compression",
        ],
    );
    out["users"] = entries(
        "users",
        "user",
        &[
            "client-certificate",
            "client-certificate-data",
            "client-key",
            "client-key-data",
            "token",
            "tokenFile",
            "as",
            "as-uid",
            "as-groups",
            "as-user-extra",
            "username",
            "password",
            "auth-provider",
            "exec",
        ],
    );
    out["contexts"] = entries("contexts", "context", &["cluster", "user", "namespace"]);
    out
}

/// Whether the entry `name` of `list` exists.
fn exists(config: &Kubeconfig, list: &str, name: &str) -> bool {
    config.doc[list]
        .as_array()
        .is_some_and(|l| l.iter().any(|e| e["name"] == name))
}

fn set_context(g: &Globals, a: &SetContextArgs) -> Result<(), CliError> {
    let mut config = g.kubeconfig()?;
    let name = match (&a.name, a.current) {
        (Some(n), false) => n.clone(),
        (None, true) => config
            .current_context()
            .map(str::to_string)
            .ok_or_else(|| CliError::msg("no current context is set"))?,
        (Some(_), true) => {
            return Err(CliError::msg(
                "you cannot specify a context name and --current",
            ));
        }
        (None, false) => {
            return Err(CliError::msg(
                "you must specify a non-empty context name or --current",
            ));
        }
    };
    let existed = exists(&config, "contexts", &name);
    let mut body = json!({});
    for (field, value) in [
        ("cluster", &a.cluster),
        ("user", &a.user),
        ("namespace", &g.overrides.namespace),
    ] {
        if let Some(v) = value {
            body[field] = json!(v);
        }
    }
    config.upsert("contexts", "context", &name, body);
    config.save()?;
    match existed {
        true => println!("Context \"{name}\" modified."),
        false => println!("Context \"{name}\" created."),
    }
    Ok(())
}

/// A file's content base64-encoded (for `--embed-certs`).
fn embedded(path: &std::path::Path) -> Result<String, CliError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::msg(format!("error reading {}: {e}", path.display())))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A file flag as kubectl records it: embedded, or as an absolute path.
fn file_field(
    body: &mut Value,
    field: &str,
    path: &std::path::Path,
    embed: bool,
) -> Result<(), CliError> {
    match embed {
        true => body[format!("{field}-data")] = json!(embedded(path)?),
        false => {
            let absolute = std::path::absolute(path).map_err(|e| CliError::msg(e.to_string()))?;
            body[field] = json!(absolute.display().to_string());
        }
    }
    Ok(())
}

fn set_credentials(g: &Globals, a: &SetCredentialsArgs) -> Result<(), CliError> {
    let mut config = g.kubeconfig()?;
    let mut body = json!({});
    if let Some(t) = &g.overrides.token {
        body["token"] = json!(t);
    }
    for (field, value) in [("username", &a.username), ("password", &a.password)] {
        if let Some(v) = value {
            body[field] = json!(v);
        }
    }
    if let Some(p) = &a.client_certificate {
        file_field(&mut body, "client-certificate", p, a.embed_certs)?;
    }
    if let Some(p) = &a.client_key {
        file_field(&mut body, "client-key", p, a.embed_certs)?;
    }
    config.upsert("users", "user", &a.name, body);
    config.save()?;
    println!("User \"{}\" set.", a.name);
    Ok(())
}

fn set_cluster(g: &Globals, a: &SetClusterArgs) -> Result<(), CliError> {
    let mut config = g.kubeconfig()?;
    let o = &g.overrides;
    let mut body = json!({});
    if let Some(s) = &o.server {
        body["server"] = json!(s);
    }
    if let Some(n) = &a.tls_server_name {
        body["tls-server-name"] = json!(n);
    }
    if o.insecure {
        body["insecure-skip-tls-verify"] = json!(true);
    }
    if let Some(p) = &o.certificate_authority {
        file_field(&mut body, "certificate-authority", p, a.embed_certs)?;
    }
    config.upsert("clusters", "cluster", &a.name, body);
    config.save()?;
    println!("Cluster \"{}\" set.", a.name);
    Ok(())
}

pub fn current_context(g: &Globals) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    match config.current_context() {
        Some(c) => {
            println!("{c}");
            Ok(())
        }
        None => Err(CliError::msg("current-context is not set")),
    }
}

pub fn use_context(g: &Globals, name: &str) -> Result<(), CliError> {
    let mut config = g.kubeconfig()?;
    if config.context(name).is_none() {
        return Err(CliError::msg(format!(
            "no context exists with the name: \"{name}\""
        )));
    }
    config.set_current_context(name);
    config.save()?;
    println!("Switched to context \"{name}\".");
    Ok(())
}

pub fn get_contexts(g: &Globals, names: &[String], name_only: bool) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let current = config.current_context().unwrap_or_default().to_string();
    let mut contexts: Vec<(String, serde_json::Value)> = config.doc["contexts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c["name"].as_str()?.to_string(), c["context"].clone())))
        .filter(|(n, _)| names.is_empty() || names.contains(n))
        .collect();
    contexts.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(missing) = names
        .iter()
        .find(|n| !contexts.iter().any(|(c, _)| c == *n))
    {
        return Err(CliError::msg(format!("context {missing} not found")));
    }
    if name_only {
        for (name, _) in &contexts {
            println!("{name}");
        }
        return Ok(());
    }
    let mut rows = vec![vec![
        "CURRENT".to_string(),
        "NAME".to_string(),
        "CLUSTER".to_string(),
        "AUTHINFO".to_string(),
        "NAMESPACE".to_string(),
    ]];
    for (name, c) in &contexts {
        let field = |k: &str| c[k].as_str().unwrap_or_default().to_string();
        let mark = if *name == current { "*" } else { "" };
        rows.push(vec![
            mark.to_string(),
            name.clone(),
            field("cluster"),
            field("user"),
            field("namespace"),
        ]);
    }
    print!("{}", printers::align(&rows));
    Ok(())
}
