//! A build's phase from its pod (upstream's build controller, pure): what the pod's phase
//! and its containers' exits mean for the build, with upstream's reasons and messages, and
//! the completion data of a build that ends (timestamps, duration, log snippet).

use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

/// A phase with its reason and message.
#[derive(Debug, PartialEq)]
pub struct Phase {
    pub phase: &'static str,
    pub reason: &'static str,
    pub message: &'static str,
}

const fn phase(phase: &'static str, reason: &'static str, message: &'static str) -> Phase {
    Phase {
        phase,
        reason,
        message,
    }
}

pub const POD_DELETED: Phase = phase(
    "Error",
    "BuildPodDeleted",
    "The pod for this build was deleted before the build completed.",
);
pub const POD_EXISTS: Phase = phase(
    "Error",
    "BuildPodExists",
    "The pod for this build already exists and is older than the build.",
);
/// A build whose pod the controller does not make (upstream's reason when the pod spec
/// cannot be made).
pub const NO_POD_SPEC: Phase = phase(
    "Error",
    "CannotCreateBuildPodSpec",
    "Failed to create pod spec.",
);
pub const CANCELLED: Phase = phase(
    "Cancelled",
    "CancelledBuild",
    "The build was cancelled by the user.",
);

fn oom(pod: &Pod) -> bool {
    let status = pod.status.as_ref();
    if status.and_then(|s| s.reason.as_deref()) == Some("OOMKilled") {
        return true;
    }
    status
        .into_iter()
        .flat_map(|s| {
            s.init_container_statuses
                .iter()
                .flatten()
                .chain(s.container_statuses.iter().flatten())
        })
        .any(|c| {
            c.state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .and_then(|t| t.reason.as_deref())
                == Some("OOMKilled")
        })
}

/// Whether the clone step has begun (the pod is Pending while its init containers run).
fn clone_started(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.init_container_statuses.as_ref())
        .into_iter()
        .flatten()
        .any(|c| {
            c.name == "git-clone"
                && c.state
                    .as_ref()
                    .is_some_and(|s| s.running.is_some() || s.terminated.is_some())
        })
}

/// The build's phase the pod stands for.
pub fn from_pod(pod: &Pod) -> Phase {
    let status = pod.status.as_ref();
    match status.and_then(|s| s.phase.as_deref()).unwrap_or("Pending") {
        "Pending" if clone_started(pod) => phase("Running", "", ""),
        "Pending" => phase("Pending", "", ""),
        "Running" => phase("Running", "", ""),
        "Succeeded" => {
            let statuses: Vec<_> = status
                .and_then(|s| s.container_statuses.clone())
                .unwrap_or_default();
            if statuses.is_empty() {
                return phase(
                    "Error",
                    "NoBuildContainerStatus",
                    "The pod for this build has no container statuses indicating success or failure.",
                );
            }
            let failed = statuses.iter().any(|c| {
                c.state
                    .as_ref()
                    .and_then(|s| s.terminated.as_ref())
                    .is_some_and(|t| t.exit_code != 0)
            });
            if failed {
                return phase(
                    "Error",
                    "FailedContainer",
                    "The pod for this build has at least one container with a non-zero exit status.",
                );
            }
            phase("Complete", "", "")
        }
        _ if oom(pod) => phase(
            "Failed",
            "OutOfMemoryKilled",
            "The build pod was killed due to an out of memory condition.",
        ),
        _ if status.and_then(|s| s.reason.as_deref()) == Some("Evicted") => {
            phase("Failed", "BuildPodEvicted", "")
        }
        _ if pod.metadata.deletion_timestamp.is_some() => POD_DELETED,
        _ => phase(
            "Failed",
            "GenericBuildFailed",
            "Generic Build failure - check logs for details.",
        ),
    }
}

/// Upstream's log snippet: the last 5 lines of the termination message of the build
/// container (else of the first init container that ended), long lines shortened.
pub fn log_snippet(pod: &Pod) -> String {
    let Some(status) = pod.status.as_ref() else {
        return String::new();
    };
    let message_of = |c: &k8s_openapi::api::core::v1::ContainerStatus| {
        c.state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .and_then(|t| t.message.clone())
            .filter(|m| !m.is_empty())
    };
    let message = status
        .container_statuses
        .iter()
        .flatten()
        .find_map(message_of)
        .or_else(|| {
            status
                .init_container_statuses
                .iter()
                .flatten()
                .find_map(message_of)
        })
        .unwrap_or_default();
    let trimmed = message.trim_end_matches('\n');
    let lines: Vec<&str> = trimmed.lines().collect();
    let tail = &lines[lines.len().saturating_sub(5)..];
    tail.iter()
        .map(|line| {
            let chars: Vec<char> = line.chars().collect();
            if chars.len() > 120 {
                let head: String = chars[..58].iter().collect();
                let end: String = chars[chars.len() - 59..].iter().collect();
                format!("{head}...{end}")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Nanoseconds between two RFC 3339 times (0 when either cannot be read).
pub fn duration_nanos(start: &str, end: &str) -> i64 {
    match (
        start.parse::<jiff::Timestamp>(),
        end.parse::<jiff::Timestamp>(),
    ) {
        (Ok(s), Ok(e)) => (e.as_nanosecond() - s.as_nanosecond()).max(0) as i64,
        _ => 0,
    }
}

/// The status patch of a build moving to `next` (`now`: the time it happens).
pub fn status_patch(build_status: &Value, next: &Phase, pod: Option<&Pod>, now: &str) -> Value {
    let mut patch = json!({"phase": next.phase});
    if !next.reason.is_empty() || build_status["reason"].is_string() {
        patch["reason"] = json!(next.reason);
        patch["message"] = json!(next.message);
    }
    if next.reason == "BuildPodEvicted"
        && let Some(message) = pod
            .and_then(|p| p.status.as_ref())
            .and_then(|s| s.message.clone())
    {
        patch["message"] = json!(message);
    }
    let start = build_status["startTimestamp"].as_str().map(String::from);
    if next.phase == "Running" && start.is_none() {
        let started = pod
            .and_then(|p| p.status.as_ref())
            .and_then(|s| s.start_time.as_ref())
            .map(|t| t.0.to_string())
            .unwrap_or_else(|| now.to_string());
        patch["startTimestamp"] = json!(started);
    }
    if super::types::is_terminal(next.phase) {
        let start = start.unwrap_or_else(|| now.to_string());
        if build_status["startTimestamp"].is_null() {
            patch["startTimestamp"] = json!(start);
        }
        patch["completionTimestamp"] = json!(now);
        patch["duration"] = json!(duration_nanos(&start, now));
        if matches!(next.phase, "Failed" | "Error")
            && build_status["logSnippet"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
            && let Some(pod) = pod
        {
            let snippet = log_snippet(pod);
            if !snippet.is_empty() {
                patch["logSnippet"] = json!(snippet);
            }
        }
    }
    patch
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(status: Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "b-build"}, "status": status})).unwrap()
    }

    #[test]
    fn pod_phases_become_build_phases() {
        assert_eq!(from_pod(&pod(json!({"phase": "Pending"}))).phase, "Pending");
        let cloning = pod(json!({"phase": "Pending", "initContainerStatuses": [
            {"name": "git-clone", "ready": false, "restartCount": 0, "image": "", "imageID": "",
             "state": {"running": {}}}]}));
        assert_eq!(from_pod(&cloning).phase, "Running");
        assert_eq!(
            from_pod(&pod(json!({"phase": "Succeeded"}))).reason,
            "NoBuildContainerStatus"
        );
        let failed = pod(json!({"phase": "Failed"}));
        assert_eq!(from_pod(&failed).reason, "GenericBuildFailed");
    }

    #[test]
    fn the_snippet_is_the_last_five_lines_shortened() {
        let long = "x".repeat(130);
        let message = format!("1\n2\n3\n4\n5\n{long}\n");
        let p = pod(
            json!({"phase": "Failed", "containerStatuses": [{"name": "docker-build",
            "ready": false, "restartCount": 0, "image": "", "imageID": "",
            "state": {"terminated": {"exitCode": 1, "message": message}}}]}),
        );
        let snippet = log_snippet(&p);
        let lines: Vec<&str> = snippet.lines().collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[0], "2");
        assert_eq!(lines[4].len(), 58 + 3 + 59);
    }

    #[test]
    fn a_final_phase_records_its_completion() {
        let patch = status_patch(
            &json!({"startTimestamp": "2026-01-01T00:00:00Z"}),
            &Phase {
                phase: "Complete",
                reason: "",
                message: "",
            },
            None,
            "2026-01-01T00:00:02Z",
        );
        assert_eq!(patch["duration"], 2_000_000_000i64);
        assert_eq!(patch["completionTimestamp"], "2026-01-01T00:00:02Z");
    }
}
