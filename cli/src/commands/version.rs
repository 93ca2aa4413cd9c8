//! `oc version`: this client's version, then the server's Kubernetes version when it answers.

use super::Globals;
use crate::client::session;
use crate::error::CliError;

pub async fn version(g: &Globals) -> Result<(), CliError> {
    println!("Client Version: {}", env!("CARGO_PKG_VERSION"));
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let server = s.get("/version").await?;
    println!(
        "Kubernetes Version: {}",
        server["gitVersion"].as_str().unwrap_or_default()
    );
    Ok(())
}
