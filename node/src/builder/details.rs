//! What a step reports about its build: `PUT builds/<b>/details` (the source revision, the
//! pushed digest, a failure's reason and message), as upstream's builder does, retried a few
//! times with growing pauses. A server that does not serve the subresource (404) fails no
//! build: the step logs a warning and goes on.

use std::time::Duration;

use serde_json::{Value, json};

use super::build_spec::Revision;
use super::failure::StepFailure;
use super::timing::{self, StageInfo};

const ATTEMPTS: u32 = 4;
const FIRST_PAUSE: Duration = Duration::from_millis(25);

pub struct Details {
    client: kube::Client,
    /// The Build as the pod carries it; each report sends it with what changed.
    build: Value,
}

/// The body of one report: the Build without its resourceVersion (the subresource takes
/// unconditional updates), with `change` applied.
pub fn body(build: &Value, change: impl FnOnce(&mut Value)) -> Value {
    let mut body = build.clone();
    if let Some(meta) = body["metadata"].as_object_mut() {
        meta.remove("resourceVersion");
        meta.remove("managedFields");
    }
    body["apiVersion"] = json!("build.openshift.io/v1");
    body["kind"] = json!("Build");
    change(&mut body);
    body
}

/// `spec.revision` as upstream's builder fills it from the commit.
pub fn revision_json(r: &Revision) -> Value {
    json!({
        "type": "Git",
        "git": {
            "commit": r.commit,
            "message": r.message,
            "author": {"name": r.author_name, "email": r.author_email},
            "committer": {"name": r.committer_name, "email": r.committer_email},
        }
    })
}

impl Details {
    pub fn new(client: kube::Client, build: Value) -> Details {
        Details { client, build }
    }

    fn path(&self) -> String {
        format!(
            "/apis/build.openshift.io/v1/namespaces/{}/builds/{}/details",
            self.build["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default(),
            self.build["metadata"]["name"].as_str().unwrap_or_default()
        )
    }

    /// The revision the sources were taken at.
    pub async fn revision(&self, revision: &Revision) {
        let value = revision_json(revision);
        self.send(body(&self.build, |b| b["spec"]["revision"] = value))
            .await;
    }

    /// The digest of the pushed image.
    pub async fn pushed(&self, digest: &str) {
        self.send(body(&self.build, |b| {
            b["status"]["output"]["to"]["imageDigest"] = json!(digest);
        }))
        .await;
    }

    /// The build failed, and why.
    pub async fn failed(&self, failure: &StepFailure) {
        self.send(body(&self.build, |b| {
            b["status"]["phase"] = json!("Failed");
            b["status"]["reason"] = json!(failure.reason);
            b["status"]["message"] = json!(failure.message);
        }))
        .await;
    }

    /// The stages this step timed, joined to those the build already has (an earlier
    /// container's). Only the stages are sent: the status the pod carries is not current.
    pub async fn stages(&self, recorded: &[StageInfo]) {
        if recorded.is_empty() {
            return;
        }
        let path = self.path();
        let build_path = path.trim_end_matches("/details");
        let request = axum::http::Request::get(build_path).body(Vec::new());
        let current = match request {
            Ok(r) => self.client.request::<Value>(r).await,
            Err(e) => return tracing::warn!(error = %e, "build stages not sent"),
        };
        let current = match current {
            Ok(b) => timing::from_json(&b["status"]["stages"]),
            Err(e) => {
                tracing::warn!(path = build_path, error = %controllers::logs::describe(&e), "the build's stages not read");
                Vec::new()
            }
        };
        let mut stages = current;
        timing::merge(&mut stages, recorded);
        let value = timing::to_json(&stages);
        self.send(body(&self.build, |b| {
            if let Some(spec) = b["spec"].as_object_mut() {
                spec.remove("revision");
            }
            b["status"] = json!({"stages": value});
        }))
        .await;
    }

    async fn send(&self, body: Value) {
        let path = self.path();
        let mut pause = FIRST_PAUSE;
        for attempt in 1..=ATTEMPTS {
            let request = axum::http::Request::put(&path)
                .header(axum::http::header::CONTENT_TYPE, "application/json")
                .body(body.to_string().into_bytes());
            let request = match request {
                Ok(r) => r,
                Err(e) => return tracing::warn!(error = %e, "build details not sent"),
            };
            match self.client.request_text(request).await {
                Ok(_) => return,
                Err(kube::Error::Api(e)) if e.code == 404 => {
                    return tracing::warn!(
                        path,
                        "the server does not take build details; the build goes on"
                    );
                }
                Err(kube::Error::Api(e)) if e.code < 500 && e.code != 429 && e.code != 409 => {
                    return tracing::warn!(path, code = e.code, reason = %e.reason, "build details refused");
                }
                Err(e) if attempt == ATTEMPTS => {
                    return tracing::warn!(path, error = %controllers::logs::describe(&e), "build details not sent");
                }
                Err(_) => {
                    tokio::time::sleep(pause).await;
                    pause *= 4;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_send_the_build_unconditionally_with_the_change() {
        let build = json!({"metadata": {"name": "b", "namespace": "p", "resourceVersion": "7"},
            "spec": {}, "status": {"phase": "Running"}});
        let sent = body(&build, |b| b["status"]["phase"] = json!("Failed"));
        assert_eq!(sent["kind"], "Build");
        assert_eq!(sent["apiVersion"], "build.openshift.io/v1");
        assert!(sent["metadata"].get("resourceVersion").is_none());
        assert_eq!(sent["status"]["phase"], "Failed");
        let r = Revision {
            commit: "c0".into(),
            author_name: "A".into(),
            ..Default::default()
        };
        let v = revision_json(&r);
        assert_eq!(v["type"], "Git");
        assert_eq!(v["git"]["commit"], "c0");
        assert_eq!(v["git"]["author"]["name"], "A");
    }
}
