//! The simulated runtime (as kwok's nodes): images are always present, containers start at
//! once and run until stopped, sandboxes have an address and nothing else. A few hundred
//! bytes per container, so one process holds thousands of pods over many nodes.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::{
    ContainerInfo, ContainerSpec, ContainerState, ImageRef, Listed, PodRef, PullOptions, Runtime,
    RuntimeError, Sandbox,
};

#[derive(Default)]
pub struct Simulated {
    /// Container ID → what it was listed as, and its state.
    containers: Mutex<HashMap<String, (Listed, ContainerState)>>,
    next: AtomicU64,
}

impl Simulated {
    pub fn new() -> Simulated {
        Simulated::default()
    }

    fn image(image: &str) -> ImageRef {
        let name = super::podman::normalize_image(image);
        ImageRef {
            id: format!("{name}@sha256:{:064x}", 0),
            name,
            size: 0,
        }
    }
}

#[async_trait]
impl Runtime for Simulated {
    fn scheme(&self) -> &'static str {
        "simulated"
    }

    async fn version(&self) -> String {
        format!("simulated://{}", env!("CARGO_PKG_VERSION"))
    }

    async fn create_sandbox(&self, _: &PodRef, ip: Ipv4Addr) -> Result<Sandbox, RuntimeError> {
        Ok(Sandbox {
            ip,
            netns: None,
            host_network: false,
        })
    }

    async fn remove_sandbox(&self, _: &PodRef) -> Result<(), RuntimeError> {
        Ok(())
    }

    async fn image_status(&self, image: &str) -> Result<Option<ImageRef>, RuntimeError> {
        Ok(Some(Simulated::image(image)))
    }

    async fn pull_image(&self, image: &str, _: &PullOptions) -> Result<ImageRef, RuntimeError> {
        Ok(Simulated::image(image))
    }

    async fn start_container(
        &self,
        pod: &PodRef,
        _: &Sandbox,
        spec: &ContainerSpec,
    ) -> Result<String, RuntimeError> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let id = format!(
            "{:064x}",
            (u128::from(n) << 64) | u128::from(std::process::id())
        );
        let state = ContainerState::Running {
            started_at: jiff::Timestamp::now(),
        };
        let mut containers = self.containers.lock().unwrap_or_else(|e| e.into_inner());
        let listed = Listed {
            id: id.clone(),
            pod_uid: pod.uid.clone(),
            container: spec.container.clone(),
            attempt: spec.attempt,
        };
        containers.insert(id.clone(), (listed, state));
        Ok(id)
    }

    async fn inspect(&self, id: &str) -> Result<Option<ContainerInfo>, RuntimeError> {
        let containers = self.containers.lock().unwrap_or_else(|e| e.into_inner());
        Ok(containers.get(id).map(|(_, state)| ContainerInfo {
            id: id.to_string(),
            state: state.clone(),
        }))
    }

    async fn stop(&self, id: &str, _: std::time::Duration) -> Result<(), RuntimeError> {
        let mut containers = self.containers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, state)) = containers.get_mut(id)
            && let ContainerState::Running { started_at } = *state
        {
            *state = ContainerState::Exited {
                exit_code: 0,
                started_at,
                finished_at: jiff::Timestamp::now(),
                oom_killed: false,
            };
        }
        Ok(())
    }

    async fn remove(&self, id: &str) -> Result<(), RuntimeError> {
        let mut containers = self.containers.lock().unwrap_or_else(|e| e.into_inner());
        containers.remove(id);
        Ok(())
    }

    async fn exec_sync(
        &self,
        _: &str,
        _: &[String],
        _: std::time::Duration,
    ) -> Result<(i32, String), RuntimeError> {
        Ok((0, String::new()))
    }

    async fn list(&self) -> Result<Vec<Listed>, RuntimeError> {
        let containers = self.containers.lock().unwrap_or_else(|e| e.into_inner());
        Ok(containers.values().map(|(l, _)| l.clone()).collect())
    }
}
