//! A container's termination message when its policy is `FallbackToLogsOnError` and it
//! failed: the tail of its log, as the kubelet takes it (the last 80 lines, of which the last 2 KiB).
//! (Containers here write no termination-message file, so the log is all there is.)

use std::path::Path;

use k8s_openapi::api::core::v1::Container;

use crate::container_io::LogOptions;
use crate::runtime::cri_log;

const MAX_LINES: i64 = 80;
const MAX_BYTES: usize = 2048;

/// The message of a container that ended with `exit_code`, if its policy asks for one.
pub fn message(container: &Container, exit_code: i32, log: &Path) -> Option<String> {
    let fallback = container.termination_message_policy.as_deref() == Some("FallbackToLogsOnError");
    if !fallback || exit_code == 0 {
        return None;
    }
    let text = std::fs::read_to_string(log).ok()?;
    Some(tail(&text)).filter(|m| !m.is_empty())
}

/// The tail of a CRI log the kubelet makes a message of.
pub fn tail(text: &str) -> String {
    let options = LogOptions {
        tail_lines: Some(MAX_LINES),
        ..Default::default()
    };
    let selected = cri_log::select(text, &options);
    // The kubelet keeps the last bytes (a ring buffer).
    let from = selected.len().saturating_sub(MAX_BYTES);
    String::from_utf8_lossy(&selected[from..]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(lines: usize) -> String {
        (0..lines)
            .map(|n| format!("2026-01-01T00:00:00Z stdout F line {n}\n"))
            .collect()
    }

    #[test]
    fn the_last_lines_of_a_failed_container_make_its_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        std::fs::write(&path, log(100)).unwrap();
        let mut c = Container {
            termination_message_policy: Some("FallbackToLogsOnError".into()),
            ..Default::default()
        };
        let m = message(&c, 1, &path).unwrap();
        assert!(m.starts_with("line 20\n"));
        assert!(m.ends_with("line 99\n"));
        assert_eq!(message(&c, 0, &path), None);
        c.termination_message_policy = Some("File".into());
        assert_eq!(message(&c, 1, &path), None);
        let long: String = (0..80)
            .map(|_| format!("2026-01-01T00:00:00Z stdout F {}\n", "x".repeat(100)))
            .collect();
        assert_eq!(tail(&long).len(), 2048);
    }
}
