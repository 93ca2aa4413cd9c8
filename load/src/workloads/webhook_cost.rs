//! What an admission webhook adds to a create, measured so the server's other load counts
//! the same for both sides: one client alternates ConfigMaps the webhook's `objectSelector`
//! matches (labelled) with ones it does not, in rounds; each round's percentiles of both,
//! and the medians over the rounds of what the webhook adds.

use std::time::Instant;

use hyper::Method;

use super::run::{Run, configmap, configmaps};
use crate::client::Error;
use crate::stats::Latencies;

/// The median of `values` (0 without any).
fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

impl Run {
    /// `rounds` rounds of `count` creates each, every other one carrying `label` (`key=value`).
    pub async fn webhook_cost(
        &self,
        rounds: usize,
        count: usize,
        label: &str,
    ) -> Result<(), Error> {
        let (key, value) = label.split_once('=').unwrap_or((label, ""));
        let labelled = format!(r#","labels":{{"{key}":"{value}"}}"#);
        let namespace = self.namespace("webhook").await?;
        let path = configmaps(&namespace);
        let mut conn = self.target.connect().await?;
        let (mut p50s, mut p99s) = (Vec::new(), Vec::new());
        let mut refused = 0usize;
        for round in 0..rounds {
            let (mut with, mut without) = (Latencies::default(), Latencies::default());
            for i in 0..count {
                let hooked = i % 2 == 0;
                let extra = if hooked { labelled.as_str() } else { "" };
                let body = configmap(&namespace, &format!("w{round}-{i}"), extra);
                let t = Instant::now();
                let (status, _) = conn.request(Method::POST, &path, Some(body)).await?;
                let took = t.elapsed();
                refused += usize::from(status.as_u16() != 201);
                match hooked {
                    true => with.record(took),
                    false => without.record(took),
                }
            }
            let (w50, w99) = (with.percentile_ms(50.0), with.percentile_ms(99.0));
            let (o50, o99) = (without.percentile_ms(50.0), without.percentile_ms(99.0));
            println!(
                "round {}: with webhook p50/p99 {w50:.2} / {w99:.2} ms, without {o50:.2} / {o99:.2} ms",
                round + 1
            );
            p50s.push(w50 - o50);
            p99s.push(w99 - o99);
        }
        println!(
            "webhook adds (median of {rounds} rounds of {count} alternating creates): p50 {:.2} ms, p99 {:.2} ms; {refused} not created",
            median(&mut p50s),
            median(&mut p99s)
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn median_of_rounds() {
        assert_eq!(super::median(&mut []), 0.0);
        assert_eq!(super::median(&mut [3.0, -1.0, 2.0]), 2.0);
        assert_eq!(super::median(&mut [4.0, 1.0]), 4.0);
    }
}
