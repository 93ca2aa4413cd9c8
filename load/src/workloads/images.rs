//! ImageStreamMappings (how pushed images enter streams) among many streams: each mapping
//! creates an Image and adds a tag event to one stream; latency per mapping.

use std::time::Instant;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::json;

use super::run::Run;
use crate::client::Error;
use crate::process::Sampler;
use crate::stats::Latencies;

/// A digest-shaped name, distinct per `i` (the server does not check it against content).
fn digest(i: usize) -> String {
    format!("sha256:{i:064x}")
}

impl Run {
    /// Mapping p99 in ms, with `streams` streams present.
    pub async fn image_mappings(&self, streams: usize, count: usize) -> Result<f64, Error> {
        let namespace = self.namespace("images").await?;
        let base = format!("/apis/image.openshift.io/v1/namespaces/{namespace}");
        let mut conn = self.target.connect().await?;
        for i in 0..streams {
            let body = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
                              "metadata": {"name": format!("s{i}")}, "spec": {}});
            let (status, _) = conn
                .request(
                    Method::POST,
                    &format!("{base}/imagestreams"),
                    Some(Bytes::from(body.to_string())),
                )
                .await?;
            if status != StatusCode::CREATED {
                return Err(format!("create image stream: {status}"));
            }
        }
        let sampler = Sampler::start(self.server_pid);
        let mut latencies = Latencies::default();
        let started = Instant::now();
        for i in 0..count {
            let stream = format!("s{}", i % streams.max(1));
            let image = digest(i);
            let body = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStreamMapping",
                "metadata": {"name": stream}, "tag": "latest",
                "image": {"metadata": {"name": image},
                          "dockerImageReference": format!("127.0.0.1:5000/{namespace}/{stream}@{image}")}});
            let t = Instant::now();
            let (status, _) = conn
                .request(
                    Method::POST,
                    &format!("{base}/imagestreammappings"),
                    Some(Bytes::from(body.to_string())),
                )
                .await?;
            latencies.record(t.elapsed());
            if status != StatusCode::CREATED {
                return Err(format!("image stream mapping: {status}"));
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        let report = sampler.finish();
        let p99 = latencies.percentile_ms(99.0);
        println!(
            "images  {streams} streams, {count} mappings ({:.0}/s, one client): ms p50/p90/p99/max {}; {report}",
            count as f64 / elapsed,
            latencies.summary()
        );
        Ok(p99)
    }
}
