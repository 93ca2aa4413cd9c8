//! What one step works with: the Build, its log, its reports, the build pod's volumes as
//! the container would see them (paths inside the container mapped to the node's), the
//! container's environment and the node's buildah.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::build_spec::Build;
use super::buildah::Buildah;
use super::details::Details;
use super::failure::StepFailure;
use super::log::StepLog;
use super::timing::Timing;
use crate::pods::image_config::Watched;
use crate::runtime::Mount;

/// Where the build pod mounts its work directory (`buildworkdir`).
pub const WORK_DIR: &str = "/tmp/build";

pub struct StepContext {
    pub build: Build,
    pub details: Details,
    pub log: Arc<StepLog>,
    pub mounts: Vec<Mount>,
    pub env: HashMap<String, String>,
    pub buildah: Arc<Buildah>,
    /// The node's copy of the cluster's image configuration, which the step's pulls go
    /// through.
    pub image_config: Watched,
    /// A name unique to this run of the step (temporary files, image tags).
    pub run_id: String,
    /// The stages and steps the step timed (`status.stages`).
    pub timing: Timing,
}

/// The node's path of `container_path` through the mount holding it (the longest one).
pub fn host_path(mounts: &[Mount], container_path: &str) -> Option<PathBuf> {
    let wanted = Path::new(container_path);
    mounts
        .iter()
        .filter_map(|m| {
            let rest = wanted.strip_prefix(&m.container_path).ok()?;
            Some((m.container_path.len(), m.host_path.join(rest)))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, p)| p)
}

impl StepContext {
    pub fn host_path(&self, container_path: &str) -> Option<PathBuf> {
        host_path(&self.mounts, container_path)
    }

    /// The build's work directory on the node.
    pub fn work_dir(&self) -> Result<PathBuf, StepFailure> {
        self.host_path(WORK_DIR).ok_or_else(|| {
            StepFailure::generic(format!(
                "the build pod does not mount a volume at {WORK_DIR}"
            ))
        })
    }

    /// Where the sources land.
    pub fn inputs(&self) -> Result<PathBuf, StepFailure> {
        Ok(self.work_dir()?.join("inputs"))
    }

    /// The sources' context directory.
    pub fn context(&self) -> Result<PathBuf, StepFailure> {
        let inputs = self.inputs()?;
        let dir = self.build.context_dir();
        Ok(if dir.is_empty() {
            inputs
        } else {
            inputs.join(dir)
        })
    }

    /// Reports the stages the step timed.
    pub async fn report_stages(&self) {
        self.details.stages(&self.timing.recorded()).await;
    }

    /// Reports the failure and prints its error, the step's last line.
    pub async fn fail(&self, failure: &StepFailure) {
        self.details.failed(failure).await;
        self.log.error(&format!("error: {}", failure.error));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_paths_map_through_the_longest_mount() {
        let mount = |host: &str, path: &str| Mount {
            host_path: PathBuf::from(host),
            container_path: path.into(),
            read_only: false,
        };
        let mounts = vec![
            mount("/n/work", "/tmp/build"),
            mount("/n/push", "/var/run/secrets/openshift.io/push"),
            mount("/n/tmp", "/tmp"),
        ];
        assert_eq!(
            host_path(&mounts, "/tmp/build/inputs"),
            Some(PathBuf::from("/n/work/inputs"))
        );
        assert_eq!(
            host_path(&mounts, "/var/run/secrets/openshift.io/push"),
            Some(PathBuf::from("/n/push"))
        );
        assert_eq!(
            host_path(&mounts, "/tmp/x"),
            Some(PathBuf::from("/n/tmp/x"))
        );
        assert_eq!(
            host_path(&mounts, "/tmp/buildx"),
            Some(PathBuf::from("/n/tmp/buildx"))
        );
        assert_eq!(host_path(&mounts, "/etc"), None);
    }
}
