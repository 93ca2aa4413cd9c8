//! The kubelet's local-storage eviction for emptyDir volumes: about every ten seconds the
//! usage of each emptyDir with a `sizeLimit` is measured (`du`); one over its limit has the
//! pod evicted: a `Evicted` event, its containers killed at once, the pod `Failed` with
//! reason `Evicted` and the kubelet's message, its scratch space removed.

use super::*;

/// How often usage is measured (the eviction manager's housekeeping period).
pub(super) const CHECK_EVERY: Duration = Duration::from_secs(10);

/// The emptyDir volumes with a size limit: name, limit as written, limit in bytes.
fn limited(pod: &Pod) -> Vec<(String, String, u64)> {
    let volumes = pod.spec.iter().flat_map(|s| s.volumes.iter().flatten());
    volumes
        .filter_map(|v| {
            let limit = v.empty_dir.as_ref()?.size_limit.as_ref()?;
            let milli = controllers::resources::milli(&limit.0)?;
            let bytes = u64::try_from(milli / 1000).ok().filter(|b| *b > 0)?;
            Some((v.name.clone(), limit.0.clone(), bytes))
        })
        .collect()
}

/// The kubelet's message for an emptyDir over its limit (`emptyDirMessageFmt`).
pub fn message(volume: &str, limit: &str) -> String {
    format!("Usage of EmptyDir volume {volume:?} exceeds the limit {limit:?}. ")
}

impl Worker {
    /// Measures the pod's limited emptyDir volumes when due; evicts the pod if one is over.
    pub(super) async fn check_local_storage(&mut self, pod: &Pod) {
        if self.evicted.is_some() || !self.volumes_ready {
            return;
        }
        if self
            .storage_checked
            .is_some_and(|t| t.elapsed() < CHECK_EVERY)
        {
            return;
        }
        self.storage_checked = Some(Instant::now());
        let limited = limited(pod);
        if limited.is_empty() {
            return;
        }
        let dir = self.dir.clone();
        let over = tokio::task::spawn_blocking(move || {
            limited.into_iter().find(|(name, _, bytes)| {
                crate::disk::usage(&volumes::volume_dir(&dir, name)) > *bytes
            })
        })
        .await
        .ok()
        .flatten();
        if let Some((name, limit, _)) = over {
            self.evict(pod, message(&name, &limit)).await;
        }
    }

    /// Kills the pod's containers at once and marks it `Failed`/`Evicted` (`evictPod`).
    async fn evict(&mut self, pod: &Pod, message: String) {
        tracing::info!(pod = %self.pod_format(), %message, "evicting pod");
        self.event(pod, None, Kind::Warning, "Evicted", &message)
            .await;
        for i in 0..self.slots.len() {
            if let (Some(id), true) = (&self.slots[i].id, is_running(&self.slots[i].status)) {
                let name = self.slots[i].spec.name.clone();
                let id = id.clone();
                self.event(
                    pod,
                    Some(i),
                    Kind::Normal,
                    "Killing",
                    &format!("Stopping container {name}"),
                )
                .await;
                if let Err(e) = self.ctx.runtime.stop(&id, Duration::ZERO).await {
                    tracing::warn!(pod = %self.pod.name, error = %e, "container not stopped");
                }
            }
            self.refresh(i).await;
        }
        // A terminated pod's volumes are torn down: its scratch space goes.
        for volume in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
            if volume.empty_dir.is_some() {
                let dir = volumes::volume_dir(&self.dir, &volume.name);
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
        self.evicted = Some(message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_empty_dirs_with_a_limit_are_measured() {
        let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p"},
            "spec": {"containers": [], "volumes": [
                {"name": "scratch", "emptyDir": {"sizeLimit": "1Mi"}},
                {"name": "free", "emptyDir": {}},
                {"name": "zero", "emptyDir": {"sizeLimit": "0"}},
                {"name": "cm", "configMap": {"name": "x"}}]}}))
        .unwrap();
        assert_eq!(
            limited(&pod),
            [("scratch".to_string(), "1Mi".to_string(), 1 << 20)]
        );
        assert_eq!(
            message("scratch", "1Mi"),
            r#"Usage of EmptyDir volume "scratch" exceeds the limit "1Mi". "#
        );
    }
}
