//! `oc`: the OpenShift command line for Oxshift, with the real `oc`'s commands, flags,
//! messages and exit codes, on the same kubeconfig file as kubectl and the real `oc`.
//! Each command lives in its own module under `commands/`, with its arguments (a
//! `clap::Args` struct) next to the code that runs it; this file only routes.

mod client;
mod commands;
mod discovery;
mod error;
mod kubeconfig;
mod manifests;
mod objects;
mod printers;
mod remote_command;
mod spdy_tunnel;
mod trace;
mod warnings;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use commands::*;
use error::CliError;

#[derive(Parser)]
#[command(
    name = "oc",
    about = "OpenShift Client",
    version,
    disable_help_subcommand = true
)]
struct Cli {
    /// Path to the kubeconfig file to use for CLI requests.
    #[arg(long, global = true)]
    kubeconfig: Option<PathBuf>,
    /// The name of the kubeconfig context to use.
    #[arg(long, global = true)]
    context: Option<String>,
    /// The address and port of the Kubernetes API server.
    #[arg(long, short = 's', global = true)]
    server: Option<String>,
    /// Bearer token for authentication to the API server.
    #[arg(long, global = true)]
    token: Option<String>,
    /// If present, the namespace scope for this CLI request.
    #[arg(long, short = 'n', global = true)]
    namespace: Option<String>,
    /// If true, the server's certificate will not be checked for validity.
    #[arg(long, global = true)]
    insecure_skip_tls_verify: bool,
    /// Path to a cert file for the certificate authority.
    #[arg(long, global = true)]
    certificate_authority: Option<PathBuf>,
    /// The length of time to wait before giving up on a single server request (`30s`; 0:
    /// no limit).
    #[arg(long, global = true, value_parser = duration)]
    request_timeout: Option<std::time::Duration>,
    /// Username to impersonate for the operation.
    #[arg(long = "as", global = true)]
    impersonate: Option<String>,
    /// Group to impersonate for the operation (repeatable).
    #[arg(long = "as-group", global = true)]
    impersonate_groups: Vec<String>,
    /// Number for the log level verbosity (6: requests, 7: request headers, 8: response
    /// headers and bodies, 9: whole bodies).
    #[arg(
        long,
        visible_alias = "v",
        short = 'v',
        global = true,
        default_value_t = 0
    )]
    loglevel: u8,
    #[command(subcommand)]
    command: Command,
}

pub fn duration(text: &str) -> Result<std::time::Duration, String> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?}"))?;
    match unit {
        "s" => Ok(std::time::Duration::from_secs(n)),
        "m" => Ok(std::time::Duration::from_secs(n * 60)),
        "h" => Ok(std::time::Duration::from_secs(n * 3600)),
        "ms" => Ok(std::time::Duration::from_millis(n)),
        _ => Err(format!("invalid duration {text:?}")),
    }
}

#[derive(Subcommand)]
enum Command {
    /// Log in to a server.
    Login(login::LoginArgs),
    /// End the current server session.
    Logout,
    /// Return information about the current session.
    Whoami(whoami::WhoamiArgs),
    /// Switch to another project.
    Project(project::ProjectArgs),
    /// Display existing projects.
    Projects(project::ProjectsArgs),
    /// Request a new project.
    NewProject(project::NewProjectArgs),
    /// Show a high level overview of the current project.
    Status(status::StatusArgs),
    /// Display one or many resources.
    Get(get::GetArgs),
    /// Import images from a container image registry.
    ImportImage(commands::import_image::ImportImageArgs),
    /// Tag existing images into image streams.
    Tag(commands::tag::TagArgs),
    /// Start a new build.
    StartBuild(commands::start_build::StartBuildArgs),
    /// Cancel running, pending, or new builds.
    CancelBuild(commands::cancel_build::CancelBuildArgs),
    /// Show details of a specific resource or group of resources.
    Describe(describe::DescribeArgs),
    /// Create a resource from a file or from stdin, or a service account token.
    Create(write::CreateArgs),
    /// Replace a resource by file name or stdin.
    Replace(write::ReplaceArgs),
    /// Apply a configuration to a resource by file name or stdin.
    Apply(apply::ApplyArgs),
    /// Delete resources by file names, stdin, resources and names, or by resources and label
    /// selector.
    Delete(write::DeleteArgs),
    /// Edit a resource on the server.
    Edit(edit::EditArgs),
    /// Update fields of a resource.
    Patch(patch::PatchArgs),
    /// Set a new size for a deployment, replica set or replication controller.
    Scale(scale::ScaleArgs),
    /// Run a particular image on the cluster.
    Run(run::RunArgs),
    /// Create a new application.
    NewApp(new_app::NewAppArgs),
    /// Create a new build configuration.
    NewBuild(commands::new_build::NewBuildArgs),
    /// Process a template into a list of resources.
    Process(process::ProcessArgs),
    /// Expose a replicated application as a service or route.
    Expose(commands::expose::ExposeArgs),
    /// Commands that help set specific features on objects.
    #[command(subcommand)]
    Set(commands::set::SetCommand),
    /// Manage the rollout of a resource.
    #[command(subcommand)]
    Rollout(rollout::RolloutCommand),
    /// Revert part of an application back to a previous deployment.
    Rollback(rollout::RollbackArgs),
    /// Update the labels on a resource.
    Label(meta::MetaArgs),
    /// Update the annotations on a resource.
    Annotate(meta::MetaArgs),
    /// Get documentation for a resource.
    Explain(explain::ExplainArgs),
    /// Print the logs for a container in a pod.
    Logs(logs::LogsArgs),
    /// Execute a command in a container.
    Exec(exec::ExecArgs),
    /// Start a shell session in a container.
    Rsh(exec::RshArgs),
    /// Forward one or more local ports to a pod.
    PortForward(commands::port_forward::PortForwardArgs),
    /// Print the supported API resources on the server.
    ApiResources(api::ApiResourcesArgs),
    /// Print the supported API versions on the server, in the form of "group/version".
    ApiVersions,
    /// Inspect authorization.
    #[command(subcommand)]
    Auth(auth::AuthCommand),
    /// Manage authorization policy.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Tools for managing a cluster.
    #[command(subcommand)]
    Adm(policy::AdmCommand),
    /// Commands for working with the integrated registry.
    #[command(subcommand)]
    Registry(commands::registry::RegistryCommand),
    /// Modify kubeconfig files.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Print the client and server version information.
    Version,
}

async fn run(cli: Cli) -> Result<(), CliError> {
    trace::set_level(cli.loglevel);
    let g = Globals {
        kubeconfig: cli.kubeconfig,
        overrides: client::Overrides {
            context: cli.context,
            server: cli.server,
            token: cli.token,
            namespace: cli.namespace,
            insecure: cli.insecure_skip_tls_verify,
            certificate_authority: cli.certificate_authority,
            request_timeout: cli.request_timeout.filter(|d| !d.is_zero()),
            impersonate: cli.impersonate,
            impersonate_groups: cli.impersonate_groups,
        },
    };
    match cli.command {
        Command::Login(a) => login::login(&g, &a).await,
        Command::Logout => logout::logout(&g).await,
        Command::Whoami(a) => whoami::whoami(&g, &a).await,
        Command::Project(a) => project::project(&g, &a).await,
        Command::Projects(a) => project::projects(&g, &a).await,
        Command::NewProject(a) => project::new_project(&g, &a).await,
        Command::Status(a) => status::status(&g, &a).await,
        Command::Get(a) => get::get(&g, &a).await,
        Command::Tag(a) => commands::tag::tag(&g, &a).await,
        Command::StartBuild(a) => commands::start_build::start_build(&g, &a).await,
        Command::CancelBuild(a) => commands::cancel_build::cancel_build(&g, &a).await,
        Command::ImportImage(a) => commands::import_image::import_image(&g, &a).await,
        Command::Describe(a) => describe::describe(&g, &a).await,
        Command::Create(a) => write::create(&g, &a).await,
        Command::Replace(a) => write::replace(&g, &a).await,
        Command::Apply(a) => apply::apply(&g, &a).await,
        Command::Delete(a) => write::delete(&g, &a).await,
        Command::Edit(a) => edit::edit(&g, &a).await,
        Command::Patch(a) => patch::patch(&g, &a).await,
        Command::Scale(a) => scale::scale(&g, &a).await,
        Command::Run(a) => run::run(&g, &a).await,
        Command::NewApp(a) => new_app::new_app(&g, &a).await,
        Command::NewBuild(a) => commands::new_build::new_build(&g, &a).await,
        Command::Process(a) => process::process(&g, &a).await,
        Command::Expose(a) => commands::expose::expose(&g, &a).await,
        Command::Set(c) => commands::set::run(&g, c).await,
        Command::Rollout(c) => rollout::run(&g, c).await,
        Command::Rollback(a) => rollout::rollback(&g, &a).await,
        Command::Label(a) => meta::run(&g, meta::Field::Labels, &a).await,
        Command::Annotate(a) => meta::run(&g, meta::Field::Annotations, &a).await,
        Command::Explain(a) => explain::explain(&g, &a).await,
        Command::Logs(a) => logs::logs(&g, &a).await,
        Command::Exec(a) => exec::exec(&g, &a).await,
        Command::Rsh(a) => exec::rsh(&g, &a).await,
        Command::PortForward(a) => commands::port_forward::port_forward(&g, &a).await,
        Command::ApiResources(a) => api::api_resources(&g, &a).await,
        Command::ApiVersions => api::api_versions(&g).await,
        Command::Auth(c) => auth::run(&g, c).await,
        Command::Policy(c) => policy::run(&g, c).await,
        Command::Adm(c) => policy::adm(&g, c).await,
        Command::Registry(c) => commands::registry::run(&g, c).await,
        Command::Config(c) => config::run(&g, c),
        Command::Version => version::version(&g).await,
    }
}

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => {}
        Err(CliError::Silent) => std::process::exit(1),
        Err(CliError::Exit(code)) => std::process::exit(code),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
