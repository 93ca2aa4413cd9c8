//! `oc config current-context | use-context NAME | get-contexts`: the kubeconfig's contexts,
//! read and switched locally.

use super::Globals;
use crate::error::CliError;

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
    print!("{}", super::get::align(&rows));
    Ok(())
}
