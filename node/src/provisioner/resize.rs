//! Expansion of this node's volumes, as the CSI external-resizer does it for a driver that
//! needs no file system step on the node: the claim is marked `Resizing`
//! (`allocatedResources`, `allocatedResourceStatuses: ControllerResizeInProgress`), the
//! volume grows (a directory has no quota: the growth must fit in the file system's free
//! space, else the resize is `ControllerResizeInfeasible`), the volume's capacity is written,
//! then the claim's, and the resize marks are removed.

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use serde_json::{Value, json};

use controllers::persistent_volume::matching::{capacity, requested};
use controllers::resources::milli;

pub const IN_PROGRESS: &str = "ControllerResizeInProgress";
pub const INFEASIBLE: &str = "ControllerResizeInfeasible";

/// The conditions a resize sets (and its end removes).
const RESIZE_CONDITIONS: [&str; 4] = [
    "Resizing",
    "FileSystemResizePending",
    "ControllerResizeError",
    "NodeResizeError",
];

/// What a bound claim of this node's volume needs.
#[derive(Debug, PartialEq)]
pub enum Step {
    Nothing,
    /// Grow the volume to the claim's request (the quantity as the claim wrote it).
    Expand(String),
    /// The volume already holds the request: record it in the claim.
    Finish(String),
}

fn storage_status(claim: &PersistentVolumeClaim) -> Option<&str> {
    claim
        .status
        .as_ref()?
        .allocated_resource_statuses
        .as_ref()?
        .get("storage")
        .map(String::as_str)
}

fn allocated(claim: &PersistentVolumeClaim) -> Option<i64> {
    let q = claim
        .status
        .as_ref()?
        .allocated_resources
        .as_ref()?
        .get("storage")?;
    milli(&q.0)
}

fn status_capacity(claim: &PersistentVolumeClaim) -> Option<i64> {
    let q = claim.status.as_ref()?.capacity.as_ref()?.get("storage")?;
    milli(&q.0)
}

fn request_text(claim: &PersistentVolumeClaim) -> Option<String> {
    let spec = claim.spec.as_ref()?;
    let q = spec.resources.as_ref()?.requests.as_ref()?.get("storage")?;
    Some(q.0.clone())
}

/// The next step for `claim`, bound to `volume` (expandAndRecover in small).
pub fn step(claim: &PersistentVolumeClaim, volume: &PersistentVolume) -> Step {
    let (Some(want), Some(have), Some(text)) =
        (requested(claim), capacity(volume), request_text(claim))
    else {
        return Step::Nothing;
    };
    let bound = claim.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
    if !bound {
        return Step::Nothing;
    }
    if have < want {
        // The same size already found infeasible is not tried again until the request changes.
        if storage_status(claim) == Some(INFEASIBLE) && allocated(claim) == Some(want) {
            return Step::Nothing;
        }
        return Step::Expand(text);
    }
    let recorded = status_capacity(claim).unwrap_or(0);
    if recorded < want || storage_status(claim) == Some(IN_PROGRESS) {
        return Step::Finish(text);
    }
    Step::Nothing
}

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The claim's conditions with the resize ones replaced by `new` (a merge patch's value).
fn conditions(claim: &PersistentVolumeClaim, new: Option<Value>) -> Value {
    let mut kept: Vec<Value> = claim
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .filter(|c| !RESIZE_CONDITIONS.contains(&c.type_.as_str()))
        .filter_map(|c| serde_json::to_value(c).ok())
        .collect();
    kept.extend(new);
    // None left: the field goes, as Go's omitempty drops an empty list.
    match kept.is_empty() {
        true => Value::Null,
        false => json!(kept),
    }
}

/// The merge patch of `status` marking the resize to `size` as started.
pub fn in_progress(claim: &PersistentVolumeClaim, size: &str) -> Value {
    let resizing = json!({"type": "Resizing", "status": "True", "lastTransitionTime": now()});
    json!({"status": {
        "conditions": conditions(claim, Some(resizing)),
        "allocatedResourceStatuses": {"storage": IN_PROGRESS},
        "allocatedResources": {"storage": size},
    }})
}

/// The merge patch of `status` marking the resize as refused for good (`why`).
pub fn infeasible(claim: &PersistentVolumeClaim, why: &str) -> Value {
    let error = json!({"type": "ControllerResizeError", "status": "True",
        "lastTransitionTime": now(), "message": why});
    json!({"status": {
        "conditions": conditions(claim, Some(error)),
        "allocatedResourceStatuses": {"storage": INFEASIBLE},
    }})
}

/// The merge patch of `status` recording the claim's new `size`, the resize done.
pub fn finished(claim: &PersistentVolumeClaim, size: &str) -> Value {
    let others = claim
        .status
        .as_ref()
        .and_then(|s| s.allocated_resource_statuses.as_ref())
        .is_some_and(|m| m.keys().any(|k| k != "storage"));
    let statuses = match others {
        true => json!({"storage": null}),
        false => Value::Null,
    };
    json!({"status": {
        "capacity": {"storage": size},
        "conditions": conditions(claim, None),
        "allocatedResourceStatuses": statuses,
    }})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(request: &str, status: Value) -> PersistentVolumeClaim {
        serde_json::from_value(json!({"metadata": {"name": "c"},
            "spec": {"resources": {"requests": {"storage": request}}}, "status": status}))
        .unwrap()
    }

    fn volume(size: &str) -> PersistentVolume {
        serde_json::from_value(json!({"metadata": {"name": "v"},
            "spec": {"capacity": {"storage": size}}}))
        .unwrap()
    }

    #[test]
    fn a_larger_request_expands_then_finishes() {
        let bound = json!({"phase": "Bound", "capacity": {"storage": "1Gi"}});
        assert_eq!(
            step(&claim("1Gi", bound.clone()), &volume("1Gi")),
            Step::Nothing
        );
        // Not bound yet (the binder writes the capacity): nothing to finish.
        let pending = claim("2Gi", json!({"phase": "Pending"}));
        assert_eq!(step(&pending, &volume("2Gi")), Step::Nothing);
        let grown = claim("2Gi", bound);
        assert_eq!(step(&grown, &volume("1Gi")), Step::Expand("2Gi".into()));
        // The volume grown but the claim not yet told: finish.
        assert_eq!(step(&grown, &volume("2Gi")), Step::Finish("2Gi".into()));
        let done = json!({"phase": "Bound", "capacity": {"storage": "2Gi"},
            "allocatedResources": {"storage": "2Gi"}});
        assert_eq!(step(&claim("2Gi", done), &volume("2Gi")), Step::Nothing);
    }

    #[test]
    fn an_infeasible_size_is_not_tried_again_until_the_request_changes() {
        let refused = json!({"phase": "Bound", "capacity": {"storage": "1Gi"},
            "allocatedResources": {"storage": "100Ti"},
            "allocatedResourceStatuses": {"storage": INFEASIBLE}});
        assert_eq!(
            step(&claim("100Ti", refused.clone()), &volume("1Gi")),
            Step::Nothing
        );
        assert_eq!(
            step(&claim("2Gi", refused), &volume("1Gi")),
            Step::Expand("2Gi".into())
        );
    }

    #[test]
    fn the_status_marks_come_and_go_as_upstream_writes_them() {
        let c = claim(
            "2Gi",
            json!({"phase": "Bound", "capacity": {"storage": "1Gi"},
                "conditions": [{"type": "Other", "status": "True"},
                    {"type": "ControllerResizeError", "status": "True", "message": "old"}]}),
        );
        let started = in_progress(&c, "2Gi");
        let types: Vec<&str> = started["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["Other", "Resizing"]);
        assert_eq!(
            started["status"]["allocatedResourceStatuses"]["storage"],
            IN_PROGRESS
        );
        assert_eq!(started["status"]["allocatedResources"]["storage"], "2Gi");
        let refused = infeasible(&c, "no room");
        assert_eq!(refused["status"]["conditions"][1]["message"], "no room");
        let done = finished(&c, "2Gi");
        assert_eq!(done["status"]["capacity"]["storage"], "2Gi");
        assert_eq!(
            done["status"]["conditions"],
            json!([{"type": "Other", "status": "True"}])
        );
        assert!(done["status"]["allocatedResourceStatuses"].is_null());
        let plain = claim("2Gi", json!({"phase": "Bound"}));
        assert!(finished(&plain, "2Gi")["status"]["conditions"].is_null());
    }
}
