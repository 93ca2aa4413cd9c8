//! Builds run on the node, as OpenShift 4's builder runs them in the build pod: the build
//! pod's containers (`git-clone`, `manage-dockerfile`, `docker-build`, `sti-build`) are run
//! by the agent itself with git and buildah instead of as containers of the builder image,
//! but only for pods a Build really controls (`recognise`). To the rest of the node they are
//! containers like any other (`runtime`: the `Runtime` that runs them and wraps the real one).
//!
//! One module per step (`git_clone` with `binary_input` and `source_auth`,
//! `manage_dockerfile`, `docker_build`, `sti_build`), with their pure parts apart (`dockerfile`, `s2i`); what steps share: the Build they read
//! (`build_spec`), their context, log, commands and buildah, the details they report
//! (`details`) with their timing (`timing`), their failures in upstream's words (`failure`), the rule that builds reach
//! only this machine (`loopback`).

mod binary_input;
mod build_spec;
mod buildah;
mod command;
mod context;
mod details;
mod docker_build;
mod dockerfile;
mod failure;
mod git_clone;
mod log;
mod loopback;
mod manage_dockerfile;
mod push;
mod recognise;
mod runtime;
mod s2i;
mod scripts_url;
mod source_auth;
mod source_info;
mod sti_build;
mod timing;

pub use recognise::{Step, is_build_pod, native_step};
pub use runtime::BuilderRuntime;
