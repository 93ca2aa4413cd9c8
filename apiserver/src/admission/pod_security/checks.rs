//! The Pod Security Standards' checks, as kube-apiserver's PodSecurity plugin runs them
//! (pod-security-admission 1.32): each check judges a pod's metadata and spec (as JSON) at one
//! policy version and answers with upstream's reason and detail. Baseline checks run at both
//! levels; at `restricted`, a restricted check replaces the baseline check it tightens
//! (capabilities, hostPath volumes, seccomp). Checks run in upstream's order (baseline IDs
//! sorted, then restricted IDs sorted), which is the order of the refusal's reasons.

use std::collections::BTreeSet;

use api::field::{Field, NULL};
use serde_json::Value;

use super::policy::{Level, Version};
use api::pod_security::{DEFAULT_CAPABILITIES, RESTRICTED_ALLOWED_VOLUMES, SELINUX_TYPES};

/// Why a check refused a pod: upstream's `ForbiddenReason` and `ForbiddenDetail`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub reason: &'static str,
    pub detail: String,
}

/// The violations of one evaluation, in the checks' order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdict(pub Vec<Violation>);

impl Verdict {
    pub fn allowed(&self) -> bool {
        self.0.is_empty()
    }

    /// `host namespaces, privileged`: the reasons alone (the namespace dry run's words).
    pub fn reasons(&self) -> String {
        let reasons: Vec<&str> = self.0.iter().map(|v| v.reason).collect();
        reasons.join(", ")
    }

    /// `host namespaces (hostNetwork=true), privileged (...)`: each reason with its detail,
    /// written into one string (every warned-of pod gets these words).
    pub fn details(&self) -> String {
        let len = self.0.iter().map(|v| v.reason.len() + v.detail.len() + 5);
        let mut out = String::with_capacity(len.sum());
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(v.reason);
            if !v.detail.is_empty() {
                out.push_str(" (");
                out.push_str(&v.detail);
                out.push(')');
            }
        }
        out
    }
}

type CheckFn = fn(&Pod<'_>, Version) -> Option<Violation>;

/// One check: its ID, the first policy version it applies to, and the baseline check it
/// replaces at `restricted` (from that version on).
struct Check {
    id: &'static str,
    since: u32,
    replaces: Option<&'static str>,
    run: CheckFn,
}

const BASELINE: &[Check] = &[
    check("appArmorProfile", 0, None, app_armor),
    check("capabilities_baseline", 0, None, capabilities_baseline),
    check("hostNamespaces", 0, None, host_namespaces),
    check("hostPathVolumes", 0, None, host_path_volumes),
    check("hostPorts", 0, None, host_ports),
    check("privileged", 0, None, privileged),
    check("procMount", 0, None, proc_mount),
    check("seLinuxOptions", 0, None, se_linux_options),
    check("seccompProfile_baseline", 0, None, seccomp_baseline),
    check("sysctls", 0, None, sysctls),
    check("windowsHostProcess", 0, None, windows_host_process),
];

const RESTRICTED: &[Check] = &[
    check(
        "allowPrivilegeEscalation",
        8,
        None,
        allow_privilege_escalation,
    ),
    check(
        "capabilities_restricted",
        22,
        Some("capabilities_baseline"),
        capabilities_restricted,
    ),
    check(
        "restrictedVolumes",
        0,
        Some("hostPathVolumes"),
        restricted_volumes,
    ),
    check("runAsNonRoot", 0, None, run_as_non_root),
    check("runAsUser", 23, None, run_as_user),
    check(
        "seccompProfile_restricted",
        19,
        Some("seccompProfile_baseline"),
        seccomp_restricted,
    ),
];

const fn check(
    id: &'static str,
    since: u32,
    replaces: Option<&'static str>,
    run: CheckFn,
) -> Check {
    Check {
        id,
        since,
        replaces,
        run,
    }
}

/// Judges a pod's metadata and spec at `level` and `version`.
pub fn evaluate(level: Level, version: Version, meta: &Value, spec: &Value) -> Verdict {
    if level == Level::Privileged {
        return Verdict::default();
    }
    let applies = |c: &&Check| version.at_least(c.since);
    let restricted: Vec<&Check> = match level {
        Level::Restricted => RESTRICTED.iter().filter(applies).collect(),
        _ => Vec::new(),
    };
    let replaced: Vec<&str> = restricted.iter().filter_map(|c| c.replaces).collect();
    let pod = Pod::of(meta, spec);
    let violations = BASELINE
        .iter()
        .filter(applies)
        .filter(|c| !replaced.contains(&c.id))
        .chain(restricted)
        .filter_map(|c| (c.run)(&pod, version))
        .collect();
    Verdict(violations)
}

/// What the checks read of a pod, found once per evaluation in one pass over the spec's
/// fields: every check visits every container's security context, and several the pod's.
struct Pod<'a> {
    meta: &'a Value,
    /// The pod's `securityContext`.
    context: &'a Value,
    containers: Vec<Container<'a>>,
    volumes: &'a [Value],
    /// `hostNetwork`, `hostPID` and `hostIPC`, in that order.
    host: [&'a Value; 3],
    windows: bool,
}

struct Container<'a> {
    value: &'a Value,
    /// Its `securityContext`.
    context: &'a Value,
}

impl<'a> Container<'a> {
    fn name(&self) -> &'a str {
        name(self.value)
    }
}

/// The names of `Pod::host`'s fields.
const HOST_NAMESPACES: [&str; 3] = ["hostNetwork", "hostPID", "hostIPC"];

impl<'a> Pod<'a> {
    fn of(meta: &'a Value, spec: &'a Value) -> Pod<'a> {
        let mut pod = Pod {
            meta,
            context: &NULL,
            containers: Vec::new(),
            volumes: &[],
            host: [&NULL; 3],
            windows: false,
        };
        let list = |v: &'a Value| v.as_array().map_or(&[][..], Vec::as_slice);
        // Containers as upstream visits them: init, regular, ephemeral.
        let mut lists: [&[Value]; 3] = [&[]; 3];
        for (key, value) in spec.as_object().into_iter().flatten() {
            match key.as_str() {
                "securityContext" => pod.context = value,
                "os" => pod.windows = value.field("name").as_str() == Some("windows"),
                "volumes" => pod.volumes = list(value),
                "hostNetwork" => pod.host[0] = value,
                "hostPID" => pod.host[1] = value,
                "hostIPC" => pod.host[2] = value,
                "initContainers" => lists[0] = list(value),
                "containers" => lists[1] = list(value),
                "ephemeralContainers" => lists[2] = list(value),
                _ => {}
            }
        }
        pod.containers = lists
            .into_iter()
            .flatten()
            .map(|value| Container {
                value,
                context: value.field("securityContext"),
            })
            .collect();
        pod
    }
}

// --- helpers, as upstream's words need them ---

fn pluralize<'a>(singular: &'a str, plural: &'a str, count: usize) -> &'a str {
    if count == 1 { singular } else { plural }
}

/// `"a", "b"`.
fn join_quote<S: AsRef<str>>(items: &[S]) -> String {
    let mut out = String::new();
    push_quoted_list(&mut out, items);
    out
}

fn push_quoted_list<S: AsRef<str>>(out: &mut String, items: &[S]) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_quoted(out, item.as_ref());
    }
}

/// Go's `%q` of a string.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_quoted(&mut out, s);
    out
}

/// Appends Go's `%q` of `s`; names made of printable ASCII (nearly all) need no escaping.
fn push_quoted(out: &mut String, s: &str) {
    let plain = s
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\');
    if plain {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        use std::fmt::Write;
        let _ = write!(out, "{s:?}");
    }
}

/// `before` `container "a"` (or `containers "a", "b"`) `after`, in one string: the words of
/// the violations every pod a namespace warns of gets.
fn containers_in_words<S: AsRef<str>>(before: &str, names: &[S], after: &str) -> String {
    let len: usize = names.iter().map(|n| n.as_ref().len() + 4).sum();
    let mut out = String::with_capacity(before.len() + len + after.len() + 11);
    out.push_str(before);
    out.push_str(pluralize("container", "containers", names.len()));
    out.push(' ');
    push_quoted_list(&mut out, names);
    out.push_str(after);
    out
}

/// `container "a"` or `containers "a", "b"`.
fn containers_named<S: AsRef<str>>(names: &[S]) -> String {
    containers_in_words("", names, "")
}

fn name(container: &Value) -> &str {
    container.field("name").as_str().unwrap_or_default()
}

fn strings(list: &Value) -> Vec<&str> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn sorted(set: BTreeSet<String>) -> Vec<String> {
    set.into_iter().collect()
}

/// `pod and containers "a", "b"`: who set a bad value.
fn setters<S: AsRef<str>>(pod: bool, bad_containers: &[S]) -> Vec<String> {
    let mut setters = Vec::new();
    if pod {
        setters.push("pod".to_string());
    }
    if !bad_containers.is_empty() {
        setters.push(containers_named(bad_containers));
    }
    setters
}

fn violation(reason: &'static str, detail: String) -> Option<Violation> {
    Some(Violation { reason, detail })
}

// --- baseline ---

const APPARMOR_ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

fn app_armor(pod: &Pod<'_>, _: Version) -> Option<Violation> {
    let allowed_type = |p: &Value| {
        matches!(
            p.field("type").as_str(),
            Some("RuntimeDefault" | "Localhost")
        )
    };
    let mut bad_values = BTreeSet::new();
    let profile = pod.context.field("appArmorProfile");
    let pod_bad = profile.is_object() && !allowed_type(profile);
    if pod_bad {
        bad_values.insert(profile_type(profile));
    }
    let mut bad_containers = Vec::new();
    for c in pod.containers.iter() {
        let profile = c.context.field("appArmorProfile");
        if profile.is_object() && !allowed_type(profile) {
            bad_containers.push(c.name());
            bad_values.insert(profile_type(profile));
        }
    }
    let mut setters = setters(pod_bad, &bad_containers);
    let mut bad_values = sorted(bad_values);
    let mut annotations: Vec<String> = pod
        .meta
        .field("annotations")
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.starts_with(APPARMOR_ANNOTATION_PREFIX))
        .filter_map(|(k, v)| {
            let v = v.as_str().unwrap_or_default();
            let allowed = v.is_empty() || v == "runtime/default" || v.starts_with("localhost/");
            (!allowed).then(|| format!("{k}={}", go_quote(v)))
        })
        .collect();
    if !annotations.is_empty() {
        annotations.sort();
        setters.push(pluralize("annotation", "annotations", annotations.len()).to_string());
        bad_values.extend(annotations);
    }
    if setters.is_empty() {
        return None;
    }
    violation(
        pluralize(
            "forbidden AppArmor profile",
            "forbidden AppArmor profiles",
            bad_values.len(),
        ),
        format!(
            "{} must not set AppArmor profile type to {}",
            setters.join(" and "),
            join_quote(&bad_values)
        ),
    )
}

fn capabilities_baseline(pod: &Pod<'_>, _: Version) -> Option<Violation> {
    let mut bad_containers = Vec::new();
    let mut capabilities = BTreeSet::new();
    for c in pod.containers.iter() {
        let added = strings(c.context.field("capabilities").field("add"));
        let bad: Vec<&str> = added
            .into_iter()
            .filter(|cap| !DEFAULT_CAPABILITIES.contains(cap))
            .collect();
        if !bad.is_empty() {
            bad_containers.push(c.name());
            capabilities.extend(bad.into_iter().map(String::from));
        }
    }
    if bad_containers.is_empty() {
        return None;
    }
    violation(
        "non-default capabilities",
        format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_named(&bad_containers),
            join_quote(&sorted(capabilities))
        ),
    )
}

fn host_namespaces(pod: &Pod<'_>, _: Version) -> Option<Violation> {
    let shared: Vec<String> = HOST_NAMESPACES
        .into_iter()
        .zip(pod.host)
        .filter(|(_, value)| **value == true)
        .map(|(field, _)| format!("{field}=true"))
        .collect();
    if shared.is_empty() {
        return None;
    }
    violation("host namespaces", shared.join(", "))
}

fn host_path_volumes(pod: &Pod<'_>, _: Version) -> Option<Violation> {
    let names: Vec<&str> = pod
        .volumes
        .iter()
        .filter(|v| v.field("hostPath").is_object())
        .map(name)
        .collect();
    if names.is_empty() {
        return None;
    }
    violation(
        "hostPath volumes",
        format!(
            "{} {}",
            pluralize("volume", "volumes", names.len()),
            join_quote(&names)
        ),
    )
}

fn host_ports(pod: &Pod<'_>, _: Version) -> Option<Violation> {
    let mut bad_containers = Vec::new();
    let mut ports = BTreeSet::new();
    for c in pod.containers.iter() {
        let used: Vec<i64> = c
            .value
            .field("ports")
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.field("hostPort").as_i64())
            .filter(|p| *p != 0)
            .collect();
        if !used.is_empty() {
            bad_containers.push(c.name());
            ports.extend(used.into_iter().map(|p| p.to_string()));
        }
    }
    if bad_containers.is_empty() {
        return None;
    }
    let ports = sorted(ports);
    violation(
        "hostPort",
        format!(
            "{} {} {} {}",
            containers_named(&bad_containers),
            pluralize("uses", "use", bad_containers.len()),
            pluralize("hostPort", "hostPorts", ports.len()),
            ports.join(", ")
        ),
    )
}

fn privileged(pod: &Pod<'_>, _: Version) -> Option<Violation> {
    let bad: Vec<&str> = pod
        .containers
        .iter()
        .filter(|c| c.context.field("privileged") == true)
        .map(Container::name)
        .collect();
    if bad.is_empty() {
        return None;
    }
    violation(
        "privileged",
        format!(
            "{} must not set securityContext.privileged=true",
            containers_named(&bad)
        ),
    )
}

fn proc_mount(pod: &Pod<'_>, _: Version) -> Option<Violation> {
    let mut bad_containers = Vec::new();
    let mut types = BTreeSet::new();
    for c in pod.containers.iter() {
        if let Some(mount) = c.context.field("procMount").as_str()
            && mount != "Default"
        {
            bad_containers.push(c.name());
            types.insert(mount.to_string());
        }
    }
    if bad_containers.is_empty() {
        return None;
    }
    violation(
        "procMount",
        format!(
            "{} must not set securityContext.procMount to {}",
            containers_named(&bad_containers),
            join_quote(&sorted(types))
        ),
    )
}

fn se_linux_options(pod: &Pod<'_>, _: Version) -> Option<Violation> {
    let mut bad_types = BTreeSet::new();
    let (mut set_user, mut set_role) = (false, false);
    let mut valid = |options: &Value| -> bool {
        if !options.is_object() {
            return true;
        }
        let mut ok = true;
        let kind = options.field("type").as_str().unwrap_or_default();
        if !SELINUX_TYPES.contains(&kind) {
            ok = false;
            bad_types.insert(kind.to_string());
        }
        if !options
            .field("user")
            .as_str()
            .unwrap_or_default()
            .is_empty()
        {
            ok = false;
            set_user = true;
        }
        if !options
            .field("role")
            .as_str()
            .unwrap_or_default()
            .is_empty()
        {
            ok = false;
            set_role = true;
        }
        ok
    };
    let pod_bad = !valid(pod.context.field("seLinuxOptions"));
    let bad_containers: Vec<&str> = pod
        .containers
        .iter()
        .filter(|c| !valid(c.context.field("seLinuxOptions")))
        .map(Container::name)
        .collect();
    let setters = setters(pod_bad, &bad_containers);
    if setters.is_empty() {
        return None;
    }
    // Upstream words user and role only alongside a bad type.
    let mut data = Vec::new();
    if !bad_types.is_empty() {
        let types = sorted(bad_types);
        data.push(format!(
            "{} {}",
            pluralize("type", "types", types.len()),
            join_quote(&types)
        ));
        if set_user {
            data.push("user may not be set".to_string());
        }
        if set_role {
            data.push("role may not be set".to_string());
        }
    }
    violation(
        "seLinuxOptions",
        format!(
            "{} set forbidden securityContext.seLinuxOptions: {}",
            setters.join(" and "),
            data.join("; ")
        ),
    )
}

const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

fn valid_seccomp(profile: &Value) -> bool {
    matches!(
        profile.field("type").as_str(),
        Some("RuntimeDefault" | "Localhost")
    )
}

/// A profile's `type` (AppArmor or seccomp).
fn profile_type(profile: &Value) -> String {
    profile
        .field("type")
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn seccomp_baseline(pod: &Pod<'_>, version: Version) -> Option<Violation> {
    if !version.at_least(19) {
        return seccomp_annotations(pod);
    }
    let mut bad_values = BTreeSet::new();
    let profile = pod.context.field("seccompProfile");
    let pod_bad = profile.is_object() && !valid_seccomp(profile);
    if pod_bad {
        bad_values.insert(profile_type(profile));
    }
    let mut bad_containers = Vec::new();
    for c in pod.containers.iter() {
        let profile = c.context.field("seccompProfile");
        if profile.is_object() && !valid_seccomp(profile) {
            bad_containers.push(c.name());
            bad_values.insert(profile_type(profile));
        }
    }
    let setters = setters(pod_bad, &bad_containers);
    if setters.is_empty() {
        return None;
    }
    violation(
        "seccompProfile",
        format!(
            "{} must not set securityContext.seccompProfile.type to {}",
            setters.join(" and "),
            join_quote(&sorted(bad_values))
        ),
    )
}

/// Before 1.19 seccomp was set by annotations.
fn seccomp_annotations(pod: &Pod<'_>) -> Option<Violation> {
    let valid =
        |v: &str| v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/");
    let annotations = pod.meta.field("annotations");
    let mut forbidden = BTreeSet::new();
    let keys = std::iter::once(SECCOMP_POD_ANNOTATION.to_string()).chain(
        pod.containers
            .iter()
            .map(|c| format!("{SECCOMP_CONTAINER_ANNOTATION_PREFIX}{}", c.name())),
    );
    for key in keys {
        if let Some(v) = annotations.field(&key).as_str()
            && !valid(v)
        {
            forbidden.insert(format!("{key}={}", go_quote(v)));
        }
    }
    if forbidden.is_empty() {
        return None;
    }
    let forbidden = sorted(forbidden);
    violation(
        "seccompProfile",
        format!(
            "forbidden {} {}",
            pluralize("annotation", "annotations", forbidden.len()),
            forbidden.join(", ")
        ),
    )
}

/// The sysctls baseline allows, with the policy version each was allowed from.
const SAFE_SYSCTLS: &[(&str, u32)] = &[
    ("kernel.shm_rmid_forced", 0),
    ("net.ipv4.ip_local_port_range", 0),
    ("net.ipv4.tcp_syncookies", 0),
    ("net.ipv4.ping_group_range", 0),
    ("net.ipv4.ip_unprivileged_port_start", 0),
    ("net.ipv4.ip_local_reserved_ports", 27),
    ("net.ipv4.tcp_keepalive_time", 29),
    ("net.ipv4.tcp_fin_timeout", 29),
    ("net.ipv4.tcp_keepalive_intvl", 29),
    ("net.ipv4.tcp_keepalive_probes", 29),
    ("net.ipv4.tcp_rmem", 32),
    ("net.ipv4.tcp_wmem", 32),
];

fn sysctls(pod: &Pod<'_>, version: Version) -> Option<Violation> {
    let safe = |name: &str| {
        SAFE_SYSCTLS
            .iter()
            .any(|(s, since)| *s == name && version.at_least(*since))
    };
    let forbidden: Vec<&str> = pod
        .context
        .field("sysctls")
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s.field("name").as_str().unwrap_or_default())
        .filter(|n| !safe(n))
        .collect();
    if forbidden.is_empty() {
        return None;
    }
    violation("forbidden sysctls", forbidden.join(", "))
}

fn windows_host_process(pod: &Pod<'_>, _: Version) -> Option<Violation> {
    let host_process = |sc: &Value| sc.field("windowsOptions").field("hostProcess") == true;
    let bad_containers: Vec<&str> = pod
        .containers
        .iter()
        .filter(|c| host_process(c.context))
        .map(Container::name)
        .collect();
    let setters = setters(host_process(pod.context), &bad_containers);
    if setters.is_empty() {
        return None;
    }
    violation(
        "hostProcess",
        format!(
            "{} must not set securityContext.windowsOptions.hostProcess=true",
            setters.join(" and ")
        ),
    )
}

// --- restricted ---

fn allow_privilege_escalation(pod: &Pod<'_>, version: Version) -> Option<Violation> {
    // From 1.25 Windows pods are exempt (the field means nothing there).
    if version.at_least(25) && pod.windows {
        return None;
    }
    let bad: Vec<&str> = pod
        .containers
        .iter()
        .filter(|c| c.context.field("allowPrivilegeEscalation") != false)
        .map(Container::name)
        .collect();
    if bad.is_empty() {
        return None;
    }
    violation(
        "allowPrivilegeEscalation != false",
        containers_in_words(
            "",
            &bad,
            " must set securityContext.allowPrivilegeEscalation=false",
        ),
    )
}

fn capabilities_restricted(pod: &Pod<'_>, version: Version) -> Option<Violation> {
    if version.at_least(25) && pod.windows {
        return None;
    }
    let mut missing_drop_all = Vec::new();
    let mut adding_forbidden = Vec::new();
    let mut forbidden = BTreeSet::new();
    for c in pod.containers.iter() {
        let capabilities = c.context.field("capabilities");
        if !capabilities.is_object() {
            missing_drop_all.push(c.name());
            continue;
        }
        if !strings(capabilities.field("drop")).contains(&"ALL") {
            missing_drop_all.push(c.name());
        }
        let bad: Vec<&str> = strings(capabilities.field("add"))
            .into_iter()
            .filter(|cap| *cap != "NET_BIND_SERVICE")
            .collect();
        if !bad.is_empty() {
            adding_forbidden.push(c.name());
            forbidden.extend(bad.into_iter().map(String::from));
        }
    }
    let mut details = Vec::new();
    if !missing_drop_all.is_empty() {
        details.push(containers_in_words(
            "",
            &missing_drop_all,
            " must set securityContext.capabilities.drop=[\"ALL\"]",
        ));
    }
    if !adding_forbidden.is_empty() {
        details.push(format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_named(&adding_forbidden),
            join_quote(&sorted(forbidden))
        ));
    }
    if details.is_empty() {
        return None;
    }
    violation("unrestricted capabilities", details.join("; "))
}

/// The restricted volume sources, by the names upstream prints.
const RESTRICTED_VOLUMES: &[&str] = &[
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

fn restricted_volumes(pod: &Pod<'_>, _: Version) -> Option<Violation> {
    let mut bad = Vec::new();
    let mut types = BTreeSet::new();
    for volume in pod.volumes.iter() {
        if RESTRICTED_ALLOWED_VOLUMES
            .iter()
            .any(|k| volume.field(k).is_object())
        {
            continue;
        }
        let kind = RESTRICTED_VOLUMES
            .iter()
            .find(|field| volume.field(field).is_object())
            .map_or("unknown", |field| field);
        bad.push(name(volume));
        types.insert(kind.to_string());
    }
    if bad.is_empty() {
        return None;
    }
    let types = sorted(types);
    violation(
        "restricted volume types",
        format!(
            "{} {} {} {} {}",
            pluralize("volume", "volumes", bad.len()),
            join_quote(&bad),
            pluralize("uses", "use", bad.len()),
            pluralize(
                "restricted volume type",
                "restricted volume types",
                types.len()
            ),
            join_quote(&types)
        ),
    )
}

fn run_as_non_root(pod: &Pod<'_>, _: Version) -> Option<Violation> {
    let pod_setting = pod.context.field("runAsNonRoot");
    let pod_false = pod_setting == false;
    let pod_true = pod_setting == true;
    let mut explicitly_bad = Vec::new();
    let mut implicitly_bad = Vec::new();
    for c in pod.containers.iter() {
        match c.context.field("runAsNonRoot").as_bool() {
            Some(false) => explicitly_bad.push(c.name()),
            Some(true) => {}
            None if !pod_true => implicitly_bad.push(c.name()),
            None => {}
        }
    }
    let setters = setters(pod_false, &explicitly_bad);
    if !setters.is_empty() {
        return violation(
            "runAsNonRoot != true",
            format!(
                "{} must not set securityContext.runAsNonRoot=false",
                setters.join(" and ")
            ),
        );
    }
    if implicitly_bad.is_empty() {
        return None;
    }
    violation(
        "runAsNonRoot != true",
        containers_in_words(
            "pod or ",
            &implicitly_bad,
            " must set securityContext.runAsNonRoot=true",
        ),
    )
}

fn run_as_user(pod: &Pod<'_>, _: Version) -> Option<Violation> {
    let root = |sc: &Value| sc.field("runAsUser").as_i64() == Some(0);
    let bad: Vec<&str> = pod
        .containers
        .iter()
        .filter(|c| root(c.context))
        .map(Container::name)
        .collect();
    let setters = setters(root(pod.context), &bad);
    if setters.is_empty() {
        return None;
    }
    violation(
        "runAsUser=0",
        format!("{} must not set runAsUser=0", setters.join(" and ")),
    )
}

fn seccomp_restricted(pod: &Pod<'_>, version: Version) -> Option<Violation> {
    if version.at_least(25) && pod.windows {
        return None;
    }
    let mut bad_values = BTreeSet::new();
    let profile = pod.context.field("seccompProfile");
    let pod_bad = profile.is_object() && !valid_seccomp(profile);
    let pod_set = profile.is_object() && !pod_bad;
    if pod_bad {
        bad_values.insert(profile_type(profile));
    }
    let mut explicitly_bad = Vec::new();
    let mut implicitly_bad = Vec::new();
    for c in pod.containers.iter() {
        let profile = c.context.field("seccompProfile");
        if profile.is_object() {
            if !valid_seccomp(profile) {
                explicitly_bad.push(c.name());
                bad_values.insert(profile_type(profile));
            }
        } else if !pod_set {
            implicitly_bad.push(c.name());
        }
    }
    let setters = setters(pod_bad, &explicitly_bad);
    if !setters.is_empty() {
        return violation(
            "seccompProfile",
            format!(
                "{} must not set securityContext.seccompProfile.type to {}",
                setters.join(" and "),
                join_quote(&sorted(bad_values))
            ),
        );
    }
    if implicitly_bad.is_empty() {
        return None;
    }
    violation(
        "seccompProfile",
        containers_in_words(
            "pod or ",
            &implicitly_bad,
            " must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
        ),
    )
}
