//! The containers' lifecycle hooks in the worker, as the kubelet runs them: `postStart` right
//! after a container starts (a failure kills the container), `preStop` before a container is
//! stopped, within its grace period, which the hook's time shortens (to no less than 2 s).

use super::*;
use crate::pods::hooks;

/// The least time a container gets between SIGTERM and SIGKILL after its preStop hook.
const MIN_GRACE: Duration = Duration::from_secs(2);
/// How long a postStart hook may hold the pod's worker (the kubelet waits without limit).
const POST_START_LIMIT: Duration = Duration::from_secs(120);

/// One container to stop, with what its stop needs.
pub(super) struct Stop {
    pub id: String,
    pub spec: Container,
    /// The event's field path (`spec.containers{name}`).
    pub path: String,
    /// The `Killing` event's message.
    pub message: String,
    pub grace: Duration,
}

/// Stops a container as the kubelet kills one: the `Killing` event, the preStop hook (for at
/// most the grace period), then SIGTERM with the rest of the period, SIGKILL after it.
pub(super) async fn stop(
    ctx: &Context,
    pod: &Pod,
    pod_format: &str,
    ip: Option<IpAddr>,
    stop: Stop,
) {
    let recorder = &ctx.recorder;
    let path = Some(stop.path.clone());
    recorder
        .pod(pod, path.clone(), Kind::Normal, "Killing", &stop.message)
        .await;
    let mut grace = stop.grace;
    let pre_stop = stop
        .spec
        .lifecycle
        .as_ref()
        .and_then(|l| l.pre_stop.as_ref());
    if let (Some(handler), Some(ip), false) = (pre_stop, ip, grace.is_zero()) {
        let started = Instant::now();
        let target = probes::Target {
            ip,
            container_id: &stop.id,
            container: &stop.spec,
            runtime: ctx.runtime.as_ref(),
        };
        if let Err(message) = hooks::run(handler, &target, pod_format, grace).await {
            recorder
                .pod(pod, path, Kind::Warning, "FailedPreStopHook", &message)
                .await;
        }
        grace = grace.saturating_sub(started.elapsed()).max(MIN_GRACE);
    }
    if let Err(e) = ctx.runtime.stop(&stop.id, grace).await {
        tracing::warn!(pod = %pod_format, error = %e, "container not stopped");
    }
}

impl Worker {
    pub(super) fn pod_ip(&self) -> Option<IpAddr> {
        self.sandbox.as_ref().map(|s| IpAddr::V4(s.ip))
    }

    /// The pod's grace period for stopping its containers.
    pub(super) fn grace(pod: &Pod) -> Duration {
        let seconds = pod
            .spec
            .as_ref()
            .and_then(|s| s.termination_grace_period_seconds)
            .unwrap_or(30)
            .max(0);
        Duration::from_secs(seconds as u64)
    }

    /// The container `i` as a stop.
    pub(super) fn stop_of(&self, i: usize, id: String, message: String, grace: Duration) -> Stop {
        let slot = &self.slots[i];
        Stop {
            id,
            spec: slot.spec.clone(),
            path: container_path(slot.init, &slot.spec.name),
            message,
            grace,
        }
    }

    /// Runs the started container's postStart hook, if it has one; on failure the container
    /// is killed (and restarted by its policy) and `false` is returned.
    pub(super) async fn post_start(&mut self, pod: &Pod, i: usize, id: &str) -> bool {
        let spec = self.slots[i].spec.clone();
        let Some(handler) = spec.lifecycle.as_ref().and_then(|l| l.post_start.as_ref()) else {
            return true;
        };
        let Some(ip) = self.pod_ip() else {
            return true;
        };
        let target = probes::Target {
            ip,
            container_id: id,
            container: &spec,
            runtime: self.ctx.runtime.as_ref(),
        };
        let Err(message) = hooks::run(handler, &target, &self.pod_format(), POST_START_LIMIT).await
        else {
            return true;
        };
        self.event(pod, Some(i), Kind::Warning, "FailedPostStartHook", &message)
            .await;
        let stop_of = self.stop_of(
            i,
            id.to_string(),
            "FailedPostStartHook".into(),
            Self::grace(pod),
        );
        stop(&self.ctx, pod, &self.pod_format(), Some(ip), stop_of).await;
        false
    }
}
