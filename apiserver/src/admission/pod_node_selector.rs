//! `PodNodeSelector` (kube-apiserver's): a new pod's nodeSelector gets its namespace's
//! `scheduler.alpha.kubernetes.io/node-selector` (labels `key=value,...`) merged in; a pod
//! asking for another value of one of those labels is refused with upstream's message.
//! OpenShift enables it beside its project node selector, which runs first: a namespace may
//! carry both annotations, and a pod must agree with each.

use serde_json::Value;

use super::project_node_selector::{merge, parse};
use super::{Attributes, Operation};
use crate::ApiServer;
use crate::error::{ApiError, Target};

pub const NAME: &str = "PodNodeSelector";

/// The namespace annotation that holds the node selector of its pods.
pub const ANNOTATION: &str = "scheduler.alpha.kubernetes.io/node-selector";

pub fn applies(a: &Attributes<'_>) -> bool {
    a.def.group.is_empty()
        && a.def.plural == "pods"
        && a.subresource.is_empty()
        && a.operation == Operation::Create
}

pub async fn admit(
    server: &ApiServer,
    a: &Attributes<'_>,
    pod: &mut Value,
) -> Result<(), ApiError> {
    let Some(namespace) = a.namespace else {
        return Ok(());
    };
    let Some(ns) = server.namespace_object(namespace).await? else {
        return Ok(());
    };
    let Some(selector) = ns["metadata"]["annotations"][ANNOTATION].as_str() else {
        return Ok(());
    };
    let labels = parse(selector).map_err(ApiError::Internal)?;
    merge(&labels, pod).map_err(|_| ApiError::Forbidden {
        target: Target {
            group: String::new(),
            resource: "pods".into(),
            name: pod["metadata"]["name"]
                .as_str()
                .unwrap_or(a.name)
                .to_string(),
        },
        message: "pod node label selector conflicts with its namespace node label selector".into(),
    })
}
