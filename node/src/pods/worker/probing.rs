//! Probes of the running containers, run by the worker on each sync.

use super::lifecycle;
use super::*;

impl Worker {
    /// Runs the due probes of the running containers: readiness sets `ready`, a failed
    /// startup or liveness probe has the container stopped (and so restarted).
    pub(super) async fn probe(&mut self, pod: &Pod) {
        if !self.ctx.probes {
            return;
        }
        let Some(ip) = self.sandbox.as_ref().map(|s| std::net::IpAddr::V4(s.ip)) else {
            return;
        };
        let grace = pod
            .spec
            .as_ref()
            .and_then(|s| s.termination_grace_period_seconds)
            .unwrap_or(30)
            .max(0);
        for i in 0..self.slots.len() {
            let slot = &mut self.slots[i];
            let (Some(id), false) = (slot.id.clone(), slot.init && !slot.sidecar) else {
                continue;
            };
            if !is_running(&slot.status) {
                continue;
            }
            if slot.probes_for.as_deref() != Some(id.as_str()) {
                slot.probes = probes::for_container(&slot.spec);
                slot.probes_for = Some(id.clone());
                slot.running_since = slot
                    .status
                    .state
                    .as_ref()
                    .and_then(|s| s.running.as_ref())
                    .and_then(|r| r.started_at.as_ref())
                    .map_or_else(Instant::now, |t| instant_of(t.0));
            }
            if slot.probes.is_empty() {
                continue;
            }
            let spec = slot.spec.clone();
            let started = slot.running_since;
            let mut states = std::mem::take(&mut slot.probes);
            let runtime = self.ctx.runtime.clone();
            let target = Target {
                ip,
                container_id: &id,
                container: &spec,
                runtime: runtime.as_ref(),
            };
            let mut kill = None;
            for p in 0..states.len() {
                let startup_done = states
                    .iter()
                    .all(|s| s.kind != probes::Kind::Startup || s.ok);
                let state = &states[p];
                let skip = match state.kind {
                    probes::Kind::Startup => state.ok,
                    _ => !startup_done,
                };
                let now = Instant::now();
                if skip || !state.due(started, now) {
                    continue;
                }
                let result = state.run(&target).await;
                let state = &mut states[p];
                state.record(result.is_ok(), Instant::now());
                if let Err(text) = result {
                    let message = format!("{} probe failed: {text}", state.kind.name());
                    let kind = state.kind;
                    let failed = state.failed();
                    let grace = state.termination_grace();
                    self.event(pod, Some(i), Kind::Warning, "Unhealthy", &message)
                        .await;
                    if kind != probes::Kind::Readiness && failed {
                        kill = Some((kind, grace));
                    }
                }
            }
            let startup_done = states
                .iter()
                .all(|s| s.kind != probes::Kind::Startup || s.ok);
            let readiness = states
                .iter()
                .all(|s| s.kind != probes::Kind::Readiness || s.ok);
            let slot = &mut self.slots[i];
            slot.probes = states;
            slot.status.started = Some(startup_done);
            slot.status.ready = startup_done && readiness;
            if let Some((kind, probe_grace)) = kill {
                let message = format!(
                    "Container {} failed {} probe, will be restarted",
                    spec.name,
                    kind.name().to_lowercase()
                );
                let grace = probe_grace.unwrap_or(Duration::from_secs(grace as u64));
                let one = self.stop_of(i, id.clone(), message, grace);
                lifecycle::stop(&self.ctx, pod, &self.pod_format(), Some(ip), one).await;
                self.refresh(i).await;
            }
        }
    }
}
