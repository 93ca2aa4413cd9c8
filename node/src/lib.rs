//! The node agent: what the kubelet is to a Kubernetes cluster. It registers a `Node`, runs the
//! pods bound to it through a container runtime, and serves their logs and streams over HTTPS.
//!
//! - `agent`: one agent (port, registration, loops); `node_status` and `lease` keep the Node
//!   and its Lease current;
//! - `pods`: the watch of the node's pods and one worker per pod (status, back-off,
//!   environment, volumes, images);
//! - `runtime`: the container runtime trait, podman and simulated, and CRI logs;
//! - `builder`: build pods' steps run by the node with git and buildah;
//! - `provisioner`: the local provisioner's volumes under the node's storage directory;
//! - `network`: the bridge, the pods' network namespaces and their addresses;
//! - `node_io`: the `ContainerIo` the HTTPS API calls; `events`: the kubelet's events;
//! - `disk`: a directory's file system space and a tree's usage (`df`, `du`).

pub mod agent;
pub mod builder;
pub mod container_io;
pub mod disk;
pub mod events;
pub mod kubelet_api;
pub mod lease;
pub mod network;
pub mod node_io;
pub mod node_status;
pub mod pods;
pub mod provisioner;
pub mod runtime;
#[cfg(any(test, feature = "test-io"))]
pub mod test_io;

pub use agent::{Agent, AgentConfig, KubeletEndpoint, RuntimeKind, start};
