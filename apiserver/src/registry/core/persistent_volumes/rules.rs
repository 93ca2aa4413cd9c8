//! Upstream's rules for PersistentVolumes and PersistentVolumeClaims
//! (`ValidatePersistentVolume`, `ValidatePersistentVolumeClaim` and their updates), with their
//! field paths and messages.

use serde_json::Value;

use crate::registry::validation::{Bad, FieldErrors, bad};

/// Access modes, sorted as upstream lists them in its messages.
pub const ACCESS_MODES: &[&str] = &[
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];
const VOLUME_MODES: &[&str] = &["Block", "Filesystem"];
const RECLAIM_POLICIES: &[&str] = &["Delete", "Recycle", "Retain"];
const HOST_PATH_TYPES: &[&str] = &[
    "",
    "BlockDevice",
    "CharDevice",
    "Directory",
    "DirectoryOrCreate",
    "File",
    "FileOrCreate",
    "Socket",
];

/// A volume's sources in the order upstream checks them (the second one found is refused).
const SOURCES: &[&str] = &[
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "glusterfs",
    "flocker",
    "nfs",
    "rbd",
    "quobyte",
    "cephfs",
    "iscsi",
    "cinder",
    "fc",
    "flexVolume",
    "azureFile",
    "vsphereVolume",
    "photonPersistentDisk",
    "portworxVolume",
    "azureDisk",
    "scaleIO",
    "local",
    "storageos",
    "csi",
];

/// The sources a volume names (in upstream's order).
pub fn sources(spec: &Value) -> Vec<&'static str> {
    SOURCES
        .iter()
        .copied()
        .filter(|s| spec.get(*s).is_some_and(|v| !v.is_null()))
        .collect()
}

fn access_modes(spec: &Value, path: &str, required: &str, errors: &mut FieldErrors) {
    let field = format!("{path}.accessModes");
    let modes: Vec<&str> = spec["accessModes"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if modes.is_empty() {
        errors.required(&field, required);
    }
    let (mut once_pod, mut other) = (false, false);
    for mode in modes {
        if !ACCESS_MODES.contains(&mode) {
            errors.not_supported(&field, Bad::Str(mode), ACCESS_MODES);
        } else if mode == "ReadWriteOncePod" {
            once_pod = true;
        } else {
            other = true;
        }
    }
    if once_pod && other {
        errors.forbidden(
            &field,
            "may not use ReadWriteOncePod with other access modes",
        );
    }
}

fn volume_mode(spec: &Value, path: &str, errors: &mut FieldErrors) {
    if let Some(mode) = spec["volumeMode"].as_str()
        && !VOLUME_MODES.contains(&mode)
    {
        errors.not_supported(&format!("{path}.volumeMode"), Bad::Str(mode), VOLUME_MODES);
    }
}

fn class_name(spec: &Value, path: &str, errors: &mut FieldErrors) {
    let Some(class) = spec["storageClassName"].as_str().filter(|c| !c.is_empty()) else {
        return;
    };
    for message in api::names::dns1123_subdomain(class) {
        errors.invalid(
            &format!("{path}.storageClassName"),
            Bad::Str(class),
            &message,
        );
    }
}

/// A positive size at `field` (upstream's `ValidatePositiveQuantityValue`).
fn positive(size: &Value, field: &str, errors: &mut FieldErrors) {
    let text = size.as_str().unwrap_or_default();
    if api::quantity::value(text).is_some_and(|v| v <= 0.0) {
        errors.invalid(field, Bad::Str(text), "must be greater than zero");
    }
}

fn no_backsteps(path: &Value, field: &str, errors: &mut FieldErrors) {
    let text = path.as_str().unwrap_or_default();
    if text.split('/').any(|p| p == "..") {
        errors.invalid(field, Bad::Str(text), "must not contain '..'");
    }
}

fn local_paths(spec: &Value, path: &str, errors: &mut FieldErrors) {
    for source in ["hostPath", "local"] {
        let src = &spec[source];
        if src.is_null() {
            continue;
        }
        let field = format!("{path}.{source}.path");
        if src["path"].as_str().unwrap_or_default().is_empty() {
            errors.required(&field, "");
        } else {
            no_backsteps(&src["path"], &field, errors);
        }
        if source == "hostPath"
            && let Some(t) = src["type"].as_str()
            && !HOST_PATH_TYPES.contains(&t)
        {
            errors.not_supported(
                &format!("{path}.hostPath.type"),
                Bad::Str(t),
                HOST_PATH_TYPES,
            );
        }
    }
    let affinity = &spec["nodeAffinity"]["required"]["nodeSelectorTerms"];
    let has_affinity = affinity.as_array().is_some_and(|t| !t.is_empty());
    if !spec["local"].is_null() && !has_affinity {
        errors.required(
            &format!("{path}.nodeAffinity"),
            "Local volume requires node affinity",
        );
    }
}

/// `ValidatePersistentVolume`.
pub fn volume(obj: &Value, errors: &mut FieldErrors) {
    let spec = &obj["spec"];
    access_modes(spec, "spec", "", errors);
    match spec["capacity"].as_object() {
        None => errors.required("spec.capacity", ""),
        Some(capacity) if capacity.is_empty() => errors.required("spec.capacity", ""),
        Some(_) => {}
    }
    if let Some(capacity) = spec["capacity"].as_object() {
        if !capacity.contains_key("storage") || capacity.len() > 1 {
            errors.not_supported("spec.capacity", bad(&spec["capacity"]), &["storage"]);
        }
        for (name, size) in capacity {
            positive(size, &format!("spec.capacity[{name}]"), errors);
        }
    }
    if let Some(policy) = spec["persistentVolumeReclaimPolicy"].as_str()
        && !RECLAIM_POLICIES.contains(&policy)
    {
        errors.not_supported(
            "spec.persistentVolumeReclaimPolicy",
            Bad::Str(policy),
            RECLAIM_POLICIES,
        );
    }
    class_name(spec, "spec", errors);
    volume_mode(spec, "spec", errors);
    let found = sources(spec);
    for extra in found.iter().skip(1) {
        errors.forbidden(
            &format!("spec.{extra}"),
            "may not specify more than 1 volume type",
        );
    }
    if found.is_empty() {
        errors.required("spec", "must specify a volume type");
    }
    local_paths(spec, "spec", errors);
    let root = spec["hostPath"]["path"]
        .as_str()
        .is_some_and(|p| p.trim_end_matches('/').is_empty() && !p.is_empty());
    if root && spec["persistentVolumeReclaimPolicy"] == "Recycle" {
        errors.forbidden(
            "spec.persistentVolumeReclaimPolicy",
            "may not be 'recycle' for a hostPath mount of '/'",
        );
    }
}

/// `ValidatePersistentVolumeUpdate`: the source and volume mode never change; node affinity
/// may only be set once.
pub fn volume_update(obj: &Value, old: &Value, errors: &mut FieldErrors) {
    let (spec, before) = (&obj["spec"], &old["spec"]);
    let changed_source = SOURCES.iter().any(|s| spec.get(*s) != before.get(*s));
    if changed_source {
        errors.forbidden(
            "spec.persistentvolumesource",
            "spec.persistentvolumesource is immutable after creation",
        );
    }
    immutable(spec, before, "volumeMode", "volumeMode", errors);
    if !before["nodeAffinity"].is_null() && spec["nodeAffinity"] != before["nodeAffinity"] {
        errors.invalid(
            "nodeAffinity.required.nodeSelectorTerms",
            bad(&spec["nodeAffinity"]["required"]["nodeSelectorTerms"]),
            "field is immutable",
        );
    }
}

fn immutable(spec: &Value, before: &Value, key: &str, field: &str, errors: &mut FieldErrors) {
    if spec.get(key) != before.get(key) {
        errors.invalid(field, bad(&spec[key]), "field is immutable");
    }
}

/// `ValidatePersistentVolumeClaimSpec` (and the selector's labels).
pub fn claim(obj: &Value, errors: &mut FieldErrors) {
    let spec = &obj["spec"];
    access_modes(spec, "spec", "at least 1 access mode is required", errors);
    let storage = &spec["resources"]["requests"]["storage"];
    if storage.is_null() {
        errors.required("spec.resources[storage]", "");
    } else {
        positive(storage, "spec.resources[storage]", errors);
    }
    class_name(spec, "spec", errors);
    volume_mode(spec, "spec", errors);
}

/// The requested size of a claim, in bytes.
pub fn requested(claim: &Value) -> Option<f64> {
    api::quantity::value(claim["spec"]["resources"]["requests"]["storage"].as_str()?)
}

/// `ValidatePersistentVolumeClaimUpdate`: the spec is fixed but for a volume name set once and
/// the size of a bound claim, which never goes below its capacity.
pub fn claim_update(obj: &Value, old: &Value, errors: &mut FieldErrors) {
    let mut next = obj["spec"].clone();
    let mut before = old["spec"].clone();
    if before["volumeName"].as_str().unwrap_or_default().is_empty() {
        match next.get("volumeName") {
            Some(name) => before["volumeName"] = name.clone(),
            None => drop(before.as_object_mut().and_then(|m| m.remove("volumeName"))),
        }
    }
    // A class set where none was (the default class arriving later) is allowed.
    if before["storageClassName"].is_null() && next["storageClassName"].is_string() {
        before["storageClassName"] = next["storageClassName"].clone();
    }
    if obj["status"]["phase"] == "Bound" {
        next["resources"]["requests"]["storage"] =
            before["resources"]["requests"]["storage"].clone();
    }
    if next != before {
        errors.forbidden(
            "spec",
            "spec is immutable after creation except resources.requests for bound claims",
        );
    }
    // A smaller request is how a user recovers from an expansion that failed
    // (RecoverVolumeExpansionFailure, on in 1.32): allowed while above what the claim has.
    let capacity = old["status"]["capacity"]["storage"]
        .as_str()
        .and_then(api::quantity::value)
        .unwrap_or(0.0);
    if let (Some(now), Some(was)) = (requested(obj), requested(old))
        && now < was
        && now <= capacity
    {
        errors.forbidden(
            "spec.resources.requests.storage",
            "field can not be less than status.capacity",
        );
    }
    immutable(
        &obj["spec"],
        &old["spec"],
        "volumeMode",
        "volumeMode",
        errors,
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn summary(errors: FieldErrors) -> String {
        match errors.is_empty() {
            true => String::new(),
            false => errors.summary(),
        }
    }

    fn volume_errors(obj: &Value) -> String {
        let mut errors = FieldErrors::default();
        volume(obj, &mut errors);
        summary(errors)
    }

    fn claim_errors(obj: &Value, old: Option<&Value>) -> String {
        let mut errors = FieldErrors::default();
        claim(obj, &mut errors);
        if let Some(old) = old {
            claim_update(obj, old, &mut errors);
        }
        summary(errors)
    }

    #[test]
    fn volumes_need_modes_a_size_and_one_source() {
        let good = json!({"spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"},
            "persistentVolumeReclaimPolicy": "Retain", "hostPath": {"path": "/data"}}});
        assert_eq!(volume_errors(&good), "");
        let none = json!({"spec": {}});
        assert_eq!(
            volume_errors(&none),
            "[spec.accessModes: Required value, spec.capacity: Required value, \
             spec: Required value: must specify a volume type]"
        );
        let two = json!({"spec": {"accessModes": ["ReadWriteOncePod", "ReadOnlyMany"],
            "capacity": {"storage": "0"}, "hostPath": {"path": "/a/../b"},
            "nfs": {"server": "x", "path": "/"}}});
        assert_eq!(
            volume_errors(&two),
            "[spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes, \
             spec.capacity[storage]: Invalid value: \"0\": must be greater than zero, \
             spec.nfs: Forbidden: may not specify more than 1 volume type, \
             spec.hostPath.path: Invalid value: \"/a/../b\": must not contain '..']"
        );
        let local = json!({"spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"},
            "volumeMode": "Raw", "local": {"path": "/data"}}});
        assert_eq!(
            volume_errors(&local),
            "[spec.volumeMode: Unsupported value: \"Raw\": supported values: \"Block\", \"Filesystem\", \
             spec.nodeAffinity: Required value: Local volume requires node affinity]"
        );
    }

    #[test]
    fn claims_are_fixed_but_for_growing_when_bound() {
        let pending = json!({"spec": {"accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}}}, "status": {"phase": "Pending"}});
        assert_eq!(claim_errors(&pending, None), "");
        assert_eq!(claim_errors(&pending, Some(&pending)), "");
        let mut bound = pending.clone();
        bound["spec"]["volumeName"] = json!("pv1");
        bound["status"]["phase"] = json!("Bound");
        assert_eq!(claim_errors(&bound, Some(&pending)), "");
        let mut grown = bound.clone();
        grown["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
        assert_eq!(claim_errors(&grown, Some(&bound)), "");
        // Back down from a failed expansion, but not to the capacity it has.
        grown["status"]["capacity"] = json!({"storage": "1Gi"});
        let mut lowered = grown.clone();
        lowered["spec"]["resources"]["requests"]["storage"] = json!("1536Mi");
        assert_eq!(claim_errors(&lowered, Some(&grown)), "");
        assert_eq!(
            claim_errors(&bound, Some(&grown)),
            "spec.resources.requests.storage: Forbidden: field can not be less than status.capacity"
        );
        let mut pending_grown = pending.clone();
        pending_grown["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
        assert_eq!(
            claim_errors(&pending_grown, Some(&pending)),
            "spec: Forbidden: spec is immutable after creation except resources.requests for bound claims"
        );
        let empty = json!({"spec": {"resources": {}}});
        assert_eq!(
            claim_errors(&empty, None),
            "[spec.accessModes: Required value: at least 1 access mode is required, \
             spec.resources[storage]: Required value]"
        );
    }
}
