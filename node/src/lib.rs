//! The node agent: what the kubelet is to a Kubernetes cluster. It registers a `Node`, runs the
//! pods bound to it through a container runtime, and serves their logs and streams over HTTPS.

pub mod container_io;
pub mod kubelet_api;
#[cfg(any(test, feature = "test-io"))]
pub mod test_io;
