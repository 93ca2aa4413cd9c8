//! Scheduling throughput: `nodes` ready Node objects (no agent behind them), then `pods`
//! pods created at once; the time until the scheduler has bound them all.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::Value;

use super::drive::drive;
use super::run::Run;
use crate::client::Error;
use crate::process::Sampler;

fn node(name: &str) -> Bytes {
    Bytes::from(format!(
        r#"{{"apiVersion":"v1","kind":"Node","metadata":{{"name":"{name}","labels":{{"kubernetes.io/hostname":"{name}","oxshift-load":"true"}}}}}}"#
    ))
}

const NODE_STATUS: &str = r#"{"status":{"capacity":{"cpu":"64","memory":"256Gi","pods":"110"},"allocatable":{"cpu":"64","memory":"256Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"kubelet is posting ready status"}]}}"#;

fn pod(namespace: &str, name: &str) -> Bytes {
    Bytes::from(format!(
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{name}","namespace":"{namespace}"}},"spec":{{"containers":[{{"name":"c","image":"registry.invalid/pause","resources":{{"requests":{{"cpu":"10m","memory":"16Mi"}}}}}}]}}}}"#
    ))
}

impl Run {
    /// Bindings per second of the scheduler, from the first pod created to the last bound.
    pub async fn scheduling(&self, nodes: usize, pods: usize) -> Result<f64, Error> {
        if pods > nodes * 110 {
            return Err(format!(
                "{pods} pods do not fit on {nodes} nodes of 110 pods"
            ));
        }
        let namespace = self.namespace("sched").await?;
        let mut conn = self.target.connect().await?;
        let names: Vec<String> = (0..nodes)
            .map(|i| format!("{namespace}-node-{i}"))
            .collect();
        for name in &names {
            let (status, _) = conn
                .request(Method::POST, "/api/v1/nodes", Some(node(name)))
                .await?;
            if !status.is_success() {
                return Err(format!("creating node {name}: {status}"));
            }
            let path = format!("/api/v1/nodes/{name}/status");
            let answer = conn
                .request_as(
                    Method::PATCH,
                    &path,
                    Some(("application/merge-patch+json", Bytes::from(NODE_STATUS))),
                )
                .await?;
            if !answer.status.is_success() {
                return Err(format!("making node {name} ready: {}", answer.status));
            }
        }
        let conns = self.connections(32).await?;
        let sampler = Sampler::start(self.server_pid);
        let started = Instant::now();
        let ns: Arc<str> = namespace.as_str().into();
        let (_, statuses) = drive(conns, pods, 1, move |mut w, i| {
            let ns = ns.clone();
            async move {
                let path = format!("/api/v1/namespaces/{ns}/pods");
                let (status, _) = w
                    .conn
                    .request(Method::POST, &path, Some(pod(&ns, &format!("p-{i}"))))
                    .await?;
                w.statuses.add(status);
                Ok(w)
            }
        })
        .await?;
        let created = started.elapsed();
        if statuses.ok() != pods {
            return Err(format!("creating pods: {statuses}"));
        }
        let unbound =
            format!("/api/v1/namespaces/{namespace}/pods?fieldSelector=spec.nodeName%3D&limit=1");
        loop {
            let (status, body) = conn.request(Method::GET, &unbound, None).await?;
            let empty = status == StatusCode::OK
                && serde_json::from_slice::<Value>(&body)
                    .is_ok_and(|l| l["items"].as_array().is_some_and(Vec::is_empty));
            if empty {
                break;
            }
            if started.elapsed() > Duration::from_secs(600) {
                return Err("pods not all bound after 10 minutes".into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let took = started.elapsed();
        let rate = pods as f64 / took.as_secs_f64();
        println!(
            "sched   nodes={nodes} pods={pods}: all bound in {:.2} s ({rate:.0} bindings/s; pods created in {:.2} s); {}",
            took.as_secs_f64(),
            created.as_secs_f64(),
            sampler.finish()
        );
        // The nodes go; their pods are then collected by the pod garbage collector.
        for name in &names {
            conn.request(Method::DELETE, &format!("/api/v1/nodes/{name}"), None)
                .await?;
        }
        conn.request(
            Method::DELETE,
            &format!("/api/v1/namespaces/{namespace}"),
            None,
        )
        .await?;
        Ok(rate)
    }
}
