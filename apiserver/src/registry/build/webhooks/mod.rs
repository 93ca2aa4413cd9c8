//! `buildconfigs/<name>/webhooks/<secret>/<type>`: a push starts a build. Anyone may call it
//! (`system:webhook` is bound to every user, authenticated or not), so a config that does not
//! exist, has no trigger of that type, or holds another secret is refused with the same 401,
//! never revealing which. Secrets are compared in constant time, inline or read from the
//! secret a trigger references (key `WebHookSecretKey`). Bodies are bounded as every body is.

pub mod payload;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use serde_json::{Value, json};

use super::{generator, keys};
use crate::ApiServer;
use crate::error::{ApiError, Target};
use crate::registry::rest::{Call, Rest};
use payload::Outcome;

const TYPES: [(&str, &str, &str, &str); 4] = [
    ("generic", "Generic", "generic", "Generic WebHook"),
    ("github", "GitHub", "github", "GitHub WebHook"),
    ("gitlab", "GitLab", "gitlab", "GitLab WebHook"),
    ("bitbucket", "Bitbucket", "bitbucket", "Bitbucket WebHook"),
];

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The secret a trigger holds: inline, or in the secret it references.
async fn trigger_secret(server: &ApiServer, namespace: &str, params: &Value) -> Option<Vec<u8>> {
    if let Some(secret) = params["secret"].as_str().filter(|s| !s.is_empty()) {
        return Some(secret.as_bytes().to_vec());
    }
    let name = params["secretReference"]["name"].as_str()?;
    let def = server.scheme.lookup("", "v1", "secrets")?;
    let secret = server.get_object(def, Some(namespace), name).await.ok()??;
    let encoded = secret["data"][keys::WEBHOOK_SECRET_KEY].as_str()?;
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
}

/// The trigger parameters of `field` whose secret is `given`.
async fn accepting_trigger(
    server: &ApiServer,
    namespace: &str,
    bc: &Value,
    kind: &str,
    field: &str,
    given: &str,
) -> Option<Value> {
    for trigger in bc["spec"]["triggers"].as_array().into_iter().flatten() {
        if trigger["type"] != kind {
            continue;
        }
        let params = &trigger[field];
        if let Some(secret) = trigger_secret(server, namespace, params).await
            && constant_time_eq(&secret, given.as_bytes())
        {
            return Some(params.clone());
        }
    }
    None
}

fn success(message: &str) -> Response {
    let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Success", "message": message, "code": 200});
    (StatusCode::OK, axum::Json(status)).into_response()
}

pub struct Webhooks;

#[async_trait::async_trait]
impl Rest for Webhooks {
    async fn create(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        let Some((secret, hook)) = call
            .subpath
            .split_once('/')
            .filter(|(s, h)| !s.is_empty() && !h.is_empty() && !h.contains('/'))
        else {
            return Err(ApiError::BadRequest(format!(
                "unexpected hook subpath {}",
                call.subpath
            )));
        };
        let Some((_, kind, field, cause)) = TYPES.iter().find(|(t, ..)| *t == hook) else {
            return Err(ApiError::NotFound(Target {
                group: "build.openshift.io".into(),
                resource: "buildconfighook".into(),
                name: hook.into(),
            }));
        };
        let refused = || {
            ApiError::UnauthorizedBecause(format!(
                "the webhook {hook:?} for {:?} did not accept your secret",
                call.name
            ))
        };
        let namespace = call.namespace.unwrap_or_default();
        let bc = call
            .server
            .get_object(call.def, Some(namespace), call.name)
            .await?
            .ok_or_else(refused)?;
        let params = accepting_trigger(call.server, namespace, &bc, kind, field, secret)
            .await
            .ok_or_else(refused)?;
        let git = &bc["spec"]["source"]["git"];
        let configured_ref = git["ref"].as_str().unwrap_or_default();
        let outcome = match hook {
            "github" => payload::github(call.headers, &body, configured_ref),
            "gitlab" => payload::gitlab(call.headers, &body, configured_ref),
            "bitbucket" => payload::bitbucket(call.headers, &body, configured_ref),
            _ => payload::generic(
                call.headers,
                &body,
                configured_ref,
                git.is_object(),
                params["allowEnv"] == true,
            ),
        };
        let (revision, env, docker_options, warning) = match outcome {
            Outcome::Refuse(message) => return Err(ApiError::BadRequest(message)),
            Outcome::Skip(Some(message)) => return Ok(success(&message)),
            Outcome::Skip(None) => return Ok(StatusCode::OK.into_response()),
            Outcome::Build {
                revision,
                env,
                docker_options,
                warning,
            } => (revision, env, docker_options, warning),
        };
        let cause_field = format!("{field}WebHook");
        let mut cause = json!({"message": cause, cause_field.as_str(): {"secret": "<secret>"}});
        if let Some(r) = &revision {
            cause[cause_field.as_str()]["revision"] = r.clone();
        }
        let mut request =
            json!({"metadata": {"name": call.name}, "triggeredBy": [cause], "env": env});
        if let Some(r) = revision {
            request["revision"] = r;
        }
        if let Some(options) = docker_options {
            request["dockerStrategyOptions"] = options;
        }
        let build = generator::instantiate(call.server, namespace, call.name, &request)
            .await
            .map_err(|e| match e {
                ApiError::NotFound(_) => refused(),
                e => ApiError::Internal(format!(
                    "could not generate a build: {}",
                    e.status().message
                )),
            })?;
        if let Some(message) = warning {
            return Ok(success(&message));
        }
        let builds = call
            .server
            .scheme
            .lookup("build.openshift.io", "v1", "builds")
            .ok_or(ApiError::PathNotFound)?;
        Ok(call.out.respond(StatusCode::OK, builds, build))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
