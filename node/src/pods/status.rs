//! A pod's status computed as the kubelet computes it (`getPhase`, the condition generators):
//! pure functions of the spec, the container statuses and the previous conditions.

use k8s_openapi::api::core::v1::{ContainerState, ContainerStatus, PodCondition, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// The conditions the kubelet owns, in the order it writes them.
pub const KUBELET_CONDITIONS: [&str; 5] = [
    "PodReadyToStartContainers",
    "Initialized",
    "Ready",
    "ContainersReady",
    "PodScheduled",
];

/// A sidecar: an init container that runs along the containers (`restartPolicy: Always`).
pub fn is_sidecar(c: &k8s_openapi::api::core::v1::Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

fn status_of<'a>(statuses: &'a [ContainerStatus], name: &str) -> Option<&'a ContainerStatus> {
    statuses.iter().find(|s| s.name == name)
}

fn running(s: &ContainerStatus) -> bool {
    s.state.as_ref().is_some_and(|st| st.running.is_some())
}

fn terminated_code(state: Option<&ContainerState>) -> Option<i32> {
    state
        .and_then(|st| st.terminated.as_ref())
        .map(|t| t.exit_code)
}

fn waiting(s: &ContainerStatus) -> bool {
    s.state.as_ref().is_some_and(|st| st.waiting.is_some())
}

/// The pod's phase (`getPhase`). `terminal_requested`: the pod is being deleted.
pub fn phase(
    spec: &PodSpec,
    init: &[ContainerStatus],
    containers: &[ContainerStatus],
    terminal_requested: bool,
) -> &'static str {
    let policy = spec.restart_policy.as_deref().unwrap_or("Always");
    let (mut pending_init, mut failed_init) = (0, 0);
    for c in spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| !is_sidecar(c))
    {
        match status_of(init, &c.name) {
            None => pending_init += 1,
            Some(s) if running(s) => pending_init += 1,
            Some(s) => match terminated_code(s.state.as_ref()) {
                Some(0) => {}
                Some(_) => failed_init += 1,
                None if waiting(s) => match terminated_code(s.last_state.as_ref()) {
                    Some(code) if code != 0 => failed_init += 1,
                    _ => pending_init += 1,
                },
                None => pending_init += 1,
            },
        }
    }
    let (mut run, mut wait, mut stopped, mut succeeded, mut unknown) = (0, 0, 0, 0, 0);
    for c in &spec.containers {
        match status_of(containers, &c.name) {
            None => unknown += 1,
            Some(s) if running(s) => run += 1,
            Some(s) => match terminated_code(s.state.as_ref()) {
                Some(code) => {
                    stopped += 1;
                    if code == 0 {
                        succeeded += 1;
                    }
                }
                None if terminated_code(s.last_state.as_ref()).is_some() => stopped += 1,
                None => wait += 1,
            },
        }
    }
    // Sidecars count as containers; one not yet started holds initialization.
    for c in spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| is_sidecar(c))
    {
        match status_of(init, &c.name) {
            None => {
                pending_init += 1;
                unknown += 1;
            }
            Some(s) if running(s) => {
                if s.started != Some(true) {
                    pending_init += 1;
                }
                run += 1;
            }
            Some(s) if s.state.as_ref().is_some_and(|st| st.terminated.is_some()) => {}
            Some(s) if terminated_code(s.last_state.as_ref()).is_some() => {}
            Some(_) => {
                pending_init += 1;
                wait += 1;
            }
        }
    }
    if failed_init > 0 && policy == "Never" {
        return "Failed";
    }
    let started = run + stopped > 0;
    if (pending_init > 0 && !started) || wait > 0 {
        return "Pending";
    }
    if run > 0 && unknown == 0 {
        return "Running";
    }
    if run == 0 && stopped > 0 && unknown == 0 {
        if terminal_requested {
            return if stopped == succeeded {
                "Succeeded"
            } else {
                "Failed"
            };
        }
        return match policy {
            "Always" => "Running",
            _ if stopped == succeeded => "Succeeded",
            "Never" => "Failed",
            _ => "Running",
        };
    }
    "Pending"
}

/// A condition's status, reason and message.
type Verdict = (&'static str, Option<String>, Option<String>);

fn names(list: &[String]) -> String {
    format!("[{}]", list.join(" "))
}

fn initialized(
    spec: &PodSpec,
    init: &[ContainerStatus],
    containers: &[ContainerStatus],
    phase: &str,
) -> Verdict {
    if phase == "Succeeded" {
        return ("True", Some("PodCompleted".into()), None);
    }
    let any_started = containers.iter().any(|s| {
        running(s)
            || s.state.as_ref().is_some_and(|st| st.terminated.is_some())
            || s.last_state
                .as_ref()
                .is_some_and(|st| st.terminated.is_some())
    });
    let (mut incomplete, mut unknown) = (Vec::new(), Vec::new());
    for c in spec.init_containers.iter().flatten() {
        match status_of(init, &c.name) {
            None => unknown.push(c.name.clone()),
            Some(s) if is_sidecar(c) && s.started == Some(true) => {}
            Some(s) if !is_sidecar(c) && terminated_code(s.state.as_ref()) == Some(0) => {}
            Some(_) => incomplete.push(c.name.clone()),
        }
    }
    if any_started || (incomplete.is_empty() && unknown.is_empty()) {
        return ("True", None, None);
    }
    not_yet(
        "ContainersNotInitialized",
        &unknown,
        "incomplete",
        &incomplete,
    )
}

/// A condition that is not met: the containers of unknown status, then those in `state`,
/// as the kubelet words them.
fn not_yet(reason: &str, unknown: &[String], state: &str, others: &[String]) -> Verdict {
    let mut parts = Vec::new();
    if !unknown.is_empty() {
        parts.push(format!(
            "containers with unknown status: {}",
            names(unknown)
        ));
    }
    if !others.is_empty() {
        parts.push(format!("containers with {state} status: {}", names(others)));
    }
    ("False", Some(reason.into()), Some(parts.join(", ")))
}

fn containers_ready(
    spec: &PodSpec,
    init: &[ContainerStatus],
    containers: &[ContainerStatus],
    phase: &str,
) -> Verdict {
    if phase == "Succeeded" {
        return ("False", Some("PodCompleted".into()), None);
    }
    if phase == "Failed" {
        return ("False", Some("PodFailed".into()), None);
    }
    if containers.is_empty() {
        return ("False", Some("UnknownContainerStatuses".into()), None);
    }
    let (mut unready, mut unknown) = (Vec::new(), Vec::new());
    let sidecars = spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| is_sidecar(c));
    for (c, statuses) in sidecars
        .map(|c| (c, init))
        .chain(spec.containers.iter().map(|c| (c, containers)))
    {
        match status_of(statuses, &c.name) {
            None => unknown.push(c.name.clone()),
            Some(s) if s.ready => {}
            Some(_) => unready.push(c.name.clone()),
        }
    }
    if unready.is_empty() && unknown.is_empty() {
        return ("True", None, None);
    }
    not_yet("ContainersNotReady", &unknown, "unready", &unready)
}

/// Everything the conditions depend on.
pub struct Inputs<'a> {
    pub spec: &'a PodSpec,
    pub init: &'a [ContainerStatus],
    pub containers: &'a [ContainerStatus],
    pub phase: &'a str,
    /// The sandbox exists with its network.
    pub sandbox_ready: bool,
    /// The pod's current conditions (transition times are kept while a status holds;
    /// conditions the kubelet does not own are kept as they are).
    pub previous: &'a [PodCondition],
    pub now: jiff::Timestamp,
}

/// The pod's conditions: those of others first, then the kubelet's in its order.
pub fn conditions(inputs: &Inputs<'_>) -> Vec<PodCondition> {
    let ready = containers_ready(inputs.spec, inputs.init, inputs.containers, inputs.phase);
    let verdicts: [(&str, Verdict); 5] = [
        (
            KUBELET_CONDITIONS[0],
            (
                if inputs.sandbox_ready {
                    "True"
                } else {
                    "False"
                },
                None,
                None,
            ),
        ),
        (
            KUBELET_CONDITIONS[1],
            initialized(inputs.spec, inputs.init, inputs.containers, inputs.phase),
        ),
        (KUBELET_CONDITIONS[2], ready.clone()),
        (KUBELET_CONDITIONS[3], ready),
        (KUBELET_CONDITIONS[4], ("True", None, None)),
    ];
    let mut out: Vec<PodCondition> = inputs
        .previous
        .iter()
        .filter(|c| !KUBELET_CONDITIONS.contains(&c.type_.as_str()))
        .cloned()
        .collect();
    for (kind, (status, reason, message)) in verdicts {
        let old = inputs.previous.iter().find(|c| c.type_ == kind);
        let transition = match old {
            Some(o) if o.status == status => o.last_transition_time.clone(),
            _ => Some(Time(inputs.now)),
        };
        out.push(PodCondition {
            type_: kind.to_string(),
            status: status.to_string(),
            reason,
            message,
            last_transition_time: transition,
            ..Default::default()
        });
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use k8s_openapi::api::core::v1::{
        Container, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    };

    fn spec(init: &[&str], containers: &[&str], policy: &str) -> PodSpec {
        let c = |n: &&str| Container {
            name: n.to_string(),
            ..Default::default()
        };
        PodSpec {
            init_containers: (!init.is_empty()).then(|| init.iter().map(c).collect()),
            containers: containers.iter().map(c).collect(),
            restart_policy: Some(policy.into()),
            ..Default::default()
        }
    }

    fn st(name: &str, state: ContainerState, ready: bool) -> ContainerStatus {
        ContainerStatus {
            name: name.into(),
            state: Some(state),
            ready,
            ..Default::default()
        }
    }

    fn is_running() -> ContainerState {
        ContainerState {
            running: Some(ContainerStateRunning::default()),
            ..Default::default()
        }
    }

    fn exited(code: i32) -> ContainerState {
        ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code: code,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn waiting_for(reason: &str) -> ContainerState {
        ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason: Some(reason.into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn phases_follow_get_phase() {
        let s = spec(&[], &["app"], "Always");
        assert_eq!(phase(&s, &[], &[], false), "Pending");
        let creating = [st("app", waiting_for("ContainerCreating"), false)];
        assert_eq!(phase(&s, &[], &creating, false), "Pending");
        assert_eq!(
            phase(&s, &[], &[st("app", is_running(), true)], false),
            "Running"
        );
        assert_eq!(
            phase(&s, &[], &[st("app", exited(1), false)], false),
            "Running"
        );
        let mut crashing = st("app", waiting_for("CrashLoopBackOff"), false);
        crashing.last_state = Some(exited(1));
        assert_eq!(
            phase(&s, &[], std::slice::from_ref(&crashing), false),
            "Running"
        );
        let never = spec(&[], &["app"], "Never");
        assert_eq!(
            phase(&never, &[], &[st("app", exited(0), false)], false),
            "Succeeded"
        );
        assert_eq!(
            phase(&never, &[], &[st("app", exited(2), false)], false),
            "Failed"
        );
        let on_failure = spec(&[], &["app"], "OnFailure");
        assert_eq!(
            phase(&on_failure, &[], &[st("app", exited(2), false)], false),
            "Running"
        );
        assert_eq!(
            phase(&s, &[], &[st("app", exited(0), false)], true),
            "Succeeded"
        );
    }

    #[test]
    fn init_containers_hold_the_pod_pending_and_fail_it_under_never() {
        let s = spec(&["init"], &["app"], "Never");
        let app = [st("app", waiting_for("PodInitializing"), false)];
        assert_eq!(
            phase(&s, &[st("init", is_running(), false)], &app, false),
            "Pending"
        );
        assert_eq!(
            phase(&s, &[st("init", exited(1), false)], &app, false),
            "Failed"
        );
        let always = spec(&["init"], &["app"], "Always");
        let done = [st("init", exited(0), false)];
        assert_eq!(
            phase(&always, &done, &[st("app", is_running(), true)], false),
            "Running"
        );
    }

    #[test]
    fn sidecars_run_along_and_hold_initialization_until_started() {
        let mut s = spec(&["proxy"], &["app"], "Always");
        if let Some(init) = s.init_containers.as_mut() {
            init[0].restart_policy = Some("Always".into());
        }
        let mut proxy = st("proxy", is_running(), true);
        let app = [st("app", waiting_for("PodInitializing"), false)];
        assert_eq!(
            phase(&s, std::slice::from_ref(&proxy), &app, false),
            "Pending"
        );
        proxy.started = Some(true);
        let running = [st("app", is_running(), true)];
        assert_eq!(
            phase(&s, std::slice::from_ref(&proxy), &running, false),
            "Running"
        );
        let now = jiff::Timestamp::now();
        let inputs = |init: &[ContainerStatus], containers: &[ContainerStatus]| {
            conditions(&Inputs {
                spec: &s,
                init,
                containers,
                phase: "Running",
                sandbox_ready: true,
                previous: &[],
                now,
            })
        };
        let got = inputs(std::slice::from_ref(&proxy), &running);
        assert!(got.iter().all(|c| c.status == "True"), "{got:?}");
        proxy.ready = false;
        let got = inputs(std::slice::from_ref(&proxy), &running);
        assert_eq!(
            got[3].message.as_deref(),
            Some("containers with unready status: [proxy]")
        );
    }

    #[test]
    fn conditions_come_in_the_kubelets_order_with_its_messages() {
        let s = spec(&["init"], &["app", "side"], "Always");
        let init = [st("init", is_running(), false)];
        let containers = [
            st("app", waiting_for("PodInitializing"), false),
            st("side", waiting_for("PodInitializing"), false),
        ];
        let previous = [PodCondition {
            type_: "DisruptionTarget".into(),
            status: "True".into(),
            ..Default::default()
        }];
        let now = jiff::Timestamp::now();
        let got = conditions(&Inputs {
            spec: &s,
            init: &init,
            containers: &containers,
            phase: "Pending",
            sandbox_ready: true,
            previous: &previous,
            now,
        });
        let types: Vec<_> = got.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(
            types,
            [
                "DisruptionTarget",
                "PodReadyToStartContainers",
                "Initialized",
                "Ready",
                "ContainersReady",
                "PodScheduled"
            ]
        );
        assert_eq!(got[2].status, "False");
        assert_eq!(got[2].reason.as_deref(), Some("ContainersNotInitialized"));
        assert_eq!(
            got[2].message.as_deref(),
            Some("containers with incomplete status: [init]")
        );
        assert_eq!(got[3].reason.as_deref(), Some("ContainersNotReady"));
        assert_eq!(
            got[3].message.as_deref(),
            Some("containers with unready status: [app side]")
        );
        assert_eq!(got[5].status, "True");
    }

    #[test]
    fn transition_times_hold_while_a_status_holds() {
        let s = spec(&[], &["app"], "Always");
        let containers = [st("app", is_running(), true)];
        let earlier: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let first = conditions(&Inputs {
            spec: &s,
            init: &[],
            containers: &containers,
            phase: "Running",
            sandbox_ready: true,
            previous: &[],
            now: earlier,
        });
        assert!(first.iter().all(|c| c.status == "True"));
        let later = earlier + jiff::SignedDuration::from_secs(60);
        let unready = [st("app", is_running(), false)];
        let second = conditions(&Inputs {
            spec: &s,
            init: &[],
            containers: &unready,
            phase: "Running",
            sandbox_ready: true,
            previous: &first,
            now: later,
        });
        let time = |cs: &[PodCondition], t: &str| {
            cs.iter()
                .find(|c| c.type_ == t)
                .unwrap()
                .last_transition_time
                .clone()
                .unwrap()
                .0
        };
        assert_eq!(time(&second, "Initialized"), earlier);
        assert_eq!(time(&second, "Ready"), later);
    }
}
