//! `deploymentconfigs/<name>/log` (`oc logs dc/<name>`): the deployer's log of a deployment
//! (the latest, `version=N`, or with `previous` the one before), read from the replication
//! controller the deployer writes it to; `follow` streams it until the deployment ends.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde_json::Value;

use super::keys;
use crate::ApiServer;
use crate::error::{ApiError, Target};
use crate::registry::query::{Pairs, log_version};
use crate::registry::rest::{Call, Rest};

/// How long a deployment's controller may take to appear (upstream waits as long).
const APPEAR: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(500);

struct Options {
    follow: bool,
    previous: bool,
    version: Option<i64>,
}

fn parse(query: Option<&str>) -> Result<Options, ApiError> {
    let pairs = Pairs::parse(query)?;
    let invalid = |field: &str, message: String| {
        super::instantiate::invalid("DeploymentLogOptions", "", field, message)
    };
    Ok(Options {
        version: log_version(&pairs, "deployment", invalid)?,
        follow: pairs.flag("follow"),
        previous: pairs.flag("previous"),
    })
}

fn phase(rc: &Value) -> &str {
    rc["metadata"]["annotations"][keys::PHASE]
        .as_str()
        .unwrap_or_default()
}

fn log_of(rc: &Value) -> String {
    rc["metadata"]["annotations"][keys::DEPLOYER_LOG]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn rc(server: &ApiServer, namespace: &str, name: &str) -> Result<Option<Value>, ApiError> {
    let def = server
        .scheme
        .lookup("", "v1", "replicationcontrollers")
        .ok_or(ApiError::PathNotFound)?;
    server.get_object(def, Some(namespace), name).await
}

fn text(body: Body) -> Response {
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

pub struct Log;

#[async_trait::async_trait]
impl Rest for Log {
    async fn get(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let options = parse(call.query)?;
        let namespace = call.namespace.unwrap_or_default().to_string();
        let name = call.name;
        let not_found = || {
            ApiError::NotFound(Target {
                group: "apps.openshift.io".into(),
                resource: "deploymentconfig".into(),
                name: name.into(),
            })
        };
        let dc = call
            .server
            .get_object(call.def, Some(&namespace), name)
            .await?
            .ok_or_else(not_found)?;
        let latest = dc["status"]["latestVersion"].as_i64().unwrap_or(0);
        if latest == 0 {
            return Err(ApiError::BadRequest(format!(
                "no deployment exists for deploymentConfig {name:?}"
            )));
        }
        let version = match (options.version, options.previous) {
            (Some(v), _) if v > latest => {
                return Err(ApiError::BadRequest(format!(
                    "invalid version for deploymentConfig {name:?}: {v}"
                )));
            }
            (Some(v), _) => v,
            (None, true) if latest - 1 < 1 => {
                return Err(ApiError::BadRequest(format!(
                    "no previous deployment exists for deploymentConfig {name:?}"
                )));
            }
            (None, true) => latest - 1,
            (None, false) => latest,
        };
        let rc_name = format!("{name}-{version}");
        let deadline = tokio::time::Instant::now() + APPEAR;
        let first = loop {
            if let Some(found) = rc(call.server, &namespace, &rc_name).await? {
                break found;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ApiError::NotFound(Target {
                    group: String::new(),
                    resource: "replicationcontrollers".into(),
                    name: rc_name,
                }));
            }
            tokio::time::sleep(POLL).await;
        };
        if !options.follow {
            return Ok(text(Body::from(log_of(&first))));
        }
        let store = call.server.store.clone();
        let key = call
            .server
            .scheme
            .lookup("", "v1", "replicationcontrollers")
            .ok_or(ApiError::PathNotFound)?
            .key(Some(&namespace), &rc_name);
        let stream = async_stream::stream! {
            let mut sent = 0usize;
            let mut current = Some(first);
            while let Some(rc) = current.take() {
                let log = log_of(&rc);
                if log.len() > sent {
                    yield Ok::<_, std::io::Error>(bytes::Bytes::from(log[sent..].to_string()));
                    sent = log.len();
                }
                if matches!(phase(&rc), "Complete" | "Failed") {
                    break;
                }
                tokio::time::sleep(POLL).await;
                current = fresh(store.as_ref(), &key).await;
            }
        };
        Ok(text(Body::from_stream(stream)))
    }
}

/// The replication controller at `key` as stored now (none once it is gone).
async fn fresh(store: &dyn storage::Store, key: &str) -> Option<Value> {
    let (found, _) = store.get(key, None).await.ok()?;
    crate::registry::object::from_store(&found?).ok()
}
