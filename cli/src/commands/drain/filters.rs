//! Which pods of a node a drain takes, as kubectl's drain filters decide (pure): pods
//! being deleted for long are skipped, DaemonSet pods are kept (with `--ignore-daemonsets`)
//! or stop the drain, mirror pods are skipped, pods with emptyDir volumes need
//! `--delete-emptydir-data`, pods without a controller need `--force`; the lines the
//! warnings and errors make.

use serde_json::Value;

const DAEMON_SET_FATAL: &str = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)";
const DAEMON_SET_WARNING: &str = "ignoring DaemonSet-managed Pods";
const LOCAL_STORAGE_FATAL: &str =
    "Pods with local storage (use --delete-emptydir-data to override)";
const LOCAL_STORAGE_WARNING: &str = "deleting Pods with local storage";
const UNMANAGED_FATAL: &str = "Pods that declare no controller (use --force to override)";
const UNMANAGED_WARNING: &str = "deleting Pods that declare no controller";

/// The drain's choices that the filters read.
#[derive(Clone, Debug, Default)]
pub struct Flags {
    pub force: bool,
    pub ignore_daemon_sets: bool,
    pub delete_emptydir_data: bool,
    /// Pods deleted more than this many seconds ago are not waited for (0: all are).
    pub skip_wait_for_delete_seconds: i64,
}

/// What became of the DaemonSet that controls a pod.
#[derive(Clone, Debug, PartialEq)]
pub enum DaemonSet {
    Found,
    /// Not found, with the server's message.
    Missing(String),
    /// Could not be read, with the error's message.
    Unreadable(String),
}

/// A filter's verdict on one pod (upstream's PodDeleteStatus).
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    Okay,
    Skip,
    Warning { delete: bool, message: String },
    Error(String),
}

impl Verdict {
    fn deletes(&self) -> bool {
        matches!(self, Verdict::Okay | Verdict::Warning { delete: true, .. })
    }
}

fn finished(pod: &Value) -> bool {
    matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    )
}

fn controller(pod: &Value) -> Option<&Value> {
    pod["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|o| o["controller"] == true)
}

/// The name of the DaemonSet that controls `pod`, if one does and the pod still runs.
pub fn daemon_set_of(pod: &Value) -> Option<&str> {
    let owner = controller(pod)?;
    (owner["kind"] == "DaemonSet" && !finished(pod)).then(|| owner["name"].as_str())?
}

fn warning(delete: bool, message: &str) -> Verdict {
    Verdict::Warning {
        delete,
        message: message.to_string(),
    }
}

/// The verdict on `pod`: the filters in upstream's order, the first that keeps the pod
/// deciding; else the last one's. `daemon_set` is the lookup of its DaemonSet, if it has
/// one; `deleted_for` the seconds since its deletion began, if it did.
pub fn verdict(
    pod: &Value,
    flags: &Flags,
    daemon_set: Option<&DaemonSet>,
    deleted_for: Option<i64>,
) -> Verdict {
    let skip_deleted = || match deleted_for {
        Some(s)
            if flags.skip_wait_for_delete_seconds > 0 && s > flags.skip_wait_for_delete_seconds =>
        {
            Verdict::Skip
        }
        _ => Verdict::Okay,
    };
    let daemon = || match (daemon_set_of(pod), daemon_set) {
        (None, _) | (_, None) => Verdict::Okay,
        (Some(_), Some(DaemonSet::Missing(m))) if flags.force => warning(true, m),
        (Some(_), Some(DaemonSet::Missing(m) | DaemonSet::Unreadable(m))) => {
            Verdict::Error(m.clone())
        }
        (Some(_), Some(DaemonSet::Found)) if flags.ignore_daemon_sets => {
            warning(false, DAEMON_SET_WARNING)
        }
        (Some(_), Some(DaemonSet::Found)) => Verdict::Error(DAEMON_SET_FATAL.into()),
    };
    let mirror = || {
        if pod["metadata"]["annotations"]
            .get("kubernetes.io/config.mirror")
            .is_some()
        {
            Verdict::Skip
        } else {
            Verdict::Okay
        }
    };
    let local_storage = || {
        let empty_dir = pod["spec"]["volumes"]
            .as_array()
            .is_some_and(|v| v.iter().any(|v| v.get("emptyDir").is_some()));
        match () {
            _ if !empty_dir || finished(pod) => Verdict::Okay,
            _ if flags.delete_emptydir_data => warning(true, LOCAL_STORAGE_WARNING),
            _ => Verdict::Error(LOCAL_STORAGE_FATAL.into()),
        }
    };
    let unreplicated = || match () {
        _ if finished(pod) || controller(pod).is_some() => Verdict::Okay,
        _ if flags.force => warning(true, UNMANAGED_WARNING),
        _ => Verdict::Error(UNMANAGED_FATAL.into()),
    };
    let filters: [&dyn Fn() -> Verdict; 5] = [
        &skip_deleted,
        &daemon,
        &mirror,
        &local_storage,
        &unreplicated,
    ];
    let mut last = Verdict::Okay;
    for filter in filters {
        last = filter();
        if !last.deletes() {
            break;
        }
    }
    last
}

/// `<namespace>/<name>` of a pod.
pub fn pod_key(pod: &Value) -> String {
    format!(
        "{}/{}",
        pod["metadata"]["namespace"].as_str().unwrap_or_default(),
        pod["metadata"]["name"].as_str().unwrap_or_default()
    )
}

/// Messages with the pods they concern, in the order first seen.
fn grouped<'a>(items: impl Iterator<Item = (&'a str, String)>) -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for (message, pod) in items {
        match groups.iter_mut().find(|(m, _)| m == message) {
            Some((_, pods)) => pods.push(pod),
            None => groups.push((message.to_string(), vec![pod])),
        }
    }
    groups
}

/// The warnings line of a drain (without its `Warning: `), empty when none.
pub fn warnings(judged: &[(Value, Verdict)]) -> String {
    let items = judged.iter().filter_map(|(pod, v)| match v {
        Verdict::Warning { message, .. } => Some((message.as_str(), pod_key(pod))),
        _ => None,
    });
    grouped(items)
        .into_iter()
        .map(|(m, pods)| format!("{m}: {}", pods.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The errors that stop a drain, one per message.
pub fn errors(judged: &[(Value, Verdict)]) -> Vec<String> {
    let items = judged.iter().filter_map(|(pod, v)| match v {
        Verdict::Error(m) if m.is_empty() => Some(("unexpected error", pod_key(pod))),
        Verdict::Error(m) => Some((m.as_str(), pod_key(pod))),
        _ => None,
    });
    grouped(items)
        .into_iter()
        .map(|(m, pods)| format!("cannot delete {m}: {}", pods.join(", ")))
        .collect()
}

/// The pods a drain evicts or deletes.
pub fn to_delete(judged: &[(Value, Verdict)]) -> Vec<Value> {
    judged
        .iter()
        .filter(|(_, v)| v.deletes())
        .map(|(p, _)| p.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(owner: Option<&str>, empty_dir: bool) -> Value {
        let owners = owner.map_or(
            json!([]),
            |k| json!([{"kind": k, "name": "o", "controller": true}]),
        );
        let volumes = if empty_dir {
            json!([{"name": "scratch", "emptyDir": {}}])
        } else {
            json!([])
        };
        json!({"metadata": {"name": "p", "namespace": "ns", "ownerReferences": owners},
            "spec": {"volumes": volumes}, "status": {"phase": "Running"}})
    }

    fn flags(force: bool, ds: bool, empty: bool) -> Flags {
        Flags {
            force,
            ignore_daemon_sets: ds,
            delete_emptydir_data: empty,
            skip_wait_for_delete_seconds: 0,
        }
    }

    #[test]
    fn daemon_set_pods_stop_the_drain_unless_ignored() {
        let p = pod(Some("DaemonSet"), false);
        let found = Some(&DaemonSet::Found);
        assert_eq!(
            verdict(&p, &flags(false, false, false), found, None),
            Verdict::Error(DAEMON_SET_FATAL.into())
        );
        let kept = verdict(&p, &flags(false, true, false), found, None);
        assert_eq!(kept, warning(false, DAEMON_SET_WARNING));
        let judged = vec![(p.clone(), kept)];
        assert!(to_delete(&judged).is_empty());
        assert_eq!(warnings(&judged), "ignoring DaemonSet-managed Pods: ns/p");
        // An orphan of a deleted DaemonSet goes with --force only.
        let gone = DaemonSet::Missing("daemonsets.apps \"o\" not found".into());
        assert!(matches!(
            verdict(&p, &flags(false, true, false), Some(&gone), None),
            Verdict::Error(_)
        ));
        assert!(verdict(&p, &flags(true, true, false), Some(&gone), None).deletes());
    }

    #[test]
    fn local_storage_and_unmanaged_pods_need_their_flags() {
        let local = pod(Some("ReplicaSet"), true);
        let errs = errors(&[(
            local.clone(),
            verdict(&local, &flags(false, false, false), None, None),
        )]);
        assert_eq!(
            errs,
            [
                "cannot delete Pods with local storage (use --delete-emptydir-data to override): ns/p"
            ]
        );
        // The local storage warning is overwritten by the next filter, as upstream's is.
        assert_eq!(
            verdict(&local, &flags(false, false, true), None, None),
            Verdict::Okay
        );
        let bare = pod(None, false);
        assert_eq!(
            verdict(&bare, &flags(false, false, false), None, None),
            Verdict::Error(UNMANAGED_FATAL.into())
        );
        assert_eq!(
            verdict(&bare, &flags(true, false, false), None, None),
            warning(true, UNMANAGED_WARNING)
        );
        let mut done = pod(None, true);
        done["status"]["phase"] = json!("Succeeded");
        assert_eq!(
            verdict(&done, &flags(false, false, false), None, None),
            Verdict::Okay
        );
    }

    #[test]
    fn mirror_and_long_deleted_pods_are_skipped() {
        let mut mirror = pod(None, false);
        mirror["metadata"]["annotations"] = json!({"kubernetes.io/config.mirror": "x"});
        assert_eq!(
            verdict(&mirror, &flags(false, false, false), None, None),
            Verdict::Skip
        );
        let p = pod(Some("ReplicaSet"), false);
        let mut f = flags(false, false, false);
        assert_eq!(verdict(&p, &f, None, Some(100)), Verdict::Okay);
        f.skip_wait_for_delete_seconds = 30;
        assert_eq!(verdict(&p, &f, None, Some(100)), Verdict::Skip);
    }

    #[test]
    fn errors_and_warnings_group_pods_by_message() {
        let a = pod(None, false);
        let mut b = pod(None, false);
        b["metadata"]["name"] = json!("q");
        let e = Verdict::Error(UNMANAGED_FATAL.into());
        let judged = vec![(a, e.clone()), (b, e)];
        assert_eq!(
            errors(&judged),
            ["cannot delete Pods that declare no controller (use --force to override): ns/p, ns/q"]
        );
    }
}
