//! Image triggers at scale (needs the controllers): DeploymentConfigs (image change triggers)
//! and Deployments (`image.openshift.io/triggers`) following the `latest` tags of many image
//! streams, then one ImageStreamMapping per tag, one after another: the time from each
//! mapping's answer until each follower's new ReplicationController or ReplicaSet is seen in a
//! watch. Then `fan` followers of one tag and one mapping: the time until the last of them
//! has rolled.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::run::Run;
use crate::client::{Conn, Error};
use crate::process::Sampler;
use crate::stats::Latencies;

/// How long a follower may take before the run gives up.
const PATIENCE: Duration = Duration::from_secs(300);

fn digest(round: usize, tag: usize) -> String {
    format!("sha256:{:032x}{tag:032x}", round + 1)
}

/// A DeploymentConfig following `<stream>:latest`.
fn config(name: &str, stream: &str, replicas: u32) -> Value {
    json!({"apiVersion": "apps.openshift.io/v1", "kind": "DeploymentConfig",
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"app": name},
            "triggers": [{"type": "ConfigChange"}, {"type": "ImageChange", "imageChangeParams": {
                "automatic": true, "containerNames": ["c"],
                "from": {"kind": "ImageStreamTag", "name": format!("{stream}:latest")}}}],
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": " "}]}}}})
}

/// A Deployment on `image`, following `<stream>:latest` by its annotation.
fn deployment(name: &str, stream: &str, image: &str, replicas: u32) -> Value {
    let triggers = json!([{"from": {"kind": "ImageStreamTag", "name": format!("{stream}:latest")},
        "fieldPath": "spec.template.spec.containers[?(@.name==\"c\")].image"}]);
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "annotations": {"image.openshift.io/triggers": triggers.to_string()}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": image}]}}}})
}

/// Which follower an added ReplicationController or ReplicaSet belongs to.
fn owner(object: &Value) -> Option<String> {
    object["metadata"]["ownerReferences"][0]["name"]
        .as_str()
        .map(str::to_string)
}

/// Reads a watch, sending the owner of each added object with when it arrived.
async fn follow(mut body: Incoming, seen: mpsc::UnboundedSender<(String, Instant)>) {
    let mut buf: Vec<u8> = Vec::new();
    while let Some(Ok(frame)) = body.frame().await {
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let at = Instant::now();
        buf.extend_from_slice(&data);
        while let Some(end) = memchr::memchr(b'\n', &buf) {
            let line: Vec<u8> = buf.drain(..=end).collect();
            if !line.starts_with(b"{\"type\":\"ADDED\"") {
                continue;
            }
            let Ok(event) = serde_json::from_slice::<Value>(&line) else {
                continue;
            };
            if let Some(name) = owner(&event["object"])
                && seen.send((name, at)).is_err()
            {
                return;
            }
        }
    }
}

impl Run {
    async fn post(conn: &mut Conn, path: &str, body: &Value) -> Result<(), Error> {
        let (status, answer) = conn
            .request(Method::POST, path, Some(Bytes::from(body.to_string())))
            .await?;
        if status != StatusCode::CREATED {
            return Err(format!(
                "POST {path}: {status} {}",
                String::from_utf8_lossy(&answer)
            ));
        }
        Ok(())
    }

    /// Waits until each of `owners` has a new object seen after `since`; their latencies.
    async fn rolled(
        seen: &mut mpsc::UnboundedReceiver<(String, Instant)>,
        owners: &HashSet<String>,
        since: Instant,
    ) -> Result<Vec<Duration>, Error> {
        let mut waiting = owners.clone();
        let mut latencies = Vec::with_capacity(owners.len());
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !waiting.is_empty() {
            let next = tokio::time::timeout_at(deadline, seen.recv()).await;
            let Ok(Some((name, at))) = next else {
                return Err(format!(
                    "{} followers did not roll within {PATIENCE:?} (e.g. {:?})",
                    waiting.len(),
                    waiting.iter().next()
                ));
            };
            if at >= since && waiting.remove(&name) {
                latencies.push(at - since);
            }
        }
        Ok(latencies)
    }

    /// `followers` followers (half configs, half Deployments) of `tags` tags; `fan` followers
    /// of one more tag. The p99 of mapping → new deployment, and the fan-out time, in ms.
    pub async fn triggers(
        &self,
        tags: usize,
        followers: usize,
        fan: usize,
        replicas: u32,
    ) -> Result<(f64, f64), Error> {
        let tags = tags.max(1);
        let namespace = self.namespace("triggers").await?;
        let images = format!("/apis/image.openshift.io/v1/namespaces/{namespace}");
        let configs =
            format!("/apis/apps.openshift.io/v1/namespaces/{namespace}/deploymentconfigs");
        let deployments = format!("/apis/apps/v1/namespaces/{namespace}/deployments");
        let mut conn = self.target.connect().await?;
        let (seen_tx, mut seen) = mpsc::unbounded_channel();
        let local = tokio::task::LocalSet::new();
        for path in [
            format!("/api/v1/namespaces/{namespace}/replicationcontrollers"),
            format!("/apis/apps/v1/namespaces/{namespace}/replicasets"),
        ] {
            let mut watch = self.target.connect().await?;
            let body = watch
                .stream(&format!("{path}?watch=1&timeoutSeconds=3600"))
                .await?;
            let tx = seen_tx.clone();
            local.spawn_local(async move {
                let _watch = watch;
                follow(body, tx).await;
                eprintln!("oxshift-load: the watch of {path} ended");
            });
        }
        let run = async {
            let mapping = |stream: &str, round: usize, tag: usize| {
                let image = digest(round, tag);
                let reference = format!("127.0.0.1:5000/{namespace}/{stream}@{image}");
                (
                    json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStreamMapping",
                    "metadata": {"name": stream}, "tag": "latest",
                    "image": {"metadata": {"name": image}, "dockerImageReference": reference}}),
                    reference,
                )
            };
            // The streams, each with a first image, then their followers.
            let mut owners_of: Vec<HashSet<String>> = vec![HashSet::new(); tags + 1];
            let mut first = Vec::with_capacity(tags + 1);
            for t in 0..=tags {
                let stream = format!("s{t}");
                let body = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
                    "metadata": {"name": stream}});
                Self::post(&mut conn, &format!("{images}/imagestreams"), &body).await?;
                let (body, reference) = mapping(&stream, 0, t);
                Self::post(&mut conn, &format!("{images}/imagestreammappings"), &body).await?;
                first.push(reference);
            }
            let setup = Instant::now();
            let mut add = |name: String, t: usize, is_config: bool| {
                owners_of[t].insert(name.clone());
                (name, t, is_config)
            };
            let mut all = Vec::new();
            for i in 0..followers {
                all.push(add(format!("f{i}"), i % tags, i % 2 == 0));
            }
            for j in 0..fan {
                all.push(add(format!("h{j}"), tags, j % 2 == 0));
            }
            for (name, t, is_config) in &all {
                let stream = format!("s{t}");
                match is_config {
                    true => {
                        Self::post(&mut conn, &configs, &config(name, &stream, replicas)).await?
                    }
                    false => {
                        let body = deployment(name, &stream, &first[*t], replicas);
                        Self::post(&mut conn, &deployments, &body).await?;
                    }
                }
            }
            let everyone: HashSet<String> = all.iter().map(|(n, ..)| n.clone()).collect();
            Self::rolled(&mut seen, &everyone, setup).await?;
            println!(
                "triggers  {} followers of {tags} tags and {fan} of one, {replicas} replicas each: first rollouts in {:.1}s",
                all.len(),
                setup.elapsed().as_secs_f64()
            );

            // One mapping per tag, each waited for: mapping → new deployment of each follower.
            let sampler = Sampler::start(self.server_pid);
            let mut latencies = Latencies::default();
            let mut requests = Latencies::default();
            for (t, owners) in owners_of.iter().enumerate().take(tags) {
                let (body, _) = mapping(&format!("s{t}"), 1, t);
                let sent = Instant::now();
                Self::post(&mut conn, &format!("{images}/imagestreammappings"), &body).await?;
                let answered = Instant::now();
                requests.record(answered - sent);
                for d in Self::rolled(&mut seen, owners, answered).await? {
                    latencies.record(d);
                }
            }
            // CPU per rollout holds up better than latency on a shared machine.
            let cpu_ms = sampler.cpu_used().as_secs_f64() * 1000.0 / latencies.len().max(1) as f64;
            let report = sampler.finish();
            let p99_ms = latencies.percentile_ms(99.0);
            println!(
                "triggers  mapping → new RC/ReplicaSet, {} rollouts: ms p50/p90/p99/max {} (the mapping request itself: {}); {report}; server CPU {cpu_ms:.1} ms per rollout",
                latencies.len(),
                latencies.summary(),
                requests.summary()
            );

            // One tag, `fan` followers.
            let (body, _) = mapping(&format!("s{tags}"), 1, tags);
            Self::post(&mut conn, &format!("{images}/imagestreammappings"), &body).await?;
            let answered = Instant::now();
            let rolled = Self::rolled(&mut seen, &owners_of[tags], answered).await?;
            let fan_out_ms = rolled
                .iter()
                .max()
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
            println!(
                "triggers  one mapping → all {} followers of its tag rolled in {fan_out_ms:.0} ms",
                rolled.len()
            );
            Ok((p99_ms, fan_out_ms))
        };
        local.run_until(run).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn followers_and_owners() {
        let d = deployment("f1", "s1", "img", 0);
        let annotation = d["metadata"]["annotations"]["image.openshift.io/triggers"]
            .as_str()
            .unwrap();
        assert!(annotation.contains("s1:latest"));
        assert_eq!(
            config("f0", "s0", 0)["spec"]["triggers"][1]["imageChangeParams"]["from"]["name"],
            "s0:latest"
        );
        let rc = json!({"metadata": {"ownerReferences": [{"name": "f0"}]}});
        assert_eq!(owner(&rc).as_deref(), Some("f0"));
        assert_ne!(digest(0, 1), digest(1, 1));
        assert_eq!(digest(0, 1).len(), "sha256:".len() + 64);
    }
}
