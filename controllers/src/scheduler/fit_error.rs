//! The text of an unschedulable pod's condition and FailedScheduling event, as upstream's
//! FitError: a histogram of the nodes' reasons sorted as strings, then the preemption part.

use std::collections::BTreeMap;

use super::filter::Failure;

/// Events carry at most this much of the message (upstream's note limit).
const NOTE_LIMIT: usize = 1024;

/// Upstream's answer when the cluster has no node at all.
pub const NO_NODES: &str = "no nodes available to schedule pods";

pub fn message(all_nodes: usize, failures: &[Failure], preemption_never: bool) -> String {
    if all_nodes == 0 {
        return NO_NODES.to_string();
    }
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut resolvable, mut unresolvable) = (0, 0);
    for f in failures {
        for r in &f.reasons {
            *reasons.entry(r).or_default() += 1;
        }
        match f.resolvable {
            true => resolvable += 1,
            false => unresolvable += 1,
        }
    }
    let mut text = format!("0/{all_nodes} nodes are available:");
    let mut histogram: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
    histogram.sort();
    if !histogram.is_empty() {
        text.push_str(&format!(" {}.", histogram.join(", ")));
    }
    if preemption_never {
        text.push_str(" preemption: not eligible due to preemptionPolicy=Never.");
        return text;
    }
    let mut preemption = Vec::new();
    if resolvable > 0 {
        preemption.push(format!(
            "{resolvable} No preemption victims found for incoming pod"
        ));
    }
    if unresolvable > 0 {
        preemption.push(format!(
            "{unresolvable} Preemption is not helpful for scheduling"
        ));
    }
    preemption.sort();
    text.push_str(&format!(
        " preemption: 0/{all_nodes} nodes are available: {}.",
        preemption.join(", ")
    ));
    text
}

/// The message when a PreFilter plugin (the pod's volumes) keeps the pod off every node.
pub fn prefilter_message(all_nodes: usize, why: &str) -> String {
    if all_nodes == 0 {
        return NO_NODES.to_string();
    }
    format!(
        "0/{all_nodes} nodes are available: {why}. preemption: 0/{all_nodes} nodes are available: \
         {all_nodes} Preemption is not helpful for scheduling."
    )
}

/// An event note: the message cut to upstream's limit.
pub fn note(message: &str) -> String {
    if message.len() <= NOTE_LIMIT {
        return message.to_string();
    }
    let mut end = NOTE_LIMIT - 4;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{} ...", &message[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(reasons: &[&str], resolvable: bool) -> Failure {
        Failure {
            reasons: reasons.iter().map(|r| r.to_string()).collect(),
            resolvable,
        }
    }

    #[test]
    fn upstreams_format() {
        let m = message(
            3,
            &[
                f(
                    &["node(s) didn't match Pod's node affinity/selector"],
                    false,
                ),
                f(&["Insufficient cpu"], true),
                f(
                    &["node(s) didn't match Pod's node affinity/selector"],
                    false,
                ),
            ],
            false,
        );
        assert_eq!(
            m,
            "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."
        );
        assert!(note(&"x".repeat(2000)).ends_with(" ..."));
        assert_eq!(note(&"x".repeat(2000)).len(), 1024);
    }
}
