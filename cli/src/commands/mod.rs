//! One module per command (or family of commands); each takes its parsed arguments and the
//! global options, prints what upstream prints, and returns an error to print otherwise.

pub mod api;
pub mod apply;
pub mod auth;
pub mod cancel_build;
pub mod certificate;
pub mod config;
pub mod create_cluster_quota;
pub mod create_deployment;
pub mod create_route;
mod deployment_status;
pub mod describe;
pub mod drain;
pub mod edit;
pub mod exec;
pub mod explain;
pub mod expose;
pub mod get;
pub mod image_attestation;
pub mod import_image;
pub mod login;
pub mod logout;
pub mod logs;
pub mod meta;
pub mod new_app;
pub mod new_build;
pub mod patch;
pub mod pod_target;
pub mod policy;
pub mod port_forward;
pub mod process;
pub mod project;
pub mod registry;
pub mod rollout;
pub mod rollout_dc;
pub mod rollout_revisions;
pub mod rollout_sets;
pub mod route_backends;
pub mod run;
pub mod scale;
pub mod scc_review;
pub mod set;
pub mod set_triggers;
pub mod set_volume;
pub mod start_build;
pub mod status;
pub mod tag;
pub mod tar_dir;
pub mod token;
pub mod version;
pub mod whoami;
pub mod write;

use std::path::PathBuf;

use crate::client::Overrides;

/// The options every command takes.
#[derive(Clone, Debug, Default)]
pub struct Globals {
    pub kubeconfig: Option<PathBuf>,
    pub overrides: Overrides,
}

impl Globals {
    pub fn kubeconfig(&self) -> Result<crate::kubeconfig::Kubeconfig, crate::error::CliError> {
        crate::kubeconfig::Kubeconfig::load(crate::kubeconfig::location(self.kubeconfig.as_deref()))
    }
}
