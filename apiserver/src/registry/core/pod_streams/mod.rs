//! A pod's streams: `pods/log`, `pods/exec`, `pods/attach` and `pods/portforward`, served by
//! the node the pod runs on and proxied to it (`proxy`) once the pod, its container
//! (`location`) and the options (`options`) are checked, as kube-apiserver does.
//! Authorization is the request's: `get` for GET (the WebSocket upgrades kubectl sends),
//! `create` for POST (SPDY), as in Kubernetes 1.32.

pub mod location;
pub mod options;
pub mod proxy;

use async_trait::async_trait;
use axum::http::Method;
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;

use crate::error::{ApiError, Target};
use crate::node_client::NodeClient;
use crate::registry::rest::{Call, Rest};
use options::{LogOptions, StreamOptions};

fn target(subresource: &str, name: &str) -> Target {
    Target {
        group: String::new(),
        resource: format!("pods/{subresource}"),
        name: name.to_string(),
    }
}

fn node_client<'a>(call: &'a Call<'_>) -> Result<&'a NodeClient, ApiError> {
    call.server.node_client.as_deref().ok_or_else(|| {
        ApiError::ServiceUnavailable("no connection to the nodes is configured".into())
    })
}

/// `pods/log`.
pub struct Log;

#[async_trait]
impl Rest for Log {
    async fn get(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let namespace = call.namespace.unwrap_or_default();
        let options = LogOptions::parse(call.query, call.name)?;
        let pod = location::pod(call.server, namespace, call.name).await?;
        let container = location::container(&pod, call.name, &options.container)?;
        let Some(node) = location::node_name(&pod) else {
            return Ok(proxy::empty_log());
        };
        let client = node_client(call)?;
        let (host, port) = location::node_endpoint(call.server, node).await?;
        let query = options.node_query();
        let mut path = format!("/containerLogs/{namespace}/{}/{container}", call.name);
        if !query.is_empty() {
            path = format!("{path}?{query}");
        }
        proxy::logs(client, (&host, port), path, &target("log", call.name)).await
    }
}

/// `pods/exec` and `pods/attach`: the node path's first segment, and whether a command is
/// part of the request.
pub struct Stream {
    pub node_path: &'static str,
    pub exec: bool,
}

pub const EXEC: Stream = Stream {
    node_path: "exec",
    exec: true,
};
pub const ATTACH: Stream = Stream {
    node_path: "attach",
    exec: false,
};

impl Stream {
    async fn connect(&self, call: &Call<'_>, method: Method) -> Result<Response, ApiError> {
        let namespace = call.namespace.unwrap_or_default();
        let mut options = StreamOptions::parse(call.query)?;
        if !self.exec {
            options.command.clear();
        }
        let pod = location::pod(call.server, namespace, call.name).await?;
        let container = location::container(&pod, call.name, &options.container)?;
        let (subresource, kind) = match self.exec {
            true => ("exec", "PodExecOptions"),
            false => ("attach", "PodAttachOptions"),
        };
        let connect_options = serde_json::json!({"kind": kind, "apiVersion": "v1",
            "container": container, "command": options.command, "stdin": options.stdin,
            "stdout": options.stdout, "stderr": options.stderr, "tty": options.tty});
        admit_connect(call, subresource, &connect_options).await?;
        let path = format!(
            "/{}/{namespace}/{}/{container}?{}",
            self.node_path,
            call.name,
            options.node_query()
        );
        upgrade_at_node(call, &pod, method, path).await
    }
}

/// Admission of a CONNECT (validating plugins, webhooks and policies see it, as upstream's),
/// with the stream's options as the object.
async fn admit_connect(
    call: &Call<'_>,
    subresource: &str,
    options: &Value,
) -> Result<(), ApiError> {
    let attributes = crate::admission::Attributes {
        operation: crate::admission::Operation::Connect,
        def: call.def,
        subresource,
        namespace: call.namespace,
        name: call.name,
        user: call.user,
        old: None,
        dry_run: false,
        namespace_object: Default::default(),
    };
    crate::admission::validate(call.server, &attributes, options)
        .await
        .map(drop)
}

/// Passes the upgrade request on to `path` at the node `pod` is bound to, then joins the two
/// connections.
async fn upgrade_at_node(
    call: &Call<'_>,
    pod: &Value,
    method: Method,
    path: String,
) -> Result<Response, ApiError> {
    let Some(node) = location::node_name(pod) else {
        return Err(ApiError::BadRequest(format!(
            "pod {} does not have a host assigned",
            call.name
        )));
    };
    let client = node_client(call)?;
    let (host, port) = location::node_endpoint(call.server, node).await?;
    proxy::upgrade(
        client,
        (&host, port),
        method,
        path,
        call.headers,
        call.upgrade.clone(),
    )
    .await
}

#[async_trait]
impl Rest for Stream {
    async fn get(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        self.connect(call, Method::GET).await
    }

    async fn create(&self, call: &Call<'_>, _body: Bytes) -> Result<Response, ApiError> {
        self.connect(call, Method::POST).await
    }
}

/// `pods/portforward`: the ports travel inside the stream.
pub struct PortForward;

impl PortForward {
    async fn connect(&self, call: &Call<'_>, method: Method) -> Result<Response, ApiError> {
        let namespace = call.namespace.unwrap_or_default();
        let pod = location::pod(call.server, namespace, call.name).await?;
        let connect_options =
            serde_json::json!({"kind": "PodPortForwardOptions", "apiVersion": "v1"});
        admit_connect(call, "portforward", &connect_options).await?;
        let path = format!("/portForward/{namespace}/{}", call.name);
        upgrade_at_node(call, &pod, method, path).await
    }
}

#[async_trait]
impl Rest for PortForward {
    async fn get(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        self.connect(call, Method::GET).await
    }

    async fn create(&self, call: &Call<'_>, _body: Bytes) -> Result<Response, ApiError> {
        self.connect(call, Method::POST).await
    }
}
