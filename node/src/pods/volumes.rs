//! A pod's volumes as directories under the pod's own directory, bind-mounted into its
//! containers: emptyDir (empty), configMap, secret and downwardAPI (their files, written once
//! when the pod starts), projected (the same sources, and service-account tokens the node
//! requests for the pod and writes again before they expire, `tokens.rs`); hostPath volumes and claims link to the node's own directories
//! (`host_volumes.rs`). Volumes of other kinds fail the container with the kubelet's reason.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{Container, KeyToPath, Pod, Volume};

use super::env::{ConfigError, Lookup, field_value};
use super::tokens;
use crate::runtime::Mount;

/// The directory of volume `name`.
pub fn volume_dir(pod_dir: &Path, name: &str) -> PathBuf {
    pod_dir.join("volumes").join(name)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ConfigError + '_ {
    move |e| ConfigError(format!("{}: {e}", path.display()))
}

/// Writes `files` (relative path → content) into `dir` with `mode`.
fn write_files(dir: &Path, files: &[(String, Vec<u8>, i32)]) -> Result<(), ConfigError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    for (relative, content, mode) in files {
        if relative.split('/').any(|p| p == ".." || p.is_empty()) {
            return Err(ConfigError(format!("invalid path {relative:?}")));
        }
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        // Written beside and renamed over, so that a container reading a file being renewed
        // (a token) sees the old or the new content, never a part.
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let staged = path.with_file_name(format!("..{}.tmp", name.unwrap_or_default()));
        std::fs::write(&staged, content).map_err(io(&staged))?;
        std::fs::set_permissions(
            &staged,
            std::fs::Permissions::from_mode(*mode as u32 & 0o777),
        )
        .map_err(io(&staged))?;
        std::fs::rename(&staged, &path).map_err(io(&path))?;
    }
    Ok(())
}

/// The files of a key → value source: every key, or the listed items.
fn keyed(
    data: BTreeMap<String, Vec<u8>>,
    items: &Option<Vec<KeyToPath>>,
    default_mode: i32,
    what: &str,
) -> Result<Vec<(String, Vec<u8>, i32)>, ConfigError> {
    match items {
        None => Ok(data
            .into_iter()
            .map(|(k, v)| (k, v, default_mode))
            .collect()),
        Some(items) => items
            .iter()
            .map(|item| {
                data.get(&item.key)
                    .map(|v| {
                        (
                            item.path.clone(),
                            v.clone(),
                            item.mode.unwrap_or(default_mode),
                        )
                    })
                    .ok_or_else(|| ConfigError(format!("couldn't find key {} in {what}", item.key)))
            })
            .collect(),
    }
}

async fn config_map_files(
    lookup: &mut Lookup,
    name: &str,
    items: &Option<Vec<KeyToPath>>,
    optional: bool,
    mode: i32,
) -> Result<Vec<(String, Vec<u8>, i32)>, ConfigError> {
    match lookup.config_map(name).await? {
        Some(data) => {
            let data = data.into_iter().map(|(k, v)| (k, v.into_bytes())).collect();
            keyed(data, items, mode, &format!("ConfigMap {name}"))
        }
        None if optional => Ok(Vec::new()),
        None => Err(ConfigError(format!("configmap \"{name}\" not found"))),
    }
}

async fn secret_files(
    lookup: &mut Lookup,
    name: &str,
    items: &Option<Vec<KeyToPath>>,
    optional: bool,
    mode: i32,
) -> Result<Vec<(String, Vec<u8>, i32)>, ConfigError> {
    match lookup.secret(name).await? {
        Some(data) => keyed(data, items, mode, &format!("Secret {name}")),
        None if optional => Ok(Vec::new()),
        None => Err(ConfigError(format!("secret \"{name}\" not found"))),
    }
}

fn downward_files(
    pod: &Pod,
    items: &[k8s_openapi::api::core::v1::DownwardAPIVolumeFile],
    mode: i32,
    pod_ip: &str,
) -> Result<Vec<(String, Vec<u8>, i32)>, ConfigError> {
    let mut files = Vec::new();
    for item in items {
        if let Some(field) = &item.field_ref {
            let value = field_value(pod, &field.field_path, pod_ip)?;
            files.push((
                item.path.clone(),
                value.into_bytes(),
                item.mode.unwrap_or(mode),
            ));
        }
    }
    Ok(files)
}

/// Whether the volume projects a service-account token.
fn has_token(volume: &Volume) -> bool {
    volume.projected.as_ref().is_some_and(|p| {
        p.sources
            .iter()
            .flatten()
            .any(|s| s.service_account_token.is_some())
    })
}

/// What preparing volumes found out: when their tokens are due again (the earliest).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Prepared {
    pub tokens_due: Option<jiff::Timestamp>,
}

impl Prepared {
    fn due(&mut self, at: jiff::Timestamp) {
        self.tokens_due = Some(self.tokens_due.map_or(at, |d| d.min(at)));
    }
}

/// Makes the volume's directory and content. Without `issue_tokens` (simulated pods, which
/// run nothing that could read them), a volume of tokens stays an empty directory.
async fn prepare(
    pod: &Pod,
    volume: &Volume,
    dir: &Path,
    pod_ip: &str,
    lookup: &mut Lookup,
    issue_tokens: bool,
    prepared: &mut Prepared,
) -> Result<(), ConfigError> {
    const MODE: i32 = 0o644;
    let policy = pod
        .spec
        .as_ref()
        .and_then(|s| s.security_context.as_ref())
        .and_then(|c| c.fs_group_change_policy.as_deref());
    if let Some(linked) = super::host_volumes::prepare(volume, dir, lookup).await? {
        return match (linked.owned, super::security::fs_group(pod)) {
            (true, Some(group)) => super::ownership::apply(&linked.path, group, false, policy),
            _ => Ok(()),
        };
    }
    if !issue_tokens && has_token(volume) {
        return std::fs::create_dir_all(dir).map_err(io(dir));
    }
    let files = if volume.empty_dir.is_some() {
        Vec::new()
    } else if let Some(cm) = &volume.config_map {
        let mode = cm.default_mode.unwrap_or(MODE);
        config_map_files(
            lookup,
            &cm.name,
            &cm.items,
            cm.optional.unwrap_or(false),
            mode,
        )
        .await?
    } else if let Some(s) = &volume.secret {
        let mode = s.default_mode.unwrap_or(MODE);
        let name = s.secret_name.clone().unwrap_or_default();
        secret_files(lookup, &name, &s.items, s.optional.unwrap_or(false), mode).await?
    } else if let Some(d) = &volume.downward_api {
        let mode = d.default_mode.unwrap_or(MODE);
        downward_files(pod, d.items.as_deref().unwrap_or_default(), mode, pod_ip)?
    } else if let Some(p) = &volume.projected {
        let mode = p.default_mode.unwrap_or(MODE);
        let mut files = Vec::new();
        for source in p.sources.iter().flatten() {
            if let Some(cm) = &source.config_map {
                let optional = cm.optional.unwrap_or(false);
                files.extend(config_map_files(lookup, &cm.name, &cm.items, optional, mode).await?);
            } else if let Some(s) = &source.secret {
                let optional = s.optional.unwrap_or(false);
                files.extend(secret_files(lookup, &s.name, &s.items, optional, mode).await?);
            } else if let Some(d) = &source.downward_api {
                files.extend(downward_files(
                    pod,
                    d.items.as_deref().unwrap_or_default(),
                    mode,
                    pod_ip,
                )?);
            } else if let Some(t) = &source.service_account_token {
                let (client, _) = lookup.client();
                let issued = tokens::request(client, pod, t).await?;
                prepared.due(issued.refresh_at);
                files.push((t.path.clone(), issued.token.into_bytes(), mode));
            }
            // clusterTrustBundle sources are not served.
        }
        files
    } else {
        return Err(ConfigError(format!(
            "volume {:?} is of a kind this node does not mount",
            volume.name
        )));
    };
    write_files(dir, &files)?;
    if volume.empty_dir.is_some() {
        // Any user the pod runs as may write its scratch space, as the kubelet makes it.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).map_err(io(dir))?;
    }
    // Scratch space is the pod's to write; the files of API objects are read only.
    let read_only = volume.empty_dir.is_none();
    match super::security::fs_group(pod) {
        Some(group) => super::ownership::apply(dir, group, read_only, policy),
        None => Ok(()),
    }
}

/// Makes every volume of the pod under `pod_dir`.
pub async fn prepare_all(
    pod: &Pod,
    pod_dir: &Path,
    pod_ip: &str,
    lookup: &mut Lookup,
    issue_tokens: bool,
) -> Result<Prepared, ConfigError> {
    let mut prepared = Prepared::default();
    for volume in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        let dir = volume_dir(pod_dir, &volume.name);
        prepare(
            pod,
            volume,
            &dir,
            pod_ip,
            lookup,
            issue_tokens,
            &mut prepared,
        )
        .await?;
    }
    Ok(prepared)
}

/// Writes the volumes that project tokens again, with new tokens (and their other sources
/// as they are now, as the kubelet's periodic remount does).
pub async fn renew_tokens(
    pod: &Pod,
    pod_dir: &Path,
    pod_ip: &str,
    lookup: &mut Lookup,
) -> Result<Prepared, ConfigError> {
    let mut prepared = Prepared::default();
    for volume in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        if has_token(volume) {
            let dir = volume_dir(pod_dir, &volume.name);
            prepare(pod, volume, &dir, pod_ip, lookup, true, &mut prepared).await?;
        }
    }
    Ok(prepared)
}

/// The container's bind mounts.
pub fn mounts(pod_dir: &Path, container: &Container) -> Result<Vec<Mount>, ConfigError> {
    let mut out = Vec::new();
    for m in container.volume_mounts.iter().flatten() {
        let dir = volume_dir(pod_dir, &m.name);
        if std::fs::symlink_metadata(&dir).is_err() {
            return Err(ConfigError(format!(
                "volume {:?} of mount {:?} is not defined",
                m.name, m.mount_path
            )));
        }
        let host = super::host_volumes::resolve(&dir, m.sub_path.as_deref())?;
        out.push(Mount {
            host_path: host,
            container_path: m.mount_path.clone(),
            read_only: m.read_only.unwrap_or(false) || super::host_volumes::is_read_only(&dir),
        });
    }
    Ok(out)
}
