//! A run against one server: a fresh namespace per workload, connections opened before timing
//! starts, and the ConfigMaps every workload fills its namespace with.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::Method;

use super::drive::{Statuses, drive};
use crate::client::{Conn, Error, Target};
use crate::stats::Latencies;

pub struct Run {
    pub target: Arc<Target>,
    pub server_pid: Option<u32>,
}

/// What a throughput workload measured.
pub struct Throughput {
    pub ok_per_second: f64,
}

/// A 1 KiB ConfigMap, as the reference measurements use; `extra` is appended to its
/// metadata (e.g. `,"ownerReferences":[...]`).
pub(super) fn configmap(namespace: &str, name: &str, extra: &str) -> Bytes {
    let payload = "x".repeat(1024);
    Bytes::from(format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}","namespace":"{namespace}"{extra}}},"data":{{"payload":"{payload}"}}}}"#
    ))
}

/// The ConfigMaps of a namespace.
pub(super) fn configmaps(namespace: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/configmaps")
}

impl Run {
    /// A fresh namespace for one workload.
    pub(super) async fn namespace(&self, purpose: &str) -> Result<String, Error> {
        self.namespace_with(purpose, "").await
    }

    /// A fresh namespace whose metadata also holds `extra` (e.g. `,"annotations":{...}`).
    pub(super) async fn namespace_with(&self, purpose: &str, extra: &str) -> Result<String, Error> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let name = format!("load-{purpose}-{stamp}");
        let mut conn = self.target.connect().await?;
        let body = format!(
            r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{name}"{extra}}}}}"#
        );
        let (status, body) = conn
            .request(Method::POST, "/api/v1/namespaces", Some(Bytes::from(body)))
            .await?;
        if !status.is_success() {
            return Err(format!(
                "creating namespace {name}: {status} {}",
                String::from_utf8_lossy(&body)
            ));
        }
        Ok(name)
    }

    /// `clients` connections, opened before timing starts.
    pub(super) async fn connections(&self, clients: usize) -> Result<Vec<Conn>, Error> {
        let mut conns = Vec::with_capacity(clients);
        for _ in 0..clients {
            conns.push(self.target.connect().await?);
        }
        Ok(conns)
    }

    /// Creates `count` ConfigMaps named `<prefix>-<i>` with `clients` connections.
    pub(super) async fn create_in(
        &self,
        namespace: &str,
        prefix: &str,
        count: usize,
        clients: usize,
    ) -> Result<(Latencies, Statuses, Duration), Error> {
        self.create_with(namespace, prefix, count, clients, "")
            .await
    }

    /// `create_in` with `extra` in each object's metadata.
    pub(super) async fn create_with(
        &self,
        namespace: &str,
        prefix: &str,
        count: usize,
        clients: usize,
        extra: &str,
    ) -> Result<(Latencies, Statuses, Duration), Error> {
        let conns = self.connections(clients).await?;
        let started = Instant::now();
        let (namespace, prefix, extra): (Arc<str>, Arc<str>, Arc<str>) =
            (namespace.into(), prefix.into(), extra.into());
        let (lat, statuses) = drive(conns, count, 1, move |mut w, i| {
            let (namespace, prefix, extra) = (namespace.clone(), prefix.clone(), extra.clone());
            async move {
                let body = configmap(&namespace, &format!("{prefix}-{i}"), &extra);
                let t = Instant::now();
                let path = configmaps(&namespace);
                let (status, _) = w.conn.request(Method::POST, &path, Some(body)).await?;
                w.lat.record(t.elapsed());
                w.statuses.add(status);
                Ok(w)
            }
        })
        .await?;
        Ok((lat, statuses, started.elapsed()))
    }
}
