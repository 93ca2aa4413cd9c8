//! Full lists and paginated traversals of one namespace.

use std::time::Instant;

use hyper::{Method, StatusCode};
use serde_json::Value;

use super::run::{Run, configmaps};
use crate::client::Error;
use crate::process::Sampler;
use crate::stats::Latencies;

impl Run {
    /// Full LIST p50 in ms.
    pub async fn list(&self, objects: usize, repeat: usize) -> Result<f64, Error> {
        let namespace = self.namespace("list").await?;
        self.create_in(&namespace, "l", objects, 32).await?;
        let mut conn = self.target.connect().await?;
        let path = configmaps(&namespace);
        let sampler = Sampler::start(self.server_pid);
        let (mut full, mut bytes) = (Latencies::default(), 0);
        for _ in 0..repeat {
            let t = Instant::now();
            let (status, body) = conn.request(Method::GET, &path, None).await?;
            full.record(t.elapsed());
            if status != StatusCode::OK {
                return Err(format!("list: {status}"));
            }
            bytes = body.len();
        }
        let full_report = sampler.finish();
        let mut paged = Latencies::default();
        let mut pages = 0;
        for _ in 0..repeat {
            let (t, mut token, mut count) = (Instant::now(), String::new(), 0);
            pages = 0;
            loop {
                let page_path = match token.is_empty() {
                    true => format!("{path}?limit=500"),
                    false => format!("{path}?limit=500&continue={token}"),
                };
                let (status, body) = conn.request(Method::GET, &page_path, None).await?;
                if status != StatusCode::OK {
                    return Err(format!("list page: {status}"));
                }
                let page: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
                count += page["items"].as_array().map_or(0, Vec::len);
                pages += 1;
                token = page["metadata"]["continue"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                if token.is_empty() {
                    break;
                }
            }
            paged.record(t.elapsed());
            if count != objects {
                return Err(format!("paginated list saw {count} of {objects} objects"));
            }
        }
        let p50 = full.percentile_ms(50.0);
        println!(
            "list    K={objects} x{repeat}: full LIST ms p50/p90/p99/max {} ({:.2} MB); {pages} pages of 500, traversal ms {}; {full_report}",
            full.summary(),
            bytes as f64 / 1e6,
            paged.summary()
        );
        Ok(p50)
    }
}
