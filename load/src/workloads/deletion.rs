//! Deletions that the controllers finish: the garbage collection of an owner's dependents,
//! and the deletion of a namespace with its content.

use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::Value;

use super::run::{Run, configmap, configmaps};
use crate::client::Error;
use crate::process::Sampler;

impl Run {
    /// Polls `path` every 50 ms until `done` says so; the time it took from `started`.
    async fn until(
        &self,
        path: &str,
        started: Instant,
        done: impl Fn(StatusCode, &[u8]) -> bool,
    ) -> Result<Duration, Error> {
        let mut conn = self.target.connect().await?;
        loop {
            let (status, body) = conn.request(Method::GET, path, None).await?;
            if done(status, &body) {
                return Ok(started.elapsed());
            }
            if started.elapsed() > Duration::from_secs(600) {
                return Err(format!("{path}: not done after 10 minutes"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Seconds for the garbage collector to delete `dependents` ConfigMaps of one owner
    /// deleted in the background.
    pub async fn gc(&self, dependents: usize) -> Result<f64, Error> {
        let namespace = self.namespace("gc").await?;
        let path = configmaps(&namespace);
        let mut conn = self.target.connect().await?;
        let (status, body) = conn
            .request(
                Method::POST,
                &path,
                Some(configmap(&namespace, "owner", "")),
            )
            .await?;
        let owner: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        let uid = owner["metadata"]["uid"].as_str().unwrap_or_default();
        if !status.is_success() || uid.is_empty() {
            return Err(format!("creating the owner: {status}"));
        }
        let extra = format!(
            r#","ownerReferences":[{{"apiVersion":"v1","kind":"ConfigMap","name":"owner","uid":"{uid}"}}]"#
        );
        self.create_with(&namespace, "d", dependents, 32, &extra)
            .await?;
        let sampler = Sampler::start(self.server_pid);
        let started = Instant::now();
        let (status, _) = conn
            .request(
                Method::DELETE,
                &format!("{path}/owner"),
                Some(Bytes::from(r#"{"propagationPolicy":"Background"}"#)),
            )
            .await?;
        if !status.is_success() {
            return Err(format!("deleting the owner: {status}"));
        }
        let took = self
            .until(&format!("{path}?limit=1"), started, |status, body| {
                status == StatusCode::OK
                    && serde_json::from_slice::<Value>(body)
                        .is_ok_and(|l| l["items"].as_array().is_some_and(Vec::is_empty))
            })
            .await?;
        println!(
            "gc      N={dependents}: dependents of a deleted owner collected in {:.1} s ({:.0}/s); {}",
            took.as_secs_f64(),
            dependents as f64 / took.as_secs_f64(),
            sampler.finish()
        );
        Ok(took.as_secs_f64())
    }

    /// Seconds to delete a namespace holding `objects` ConfigMaps, until it is gone.
    pub async fn namespace_deletion(&self, objects: usize) -> Result<f64, Error> {
        let namespace = self.namespace("nsdel").await?;
        self.create_in(&namespace, "n", objects, 32).await?;
        let mut conn = self.target.connect().await?;
        let sampler = Sampler::start(self.server_pid);
        let started = Instant::now();
        let path = format!("/api/v1/namespaces/{namespace}");
        let (status, _) = conn.request(Method::DELETE, &path, None).await?;
        if !status.is_success() {
            return Err(format!("deleting the namespace: {status}"));
        }
        let took = self
            .until(&path, started, |status, _| status == StatusCode::NOT_FOUND)
            .await?;
        println!(
            "nsdel   N={objects}: namespace deleted with its content in {:.1} s ({:.0} objects/s); {}",
            took.as_secs_f64(),
            objects as f64 / took.as_secs_f64(),
            sampler.finish()
        );
        Ok(took.as_secs_f64())
    }
}
