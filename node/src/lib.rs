//! The node agent: what the kubelet is to a Kubernetes cluster. It registers a `Node`, runs the
//! pods bound to it through a container runtime, and serves their logs and streams over HTTPS.

pub mod container_io;
