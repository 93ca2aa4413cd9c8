//! A pod spec changed by `--add` and `--remove`: volumes and the mounts of the chosen
//! containers (names matched with `*` and `?`).

use serde_json::{Value, json};

use super::VolumeArgs;
use super::plan::{AddPlan, err};
use crate::error::CliError;

/// Where a kind keeps its pod spec (`None`: it has none).
pub(super) fn pod_spec_path(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "Pod" => Some(&["spec"]),
        "CronJob" => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        "Deployment"
        | "DeploymentConfig"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job"
        | "PodTemplate" => Some(&["spec", "template", "spec"]),
        _ => None,
    }
}

pub(super) fn pod_spec_mut<'a>(kind: &str, obj: &'a mut Value) -> Option<&'a mut Value> {
    let path = pod_spec_path(kind)?;
    let path = match kind {
        "PodTemplate" => &path[1..],
        _ => path,
    };
    path.iter()
        .try_fold(obj, |v, k| v.get_mut(*k))
        .filter(|v| v.is_object())
}

/// A shell-style pattern (`*`, `?`) matched against a whole name.
pub(super) fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob(&pattern[1..], name) || (!name.is_empty() && glob(pattern, &name[1..]))
        }
        (Some(b'?'), Some(_)) => glob(&pattern[1..], &name[1..]),
        (Some(p), Some(n)) if p == n => glob(&pattern[1..], &name[1..]),
        _ => false,
    }
}

pub(super) fn selected(pattern: &str, container: &Value) -> bool {
    glob(
        pattern.as_bytes(),
        container["name"].as_str().unwrap_or_default().as_bytes(),
    )
}

/// A path as Go's `path.Clean` gives it.
pub(super) fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => drop(parts.pop()),
            ".." if rooted => {}
            p => parts.push(p),
        }
    }
    match (rooted, parts.join("/")) {
        (true, p) => format!("/{p}"),
        (false, p) if p.is_empty() => ".".into(),
        (false, p) => p,
    }
}

pub(super) fn list_of<'a>(v: &'a mut Value, key: &str) -> &'a mut Vec<Value> {
    if !v[key].is_array() {
        v[key] = json!([]);
    }
    match v[key].as_array_mut() {
        Some(list) => list,
        None => unreachable!("just made an array"),
    }
}

/// The volume mounted at `--mount-path` in the selected containers (`--overwrite` without a
/// name): exactly one container may have it.
pub(super) fn mounted_at(a: &VolumeArgs, spec: &Value) -> Result<String, CliError> {
    let path = clean(&a.mount_path);
    let found: Vec<String> = spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| selected(&a.containers, c))
        .filter_map(|c| {
            c["volumeMounts"]
                .as_array()?
                .iter()
                .find(|m| clean(m["mountPath"].as_str().unwrap_or_default()) == path)
                .and_then(|m| m["name"].as_str().map(String::from))
        })
        .collect();
    match found.as_slice() {
        [] => Err(CliError::msg(format!(
            "unable to find the volume for mount-path: {}",
            a.mount_path
        ))),
        [name] => Ok(name.clone()),
        _ => Err(CliError::msg(format!(
            "found multiple volumes with same mount-path: {}",
            a.mount_path
        ))),
    }
}

/// `--add` applied to a pod spec: the volume (named, replaced with `--overwrite`, or the
/// claim's existing one reused) and its mount in the selected containers. Returns the
/// volume's name and any warning to print.
pub fn add_to_spec(
    a: &VolumeArgs,
    plan: &AddPlan,
    spec: &mut Value,
    what: &str,
) -> Result<(String, Vec<String>), CliError> {
    let mut notes = Vec::new();
    let existing_claim = spec["volumes"].as_array().and_then(|vs| {
        vs.iter()
            .find(|v| {
                !plan.claim_name.is_empty()
                    && v["persistentVolumeClaim"]["claimName"] == plan.claim_name.as_str()
            })
            .and_then(|v| v["name"].as_str().map(String::from))
    });
    let name = match (&a.name, &existing_claim) {
        (n, _) if !n.is_empty() => n.clone(),
        _ if a.overwrite && a.mount_path.is_empty() => {
            return Err(err("ambiguous --overwrite, specify --name or --mount-path"));
        }
        _ if a.overwrite => mounted_at(a, spec)?,
        (_, Some(old)) => old.clone(),
        _ => {
            let generated = format!(
                "volume-{}",
                crate::commands::create_deployment::random_suffix()
            );
            notes.push(format!("info: Generated volume name: {generated}"));
            generated
        }
    };
    let volumes = list_of(spec, "volumes");
    let mut source = None;
    if let Some(i) = volumes.iter().position(|v| v["name"] == name.as_str()) {
        if !a.overwrite && existing_claim.is_none() {
            return Err(CliError::msg(format!(
                "volume '{name}' already exists. Use --overwrite to replace"
            )));
        }
        let old = volumes.remove(i);
        if !plan.type_given {
            source = Some(old);
        }
    } else if a.overwrite {
        notes.push(format!(
            "warning: volume \"{name}\" did not previously exist and was not overwritten. A new volume with this name has been created instead."
        ));
    }
    let volume = match source {
        Some(mut old) => {
            old["name"] = json!(name);
            old
        }
        None => {
            let mode = || {
                let text = match a.default_mode.as_str() {
                    "" => "644",
                    m => m,
                };
                i64::from_str_radix(text, 8).unwrap_or(0o644)
            };
            let mut v = json!({"name": name});
            match plan.kind.as_str() {
                "emptydir" => v["emptyDir"] = json!({}),
                "hostpath" => v["hostPath"] = json!({"path": a.path}),
                "secret" => {
                    v["secret"] = json!({"secretName": a.secret_name, "defaultMode": mode()})
                }
                "configmap" => {
                    v["configMap"] = json!({"name": a.configmap_name, "defaultMode": mode()})
                }
                _ => v["persistentVolumeClaim"] = json!({"claimName": plan.claim_name}),
            }
            v
        }
    };
    volumes.push(volume);
    if !a.mount_path.is_empty() {
        let path = clean(&a.mount_path);
        let containers = list_of(spec, "containers");
        let chosen: Vec<&mut Value> = containers
            .iter_mut()
            .filter(|c| selected(&a.containers, c))
            .collect();
        if chosen.is_empty() && a.containers != "*" {
            notes.push(format!(
                "warning: {what} does not have any containers matching {:?}",
                a.containers
            ));
        }
        for c in chosen {
            let cname = c["name"].as_str().unwrap_or_default().to_string();
            let mounts = list_of(c, "volumeMounts");
            if mounts.iter().any(|m| {
                clean(m["mountPath"].as_str().unwrap_or_default()) == path
                    && m["name"] != name.as_str()
            }) {
                return Err(CliError::msg(format!(
                    "volume mount '{}' already exists for container '{cname}'",
                    a.mount_path
                )));
            }
            if a.overwrite
                && let Some(i) = mounts.iter().position(|m| m["name"] == name.as_str())
            {
                mounts.remove(i);
            }
            let mut mount = json!({"name": name, "mountPath": path});
            if a.read_only {
                mount["readOnly"] = json!(true);
            }
            if !a.sub_path.is_empty() {
                mount["subPath"] = json!(clean(&a.sub_path));
            }
            mounts.push(mount);
        }
    }
    Ok((name, notes))
}

/// `--remove` applied to a pod spec: the named volume's mounts leave the selected containers,
/// and the volume itself goes when no other container mounts it (all of them without a name).
pub fn remove_from_spec(a: &VolumeArgs, spec: &mut Value) -> Result<(), CliError> {
    let containers = list_of(spec, "containers");
    let mut still_used = false;
    for c in containers.iter_mut() {
        let chosen = selected(&a.containers, c);
        let mounts = list_of(c, "volumeMounts");
        match (chosen, a.name.is_empty()) {
            (true, true) => mounts.clear(),
            (true, false) => mounts.retain(|m| m["name"] != a.name.as_str()),
            (false, _) => still_used |= mounts.iter().any(|m| m["name"] == a.name.as_str()),
        }
        if mounts.is_empty()
            && let Some(o) = c.as_object_mut()
        {
            o.remove("volumeMounts");
        }
    }
    let volumes = list_of(spec, "volumes");
    if a.name.is_empty() {
        volumes.clear();
    } else if !still_used {
        let Some(i) = volumes.iter().position(|v| v["name"] == a.name.as_str()) else {
            return Err(CliError::msg(format!("volume '{}' not found", a.name)));
        };
        volumes.remove(i);
    }
    // An empty list is left out, as Go's encoding of the pod spec leaves it.
    if volumes.is_empty()
        && let Some(o) = spec.as_object_mut()
    {
        o.remove("volumes");
    }
    Ok(())
}
