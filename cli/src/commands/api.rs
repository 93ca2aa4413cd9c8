//! `oc api-versions`, `oc api-resources`: what the server serves, from discovery.

use super::Globals;
use crate::client::session;
use crate::discovery;
use crate::error::CliError;

pub async fn api_versions(g: &Globals) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let mut versions = discovery::group_versions(&s).await?;
    versions.sort();
    versions.dedup();
    for v in versions {
        println!("{v}");
    }
    Ok(())
}

#[derive(Debug, Default, clap::Args)]
pub struct ApiResourcesArgs {
    /// If false, non-namespaced resources will be returned, otherwise namespaced ones.
    #[arg(long, action = clap::ArgAction::Set)]
    pub namespaced: Option<bool>,
    /// Output format: name.
    #[arg(long, short = 'o')]
    pub output: Option<String>,
}

pub async fn api_resources(g: &Globals, a: &ApiResourcesArgs) -> Result<(), CliError> {
    let (namespaced, names_only) = (a.namespaced, a.output.as_deref() == Some("name"));
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let mut all = discovery::resources(&s, true).await?;
    all.retain(|r| !r.plural.contains('/') && namespaced.is_none_or(|n| r.namespaced == n));
    all.sort_by(|a, b| {
        (a.group.as_str(), a.plural.as_str()).cmp(&(b.group.as_str(), b.plural.as_str()))
    });
    if names_only {
        for r in &all {
            match r.group.as_str() {
                "" => println!("{}", r.plural),
                g => println!("{}.{g}", r.plural),
            }
        }
        return Ok(());
    }
    let mut rows = vec![vec![
        "NAME".to_string(),
        "SHORTNAMES".to_string(),
        "APIVERSION".to_string(),
        "NAMESPACED".to_string(),
        "KIND".to_string(),
    ]];
    for r in &all {
        rows.push(vec![
            r.plural.clone(),
            r.short_names.join(","),
            r.group_version(),
            r.namespaced.to_string(),
            r.kind.clone(),
        ]);
    }
    print!("{}", crate::printers::align(&rows));
    Ok(())
}
