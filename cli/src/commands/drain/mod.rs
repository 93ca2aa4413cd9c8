//! `oc adm cordon|uncordon|drain`, as kubectl's: nodes marked (un)schedulable with their
//! `node/<name> cordoned` lines, then a drain's pods (chosen by `filters.rs`) evicted all at
//! once — each retried every 5 s while a disruption budget refuses, then waited for until
//! gone — or deleted with `--disable-eviction`, within `--timeout`; kubectl's lines and
//! errors, on the same streams.

pub mod filters;

use std::time::{Duration, Instant};

use http::Method;
use serde_json::{Value, json};

use super::Globals;
use crate::client::{Session, encode, send, session_without_retries};
use crate::error::CliError;
use filters::{DaemonSet, Flags};

#[derive(Debug, clap::Args)]
pub struct CordonArgs {
    /// The nodes.
    pub nodes: Vec<String>,
    /// Selector (label query) to filter on.
    #[arg(long, short = 'l')]
    pub selector: Option<String>,
    /// Must be "none", "server", or "client".
    #[arg(long, default_value = "none", num_args = 0..=1, default_missing_value = "client")]
    pub dry_run: String,
}

#[derive(Debug, clap::Args)]
pub struct DrainArgs {
    #[command(flatten)]
    pub nodes: CordonArgs,
    /// Continue even if there are pods that do not declare a controller.
    #[arg(long)]
    pub force: bool,
    /// Ignore DaemonSet-managed pods.
    #[arg(long)]
    pub ignore_daemonsets: bool,
    /// Continue even if there are pods using emptyDir (local data that will be deleted when
    /// the node is drained).
    #[arg(long)]
    pub delete_emptydir_data: bool,
    #[arg(long, hide = true)]
    pub delete_local_data: bool,
    /// Period of time in seconds given to each pod to terminate gracefully (negative: the
    /// pod's own).
    #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
    pub grace_period: i64,
    /// The length of time to wait before giving up, zero means infinite.
    #[arg(long, default_value = "0s")]
    pub timeout: String,
    /// Label selector to filter pods on the node.
    #[arg(long)]
    pub pod_selector: Option<String>,
    /// Force drain to use delete, even if eviction is supported (bypasses disruption
    /// budgets).
    #[arg(long)]
    pub disable_eviction: bool,
    /// If pod DeletionTimestamp older than N seconds, skip waiting for the pod.
    #[arg(long, default_value_t = 0)]
    pub skip_wait_for_delete_timeout: i64,
}

#[derive(Clone, Copy, PartialEq)]
enum DryRun {
    None,
    Client,
    Server,
}

impl DryRun {
    fn parse(text: &str) -> Result<DryRun, CliError> {
        match text {
            "none" | "false" => Ok(DryRun::None),
            "client" | "true" => Ok(DryRun::Client),
            "server" => Ok(DryRun::Server),
            other => Err(CliError::msg(format!(
                "Invalid dry-run value ({other}). Must be \"none\", \"server\", or \"client\"."
            ))),
        }
    }

    /// The words kubectl adds to an operation it only tried.
    fn suffix(self) -> &'static str {
        match self {
            DryRun::None => "",
            DryRun::Client => " (dry run)",
            DryRun::Server => " (server dry run)",
        }
    }
}

/// An error's text without oc's own prefixes (as Go's `%v` prints an error).
fn text(e: &CliError) -> String {
    match e {
        CliError::Server { message, .. } => message.clone(),
        CliError::Message(m) | CliError::Plain(m) => m.clone(),
        other => other.to_string(),
    }
}

fn is_reason(e: &CliError, wanted: &str) -> bool {
    matches!(e, CliError::Server { reason, .. } if reason == wanted)
}

fn name_of(v: &Value) -> &str {
    v["metadata"]["name"].as_str().unwrap_or_default()
}

/// The nodes named, or picked by the selector.
async fn nodes(s: &Session, a: &CordonArgs, usage: &str) -> Result<Vec<Value>, CliError> {
    match (a.nodes.as_slice(), a.selector.as_deref()) {
        ([], None) => Err(CliError::msg(format!(
            "USAGE: {usage} NODE [flags]\nSee 'oc adm {usage} -h' for help and examples"
        ))),
        ([_, ..], Some(_)) => Err(CliError::msg(
            "error: cannot specify both a node name and a --selector option",
        )),
        ([], Some(selector)) => {
            let list = s
                .get(&format!("/api/v1/nodes?labelSelector={}", encode(selector)))
                .await?;
            Ok(list["items"].as_array().cloned().unwrap_or_default())
        }
        (names, None) => {
            let mut found = Vec::new();
            for name in names {
                let name = name
                    .strip_prefix("nodes/")
                    .or_else(|| name.strip_prefix("node/"))
                    .unwrap_or(name);
                found.push(s.get(&format!("/api/v1/nodes/{name}")).await?);
            }
            Ok(found)
        }
    }
}

/// Marks each node (un)schedulable as kubectl's cordon helper does, printing a line per node;
/// a node that cannot be changed is reported and passed over.
async fn cordon_all(s: &Session, nodes: &[Value], desired: bool, dry: DryRun) {
    let verb = if desired { "cordon" } else { "uncordon" };
    for node in nodes {
        let name = name_of(node);
        let current = node["spec"]["unschedulable"] == json!(true);
        if current == desired {
            println!("node/{name} already {verb}ed{}", dry.suffix());
            continue;
        }
        if dry != DryRun::Client {
            let patch =
                json!({"spec": {"unschedulable": if desired { json!(true) } else { Value::Null }}});
            let query = if dry == DryRun::Server {
                "?dryRun=All"
            } else {
                ""
            };
            let result = send(
                &s.client,
                Method::PATCH,
                &format!("/api/v1/nodes/{name}{query}"),
                &[],
                Some((
                    "application/strategic-merge-patch+json",
                    patch.to_string().into_bytes(),
                )),
            )
            .await;
            if let Err(e) = result {
                eprintln!("error: unable to {verb} node {name:?}: {}", text(&e));
                continue;
            }
        }
        println!("node/{name} {verb}ed{}", dry.suffix());
    }
}

/// `oc adm cordon` (`desired`) or `oc adm uncordon`.
pub async fn cordon(g: &Globals, a: &CordonArgs, desired: bool) -> Result<(), CliError> {
    let dry = DryRun::parse(&a.dry_run)?;
    let s = session_without_retries(&g.kubeconfig()?, &g.overrides).await?;
    let usage = if desired { "cordon" } else { "uncordon" };
    let found = nodes(&s, a, usage).await?;
    cordon_all(&s, &found, desired, dry).await;
    Ok(())
}

/// Why a node's drain stopped: its errors, and whether they came as an aggregate (which
/// kubectl prints one per line without its `error: ` prefix).
struct Failure {
    errors: Vec<String>,
    aggregate: bool,
}

impl Failure {
    fn of(errors: Vec<String>) -> Failure {
        Failure {
            errors,
            aggregate: true,
        }
    }

    /// As Go prints an aggregate error: its one error, or `[a, b]`.
    fn message(&self) -> String {
        match self.errors.as_slice() {
            [one] => one.clone(),
            many => format!("[{}]", many.join(", ")),
        }
    }
}

/// The drain's settings for one run.
struct Drain<'a> {
    s: &'a Session,
    flags: Flags,
    a: &'a DrainArgs,
    dry: DryRun,
    deadline: Option<Instant>,
    timeout_text: String,
}

impl Drain<'_> {
    fn timed_out(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// The node's pods with the filters' verdicts (kubectl's GetPodsForDeletion).
    async fn judge(&self, node: &str) -> Result<Vec<(Value, filters::Verdict)>, CliError> {
        let mut path = format!(
            "/api/v1/pods?fieldSelector={}",
            encode(&format!("spec.nodeName={node}"))
        );
        if let Some(selector) = &self.a.pod_selector {
            path.push_str(&format!("&labelSelector={}", encode(selector)));
        }
        let list = self.s.get(&path).await?;
        let now = jiff::Timestamp::now();
        let mut judged = Vec::new();
        for pod in list["items"].as_array().cloned().unwrap_or_default() {
            let daemon_set = match filters::daemon_set_of(&pod) {
                Some(ds) => {
                    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
                    let path = format!("/apis/apps/v1/namespaces/{ns}/daemonsets/{ds}");
                    Some(match self.s.get(&path).await {
                        Ok(_) => DaemonSet::Found,
                        Err(e) if is_reason(&e, "NotFound") => DaemonSet::Missing(text(&e)),
                        Err(e) => DaemonSet::Unreadable(text(&e)),
                    })
                }
                None => None,
            };
            let deleted_for = pod["metadata"]["deletionTimestamp"]
                .as_str()
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .map(|t| now.as_second() - t.as_second());
            let verdict = filters::verdict(&pod, &self.flags, daemon_set.as_ref(), deleted_for);
            judged.push((pod, verdict));
        }
        Ok(judged)
    }

    fn delete_options(&self) -> Value {
        let mut options = json!({});
        if self.a.grace_period >= 0 {
            options["gracePeriodSeconds"] = json!(self.a.grace_period);
        }
        if self.dry == DryRun::Server {
            options["dryRun"] = json!(["All"]);
        }
        options
    }

    /// Waits until `pod` is gone (or replaced by another of its name), printing
    /// `pod/<name> <verb>` then.
    async fn wait_gone(&self, pod: &Value, verb: &str) -> Result<(), String> {
        let (ns, name) = (
            pod["metadata"]["namespace"].as_str().unwrap_or_default(),
            name_of(pod),
        );
        let uid = &pod["metadata"]["uid"];
        loop {
            match self
                .s
                .get(&format!("/api/v1/namespaces/{ns}/pods/{name}"))
                .await
            {
                Err(e) if is_reason(&e, "NotFound") => {
                    println!("pod/{name} {verb}");
                    return Ok(());
                }
                Ok(p) if p["metadata"]["uid"] != *uid => {
                    println!("pod/{name} {verb}");
                    return Ok(());
                }
                Err(e) => {
                    println!("pod/{name} {verb} failed");
                    return Err(format!(
                        "error when waiting for pod {name:?} in namespace {ns:?} to terminate: {}",
                        text(&e)
                    ));
                }
                Ok(p) => {
                    let skip = self.flags.skip_wait_for_delete_seconds;
                    let old = p["metadata"]["deletionTimestamp"]
                        .as_str()
                        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                        .is_some_and(|t| jiff::Timestamp::now().as_second() - t.as_second() > skip);
                    if skip > 0 && old {
                        println!(
                            "pod {name:?} has DeletionTimestamp older than {skip} seconds, skipping"
                        );
                        return Ok(());
                    }
                }
            }
            if self.timed_out() {
                return Err(format!(
                    "error when waiting for pod {name:?} in namespace {ns:?} to terminate: global timeout reached: {}",
                    self.timeout_text
                ));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// One pod's eviction, retried while a budget refuses, then waited for.
    async fn evict(&self, pod: &Value) -> Result<(), String> {
        let (ns, name) = (
            pod["metadata"]["namespace"].as_str().unwrap_or_default(),
            name_of(pod),
        );
        let eviction = json!({"apiVersion": "policy/v1", "kind": "Eviction",
            "metadata": {"name": name, "namespace": ns},
            "deleteOptions": self.delete_options()});
        let path = format!("/api/v1/namespaces/{ns}/pods/{name}/eviction");
        loop {
            match self.dry {
                DryRun::Server => println!("evicting pod {ns}/{name} (server dry run)"),
                _ => println!("evicting pod {ns}/{name}"),
            }
            if self.timed_out() {
                return Err(format!(
                    "error when evicting pods/{name:?} -n {ns:?}: global timeout reached: {}",
                    self.timeout_text
                ));
            }
            match self.s.post(&path, &eviction).await {
                Ok(_) => break,
                Err(e) if is_reason(&e, "NotFound") => return Ok(()),
                Err(e) if is_reason(&e, "TooManyRequests") => {
                    eprintln!(
                        "error when evicting pods/{name:?} -n {ns:?} (will retry after 5s): {}",
                        text(&e)
                    );
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                Err(e) => {
                    return Err(format!(
                        "error when evicting pods/{name:?} -n {ns:?}: {}",
                        text(&e)
                    ));
                }
            }
        }
        if self.dry == DryRun::Server {
            return Ok(());
        }
        self.wait_gone(pod, "evicted").await
    }

    /// Deletes the pods, then waits for them all (kubectl's deletePods).
    async fn delete(&self, pods: &[Value]) -> Result<(), Failure> {
        let body = self.delete_options().to_string().into_bytes();
        for pod in pods {
            let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
            let path = format!("/api/v1/namespaces/{ns}/pods/{}", name_of(pod));
            let result = send(
                &self.s.client,
                Method::DELETE,
                &path,
                &[],
                Some(("application/json", body.clone())),
            )
            .await;
            match result {
                Err(e) if !is_reason(&e, "NotFound") => {
                    return Err(Failure {
                        errors: vec![text(&e)],
                        aggregate: false,
                    });
                }
                _ => {}
            }
        }
        if self.dry == DryRun::Server {
            return Ok(());
        }
        let waits = pods.iter().map(|p| self.wait_gone(p, "deleted"));
        let errors: Vec<String> = futures::future::join_all(waits)
            .await
            .into_iter()
            .filter_map(Result::err)
            .collect();
        match errors.first() {
            None => Ok(()),
            Some(_) => Err(Failure {
                errors: vec!["timed out waiting for the condition".into()],
                aggregate: false,
            }),
        }
    }

    /// Drains one node (kubectl's deleteOrEvictPodsSimple).
    async fn node(&self, node: &str) -> Result<(), Failure> {
        let judged = self
            .judge(node)
            .await
            .map_err(|e| Failure::of(vec![text(&e)]))?;
        let errors = filters::errors(&judged);
        if !errors.is_empty() {
            return Err(Failure::of(errors));
        }
        let warnings = filters::warnings(&judged);
        if !warnings.is_empty() {
            eprintln!("Warning: {warnings}");
        }
        let pods = filters::to_delete(&judged);
        if self.dry == DryRun::Client {
            for pod in &pods {
                println!("evicting pod {} (dry run)", filters::pod_key(pod));
            }
            return Ok(());
        }
        if pods.is_empty() {
            return Ok(());
        }
        let result = if self.a.disable_eviction {
            self.delete(&pods).await
        } else {
            let errors: Vec<String> = futures::future::join_all(pods.iter().map(|p| self.evict(p)))
                .await
                .into_iter()
                .filter_map(Result::err)
                .collect();
            if errors.is_empty() {
                Ok(())
            } else {
                Err(Failure::of(errors))
            }
        };
        let Err(failure) = result else {
            return Ok(());
        };
        match self.judge(node).await {
            Ok(pending) => {
                let left = filters::to_delete(&pending);
                if !left.is_empty() {
                    eprintln!(
                        "There are pending pods in node {node:?} when an error occurred: {}",
                        failure.message()
                    );
                    for pod in &left {
                        eprintln!("pod/{}", name_of(pod));
                    }
                }
                let errors = filters::errors(&pending);
                if !errors.is_empty() {
                    eprint!(
                        "Following errors occurred while getting the list of pods to delete:\n{}",
                        Failure::of(errors).message()
                    );
                }
            }
            Err(e) => eprint!(
                "Following errors occurred while getting the list of pods to delete:\n{}",
                text(&e)
            ),
        }
        Err(failure)
    }
}

/// kubectl's final words on the nodes left undrained (its CheckErr of the aggregate).
fn final_message(fatal: &[Failure]) -> String {
    match fatal {
        [one] if one.aggregate => one.errors.iter().map(|e| format!("{e}\n")).collect(),
        [one] => {
            let message = one.message();
            match message.strip_prefix("error: ") {
                Some(_) => format!("{message}\n"),
                None => format!("error: {message}\n"),
            }
        }
        many => many.iter().map(|f| format!("{}\n", f.message())).collect(),
    }
}

/// `oc adm drain`.
pub async fn drain(g: &Globals, a: &DrainArgs) -> Result<(), CliError> {
    let dry = DryRun::parse(&a.nodes.dry_run)?;
    let timeout = crate::duration(&a.timeout).map_err(|_| {
        CliError::msg(format!(
            "invalid argument {:?} for \"--timeout\" flag: time: invalid duration {:?}",
            a.timeout, a.timeout
        ))
    })?;
    if let Some(selector) = &a.pod_selector
        && api::selector::LabelSelector::parse(selector).is_err()
    {
        return Err(CliError::msg(
            "--pod-selector=<pod_selector> must be a valid label selector",
        ));
    }
    let s = session_without_retries(&g.kubeconfig()?, &g.overrides).await?;
    let found = nodes(&s, &a.nodes, "drain").await?;
    cordon_all(&s, &found, true, dry).await;
    let drain = Drain {
        s: &s,
        flags: Flags {
            force: a.force,
            ignore_daemon_sets: a.ignore_daemonsets,
            delete_emptydir_data: a.delete_emptydir_data || a.delete_local_data,
            skip_wait_for_delete_seconds: a.skip_wait_for_delete_timeout,
        },
        a,
        dry,
        deadline: (!timeout.is_zero()).then(|| Instant::now() + timeout),
        timeout_text: super::describe::go_duration(timeout.as_nanos() as i64),
    };
    let mut fatal = Vec::new();
    let mut remaining = Vec::new();
    for node in &found {
        let name = name_of(node);
        match drain.node(name).await {
            Ok(()) => println!("node/{name} drained{}", dry.suffix()),
            Err(failure) => {
                eprintln!(
                    "error: unable to drain node {name:?} due to error: {}, continuing command...",
                    failure.message()
                );
                fatal.push(failure);
                remaining.push(name.to_string());
            }
        }
    }
    if remaining.is_empty() {
        return Ok(());
    }
    eprintln!("There are pending nodes to be drained:");
    for name in &remaining {
        eprintln!(" {name}");
    }
    eprint!("{}", final_message(&fatal));
    Err(CliError::Silent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectls_final_words() {
        let one = Failure::of(vec!["cannot delete x: ns/p".into()]);
        assert_eq!(final_message(&[one]), "cannot delete x: ns/p\n");
        let plain = Failure {
            errors: vec!["timed out waiting for the condition".into()],
            aggregate: false,
        };
        assert_eq!(
            final_message(&[plain]),
            "error: timed out waiting for the condition\n"
        );
        let two = Failure::of(vec!["a".into(), "b".into()]);
        assert_eq!(two.message(), "[a, b]");
        let other = Failure::of(vec!["c".into()]);
        assert_eq!(final_message(&[two, other]), "[a, b]\nc\n");
    }
}
