//! `oc`: the OpenShift command line for Oxshift, with the real `oc`'s commands, flags,
//! messages and exit codes, on the same kubeconfig file as kubectl and the real `oc`.
//! Each command lives in its own module under `commands/`.

mod client;
mod commands;
mod discovery;
mod error;
mod kubeconfig;
mod manifests;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use commands::Globals;
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
    #[command(subcommand)]
    command: Command,
}

fn duration(text: &str) -> Result<std::time::Duration, String> {
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
    /// Display one or many resources.
    Get {
        /// TYPE[,TYPE...] [NAME...], or TYPE/NAME...
        #[arg(required = true)]
        words: Vec<String>,
        /// Output format: wide, name, json or yaml.
        #[arg(long, short = 'o')]
        output: Option<String>,
        /// Selector (label query) to filter on.
        #[arg(long, short = 'l')]
        selector: Option<String>,
        /// Selector (field query) to filter on.
        #[arg(long)]
        field_selector: Option<String>,
        /// List the requested objects across all namespaces.
        #[arg(long, short = 'A')]
        all_namespaces: bool,
        /// Show all labels as the last column.
        #[arg(long)]
        show_labels: bool,
        /// Don't print headers.
        #[arg(long)]
        no_headers: bool,
        /// If true, keep the managedFields when printing objects in JSON or YAML format.
        #[arg(long)]
        show_managed_fields: bool,
    },
    /// Create a resource from a file or from stdin.
    Create {
        /// Files, directories or `-` (stdin) with the objects to create.
        #[arg(long, short = 'f', required = true)]
        filename: Vec<String>,
        /// Process the directories of -f recursively.
        #[arg(long, short = 'R')]
        recursive: bool,
    },
    /// Delete resources by file names, stdin, resources and names, or by resources and label
    /// selector.
    Delete {
        /// TYPE NAME..., TYPE/NAME..., or TYPE with -l or --all.
        words: Vec<String>,
        #[arg(long, short = 'f')]
        filename: Vec<String>,
        #[arg(long, short = 'R')]
        recursive: bool,
        #[arg(long, short = 'l')]
        selector: Option<String>,
        /// Delete all resources of the type in the namespace.
        #[arg(long)]
        all: bool,
        /// background, foreground or orphan.
        #[arg(long, num_args = 0..=1, default_missing_value = "background")]
        cascade: Option<String>,
        /// Wait for the resources to be gone before returning.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        wait: bool,
    },
    /// Apply a configuration to a resource by file name or stdin.
    Apply {
        #[arg(long, short = 'f', required = true)]
        filename: Vec<String>,
        #[arg(long, short = 'R')]
        recursive: bool,
        /// Apply on the server (server-side apply) instead of in the client.
        #[arg(long)]
        server_side: bool,
        /// With --server-side: take over fields other managers own.
        #[arg(long)]
        force_conflicts: bool,
        /// The field manager of a server-side apply (default `kubectl`).
        #[arg(long)]
        field_manager: Option<String>,
    },
    /// Update the labels on a resource.
    Label {
        /// TYPE NAME... or TYPE/NAME..., then KEY=VALUE or KEY-.
        #[arg(required = true)]
        words: Vec<String>,
        #[arg(long)]
        overwrite: bool,
    },
    /// Update the annotations on a resource.
    Annotate {
        #[arg(required = true)]
        words: Vec<String>,
        #[arg(long)]
        overwrite: bool,
    },
    /// Modify kubeconfig files.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print the client and server version information.
    Version,
    /// Print the supported API versions on the server, in the form of "group/version".
    ApiVersions,
    /// Print the supported API resources on the server.
    ApiResources {
        /// If false, non-namespaced resources will be returned, otherwise namespaced ones.
        #[arg(long, action = clap::ArgAction::Set)]
        namespaced: Option<bool>,
        /// Output format: name.
        #[arg(long, short = 'o')]
        output: Option<String>,
    },
    /// Log in to a server.
    Login {
        server: Option<String>,
        #[arg(long, short = 'u')]
        username: Option<String>,
        #[arg(long, short = 'p')]
        password: Option<String>,
    },
    /// End the current server session.
    Logout,
    /// Return information about the current session.
    Whoami {
        /// Print the token the current session is using.
        #[arg(long = "show-token", short = 't')]
        show_token: bool,
        #[arg(long)]
        show_server: bool,
        #[arg(long)]
        show_context: bool,
        #[arg(long)]
        show_console: bool,
    },
    /// Switch to another project.
    Project {
        name: Option<String>,
        /// If true, display only the project name.
        #[arg(long, short = 'q')]
        short: bool,
    },
    /// Display existing projects.
    Projects {
        /// If true, display only the project names.
        #[arg(long, short = 'q')]
        short: bool,
    },
    /// Request a new project.
    NewProject {
        name: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// If true, the project will not be set as a cluster entry in kubeconfig after
        /// being created.
        #[arg(long)]
        skip_config_write: bool,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
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
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let globals = Globals {
        kubeconfig: cli.kubeconfig,
        overrides: client::Overrides {
            context: cli.context,
            server: cli.server,
            token: cli.token,
            namespace: cli.namespace,
            insecure: cli.insecure_skip_tls_verify,
            certificate_authority: cli.certificate_authority,
            request_timeout: cli.request_timeout.filter(|d| !d.is_zero()),
        },
    };
    match cli.command {
        Command::Get {
            words,
            output,
            selector,
            field_selector,
            all_namespaces,
            show_labels,
            no_headers,
            show_managed_fields,
        } => {
            let args = commands::get::GetArgs {
                words,
                output,
                selector,
                field_selector,
                all_namespaces,
                show_labels,
                no_headers,
                show_managed_fields,
            };
            commands::get::get(&globals, &args).await
        }
        Command::Create {
            filename,
            recursive,
        } => commands::write::create(&globals, &filename, recursive).await,
        Command::Delete {
            words,
            filename,
            recursive,
            selector,
            all,
            cascade,
            wait,
        } => {
            let args = commands::write::DeleteArgs {
                words,
                filenames: filename,
                recursive,
                selector,
                all,
                cascade,
                wait,
            };
            commands::write::delete(&globals, &args).await
        }
        Command::Apply {
            filename,
            recursive,
            server_side,
            force_conflicts,
            field_manager,
        } => {
            let args = commands::apply::ApplyArgs {
                filenames: filename,
                recursive,
                server_side,
                force_conflicts,
                field_manager,
            };
            commands::apply::apply(&globals, &args).await
        }
        Command::Label { words, overwrite } => {
            let args = commands::meta::MetaArgs { words, overwrite };
            commands::meta::run(&globals, commands::meta::Field::Labels, &args).await
        }
        Command::Annotate { words, overwrite } => {
            let args = commands::meta::MetaArgs { words, overwrite };
            commands::meta::run(&globals, commands::meta::Field::Annotations, &args).await
        }
        Command::Config(ConfigCommand::CurrentContext) => {
            commands::config::current_context(&globals)
        }
        Command::Config(ConfigCommand::UseContext { name }) => {
            commands::config::use_context(&globals, &name)
        }
        Command::Config(ConfigCommand::GetContexts { names, output }) => {
            commands::config::get_contexts(&globals, &names, output.as_deref() == Some("name"))
        }
        Command::Version => commands::version::version(&globals).await,
        Command::ApiVersions => commands::api::api_versions(&globals).await,
        Command::ApiResources { namespaced, output } => {
            commands::api::api_resources(&globals, namespaced, output.as_deref() == Some("name"))
                .await
        }
        Command::Login {
            server,
            username,
            password,
        } => {
            let args = commands::login::LoginArgs {
                server,
                username,
                password,
            };
            commands::login::login(&globals, &args).await
        }
        Command::Logout => commands::logout::logout(&globals).await,
        Command::Whoami {
            show_token,
            show_server,
            show_context,
            show_console,
        } => {
            let args = commands::whoami::WhoamiArgs {
                show_token,
                show_server,
                show_context,
                show_console,
            };
            commands::whoami::whoami(&globals, &args).await
        }
        Command::Project { name, short } => {
            commands::project::project(&globals, name.as_deref(), short).await
        }
        Command::Projects { short } => commands::project::projects(&globals, short).await,
        Command::NewProject {
            name,
            display_name,
            description,
            skip_config_write,
        } => {
            commands::project::new_project(
                &globals,
                &name,
                display_name.as_deref(),
                description.as_deref(),
                skip_config_write,
            )
            .await
        }
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
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
