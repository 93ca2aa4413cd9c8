//! The pod a log or stream command names (`web`, `pod/web`, `pods/web`, `po/web`), read from
//! the server, and the container it means: `-c`, else the pod's default-container
//! annotation, else its first container, with kubectl's note when there was a choice.

use serde_json::Value;

use crate::client::{Session, encode};
use crate::error::CliError;

/// The annotation that names a pod's default container.
const DEFAULT_CONTAINER: &str = "kubectl.kubernetes.io/default-container";

/// The pod's name from a command-line reference.
pub fn pod_name(reference: &str) -> Result<&str, CliError> {
    match reference.split_once('/') {
        None => Ok(reference),
        Some(("pod" | "pods" | "po", name)) if !name.is_empty() => Ok(name),
        Some((kind, _)) => Err(CliError::msg(format!(
            "cannot attach to {kind}: only pods are supported"
        ))),
    }
}

/// The pod, as the session's namespace holds it.
pub async fn get(session: &Session, name: &str) -> Result<Value, CliError> {
    session
        .get(&format!(
            "/api/v1/namespaces/{}/pods/{}",
            encode(&session.namespace),
            encode(name)
        ))
        .await
}

fn names(pod: &Value, list: &str) -> Vec<String> {
    pod["spec"][list]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect()
}

/// The container `requested` (or the default one) of `pod`.
pub fn container(pod: &Value, requested: Option<&str>) -> Result<String, CliError> {
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let containers = names(pod, "containers");
    let (init, ephemeral) = (
        names(pod, "initContainers"),
        names(pod, "ephemeralContainers"),
    );
    if let Some(requested) = requested {
        let known = containers
            .iter()
            .chain(&init)
            .chain(&ephemeral)
            .any(|c| c == requested);
        return match known {
            true => Ok(requested.to_string()),
            false => Err(CliError::msg(format!(
                "container {requested} is not valid for pod {name}"
            ))),
        };
    }
    let annotated = pod["metadata"]["annotations"][DEFAULT_CONTAINER]
        .as_str()
        .filter(|c| containers.iter().any(|n| n == c));
    let Some(chosen) = annotated
        .map(str::to_string)
        .or_else(|| containers.first().cloned())
    else {
        return Err(CliError::msg(format!(
            "pod {name} does not have any containers"
        )));
    };
    if annotated.is_none() && containers.len() + init.len() + ephemeral.len() > 1 {
        let mut all: Vec<String> = containers.clone();
        all.extend(ephemeral.iter().map(|c| format!("{c} (ephem)")));
        all.extend(init.iter().map(|c| format!("{c} (init)")));
        eprintln!("Defaulted container {chosen:?} out of: {}", all.join(", "));
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn references_name_pods() {
        assert_eq!(pod_name("web").unwrap(), "web");
        assert_eq!(pod_name("pod/web").unwrap(), "web");
        assert_eq!(pod_name("pods/web").unwrap(), "web");
        assert!(pod_name("deployment/web").is_err());
    }

    #[test]
    fn containers_default_as_kubectl_defaults_them() {
        let pod = json!({"metadata": {"name": "web"}, "spec": {"containers": [{"name": "app"}, {"name": "side"}]}});
        assert_eq!(container(&pod, None).unwrap(), "app");
        assert_eq!(container(&pod, Some("side")).unwrap(), "side");
        assert_eq!(
            container(&pod, Some("nope")).unwrap_err().to_string(),
            "error: container nope is not valid for pod web"
        );
        let annotated = json!({"metadata": {"name": "web", "annotations": {DEFAULT_CONTAINER: "side"}},
            "spec": {"containers": [{"name": "app"}, {"name": "side"}]}});
        assert_eq!(container(&annotated, None).unwrap(), "side");
    }
}
