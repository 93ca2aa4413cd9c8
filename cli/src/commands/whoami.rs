//! `oc whoami [-t | --show-server | --show-context | --show-console]`.

use super::Globals;
use crate::client::session;
use crate::error::CliError;

#[derive(Debug, Default, clap::Args)]
pub struct WhoamiArgs {
    /// Print the token the current session is using.
    #[arg(long = "show-token", short = 't')]
    pub show_token: bool,
    /// Print the current server's REST API URL.
    #[arg(long)]
    pub show_server: bool,
    /// Print the current user context name.
    #[arg(long)]
    pub show_context: bool,
    /// Print the current server's web console URL.
    #[arg(long)]
    pub show_console: bool,
}

pub async fn whoami(g: &Globals, a: &WhoamiArgs) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let session = session(&config, &g.overrides).await?;
    if a.show_token {
        let token = session
            .token
            .ok_or_else(|| CliError::msg("no token is currently in use for this session"))?;
        println!("{token}");
        return Ok(());
    }
    if a.show_server {
        println!("{}", session.server);
        return Ok(());
    }
    if a.show_context {
        println!("{}", session.context);
        return Ok(());
    }
    if a.show_console {
        // The console is not part of this control plane.
        return Err(CliError::msg(
            "the server has no web console (its OAuth pages are at /oauth/token/request)",
        ));
    }
    let me = session.get("/apis/user.openshift.io/v1/users/~").await?;
    println!("{}", me["metadata"]["name"].as_str().unwrap_or_default());
    Ok(())
}
