//! `oc status`'s lines for a Deployment, as upstream's project status words them: what it
//! deploys (`istag/web:latest ` when an image trigger feeds it, else its images) and one line
//! per ReplicaSet, newest first (`deployment #2 running for 10 seconds - 1/2 pods`, older ones
//! still holding pods `deployment #1 deployed 3 hours ago - 1 pod`).

use serde_json::Value;

/// The image stream tag an `image.openshift.io/triggers` annotation follows, if any.
pub(super) fn triggered_tag(deployment: &Value) -> Option<String> {
    let text = deployment["metadata"]["annotations"]["image.openshift.io/triggers"].as_str()?;
    let triggers: Value = serde_json::from_str(text).ok()?;
    let from = triggers
        .as_array()?
        .iter()
        .map(|t| &t["from"])
        .find(|f| f["kind"] == "ImageStreamTag")?;
    let name = from["name"].as_str()?;
    Some(match from["namespace"].as_str().filter(|n| !n.is_empty()) {
        Some(ns) if Some(ns) != deployment["metadata"]["namespace"].as_str() => {
            format!("{ns}/{name}")
        }
        _ => name.to_string(),
    })
}

fn revision(obj: &Value) -> i64 {
    obj["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn count(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

/// Upstream's pod summary: `1 pod`, `3 pods`, `1/3 pods`, nothing for none unless asked.
fn pod_summary(ready: i64, requested: i64, include_empty: bool) -> String {
    match (ready == requested, ready) {
        (true, 0) if !include_empty => String::new(),
        (true, 0) => "0 pods".into(),
        (true, 1) => "1 pod".into(),
        (true, n) => format!("{n} pods"),
        (false, _) => format!("{ready}/{requested} pods"),
    }
}

fn pod_summary_inline(rs: &Value, include_empty: bool) -> String {
    let status = &rs["status"];
    let requested = count(&rs["spec"]["replicas"]);
    let actual = count(&status["replicas"]);
    let summary = pod_summary(count(&status["readyReplicas"]), requested, include_empty);
    if summary.is_empty() {
        return summary;
    }
    let change = match requested.cmp(&actual) {
        std::cmp::Ordering::Less => format!(" reducing to {requested}"),
        std::cmp::Ordering::Greater => format!(" growing to {requested}"),
        std::cmp::Ordering::Equal => String::new(),
    };
    format!(" - {summary}{change}")
}

/// How long ago `obj` was made, as upstream's relative times (lower case).
fn age(obj: &Value, now: jiff::Timestamp) -> String {
    let created = obj["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .unwrap_or(now);
    let seconds = (now.as_second() - created.as_second()).max(0);
    super::new_app::human_duration(seconds).to_lowercase()
}

/// The lines of the Deployment's ReplicaSets (those it owns in `replica_sets`), indented.
pub(super) fn replica_set_lines(
    deployment: &Value,
    replica_sets: &[Value],
    indent: &str,
    now: jiff::Timestamp,
) -> String {
    let uid = &deployment["metadata"]["uid"];
    let mut owned: Vec<&Value> = replica_sets
        .iter()
        .filter(|rs| {
            rs["metadata"]["ownerReferences"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|o| o["uid"] == *uid)
        })
        .collect();
    owned.sort_by_key(|rs| std::cmp::Reverse(revision(rs)));
    let latest = revision(deployment);
    let mut out = String::new();
    for (i, rs) in owned.iter().enumerate() {
        let n = revision(rs);
        let line = match n == latest {
            true => format!(
                "deployment #{n} running for {}{}",
                age(rs, now),
                pod_summary_inline(rs, false)
            ),
            // Older ReplicaSets matter while they still hold pods.
            false
                if count(&rs["status"]["replicas"]) == 0 && count(&rs["spec"]["replicas"]) == 0 =>
            {
                continue;
            }
            false => format!(
                "deployment #{n} deployed {} ago{}",
                age(rs, now),
                pod_summary_inline(rs, i == 0)
            ),
        };
        out.push_str(&format!("{indent}{line}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployment_lines_as_upstream() {
        let now: jiff::Timestamp = "2026-01-01T00:10:00Z".parse().unwrap();
        let d = json!({"metadata": {"uid": "d", "namespace": "shop", "annotations": {
            "deployment.kubernetes.io/revision": "2",
            "image.openshift.io/triggers": r#"[{"from":{"kind":"ImageStreamTag","name":"web:latest"},"fieldPath":"x"}]"#,
        }}});
        assert_eq!(triggered_tag(&d).as_deref(), Some("web:latest"));
        let rs = |rev: &str, created: &str, spec: i64, status: i64, ready: i64| {
            json!({"metadata": {"creationTimestamp": created, "ownerReferences": [{"uid": "d"}],
                "annotations": {"deployment.kubernetes.io/revision": rev}},
                "spec": {"replicas": spec}, "status": {"replicas": status, "readyReplicas": ready}})
        };
        let sets = [
            rs("1", "2026-01-01T00:00:00Z", 1, 1, 1),
            rs("2", "2026-01-01T00:09:50Z", 2, 1, 0),
        ];
        assert_eq!(
            replica_set_lines(&d, &sets, "    ", now),
            "    deployment #2 running for 10 seconds - 0/2 pods growing to 2\n    deployment #1 deployed 10 minutes ago - 1 pod\n"
        );
    }
}
