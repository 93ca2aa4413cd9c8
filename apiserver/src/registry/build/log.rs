//! `builds/<name>/log`: the build pod's containers' logs, one after the other in the pod's
//! order (init containers, then the build container), each read from the node through the
//! pods' log path. A build not yet running is waited for (30 s) unless `nowait`; `version`
//! and `previous` read another build of the same config. Only the last container followed.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use futures::StreamExt;
use serde_json::Value;

use super::keys;
use crate::ApiServer;
use crate::error::{ApiError, Target};
use crate::registry::core::pod_streams::{location, proxy};
use crate::registry::object;
use crate::registry::query::{Pairs, log_version};
use crate::registry::rest::{Call, Rest};

const WAIT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(200);
/// Options passed on to each container's log.
const PASSED: [&str; 5] = [
    "tailLines",
    "limitBytes",
    "sinceSeconds",
    "sinceTime",
    "timestamps",
];

struct Options {
    follow: bool,
    nowait: bool,
    previous: bool,
    version: Option<i64>,
    passed: Vec<(String, String)>,
}

fn invalid(field: &str, message: String) -> ApiError {
    ApiError::Invalid {
        kind: "BuildLogOptions".into(),
        target: Target {
            group: "build.openshift.io".into(),
            resource: String::new(),
            name: String::new(),
        },
        causes: vec![api::status::StatusCause {
            reason: "FieldValueInvalid".into(),
            message,
            field: field.into(),
        }],
    }
}

fn parse(query: Option<&str>) -> Result<Options, ApiError> {
    let pairs = Pairs::parse(query)?;
    Ok(Options {
        version: log_version(&pairs, "build", invalid)?,
        follow: pairs.flag("follow"),
        nowait: pairs.flag("nowait"),
        previous: pairs.flag("previous"),
        passed: pairs
            .iter()
            .filter(|(k, _)| PASSED.contains(&k.as_str()))
            .cloned()
            .collect(),
    })
}

fn text(body: Body) -> Response {
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

/// The build whose log is read: `name`, or another of its config's by version.
async fn target_build(call: &Call<'_>, options: &Options) -> Result<Value, ApiError> {
    let namespace = call.namespace.unwrap_or_default();
    let get = |name: String| async move {
        call.server
            .get_object(call.def, Some(namespace), &name)
            .await?
            .ok_or_else(|| ApiError::NotFound(object::target(call.def, &name)))
    };
    let build = get(call.name.to_string()).await?;
    let config = build["metadata"]["annotations"][keys::BUILD_CONFIG_NAME]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let number: i64 = build["metadata"]["annotations"][keys::BUILD_NUMBER]
        .as_str()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let version = match (options.version, options.previous) {
        (Some(v), _) => Some(v),
        (None, true) => Some(number - 1),
        _ => None,
    };
    match version {
        Some(v) if !config.is_empty() => get(format!("{config}-{v}")).await,
        _ => Ok(build),
    }
}

/// Waits for `name` to run; Err with upstream's words when it cannot.
async fn wait_running(server: &ApiServer, call: &Call<'_>, name: &str) -> Result<Value, ApiError> {
    let namespace = call.namespace.unwrap_or_default();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let build = server
            .get_object(call.def, Some(namespace), name)
            .await?
            .ok_or_else(|| ApiError::NotFound(object::target(call.def, name)))?;
        match build["status"]["phase"].as_str().unwrap_or_default() {
            "New" | "Pending" | "" => {}
            "Error" => {
                return Err(ApiError::BadRequest(format!(
                    "build {name} encountered an error: No logs are available."
                )));
            }
            "Cancelled" => {
                return Err(ApiError::BadRequest(format!(
                    "build {name} was cancelled: No logs are available."
                )));
            }
            _ => return Ok(build),
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ApiError::Timeout(format!(
                "timed out waiting for build {name} to start after 30s"
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The containers of `pod` in the order their logs are read, with whether each has ended.
fn containers(pod: &Value) -> Vec<(String, bool)> {
    let ended = |list: &str, name: &str| {
        pod["status"][list]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s["name"] == name && s["state"]["terminated"].is_object())
    };
    let mut out = Vec::new();
    for (list, statuses) in [
        ("initContainers", "initContainerStatuses"),
        ("containers", "containerStatuses"),
    ] {
        for c in pod["spec"][list].as_array().into_iter().flatten() {
            let name = c["name"].as_str().unwrap_or_default().to_string();
            let done = ended(statuses, &name);
            out.push((name, done));
        }
    }
    out
}

pub struct Log;

#[async_trait::async_trait]
impl Rest for Log {
    async fn get(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let options = parse(call.query)?;
        let mut build = target_build(call, &options).await?;
        let name = object::meta_str(&build, "name").to_string();
        match build["status"]["phase"].as_str().unwrap_or_default() {
            "Cancelled" => {
                return Err(ApiError::BadRequest(format!(
                    "build {name} was cancelled. No logs are available."
                )));
            }
            "Error" => {
                return Err(ApiError::BadRequest(format!(
                    "build {name} is in an error state. No logs are available."
                )));
            }
            "New" | "Pending" | "" if options.nowait => return Ok(text(Body::empty())),
            "New" | "Pending" | "" => build = wait_running(call.server, call, &name).await?,
            _ => {}
        }
        let namespace = call.namespace.unwrap_or_default().to_string();
        let pod_name = build["metadata"]["annotations"][keys::POD_NAME]
            .as_str()
            .map_or_else(|| format!("{name}-build"), String::from);
        let pod = location::pod(call.server, &namespace, &pod_name).await?;
        let Some(node) = location::node_name(&pod).map(String::from) else {
            return Ok(proxy::empty_log());
        };
        let client = call.server.node_client.clone().ok_or_else(|| {
            ApiError::ServiceUnavailable("no connection to the nodes is configured".into())
        })?;
        let (host, port) = location::node_endpoint(call.server, &node).await?;
        let list = containers(&pod);
        let last = list.len().saturating_sub(1);
        let passed = options.passed.clone();
        let follow = options.follow;
        let target = Target {
            group: String::new(),
            resource: "pods/log".into(),
            name: pod_name.clone(),
        };
        let stream = async_stream::stream! {
            for (i, (container, ended)) in list.into_iter().enumerate() {
                let mut query = passed.clone();
                if follow && (i == last || !ended) {
                    query.push(("follow".into(), "true".into()));
                }
                let query = serde_urlencoded::to_string(&query).unwrap_or_default();
                let mut path = format!("/containerLogs/{namespace}/{pod_name}/{container}");
                if !query.is_empty() {
                    path = format!("{path}?{query}");
                }
                let Ok(response) = proxy::logs(&client, (&host, port), path, &target).await else {
                    continue;
                };
                let mut body = response.into_body().into_data_stream();
                while let Some(chunk) = body.next().await {
                    match chunk {
                        Ok(bytes) => yield Ok::<Bytes, std::io::Error>(bytes),
                        Err(_) => break,
                    }
                }
            }
        };
        Ok(text(Body::from_stream(stream)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_must_be_positive_and_alone() {
        assert!(parse(Some("version=0")).is_err());
        assert!(parse(Some("version=2&previous=true")).is_err());
        let o = parse(Some("follow=true&tailLines=5&nowait=1")).unwrap();
        assert!(o.follow && o.nowait);
        assert_eq!(o.passed, vec![("tailLines".to_string(), "5".to_string())]);
    }

    #[test]
    fn init_containers_come_first() {
        let pod = json!({"spec": {"initContainers": [{"name": "git-clone"}, {"name": "manage-dockerfile"}],
            "containers": [{"name": "docker-build"}]},
            "status": {"initContainerStatuses": [{"name": "git-clone", "state": {"terminated": {}}}]}});
        assert_eq!(
            containers(&pod),
            vec![
                ("git-clone".to_string(), true),
                ("manage-dockerfile".to_string(), false),
                ("docker-build".to_string(), false)
            ]
        );
    }
}
