//! Throughput of many clients: creates, gets by name, and read-modify-write updates.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::Value;

use super::drive::drive;
use super::run::{Run, Throughput, configmaps};
use crate::client::Error;
use crate::process::Sampler;

impl Run {
    pub async fn create(&self, count: usize, clients: usize) -> Result<Throughput, Error> {
        let namespace = self.namespace("create").await?;
        let sampler = Sampler::start(self.server_pid);
        let (mut lat, statuses, elapsed) = self.create_in(&namespace, "c", count, clients).await?;
        let rate = statuses.ok() as f64 / elapsed.as_secs_f64();
        println!(
            "create  N={count} C={clients}: {rate:.0}/s, latency ms p50/p90/p99/max {}, {statuses}; {}",
            lat.summary(),
            sampler.finish()
        );
        Ok(Throughput {
            ok_per_second: rate,
        })
    }

    pub async fn get(
        &self,
        objects: usize,
        count: usize,
        clients: usize,
    ) -> Result<Throughput, Error> {
        let namespace = self.namespace("get").await?;
        self.create_in(&namespace, "g", objects, 32).await?;
        let conns = self.connections(clients).await?;
        let sampler = Sampler::start(self.server_pid);
        let started = Instant::now();
        let namespace: Arc<str> = namespace.into();
        let (mut lat, statuses) = drive(conns, count, 0x9E37_79B9_7F4A_7C15, move |mut w, _| {
            let namespace = namespace.clone();
            async move {
                let path = format!("{}/g-{}", configmaps(&namespace), w.rng.below(objects));
                let t = Instant::now();
                let (status, _) = w.conn.request(Method::GET, &path, None).await?;
                w.lat.record(t.elapsed());
                w.statuses.add(status);
                Ok(w)
            }
        })
        .await?;
        let rate = statuses.ok() as f64 / started.elapsed().as_secs_f64();
        println!(
            "get     K={objects} N={count} C={clients}: {rate:.0}/s, latency ms p50/p90/p99/max {}, {statuses}; {}",
            lat.summary(),
            sampler.finish()
        );
        Ok(Throughput {
            ok_per_second: rate,
        })
    }

    pub async fn update(
        &self,
        objects: usize,
        count: usize,
        clients: usize,
    ) -> Result<Throughput, Error> {
        let namespace = self.namespace("update").await?;
        self.create_in(&namespace, "u", objects, 32).await?;
        let conns = self.connections(clients).await?;
        let sampler = Sampler::start(self.server_pid);
        let started = Instant::now();
        let namespace: Arc<str> = namespace.into();
        // Each round reads an object and puts it back relabelled; the PUT is what is timed.
        let (mut lat, statuses) = drive(conns, count, 0xD1B5_4A32_D192_ED03, move |mut w, i| {
            let namespace = namespace.clone();
            async move {
                let path = format!("{}/u-{}", configmaps(&namespace), w.rng.below(objects));
                let (status, body) = w.conn.request(Method::GET, &path, None).await?;
                if status != StatusCode::OK {
                    w.statuses.add(status);
                    return Ok(w);
                }
                let mut obj: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
                obj["metadata"]["labels"] = serde_json::json!({"round": i.to_string()});
                let body = Bytes::from(obj.to_string());
                let t = Instant::now();
                let (status, _) = w.conn.request(Method::PUT, &path, Some(body)).await?;
                w.lat.record(t.elapsed());
                w.statuses.add(status);
                Ok(w)
            }
        })
        .await?;
        let rate =
            statuses.0.get(&200).copied().unwrap_or(0) as f64 / started.elapsed().as_secs_f64();
        println!(
            "update  K={objects} N={count} C={clients}: {rate:.0} PUT/s, PUT latency ms p50/p90/p99/max {}, {statuses}; {}",
            lat.summary(),
            sampler.finish()
        );
        Ok(Throughput {
            ok_per_second: rate,
        })
    }
}
