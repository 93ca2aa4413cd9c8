//! The end of a pod: graceful deletion (grace period, then removal and the final delete),
//! or removal of what is left of a pod deleted elsewhere.

use super::*;

impl Worker {
    /// Graceful deletion: the containers get the grace period to stop, then the pod's
    /// resources go and the pod is deleted for good (UID-guarded).
    pub(super) async fn terminate(mut self, pod: &Pod) {
        let grace = pod
            .metadata
            .deletion_grace_period_seconds
            .or_else(|| {
                pod.spec
                    .as_ref()
                    .and_then(|s| s.termination_grace_period_seconds)
            })
            .unwrap_or(30)
            .max(0);
        let grace = Duration::from_secs(grace as u64);
        self.adopt_once(pod).await;
        for i in 0..self.slots.len() {
            self.refresh(i).await;
        }
        // Every running container at once, each with its preStop hook first.
        let (ip, pod_format) = (self.pod_ip(), self.pod_format());
        let mut stops = Vec::new();
        for i in 0..self.slots.len() {
            if let (Some(id), true) = (&self.slots[i].id, is_running(&self.slots[i].status)) {
                let message = format!("Stopping container {}", self.slots[i].spec.name);
                let one = self.stop_of(i, id.clone(), message, grace);
                let (ctx, pod_format) = (self.ctx.clone(), pod_format.clone());
                stops.push(async move { lifecycle::stop(&ctx, pod, &pod_format, ip, one).await });
            }
        }
        futures::future::join_all(stops).await;
        self.cleanup_resources().await;
        let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), &self.pod.namespace);
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: Some(self.pod.uid.clone()),
                resource_version: None,
            }),
            ..Default::default()
        };
        if let Err(e) = api.delete(&self.pod.name, &params).await {
            let gone = matches!(&e, kube::Error::Api(s) if s.code == 404 || s.code == 409);
            if !gone {
                tracing::warn!(pod = %self.pod.name, error = %controllers::logs::describe(&e), "pod not deleted");
            }
        }
    }

    /// A pod that ended (`Succeeded`, `Failed`) runs nothing: containers still running (an
    /// agent stopped while it stopped them, a sidecar) are stopped, as the kubelet stops
    /// the containers of terminal pods.
    pub(super) async fn stop_running(&mut self, pod: &Pod) {
        let (ip, pod_format, grace) = (self.pod_ip(), self.pod_format(), Self::grace(pod));
        for i in 0..self.slots.len() {
            if let (Some(id), true) = (&self.slots[i].id, is_running(&self.slots[i].status)) {
                let message = format!("Stopping container {}", self.slots[i].spec.name);
                let one = self.stop_of(i, id.clone(), message, grace);
                lifecycle::stop(&self.ctx, pod, &pod_format, ip, one).await;
                self.refresh(i).await;
            }
        }
    }

    /// The pod is gone from the API (deleted elsewhere): its containers are killed at once.
    pub(super) async fn cleanup(mut self) {
        for i in 0..self.slots.len() {
            if let Some(id) = self.slots[i].id.clone() {
                let _ = self.ctx.runtime.stop(&id, Duration::ZERO).await;
            }
        }
        self.cleanup_resources().await;
    }

    pub(super) async fn cleanup_resources(&mut self) {
        for slot in &mut self.slots {
            for id in [slot.id.take(), slot.previous_id.take()]
                .into_iter()
                .flatten()
            {
                if let Err(e) = self.ctx.runtime.remove(&id).await {
                    tracing::warn!(pod = %self.pod.name, error = %e, "container not removed");
                }
            }
        }
        if let Err(e) = self.ctx.runtime.remove_sandbox(&self.pod).await {
            tracing::warn!(pod = %self.pod.name, error = %e, "sandbox not removed");
            return;
        }
        if let Err(e) = self.ctx.ipam.release(&self.pod.uid) {
            tracing::warn!(pod = %self.pod.name, error = %e, "address not released");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        self.ctx
            .directory
            .remove(&self.pod.namespace, &self.pod.name, &self.pod.uid);
        let mut backoff = self.ctx.backoff.lock().unwrap_or_else(|e| e.into_inner());
        backoff.forget_prefix(&format!("{}_", self.pod.uid));
    }
}
