//! Container states of a podman node read in one `podman ps` a second, shared by every pod
//! worker, instead of one `podman inspect` per container per second (each podman command
//! costs some 25 ms of CPU). Exited containers, which do not change, are inspected once for
//! their exact exit and kept until removed.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::ContainerInfo;

/// How old a snapshot may be and still answer.
pub const FRESH: Duration = Duration::from_millis(900);

/// A container as `podman ps --format json` lists it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PsEntry {
    pub id: String,
    #[serde(default)]
    pub state: String,
    /// Unix seconds.
    #[serde(default)]
    pub started_at: i64,
    #[serde(default)]
    pub labels: Option<HashMap<String, String>>,
}

/// What the cache knows of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known {
    Running {
        started_at: jiff::Timestamp,
    },
    /// Needs a full inspection (exited, created, unknown to the snapshot...).
    Inspect,
}

#[derive(Default)]
pub struct States {
    snapshot: Option<(Instant, HashMap<String, Known>)>,
    exited: HashMap<String, ContainerInfo>,
}

impl States {
    /// What is known of `id` without running podman, if anything (`None`: refresh first).
    pub fn lookup(&self, id: &str, now: Instant) -> Option<Known> {
        if self.exited.contains_key(id) {
            return Some(Known::Inspect);
        }
        let (at, states) = self.snapshot.as_ref()?;
        if now.saturating_duration_since(*at) > FRESH {
            return None;
        }
        Some(states.get(id).cloned().unwrap_or(Known::Inspect))
    }

    /// Whether the snapshot is fresh enough to answer.
    pub fn fresh(&self, now: Instant) -> bool {
        self.snapshot
            .as_ref()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) <= FRESH)
    }

    pub fn exited(&self, id: &str) -> Option<ContainerInfo> {
        self.exited.get(id).cloned()
    }

    pub fn keep_exited(&mut self, info: ContainerInfo) {
        self.exited.insert(info.id.clone(), info);
    }

    pub fn forget(&mut self, id: &str) {
        self.exited.remove(id);
        if let Some((_, states)) = &mut self.snapshot {
            states.remove(id);
        }
    }

    /// Replaces the snapshot with `podman ps`'s list, taken at `at`.
    pub fn replace(&mut self, entries: &[PsEntry], at: Instant) {
        let states = entries
            .iter()
            .map(|e| {
                let known = match e.state.as_str() {
                    "running" => Known::Running {
                        started_at: jiff::Timestamp::from_second(e.started_at)
                            .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
                    },
                    _ => Known::Inspect,
                };
                (e.id.clone(), known)
            })
            .collect();
        self.snapshot = Some((at, states));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::ContainerState;

    fn entry(id: &str, state: &str) -> PsEntry {
        PsEntry {
            id: id.into(),
            state: state.into(),
            started_at: 1_800_000_000,
            labels: None,
        }
    }

    #[test]
    fn running_containers_answer_from_a_fresh_snapshot_only() {
        let mut s = States::default();
        let t0 = Instant::now();
        assert_eq!(s.lookup("a", t0), None);
        s.replace(&[entry("a", "running"), entry("b", "exited")], t0);
        assert!(matches!(s.lookup("a", t0), Some(Known::Running { .. })));
        assert_eq!(s.lookup("b", t0), Some(Known::Inspect));
        // Started after the snapshot: inspected.
        assert_eq!(s.lookup("new", t0), Some(Known::Inspect));
        assert_eq!(s.lookup("a", t0 + Duration::from_secs(2)), None);
    }

    #[test]
    fn exited_containers_are_kept_until_forgotten() {
        let mut s = States::default();
        let info = ContainerInfo {
            id: "x".into(),
            state: ContainerState::Exited {
                exit_code: 3,
                started_at: jiff::Timestamp::UNIX_EPOCH,
                finished_at: jiff::Timestamp::UNIX_EPOCH,
                oom_killed: false,
            },
        };
        s.keep_exited(info.clone());
        assert_eq!(s.exited("x"), Some(info));
        s.forget("x");
        assert_eq!(s.exited("x"), None);
    }
}
