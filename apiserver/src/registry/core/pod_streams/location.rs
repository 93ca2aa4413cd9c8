//! Where a pod's streams are: the container a request means (checked as upstream's
//! `validateContainer`), and the node's API address from its `Node` object (the address
//! kube-apiserver prefers, and `status.daemonEndpoints.kubeletEndpoint.Port`).

use serde_json::Value;

use crate::ApiServer;
use crate::error::ApiError;
use crate::registry::object::target;

/// The port of a node's API when its Node does not say.
const DEFAULT_PORT: u16 = 10250;

/// The address types tried, in order (kube-apiserver's `--kubelet-preferred-address-types`
/// as OpenShift sets it: the internal address first).
const PREFERRED_ADDRESSES: &[&str] = &[
    "InternalIP",
    "Hostname",
    "InternalDNS",
    "ExternalDNS",
    "ExternalIP",
];

fn names(pod: &Value, list: &str) -> Vec<String> {
    pod["spec"][list]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect()
}

/// The container `requested` names in `pod` (its only container if none is named).
pub fn container(pod: &Value, name: &str, requested: &str) -> Result<String, ApiError> {
    let containers = names(pod, "containers");
    if requested.is_empty() {
        return match containers.as_slice() {
            [only] => Ok(only.clone()),
            [] => Err(ApiError::BadRequest(format!(
                "a container name must be specified for pod {name}"
            ))),
            _ => {
                let mut all = names(pod, "initContainers");
                all.extend(containers);
                all.extend(names(pod, "ephemeralContainers"));
                Err(ApiError::BadRequest(format!(
                    "a container name must be specified for pod {name}, choose one of: [{}]",
                    all.join(" ")
                )))
            }
        };
    }
    let known = ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .any(|list| names(pod, list).iter().any(|c| c == requested));
    match known {
        true => Ok(requested.to_string()),
        false => Err(ApiError::BadRequest(format!(
            "container {requested} is not valid for pod {name}"
        ))),
    }
}

/// The pod `name` in `namespace`.
pub async fn pod(server: &ApiServer, namespace: &str, name: &str) -> Result<Value, ApiError> {
    let def = server
        .scheme
        .lookup("", "v1", "pods")
        .ok_or(ApiError::PathNotFound)?;
    server
        .get_object(def, Some(namespace), name)
        .await?
        .ok_or_else(|| ApiError::NotFound(target(def, name)))
}

/// The node the pod runs on, if it has one.
pub fn node_name(pod: &Value) -> Option<&str> {
    pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty())
}

/// Host and port of the API of node `name`.
pub async fn node_endpoint(server: &ApiServer, name: &str) -> Result<(String, u16), ApiError> {
    let def = server
        .scheme
        .lookup("", "v1", "nodes")
        .ok_or(ApiError::PathNotFound)?;
    let node = server
        .get_object(def, None, name)
        .await?
        .ok_or_else(|| ApiError::NotFound(target(def, name)))?;
    endpoint(&node).ok_or_else(|| {
        ApiError::BadRequest("no preferred addresses found; known addresses: []".into())
    })
}

/// Host and port of a Node's API.
pub fn endpoint(node: &Value) -> Option<(String, u16)> {
    let addresses = node["status"]["addresses"].as_array()?;
    let host = PREFERRED_ADDRESSES.iter().find_map(|kind| {
        addresses
            .iter()
            .find(|a| a["type"] == *kind)
            .and_then(|a| a["address"].as_str())
            .filter(|a| !a.is_empty())
    })?;
    let port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0)
        .unwrap_or(DEFAULT_PORT);
    Some((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod(containers: &[&str], init: &[&str]) -> Value {
        let list = |names: &[&str]| names.iter().map(|n| json!({"name": n})).collect::<Vec<_>>();
        json!({"spec": {"containers": list(containers), "initContainers": list(init)}})
    }

    #[test]
    fn the_only_container_is_the_default() {
        assert_eq!(container(&pod(&["app"], &[]), "web", "").unwrap(), "app");
        assert_eq!(
            container(&pod(&["app", "side"], &["init"]), "web", "init").unwrap(),
            "init"
        );
    }

    #[test]
    fn container_errors_are_upstreams() {
        let message = |e: ApiError| (e.status().code, e.status().message);
        assert_eq!(
            message(container(&pod(&["app", "side"], &["init"]), "web", "").unwrap_err()),
            (
                400,
                "a container name must be specified for pod web, choose one of: [init app side]"
                    .into()
            )
        );
        assert_eq!(
            message(container(&pod(&[], &[]), "web", "").unwrap_err()),
            (400, "a container name must be specified for pod web".into())
        );
        assert_eq!(
            message(container(&pod(&["app"], &[]), "web", "nope").unwrap_err()),
            (400, "container nope is not valid for pod web".into())
        );
    }

    #[test]
    fn the_node_is_reached_at_its_internal_address_and_daemon_port() {
        let node = json!({"status": {
            "addresses": [{"type": "Hostname", "address": "node-a"}, {"type": "InternalIP", "address": "127.0.0.1"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 41234}},
        }});
        assert_eq!(endpoint(&node), Some(("127.0.0.1".into(), 41234)));
        let node = json!({"status": {"addresses": [{"type": "Hostname", "address": "node-a"}]}});
        assert_eq!(endpoint(&node), Some(("node-a".into(), 10250)));
        assert_eq!(endpoint(&json!({"status": {}})), None);
    }
}
