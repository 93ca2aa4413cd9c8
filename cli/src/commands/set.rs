//! `oc set ...`: commands that set one aspect of objects.

#[derive(Debug, clap::Subcommand)]
pub enum SetCommand {
    /// Update the backends for a route.
    RouteBackends(super::route_backends::RouteBackendsArgs),
    /// Update the triggers on one or more objects.
    Triggers(super::set_triggers::TriggersArgs),
    /// Update volumes on a pod template.
    #[command(alias = "volume")]
    Volumes(Box<super::set_volume::VolumeArgs>),
}

pub async fn run(g: &super::Globals, command: SetCommand) -> Result<(), crate::error::CliError> {
    match command {
        SetCommand::RouteBackends(a) => super::route_backends::run(g, &a).await,
        SetCommand::Triggers(a) => super::set_triggers::triggers(g, &a).await,
        SetCommand::Volumes(a) => super::set_volume::volume(g, &a).await,
    }
}
