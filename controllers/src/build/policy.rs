//! Run policies (upstream's build policies): which new builds of a config may start now.
//! Serial and SerialLatestOnly run one build at a time, lowest number first (SerialLatestOnly
//! first cancels the queued builds older than the newest); Parallel builds run together,
//! but never beside a running serial one.

use std::borrow::Borrow;

use super::types::Build;

fn active(phase: &str) -> bool {
    matches!(phase, "Pending" | "Running")
}

/// Whether `build` (New) may start, given every build of its config.
pub fn runnable<B: Borrow<Build>>(build: &Build, all: &[B]) -> bool {
    let others = || {
        all.iter()
            .map(Borrow::borrow)
            .filter(|b: &&Build| b.name() != build.name())
    };
    if build.policy() == "Parallel" {
        return !others()
            .filter(|b| active(b.phase()))
            .any(|b| b.policy() != "Parallel");
    }
    if others().any(|b| active(b.phase())) {
        return false;
    }
    !others().any(|b| {
        b.phase() == "New"
            && !b.status["cancelled"].as_bool().unwrap_or(false)
            && b.number() < build.number()
    })
}

/// The builds SerialLatestOnly cancels before `build` runs: queued (New or Pending, not
/// Running) ones with a lower number.
pub fn superseded<'a, B: Borrow<Build>>(build: &Build, all: &'a [B]) -> Vec<&'a Build> {
    if build.policy() != "SerialLatestOnly" {
        return Vec::new();
    }
    all.iter()
        .map(Borrow::borrow)
        .filter(|b: &&Build| {
            matches!(b.phase(), "New" | "Pending")
                && b.number() < build.number()
                && b.status["cancelled"] != true
        })
        .collect()
}

/// The newest New build of a SerialLatestOnly config is the one that runs; older ones wait
/// to be cancelled.
pub fn is_latest_queued<B: Borrow<Build>>(build: &Build, all: &[B]) -> bool {
    !all.iter()
        .map(Borrow::borrow)
        .any(|b: &Build| b.phase() == "New" && b.number() > build.number())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn build(n: i64, phase: &str, policy: &str) -> Build {
        serde_json::from_value(json!({"metadata": {"name": format!("web-{n}"),
            "annotations": {"openshift.io/build.number": n.to_string()},
            "labels": {"openshift.io/build.start-policy": policy}},
            "status": {"phase": phase}}))
        .unwrap()
    }

    #[test]
    fn serial_builds_run_one_at_a_time_in_order() {
        let all = vec![
            build(1, "Running", "Serial"),
            build(2, "New", "Serial"),
            build(3, "New", "Serial"),
        ];
        assert!(!runnable(&all[1], &all));
        let all = vec![
            build(1, "Complete", "Serial"),
            build(2, "New", "Serial"),
            build(3, "New", "Serial"),
        ];
        assert!(runnable(&all[1], &all));
        assert!(!runnable(&all[2], &all));
    }

    #[test]
    fn serial_latest_only_cancels_the_queued_ones() {
        let all = vec![
            build(1, "Running", "SerialLatestOnly"),
            build(2, "New", "SerialLatestOnly"),
            build(3, "New", "SerialLatestOnly"),
        ];
        let gone: Vec<&str> = superseded(&all[2], &all).iter().map(|b| b.name()).collect();
        assert_eq!(gone, vec!["web-2"]);
        assert!(is_latest_queued(&all[2], &all));
        assert!(!is_latest_queued(&all[1], &all));
    }

    #[test]
    fn parallel_builds_wait_only_for_serial_ones() {
        let all = vec![build(1, "Running", "Parallel"), build(2, "New", "Parallel")];
        assert!(runnable(&all[1], &all));
        let all = vec![build(1, "Running", "Serial"), build(2, "New", "Parallel")];
        assert!(!runnable(&all[1], &all));
    }
}
