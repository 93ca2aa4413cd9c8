//! Volumes that are directories of the node itself: `hostPath`, `local`, and claims (a
//! claim → its bound PersistentVolume → that volume's `hostPath` or `local` path). The pod's
//! volume directory becomes a link to the host's directory, so the data outlives the pod;
//! `mounts` resolves the link (and a `subPath` within it, never outside). Claims on `local`
//! volumes and on the local provisioner's are given to the pod's fsGroup, as the kubelet's
//! local plugin and CSI drivers with an fsGroup policy do; plain `hostPath` ones are not.

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{
    HostPathVolumeSource, PersistentVolume, PersistentVolumeClaim, Volume,
};
use kube::api::Api;

use super::env::{ConfigError, Lookup};

/// What a host volume is on the node: its path and the `hostPath` type to check it against.
struct HostPath {
    path: PathBuf,
    kind: String,
    read_only: bool,
    /// Whether the pod's fsGroup owns it.
    owned: bool,
}

/// A host volume as the pod's volume directory links it.
pub struct Linked {
    /// The host directory behind the link (links resolved).
    pub path: PathBuf,
    /// Whether the pod's fsGroup is to own it.
    pub owned: bool,
}

fn of_source(
    host: Option<&HostPathVolumeSource>,
    local: Option<&str>,
) -> Option<(PathBuf, String)> {
    if let Some(h) = host {
        return Some((PathBuf::from(&h.path), h.type_.clone().unwrap_or_default()));
    }
    local.map(|p| (PathBuf::from(p), "Directory".to_string()))
}

/// Whether the pod's fsGroup owns a claim's volume: `local` volumes and the local
/// provisioner's (a driver that manages ownership), not plain `hostPath` ones.
fn fs_group_managed(volume: &PersistentVolume) -> bool {
    use controllers::persistent_volume::annotations::{LOCAL_PROVISIONER, PROVISIONED_BY};
    let provisioned = volume
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(PROVISIONED_BY))
        .is_some_and(|p| p == LOCAL_PROVISIONER);
    provisioned || volume.spec.as_ref().is_some_and(|s| s.local.is_some())
}

/// The host path behind a claim (and whether the pod's fsGroup owns it): the claim must be
/// bound, its volume must name it back.
async fn claim_path(
    lookup: &Lookup,
    claim_name: &str,
) -> Result<(PathBuf, String, bool), ConfigError> {
    let (client, namespace) = lookup.client();
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let missing = |e: kube::Error| ConfigError(controllers::logs::describe(&e));
    let claim = claims
        .get_opt(claim_name)
        .await
        .map_err(missing)?
        .ok_or_else(|| ConfigError(format!("persistentvolumeclaim \"{claim_name}\" not found")))?;
    let volume_name = claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.clone())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ConfigError(format!(
                "persistentvolumeclaim \"{claim_name}\" is not bound"
            ))
        })?;
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    let volume = volumes
        .get_opt(&volume_name)
        .await
        .map_err(missing)?
        .ok_or_else(|| ConfigError(format!("persistentvolume \"{volume_name}\" not found")))?;
    let managed = fs_group_managed(&volume);
    let spec = volume.spec.unwrap_or_default();
    let names_claim = spec.claim_ref.as_ref().is_some_and(|r| {
        r.name.as_deref() == Some(claim_name) && r.namespace.as_deref() == Some(namespace)
    });
    if !names_claim {
        return Err(ConfigError(format!(
            "persistentvolume \"{volume_name}\" is not bound to claim \"{claim_name}\""
        )));
    }
    of_source(
        spec.host_path.as_ref(),
        spec.local.as_ref().map(|l| l.path.as_str()),
    )
    .map(|(path, kind)| (path, kind, managed))
    .ok_or_else(|| {
        ConfigError(format!(
            "persistentvolume \"{volume_name}\" is of a kind this node does not mount"
        ))
    })
}

async fn host_path(volume: &Volume, lookup: &Lookup) -> Result<Option<HostPath>, ConfigError> {
    if let Some(h) = &volume.host_path {
        let (path, kind) = of_source(Some(h), None).unwrap_or_default();
        return Ok(Some(HostPath {
            path,
            kind,
            read_only: false,
            owned: false,
        }));
    }
    let Some(claim) = &volume.persistent_volume_claim else {
        return Ok(None);
    };
    let (path, kind, managed) = claim_path(lookup, &claim.claim_name).await?;
    let read_only = claim.read_only.unwrap_or(false);
    Ok(Some(HostPath {
        path,
        kind,
        read_only,
        // As the local plugin: a read-only mount's ownership is left alone.
        owned: managed && !read_only,
    }))
}

/// Checks (or makes) the host path as its `hostPath` type says, as the kubelet does.
fn check_type(path: &Path, kind: &str) -> Result<(), ConfigError> {
    let io = |e: std::io::Error| ConfigError(format!("{}: {e}", path.display()));
    let meta = std::fs::metadata(path);
    let bad = |what: &str| {
        ConfigError(format!(
            "hostPath type check failed: {} is not a {what}",
            path.display()
        ))
    };
    match kind {
        "DirectoryOrCreate" if meta.is_err() => {
            std::fs::create_dir_all(path).map_err(io)?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(io)
        }
        "FileOrCreate" if meta.is_err() => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
            std::fs::File::create(path).map(drop).map_err(io)
        }
        "Directory" | "DirectoryOrCreate" => match meta {
            Ok(m) if m.is_dir() => Ok(()),
            _ => Err(bad("directory")),
        },
        "File" | "FileOrCreate" => match meta {
            Ok(m) if m.is_file() => Ok(()),
            _ => Err(bad("file")),
        },
        _ => Ok(()),
    }
}

/// Links the pod's volume directory `dir` to the host path of `volume`, if it is a host
/// volume (`Ok(None)` when it is not). A link marks a read-only claim by its name's suffix.
pub async fn prepare(
    volume: &Volume,
    dir: &Path,
    lookup: &Lookup,
) -> Result<Option<Linked>, ConfigError> {
    let Some(host) = host_path(volume, lookup).await? else {
        return Ok(None);
    };
    if !host.path.is_absolute() {
        return Err(ConfigError(format!(
            "hostPath {} is not absolute",
            host.path.display()
        )));
    }
    check_type(&host.path, &host.kind)?;
    let io = |e: std::io::Error| ConfigError(format!("{}: {e}", dir.display()));
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    // A link left by an earlier start is replaced (the claim may name another path now).
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => std::fs::remove_file(dir).map_err(io)?,
        Ok(_) => std::fs::remove_dir_all(dir).map_err(io)?,
        Err(_) => {}
    }
    std::os::unix::fs::symlink(&host.path, dir).map_err(io)?;
    let marker = read_only_marker(dir);
    match host.read_only {
        true => std::fs::write(&marker, b"").map_err(io)?,
        false => drop(std::fs::remove_file(&marker)),
    }
    let path = std::fs::canonicalize(&host.path).map_err(io)?;
    Ok(Some(Linked {
        path,
        owned: host.owned,
    }))
}

/// The file beside a volume's link that says the volume mounts read-only.
fn read_only_marker(dir: &Path) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(".read-only");
    dir.with_file_name(name)
}

/// Whether the pod's volume at `dir` mounts read-only whatever its mounts say.
pub fn is_read_only(dir: &Path) -> bool {
    read_only_marker(dir).exists()
}

/// The host directory a mount of volume `dir` binds, with `sub_path` inside it: links are
/// resolved, and a sub path that leads outside the volume is refused.
pub fn resolve(dir: &Path, sub_path: Option<&str>) -> Result<PathBuf, ConfigError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e: std::io::Error| ConfigError(format!("{}: {e}", p.display()))
    };
    let root = std::fs::canonicalize(dir).map_err(io(dir))?;
    let Some(sub) = sub_path.filter(|s| !s.is_empty()) else {
        return Ok(root);
    };
    if sub.starts_with('/') || sub.split('/').any(|p| p == "..") {
        return Err(ConfigError(format!("invalid subPath {sub:?}")));
    }
    let wanted = root.join(sub);
    if std::fs::symlink_metadata(&wanted).is_err() {
        std::fs::create_dir_all(&wanted).map_err(io(&wanted))?;
    }
    let resolved = std::fs::canonicalize(&wanted).map_err(io(&wanted))?;
    if !resolved.starts_with(&root) {
        return Err(ConfigError(format!(
            "subPath {sub:?} leads outside the volume"
        )));
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_paths_stay_inside_their_volume() {
        let base = std::env::temp_dir().join(format!("host-volumes-{}", std::process::id()));
        let data = base.join("data");
        let outside = base.join("outside");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        let link = base.join("pod").join("volumes").join("v");
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&data, &link).unwrap();
        let data = std::fs::canonicalize(&data).unwrap();
        assert_eq!(resolve(&link, None).unwrap(), data);
        assert_eq!(resolve(&link, Some("a/b")).unwrap(), data.join("a/b"));
        std::os::unix::fs::symlink(&outside, data.join("escape")).unwrap();
        assert!(
            resolve(&link, Some("escape"))
                .unwrap_err()
                .0
                .contains("outside")
        );
        assert!(resolve(&link, Some("../outside")).is_err());
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn host_path_types_are_checked_or_made() {
        let base = std::env::temp_dir().join(format!("host-types-{}", std::process::id()));
        let made = base.join("made");
        check_type(&made, "DirectoryOrCreate").unwrap();
        assert!(made.is_dir());
        assert!(check_type(&base.join("absent"), "Directory").is_err());
        check_type(&base.join("f"), "FileOrCreate").unwrap();
        assert!(check_type(&base.join("f"), "Directory").is_err());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
