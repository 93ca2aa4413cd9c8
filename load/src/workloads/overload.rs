//! Overload: many clients sending writes back to back for a fixed time, to see how the server
//! sheds what it cannot take (429s) and what holding them costs it in memory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::{Method, StatusCode};

use super::drive::drive_until;
use super::run::{Run, configmap, configmaps};
use crate::client::Error;
use crate::process::{Sampler, cpu_time};

/// The write each client repeats.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Op {
    /// POST a new 1 KiB ConfigMap (the store grows with what is accepted).
    Create,
    /// Merge-patch a label of one of `objects` ConfigMaps (the store's size stays flat).
    Patch,
}

/// How the clients run.
pub struct Overload {
    pub op: Op,
    pub clients: usize,
    pub duration: Duration,
    /// ConfigMaps patched (`Op::Patch`).
    pub objects: usize,
    /// Wait as a 429's `Retry-After` says (as client-go does) instead of retrying at once.
    pub honor_retry_after: bool,
}

impl Run {
    pub async fn overload(&self, o: &Overload) -> Result<(), Error> {
        let namespace = self.namespace("overload").await?;
        if o.op == Op::Patch {
            let (_, statuses, _) = self.create_in(&namespace, "p", o.objects, 32).await?;
            if statuses.ok() != o.objects {
                return Err(format!("preparing {} objects: {statuses}", o.objects));
            }
        }
        let conns = self.connections(o.clients).await?;
        let me = std::process::id();
        let own_cpu = cpu_time(me).unwrap_or_default();
        let sampler = Sampler::start(self.server_pid);
        let started = Instant::now();
        let namespace: Arc<str> = namespace.into();
        let (op, objects, honor) = (o.op, o.objects, o.honor_retry_after);
        let (mut lat, statuses) = drive_until(
            conns,
            started + o.duration,
            0xA076_1D64_78BD_642F,
            move |mut w, i| {
                let namespace = namespace.clone();
                async move {
                    let collection = configmaps(&namespace);
                    let (path, body) = match op {
                        Op::Create => (
                            collection,
                            (
                                "application/json",
                                configmap(&namespace, &format!("o-{i}"), ""),
                            ),
                        ),
                        Op::Patch => (
                            format!("{collection}/p-{}", w.rng.below(objects)),
                            (
                                "application/merge-patch+json",
                                Bytes::from(format!(
                                    r#"{{"metadata":{{"labels":{{"round":"{i}"}}}}}}"#
                                )),
                            ),
                        ),
                    };
                    let method = match op {
                        Op::Create => Method::POST,
                        Op::Patch => Method::PATCH,
                    };
                    let t = Instant::now();
                    let answer = w.conn.request_as(method, &path, Some(body)).await?;
                    // Only accepted writes are timed: a 429 is an answer of a different kind.
                    if answer.status.is_success() {
                        w.lat.record(t.elapsed());
                    }
                    w.statuses.add(answer.status);
                    if honor && answer.status == StatusCode::TOO_MANY_REQUESTS {
                        let wait = answer.retry_after.unwrap_or(Duration::from_secs(1));
                        tokio::time::sleep(wait).await;
                    }
                    Ok(w)
                }
            },
        )
        .await?;
        let elapsed = started.elapsed().as_secs_f64();
        let step = (o.duration / 6).max(Duration::from_secs(1));
        let series = sampler.peaks_every(step);
        let server = sampler.finish();
        let own = cpu_time(me).unwrap_or_default().saturating_sub(own_cpu);
        let accepted = statuses.ok();
        let rejected = statuses.0.get(&429).copied().unwrap_or(0);
        let op_name = match o.op {
            Op::Create => "create",
            Op::Patch => "patch",
        };
        println!(
            "overload {op_name} C={} T={:.0}s{}: accepted {:.0}/s ({accepted}), 429 {:.0}/s ({rejected}), statuses {statuses}; accepted latency ms p50/p90/p99/max {}; {server}; load tool CPU {:.0}% of a core\n  server RSS peak per {}s (MiB): {series}",
            o.clients,
            o.duration.as_secs_f64(),
            if honor { " honoring Retry-After" } else { "" },
            accepted as f64 / elapsed,
            rejected as f64 / elapsed,
            lat.summary(),
            own.as_secs_f64() / elapsed * 100.0,
            step.as_secs(),
        );
        Ok(())
    }
}
