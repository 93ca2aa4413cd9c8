//! `oc set ...`: commands that set one aspect of objects.

#[derive(Debug, clap::Subcommand)]
pub enum SetCommand {
    /// Update the backends for a route.
    RouteBackends(super::route_backends::RouteBackendsArgs),
}

pub async fn run(g: &super::Globals, command: SetCommand) -> Result<(), crate::error::CliError> {
    match command {
        SetCommand::RouteBackends(a) => super::route_backends::run(g, &a).await,
    }
}
