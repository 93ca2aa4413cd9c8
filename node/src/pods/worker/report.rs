//! What the worker tells: the pod's status (written when it changes) and the directory the
//! node's HTTPS API reads.

use super::*;

impl Worker {
    pub(super) async fn write_status(&mut self, pod: &Pod, api_phase: Option<&str>) {
        let spec = pod.spec.clone().unwrap_or_default();
        let mut init: Vec<ContainerStatus> = Vec::new();
        let mut containers: Vec<ContainerStatus> = Vec::new();
        for slot in &self.slots {
            if slot.init {
                init.push(slot.status.clone());
            } else {
                containers.push(slot.status.clone());
            }
        }
        containers.sort_by(|a, b| a.name.cmp(&b.name));
        let computed = status::phase(&spec, &init, &containers, false);
        // Terminal phases stick; an evicted pod has failed.
        let phase = match api_phase {
            Some(p @ ("Succeeded" | "Failed")) => p,
            _ if self.evicted.is_some() => "Failed",
            _ => computed,
        };
        let previous = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default();
        let conditions = status::conditions(&status::Inputs {
            spec: &spec,
            init: &init,
            containers: &containers,
            phase,
            sandbox_ready: self.sandbox.is_some(),
            previous: &previous,
            now: jiff::Timestamp::now(),
        });
        let mut body = json!({
            "phase": phase,
            "conditions": conditions,
            "hostIP": "127.0.0.1",
            "hostIPs": [{"ip": "127.0.0.1"}],
            "startTime": self.start_time,
            "containerStatuses": containers,
        });
        if !init.is_empty() {
            body["initContainerStatuses"] = json!(init);
        }
        if let Some(message) = &self.evicted {
            body["reason"] = json!("Evicted");
            body["message"] = json!(message);
        }
        if let Some(s) = &self.sandbox {
            body["podIP"] = json!(s.ip.to_string());
            body["podIPs"] = json!([{"ip": s.ip.to_string()}]);
        }
        // Transition times change only with statuses: compare without them.
        let mut comparable = body.clone();
        if let Some(list) = comparable["conditions"].as_array_mut() {
            for c in list {
                c.as_object_mut().map(|o| o.remove("lastTransitionTime"));
            }
        }
        if self.last_written.as_ref() == Some(&comparable) {
            return;
        }
        let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), &self.pod.namespace);
        let patch = json!({"status": body});
        match api
            .patch_status(
                &self.pod.name,
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(_) => {
                self.last_written = Some(comparable);
                if phase == "Running" && !self.running_logged {
                    self.running_logged = true;
                    let bound = bound_at(pod);
                    let since_bound = bound.map(|b| jiff::Timestamp::now().duration_since(b));
                    tracing::info!(
                        pod = %format!("{}/{}", self.pod.namespace, self.pod.name),
                        since_bound = ?since_bound.and_then(|d| Duration::try_from(d).ok()),
                        since_seen = ?self.seen.elapsed(),
                        "pod running"
                    );
                }
            }
            Err(e) => {
                tracing::warn!(pod = %self.pod.name, error = %controllers::logs::describe(&e), "pod status not written");
            }
        }
    }

    /// What the node's HTTPS API needs to know of the pod now.
    pub(super) fn publish(&self) {
        let containers = self
            .slots
            .iter()
            .map(|s| {
                let entry = ContainerEntry {
                    id: s.id.clone(),
                    log: s
                        .id
                        .as_ref()
                        .map(|_| self.log_path(&s.spec.name, s.attempt)),
                    previous_log: s
                        .previous_id
                        .as_ref()
                        .map(|_| self.log_path(&s.spec.name, s.attempt.saturating_sub(1))),
                    running: is_running(&s.status),
                    terminated: terminated_of(s.status.state.as_ref()).is_some(),
                    waiting: s
                        .status
                        .state
                        .as_ref()
                        .and_then(|st| st.waiting.as_ref())
                        .map(|w| w.reason.clone().unwrap_or_default()),
                };
                (s.spec.name.clone(), entry)
            })
            .collect();
        self.ctx.directory.set(
            &self.pod.namespace,
            &self.pod.name,
            PodEntry {
                uid: self.pod.uid.clone(),
                ip: self.sandbox.as_ref().map(|s| s.ip),
                containers,
            },
        );
    }
}

/// When the pod was bound: its `PodScheduled` condition's transition, else its creation.
fn bound_at(pod: &Pod) -> Option<jiff::Timestamp> {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.type_ == "PodScheduled" && c.status == "True")
        })
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0)
        .or_else(|| pod.metadata.creation_timestamp.as_ref().map(|t| t.0))
}
