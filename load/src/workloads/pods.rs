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
use crate::process::cpu_time;
use crate::stats::Latencies;

fn pod(namespace: &str, name: &str) -> Bytes {
    Bytes::from(format!(
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{name}","namespace":"{namespace}","labels":{{"app":"load"}}}},"spec":{{"containers":[{{"name":"app","image":"registry.invalid/app:1","ports":[{{"containerPort":8080}}]}}]}}}}"#
    ))
}

/// The `openshift.io/sa.scc.*` annotations of an allocated namespace.
const ALLOCATION: &str = r#","annotations":{"openshift.io/sa.scc.uid-range":"1000680000/10000","openshift.io/sa.scc.supplemental-groups":"1000680000/10000","openshift.io/sa.scc.mcs":"s0:c26,c15"}"#;

impl Run {
    pub async fn pod_create(
        &self,
        count: usize,
        clients: usize,
        namespace: Option<String>,
    ) -> Result<Throughput, Error> {
        // Allocated as the namespace security controller allocates, so the SCC admission
        // judges the pods at once, with or without the controllers running.
        let namespace = match namespace {
            Some(namespace) => namespace,
            None => self.namespace_with("pods", ALLOCATION).await?,
        };
        let path = format!("/api/v1/namespaces/{namespace}/pods");
        let mut conn = self.target.connect().await?;
        // The account the pods run as, as the service account controller makes it in every
        // namespace (when it runs, it may have made it already).
        let (status, body) = conn
            .request(
                Method::POST,
                &format!("/api/v1/namespaces/{namespace}/serviceaccounts"),
                Some(Bytes::from_static(
                    br#"{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default"}}"#,
                )),
            )
            .await?;
        if !status.is_success() && status != hyper::StatusCode::CONFLICT {
            return Err(format!(
                "the default service account: {status} {}",
                String::from_utf8_lossy(&body)
            ));
        }
        // One pod first, untimed: the namespace's first reads fill the server's caches.
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
        let cpu_before = self.server_pid.and_then(cpu_time);
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
        // The server's CPU time per pod: what the server spends, whatever else the machine runs.
        let cpu = match (cpu_before, self.server_pid.and_then(cpu_time)) {
            (Some(before), Some(after)) => format!(
                "; server CPU {:.0} us/pod",
                after.saturating_sub(before).as_secs_f64() * 1e6 / count.max(1) as f64
            ),
            _ => String::new(),
        };
        println!(
            "pods    N={count} C={clients}: {rate:.0}/s, latency ms p50/p90/p99/max {}, {statuses}{cpu}",
            lat.summary()
        );
        Ok(Throughput {
            ok_per_second: rate,
        })
    }
}
