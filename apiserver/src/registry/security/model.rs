//! A SecurityContextConstraints object read leniently into the fields admission and
//! validation use (absent or mistyped fields take their most restrictive value).

use serde::Deserialize;
use serde_json::Value;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Scc {
    pub metadata: Meta,
    pub priority: Option<i32>,
    pub allow_privileged_container: bool,
    pub allow_host_dir_volume_plugin: bool,
    pub allow_host_network: bool,
    pub allow_host_ports: bool,
    #[serde(rename = "allowHostPID")]
    pub allow_host_pid: bool,
    #[serde(rename = "allowHostIPC")]
    pub allow_host_ipc: bool,
    /// Absent: allowed (upstream's nil), as the v1 SCCs leave it.
    pub allow_privilege_escalation: Option<bool>,
    pub default_allow_privilege_escalation: Option<bool>,
    pub read_only_root_filesystem: bool,
    pub allowed_capabilities: Option<Vec<String>>,
    pub default_add_capabilities: Option<Vec<String>>,
    pub required_drop_capabilities: Option<Vec<String>>,
    pub volumes: Option<Vec<String>>,
    pub seccomp_profiles: Option<Vec<String>>,
    pub run_as_user: RunAsUser,
    #[serde(rename = "seLinuxContext")]
    pub se_linux_context: SeLinux,
    pub fs_group: Groups,
    pub supplemental_groups: Groups,
    pub users: Option<Vec<String>>,
    pub groups: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Meta {
    pub name: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RunAsUser {
    #[serde(rename = "type")]
    pub kind: String,
    pub uid: Option<i64>,
    pub uid_range_min: Option<i64>,
    pub uid_range_max: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SeLinux {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(rename = "seLinuxOptions")]
    pub options: Option<Value>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Groups {
    #[serde(rename = "type")]
    pub kind: String,
    pub ranges: Option<Vec<IdRange>>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct IdRange {
    pub min: i64,
    pub max: i64,
}

impl Scc {
    /// Reads an SCC; None when the object is not one (a wrong type somewhere in it).
    pub fn from_value(obj: &Value) -> Option<Scc> {
        Scc::deserialize(obj).ok()
    }

    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// The volume types allowed: `*` for all; `hostPath` only with the host-dir plugin.
    pub fn allows_volume(&self, kind: &str) -> bool {
        if kind == "hostPath" && !self.allow_host_dir_volume_plugin {
            return false;
        }
        self.volumes
            .iter()
            .flatten()
            .any(|v| v == "*" || v == kind || (v == "hostPath" && kind == "hostPath"))
    }
}

/// The strategy types each strategy accepts.
pub const RUN_AS_USER_TYPES: &[&str] = &[
    "MustRunAs",
    "MustRunAsNonRoot",
    "MustRunAsRange",
    "RunAsAny",
];
pub const SE_LINUX_TYPES: &[&str] = &["MustRunAs", "RunAsAny"];
pub const GROUP_TYPES: &[&str] = &["MustRunAs", "RunAsAny"];
