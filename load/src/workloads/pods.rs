//! Pod creates: what a pod write costs through the admission chain (run once with the chain
//! and once with `--disable-admission-plugins` to see what admission adds). The pods name no
//! node, so only the API server's work is measured.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use hyper::Method;

use super::drive::drive;
use super::run::{Run, Throughput};
use crate::client::Error;
use crate::stats::Latencies;

fn pod(namespace: &str, name: &str) -> Bytes {
    Bytes::from(format!(
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{name}","namespace":"{namespace}","labels":{{"app":"load"}}}},"spec":{{"containers":[{{"name":"app","image":"registry.invalid/app:1","ports":[{{"containerPort":8080}}]}}]}}}}"#
    ))
}

impl Run {
    pub async fn pod_create(&self, count: usize, clients: usize) -> Result<Throughput, Error> {
        let namespace = self.namespace("pods").await?;
        let path = format!("/api/v1/namespaces/{namespace}/pods");
        // One pod first, untimed: a namespace this new may still be getting its allocation.
        let mut conn = self.target.connect().await?;
        let (status, body) = conn
            .request(Method::POST, &path, Some(pod(&namespace, "warm-up")))
            .await?;
        if !status.is_success() {
            return Err(format!(
                "the first pod: {status} {}",
                String::from_utf8_lossy(&body)
            ));
        }
        let conns = self.connections(clients).await?;
        let started = Instant::now();
        let (namespace, path): (Arc<str>, Arc<str>) = (namespace.into(), path.into());
        let (mut lat, statuses): (Latencies, _) = drive(conns, count, 1, move |mut w, i| {
            let (namespace, path) = (namespace.clone(), path.clone());
            async move {
                let body = pod(&namespace, &format!("p-{i}"));
                let t = Instant::now();
                let (status, _) = w.conn.request(Method::POST, &path, Some(body)).await?;
                w.lat.record(t.elapsed());
                w.statuses.add(status);
                Ok(w)
            }
        })
        .await?;
        let rate = statuses.ok() as f64 / started.elapsed().as_secs_f64();
        println!(
            "pods    N={count} C={clients}: {rate:.0}/s, latency ms p50/p90/p99/max {}, {statuses}",
            lat.summary()
        );
        Ok(Throughput {
            ok_per_second: rate,
        })
    }
}
