//! One SCC applied to one pod, as upstream's provider: first the SCC's defaults are filled
//! into what the pod leaves unset (user, SELinux level, fsGroup, groups, capabilities,
//! seccomp, privilege escalation, read-only root), then the result is checked against every
//! rule of the SCC. Errors are upstream's field errors, paths as 4.x prints them
//! (`.containers[0].runAsUser`, `.spec.securityContext.hostNetwork`).

use std::borrow::Cow;
use std::fmt::Display;

use api::field::{Field, field_mut, object_field_mut, set_field};
use serde_json::{Value, json};

use super::namespace::{Allocation, MCS, UID_RANGE};
use crate::registry::security::model::{IdRange, Scc};

/// The values an SCC resolves to in one namespace.
pub struct Provider<'a> {
    scc: &'a Scc,
    uids: Option<IdRange>,
    fs_groups: Vec<IdRange>,
    supplemental: Vec<IdRange>,
    level: Option<String>,
}

impl<'a> Provider<'a> {
    /// Resolves the SCC's strategies against the namespace's allocation; the error says which
    /// allocation is missing (the SCC then cannot admit pods of that namespace).
    pub fn new(scc: &'a Scc, ns: &Allocation) -> Result<Provider<'a>, String> {
        let missing = |key: &str| format!("unable to find annotation {key}");
        let uids = match scc.run_as_user.kind.as_str() {
            "MustRunAs" => scc
                .run_as_user
                .uid
                .map(|uid| IdRange { min: uid, max: uid }),
            "MustRunAsRange" => {
                match (scc.run_as_user.uid_range_min, scc.run_as_user.uid_range_max) {
                    (Some(min), Some(max)) => Some(IdRange { min, max }),
                    _ => Some(ns.uids.ok_or_else(|| missing(UID_RANGE))?),
                }
            }
            _ => None,
        };
        let groups = |kind: &str, ranges: &Option<Vec<IdRange>>| -> Result<Vec<IdRange>, String> {
            match (kind, ranges) {
                ("MustRunAs", Some(r)) if !r.is_empty() => Ok(r.clone()),
                ("MustRunAs", _) => ns
                    .groups
                    .clone()
                    .ok_or_else(|| missing(super::namespace::SUPPLEMENTAL_GROUPS)),
                _ => Ok(Vec::new()),
            }
        };
        let fs_groups = groups(&scc.fs_group.kind, &scc.fs_group.ranges)?;
        let supplemental = groups(
            &scc.supplemental_groups.kind,
            &scc.supplemental_groups.ranges,
        )?;
        let level = match scc.se_linux_context.kind.as_str() {
            "MustRunAs" => match scc
                .se_linux_context
                .options
                .as_ref()
                .and_then(|o| o["level"].as_str())
            {
                Some(level) if !level.is_empty() => Some(level.to_string()),
                _ => Some(ns.mcs.clone().ok_or_else(|| missing(MCS))?),
            },
            _ => None,
        };
        Ok(Provider {
            scc,
            uids,
            fs_groups,
            supplemental,
            level,
        })
    }

    /// The pod with the SCC's defaults filled in. Fields are found by scanning names
    /// (`api::field`): hashing each key cost more than the defaults themselves.
    pub fn apply_defaults(&self, pod: &mut Value) {
        let Some(spec) = field_mut(pod, "spec") else {
            return;
        };
        let Some(pod_sc) = object_field_mut(spec, "securityContext") else {
            return;
        };
        if let Some(first) = self.fs_groups.first()
            && pod_sc.field("fsGroup").is_null()
        {
            set_field(pod_sc, "fsGroup", json!(first.min));
        }
        if let Some(first) = self.supplemental.first()
            && pod_sc
                .field("supplementalGroups")
                .as_array()
                .is_none_or(Vec::is_empty)
        {
            set_field(pod_sc, "supplementalGroups", json!([first.min]));
        }
        if let Some(level) = &self.level
            && pod_sc.field("seLinuxOptions").field("level").is_null()
            && let Some(options) = object_field_mut(pod_sc, "seLinuxOptions")
        {
            set_field(options, "level", json!(level));
        }
        if pod_sc.field("seccompProfile").is_null()
            && let Some(first) = self
                .scc
                .seccomp_profiles
                .iter()
                .flatten()
                .find(|p| *p != "*")
            && let Some(profile) = profile_of(first)
        {
            set_field(pod_sc, "seccompProfile", profile);
        }
        let pod_user = pod_sc.field("runAsUser").as_i64();
        let pod_non_root = pod_sc.field("runAsNonRoot").as_bool();
        let Some(spec) = spec.as_object_mut() else {
            return;
        };
        for (list, containers) in spec.iter_mut() {
            if !DEFAULTED_LISTS.contains(&list.as_str()) {
                continue;
            }
            for c in containers.as_array_mut().into_iter().flatten() {
                self.default_container(c, pod_user, pod_non_root);
            }
        }
    }

    fn default_container(&self, c: &mut Value, pod_user: Option<i64>, pod_non_root: Option<bool>) {
        let Some(sc) = object_field_mut(c, "securityContext") else {
            return;
        };
        let user_set = sc.field("runAsUser").is_i64() || pod_user.is_some();
        let non_root_set = sc.field("runAsNonRoot").is_boolean() || pod_non_root.is_some();
        match (self.scc.run_as_user.kind.as_str(), self.uids) {
            (_, Some(range)) if !user_set => {
                set_field(sc, "runAsUser", json!(range.min));
                if range.min > 0 && !non_root_set {
                    set_field(sc, "runAsNonRoot", json!(true));
                }
            }
            ("MustRunAsNonRoot", _) if !user_set && !non_root_set => {
                set_field(sc, "runAsNonRoot", json!(true));
            }
            _ => {}
        }
        if sc.field("allowPrivilegeEscalation").is_null() {
            match (
                self.scc.default_allow_privilege_escalation,
                self.scc.allow_privilege_escalation,
            ) {
                (Some(default), _) => set_field(sc, "allowPrivilegeEscalation", json!(default)),
                (None, Some(false)) => set_field(sc, "allowPrivilegeEscalation", json!(false)),
                _ => {}
            }
        }
        if self.scc.read_only_root_filesystem && sc.field("readOnlyRootFilesystem").is_null() {
            set_field(sc, "readOnlyRootFilesystem", json!(true));
        }
        let drops = self.scc.required_drop_capabilities.as_deref();
        let adds = self.scc.default_add_capabilities.as_deref();
        let (drops, adds) = (drops.unwrap_or_default(), adds.unwrap_or_default());
        if drops.is_empty() && adds.is_empty() {
            return;
        }
        let capabilities = sc.field("capabilities");
        let dropped: Vec<String> = strings(capabilities.field("drop"));
        let mut add: Vec<String> = strings(capabilities.field("add"));
        for cap in adds {
            if !add.contains(cap) && !dropped.contains(cap) {
                add.push(cap.clone());
            }
        }
        let mut drop = dropped;
        if !drop.iter().any(|d| d.eq_ignore_ascii_case("ALL")) {
            for cap in drops {
                if !drop.contains(cap) {
                    drop.push(cap.clone());
                }
            }
        }
        if add.is_empty() && drop.is_empty() {
            return;
        }
        let Some(capabilities) = object_field_mut(sc, "capabilities") else {
            return;
        };
        if !add.is_empty() {
            set_field(capabilities, "add", json!(add));
        }
        if !drop.is_empty() {
            set_field(capabilities, "drop", json!(drop));
        }
    }

    /// Everything the pod does that the SCC does not allow.
    pub fn validate(&self, pod: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        let spec = pod.field("spec");
        let sc = spec.field("securityContext");
        let host = [
            ("hostNetwork", self.scc.allow_host_network, "Host network"),
            ("hostPID", self.scc.allow_host_pid, "Host PID"),
            ("hostIPC", self.scc.allow_host_ipc, "Host IPC"),
        ];
        for (field, allowed, what) in host {
            if spec.field(field) == true && !allowed {
                errors.push(format!(
                    ".spec.securityContext.{field}: Invalid value: true: {what} is not allowed to be used"
                ));
            }
        }
        if let Some(group) = sc.field("fsGroup").as_i64()
            && self.scc.fs_group.kind == "MustRunAs"
            && !within(&self.fs_groups, group)
        {
            errors.push(format!(
                ".spec.securityContext.fsGroup: Invalid value: []int64{{{group}}}: {group} is not an allowed group"
            ));
        }
        if self.scc.supplemental_groups.kind == "MustRunAs" {
            for group in sc
                .field("supplementalGroups")
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_i64)
            {
                if !within(&self.supplemental, group) {
                    errors.push(format!(
                        ".spec.securityContext.supplementalGroups: Invalid value: []int64{{{group}}}: {group} is not an allowed group"
                    ));
                }
            }
        }
        let at = ".spec.securityContext";
        self.check_level(sc.field("seLinuxOptions"), &at, &mut errors);
        self.check_seccomp(sc.field("seccompProfile"), &at, &mut errors);
        for (i, volume) in spec
            .field("volumes")
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let kind = volume_kind(volume);
            if !self.scc.allows_volume(kind) {
                errors.push(format!(
                    ".spec.volumes[{i}]: Invalid value: {kind:?}: {kind} volumes are not allowed to be used"
                ));
            }
        }
        let pod_user = sc.field("runAsUser").as_i64();
        let pod_non_root = sc.field("runAsNonRoot").as_bool();
        for list in ["initContainers", "containers"] {
            for (i, c) in spec
                .field(list)
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                let path = ContainerPath { list, index: i };
                self.validate_container(c, &path, pod_user, pod_non_root, &mut errors);
            }
        }
        errors
    }

    fn validate_container(
        &self,
        c: &Value,
        path: &ContainerPath,
        pod_user: Option<i64>,
        pod_non_root: Option<bool>,
        errors: &mut Vec<String>,
    ) {
        let sc = c.field("securityContext");
        if sc.field("privileged") == true && !self.scc.allow_privileged_container {
            errors.push(format!(
                "{path}.privileged: Invalid value: true: Privileged containers are not allowed"
            ));
        }
        let user = sc.field("runAsUser").as_i64().or(pod_user);
        match (self.scc.run_as_user.kind.as_str(), self.uids, user) {
            ("MustRunAsNonRoot", _, Some(0)) => errors.push(format!(
                "{path}.runAsUser: Invalid value: 0: running with the root UID is forbidden"
            )),
            (_, Some(range), Some(uid)) if !within(&[range], uid) => errors.push(format!(
                "{path}.runAsUser: Invalid value: {uid}: must be in the ranges: [{}, {}]",
                range.min, range.max
            )),
            (_, Some(_), None) => errors.push(format!("{path}.runAsUser: Required value: ")),
            _ => {}
        }
        if self.scc.run_as_user.kind == "MustRunAsNonRoot"
            && sc.field("runAsNonRoot").as_bool().or(pod_non_root) == Some(false)
        {
            errors.push(format!(
                "{path}.runAsNonRoot: Invalid value: false: must be true"
            ));
        }
        self.check_level(sc.field("seLinuxOptions"), path, errors);
        self.check_seccomp(sc.field("seccompProfile"), path, errors);
        if self.scc.allow_privilege_escalation == Some(false)
            && sc.field("allowPrivilegeEscalation") != false
        {
            errors.push(format!(
                "{path}.allowPrivilegeEscalation: Invalid value: {}: Allowing privilege escalation for containers is not allowed",
                sc.field("allowPrivilegeEscalation").as_bool().unwrap_or(true)
            ));
        }
        if self.scc.read_only_root_filesystem && sc.field("readOnlyRootFilesystem") != true {
            errors.push(format!(
                "{path}.readOnlyRootFilesystem: Invalid value: false: ReadOnlyRootFilesystem must be set to true"
            ));
        }
        let allowed = self.scc.allowed_capabilities.as_deref().unwrap_or_default();
        let defaults = self.scc.default_add_capabilities.as_deref();
        let defaults = defaults.unwrap_or_default();
        let all = allowed.iter().any(|c| c == "*");
        for cap in strings(sc.field("capabilities").field("add")) {
            if !all && !allowed.contains(&cap) && !defaults.contains(&cap) {
                errors.push(format!(
                    "{path}.capabilities.add: Invalid value: {cap:?}: capability may not be added"
                ));
            }
        }
        let dropped = strings(sc.field("capabilities").field("drop"));
        if !dropped.iter().any(|d| d.eq_ignore_ascii_case("ALL")) {
            for cap in self.scc.required_drop_capabilities.iter().flatten() {
                if !dropped.contains(cap) {
                    errors.push(format!(
                        "{path}.capabilities.drop: Required value: {cap} is required to be dropped but was not found"
                    ));
                }
            }
        }
        if !self.scc.allow_host_ports {
            for port in c.field("ports").as_array().into_iter().flatten() {
                if let Some(p) = port.field("hostPort").as_i64().filter(|p| *p != 0) {
                    errors.push(format!(
                        "{path}.hostPort: Invalid value: {p}: Host port {p} is not allowed to be used. Allowed ports: []"
                    ));
                }
            }
        }
    }

    /// `at`: the security context's path, named only in an error.
    fn check_level(&self, options: &Value, at: &dyn Display, errors: &mut Vec<String>) {
        if let (Some(want), Some(have)) = (&self.level, options.field("level").as_str())
            && want != have
        {
            errors.push(format!(
                "{at}.seLinuxOptions.level: Invalid value: {have:?}: must be {want}"
            ));
        }
    }

    fn check_seccomp(&self, profile: &Value, at: &dyn Display, errors: &mut Vec<String>) {
        let Some(name) = profile_name(profile) else {
            return;
        };
        let allowed = self.scc.seccomp_profiles.as_deref().unwrap_or_default();
        if allowed.iter().any(|p| p == "*" || *p == name) {
            return;
        }
        let detail = match allowed.is_empty() {
            true => "seccomp may not be set".to_string(),
            false => format!(
                "{name} is not an allowed seccomp profile. Valid values are {}",
                allowed.join(", ")
            ),
        };
        errors.push(format!("{at}.seccompProfile: Forbidden: {detail}"));
    }
}

/// `.containers[0]`: a container's path in upstream's errors, made only for an error.
struct ContainerPath {
    list: &'static str,
    index: usize,
}

impl Display for ContainerPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, ".{}[{}]", self.list, self.index)
    }
}

/// The container lists whose containers the SCC's defaults reach.
const DEFAULTED_LISTS: [&str; 2] = ["initContainers", "containers"];

/// What `apply_defaults` may change in a pod: its spec (present or not), the pod's and each
/// container's `securityContext`. Kept before an SCC's defaults are tried and put back when
/// that SCC refuses the pod, so trying SCCs never copies the whole pod.
pub struct Saved {
    spec: bool,
    pod: Option<Value>,
    containers: [Vec<Option<Value>>; 2],
}

impl Saved {
    pub fn of(pod: &Value) -> Saved {
        let spec = pod.field("spec");
        let context = |v: &Value| v.present("securityContext").cloned();
        Saved {
            spec: pod.present("spec").is_some(),
            pod: context(spec),
            containers: DEFAULTED_LISTS.map(|list| {
                spec.field(list)
                    .as_array()
                    .map(|cs| cs.iter().map(context).collect())
                    .unwrap_or_default()
            }),
        }
    }

    /// Puts back what `apply_defaults` changed since the pod was saved.
    pub fn restore(self, pod: &mut Value) {
        let Some(obj) = pod.as_object_mut() else {
            return;
        };
        if !self.spec {
            obj.shift_remove("spec");
            return;
        }
        let Some(spec) = obj.get_mut("spec") else {
            return;
        };
        put_back(spec, self.pod);
        for (list, saved) in DEFAULTED_LISTS.into_iter().zip(self.containers) {
            let containers = spec.get_mut(list).and_then(Value::as_array_mut);
            for (c, context) in containers.into_iter().flatten().zip(saved) {
                put_back(c, context);
            }
        }
    }
}

/// `securityContext` of `obj` as it was (absent: removed).
fn put_back(obj: &mut Value, context: Option<Value>) {
    let Some(obj) = obj.as_object_mut() else {
        return;
    };
    match context {
        Some(v) => {
            obj.insert("securityContext".into(), v);
        }
        None => {
            obj.shift_remove("securityContext");
        }
    }
}

fn within(ranges: &[IdRange], id: i64) -> bool {
    ranges.iter().any(|r| r.min <= id && id <= r.max)
}

fn strings(list: &Value) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// A volume's source type: its one field besides `name`.
fn volume_kind(volume: &Value) -> &str {
    volume
        .as_object()
        .and_then(|m| m.keys().find(|k| *k != "name"))
        .map(String::as_str)
        .unwrap_or("none")
}

/// An SCC's profile name (`runtime/default`, `unconfined`, `localhost/<file>`) as a pod's
/// `seccompProfile`.
fn profile_of(name: &str) -> Option<Value> {
    match name {
        "runtime/default" | "docker/default" => Some(json!({"type": "RuntimeDefault"})),
        "unconfined" => Some(json!({"type": "Unconfined"})),
        other => other
            .strip_prefix("localhost/")
            .map(|file| json!({"type": "Localhost", "localhostProfile": file})),
    }
}

/// A pod's `seccompProfile` by the SCC's names.
fn profile_name(profile: &Value) -> Option<Cow<'_, str>> {
    match profile.field("type").as_str()? {
        "RuntimeDefault" => Some("runtime/default".into()),
        "Unconfined" => Some("unconfined".into()),
        "Localhost" => Some(Cow::Owned(format!(
            "localhost/{}",
            profile
                .field("localhostProfile")
                .as_str()
                .unwrap_or_default()
        ))),
        other => Some(other.into()),
    }
}

#[cfg(test)]
mod tests;
