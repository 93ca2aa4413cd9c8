//! Graceful deletion. A DELETE removes an object at once unless something must happen first:
//! it has finalizers, the caller asked for `Orphan` or `Foreground` propagation (which the
//! garbage collector carries out, behind the `orphan` and `foregroundDeletion` finalizers), or
//! it is a namespace (whose content the namespace controller deletes, behind the `kubernetes`
//! finalizer of `spec.finalizers`). Then the object gets its `deletionTimestamp` and stays
//! until an update removes its last finalizer, which removes it. While it is being deleted no
//! finalizer may be added.

use api::scheme::ResourceDef;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;

pub const ORPHAN: &str = "orphan";
pub const FOREGROUND: &str = "foregroundDeletion";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeleteOptions {
    pub preconditions: Option<Preconditions>,
    pub propagation_policy: Option<String>,
    pub orphan_dependents: Option<bool>,
    pub grace_period_seconds: Option<i64>,
    pub dry_run: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Preconditions {
    pub uid: Option<String>,
    pub resource_version: Option<String>,
}

impl DeleteOptions {
    /// The options of a DELETE: its body, or when it has none its query, as upstream reads
    /// them; refused (422) before anything is deleted if they are not valid.
    pub(crate) fn parse(
        body: &[u8],
        query: &crate::registry::query::Params,
    ) -> Result<DeleteOptions, ApiError> {
        // No body, or JSON's null (nothing to decode, as Go reads it): the query's options.
        let blank = body.iter().all(u8::is_ascii_whitespace) || body.trim_ascii() == b"null";
        let options = if blank {
            DeleteOptions {
                preconditions: None,
                propagation_policy: query.propagation_policy.clone(),
                orphan_dependents: query.orphan_dependents,
                grace_period_seconds: query.grace_period_seconds,
                dry_run: query.dry_run.clone(),
            }
        } else {
            serde_json::from_slice(body)
                .map_err(|e| ApiError::BadRequest(format!("invalid DeleteOptions: {e}")))?
        };
        options.finalizer()?;
        Ok(options)
    }

    /// The finalizer the propagation policy asks for, if any.
    fn finalizer(&self) -> Result<Option<&'static str>, ApiError> {
        let invalid = |cause| crate::registry::query::options_invalid("DeleteOptions", vec![cause]);
        match (self.propagation_policy.as_deref(), self.orphan_dependents) {
            (Some(policy), Some(_)) => {
                invalid(api::status::StatusCause {
                    reason: "FieldValueInvalid".into(),
                    message: format!(
                        "Invalid value: {policy:?}: orphanDependents and deletionPropagation cannot be both set"
                    ),
                    field: "propagationPolicy".into(),
                })?;
                Ok(None)
            }
            (Some("Orphan"), _) | (None, Some(true)) => Ok(Some(ORPHAN)),
            (Some("Foreground"), _) => Ok(Some(FOREGROUND)),
            (Some("Background") | None, _) => Ok(None),
            (Some(other), _) => {
                invalid(crate::registry::query::not_supported(
                    "propagationPolicy",
                    other,
                    &["Foreground", "Background", "Orphan", "nil"],
                ))?;
                Ok(None)
            }
        }
    }
}

fn is_namespace(def: &ResourceDef) -> bool {
    def.group.is_empty() && def.plural == "namespaces"
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj["metadata"]["finalizers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(str::to_string))
        .collect()
}

pub fn being_deleted(obj: &Value) -> bool {
    obj["metadata"]["deletionTimestamp"].is_string()
}

/// An RFC 3339 time in whole seconds, as upstream's `metav1.Time` writes it.
fn rfc3339(at: jiff::Timestamp) -> String {
    jiff::Timestamp::from_second(at.as_second())
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// The grace period an object being deleted already has (0 if none).
fn current_grace(obj: &Value) -> i64 {
    obj["metadata"]["deletionGracePeriodSeconds"]
        .as_i64()
        .unwrap_or(0)
}

/// Upstream's `BeforeDelete` for kinds deleted gracefully (`grace`: the period the kind's
/// strategy gives this DELETE): `Some(period)` when the object is to be marked with that
/// period (written into `next`), `None` when the grace period does not apply (not graceful,
/// or an earlier deletion without one), `Err(())` when a graceful deletion is already pending
/// and the request does not shorten it: nothing changes.
fn graceful(
    next: &mut Value,
    options: &DeleteOptions,
    now: jiff::Timestamp,
    grace: Option<i64>,
) -> Result<Option<i64>, ()> {
    let Some(period) = grace else {
        return Ok(None);
    };
    let meta = &mut next["metadata"];
    if meta["deletionTimestamp"].is_string() {
        let current = current_grace(next);
        if current == 0 {
            return Ok(None);
        }
        let Some(asked) = options
            .grace_period_seconds
            .filter(|asked| *asked < current)
        else {
            return Err(());
        };
        // Only shortened: the deadline moves back by the difference.
        let meta = &mut next["metadata"];
        let deadline = meta["deletionTimestamp"]
            .as_str()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .unwrap_or(now);
        let moved = deadline - jiff::SignedDuration::from_secs(current - asked.max(0));
        meta["deletionTimestamp"] = json!(rfc3339(moved));
        meta["deletionGracePeriodSeconds"] = json!(asked.max(0));
        return Ok(Some(asked.max(0)));
    }
    let deadline = now + jiff::SignedDuration::from_secs(period);
    meta["deletionTimestamp"] = json!(rfc3339(deadline));
    meta["deletionGracePeriodSeconds"] = json!(period);
    if let Some(generation) = meta["generation"].as_i64().filter(|g| *g > 0) {
        meta["generation"] = json!(generation + 1);
    }
    Ok(Some(period))
}

/// What a DELETE does to `obj`: `Some(next)`, the object marked for deletion to store (or
/// `obj` itself when a deletion is pending and nothing changes), or `None` to remove it at
/// once. `grace` is the period the kind's strategy gives the request (none: the kind is not
/// deleted gracefully).
pub fn mark(
    def: &ResourceDef,
    obj: &Value,
    options: &DeleteOptions,
    now: jiff::Timestamp,
    grace: Option<i64>,
) -> Result<Option<Value>, ApiError> {
    let mut graced = obj.clone();
    let period = match graceful(&mut graced, options, now, grace) {
        Ok(period) => period,
        // A pending graceful deletion: finalizers cannot change through DeleteOptions.
        Err(()) => return Ok(Some(obj.clone())),
    };
    let mut wanted = finalizers(obj);
    if let Some(f) = options.finalizer()? {
        // Orphan and Foreground exclude each other: the latest request wins.
        wanted.retain(|w| w != ORPHAN && w != FOREGROUND);
        wanted.push(f.to_string());
    }
    let namespace_pending = is_namespace(def)
        && obj["spec"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
    // Removed at once: nothing to wait for, and no grace period (or one of 0).
    if wanted.is_empty() && !namespace_pending && period.unwrap_or(0) == 0 {
        return Ok(None);
    }
    let mut next = graced;
    let meta = &mut next["metadata"];
    if !meta["deletionTimestamp"].is_string() {
        meta["deletionTimestamp"] = json!(rfc3339(now));
        meta["deletionGracePeriodSeconds"] = json!(0);
    }
    meta["finalizers"] = json!(wanted);
    if wanted.is_empty()
        && let Some(m) = meta.as_object_mut()
    {
        m.remove("finalizers");
    }
    if is_namespace(def) {
        next["status"]["phase"] = json!("Terminating");
    }
    Ok(Some(next))
}

/// Whether an object being deleted has nothing left to wait for (no finalizers, and no grace
/// period: a pod is removed by its node once its containers are stopped).
pub fn finished(def: &ResourceDef, obj: &Value) -> bool {
    being_deleted(obj)
        && finalizers(obj).is_empty()
        && current_grace(obj) == 0
        && !(is_namespace(def)
            && obj["spec"]["finalizers"]
                .as_array()
                .is_some_and(|f| !f.is_empty()))
}

/// Refuses finalizers added to an object that is being deleted, with upstream's message.
pub fn check_update(
    def: &ResourceDef,
    current: &Value,
    next: &Value,
    name: &str,
) -> Result<(), ApiError> {
    if !being_deleted(current) {
        return Ok(());
    }
    let before = finalizers(current);
    let added: Vec<String> = finalizers(next)
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    if added.is_empty() {
        return Ok(());
    }
    Err(ApiError::Invalid {
        kind: def.kind.to_string(),
        target: crate::registry::object::target(def, name),
        causes: vec![api::status::StatusCause {
            reason: "FieldValueForbidden".into(),
            message: format!(
                "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                added
                    .iter()
                    .map(|f| format!("{f:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            field: "metadata.finalizers".into(),
        }],
    })
}

/// Whether the request asks for a dry run (`dryRun=All`); other values are refused.
pub fn dry_run(values: &[String]) -> Result<bool, ApiError> {
    match values {
        [] => Ok(false),
        [all] if all == "All" => Ok(true),
        _ => Err(ApiError::BadRequest(format!(
            "dryRun: Unsupported value: {:?}: supported values: \"All\"",
            values.join(",")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(plural: &str) -> ResourceDef {
        *api::Scheme::builtin().lookup("", "v1", plural).unwrap()
    }

    const T: &str = "2026-01-01T00:00:00Z";

    /// `T` and `seconds` after it.
    fn at(seconds: i64) -> jiff::Timestamp {
        T.parse::<jiff::Timestamp>().unwrap() + jiff::SignedDuration::from_secs(seconds)
    }

    fn grace(seconds: Option<i64>) -> DeleteOptions {
        DeleteOptions {
            grace_period_seconds: seconds,
            ..Default::default()
        }
    }

    #[test]
    fn graceful_deletion_marks_with_the_deadline() {
        let pods = def("pods");
        let pod = json!({"metadata": {"name": "web"}});
        let next = mark(&pods, &pod, &grace(None), at(0), Some(30))
            .unwrap()
            .unwrap();
        assert_eq!(
            next["metadata"]["deletionTimestamp"],
            "2026-01-01T00:00:30Z"
        );
        assert_eq!(next["metadata"]["deletionGracePeriodSeconds"], 30);
        assert!(!finished(&pods, &next), "the node finishes it");
        // A second delete may only shorten it, moving the deadline back.
        let again = mark(&pods, &next, &grace(Some(60)), at(5), Some(60))
            .unwrap()
            .unwrap();
        assert_eq!(again, next);
        let again = mark(&pods, &next, &grace(None), at(5), Some(30))
            .unwrap()
            .unwrap();
        assert_eq!(again, next);
        let shorter = mark(&pods, &next, &grace(Some(10)), at(5), Some(10))
            .unwrap()
            .unwrap();
        assert_eq!(
            shorter["metadata"]["deletionTimestamp"],
            "2026-01-01T00:00:10Z"
        );
        assert_eq!(shorter["metadata"]["deletionGracePeriodSeconds"], 10);
        // Grace period 0 (the node's final delete, or --force): removed at once.
        assert_eq!(
            mark(&pods, &next, &grace(Some(0)), at(5), Some(0)).unwrap(),
            None
        );
        assert_eq!(
            mark(&pods, &pod, &grace(Some(0)), at(0), Some(0)).unwrap(),
            None
        );
        // A finalizer holds a pod deleted with grace 0, without a grace period.
        let held = json!({"metadata": {"name": "web", "finalizers": ["x/y"]}});
        let next = mark(&pods, &held, &grace(Some(0)), at(0), Some(0))
            .unwrap()
            .unwrap();
        assert_eq!(next["metadata"]["deletionGracePeriodSeconds"], 0);
        assert_eq!(next["metadata"]["deletionTimestamp"], T);
    }

    fn options(policy: &str) -> DeleteOptions {
        DeleteOptions {
            propagation_policy: Some(policy.into()),
            ..Default::default()
        }
    }

    #[test]
    fn deletion_waits_for_finalizers() {
        let cm = def("configmaps");
        let plain = json!({"metadata": {"name": "a"}});
        assert_eq!(
            mark(&cm, &plain, &DeleteOptions::default(), at(0), None).unwrap(),
            None
        );
        assert_eq!(
            mark(&cm, &plain, &options("Background"), at(0), None).unwrap(),
            None
        );
        let orphaned = mark(&cm, &plain, &options("Orphan"), at(0), None)
            .unwrap()
            .unwrap();
        assert_eq!(orphaned["metadata"]["finalizers"], json!(["orphan"]));
        assert_eq!(orphaned["metadata"]["deletionTimestamp"], T);
        // A later foreground request replaces the orphan finalizer; the timestamp stays.
        let fg = mark(&cm, &orphaned, &options("Foreground"), at(1), None)
            .unwrap()
            .unwrap();
        assert_eq!(fg["metadata"]["finalizers"], json!(["foregroundDeletion"]));
        assert_eq!(fg["metadata"]["deletionTimestamp"], T);
        let held = json!({"metadata": {"name": "a", "finalizers": ["example.com/x"]}});
        let next = mark(&cm, &held, &DeleteOptions::default(), at(0), None)
            .unwrap()
            .unwrap();
        assert!(!finished(&cm, &next));
        let mut released = next.clone();
        released["metadata"]["finalizers"] = json!([]);
        assert!(finished(&cm, &released));
        assert!(check_update(&cm, &next, &released, "a").is_ok());
        let mut more = next.clone();
        more["metadata"]["finalizers"] = json!(["example.com/x", "example.com/y"]);
        let err = check_update(&cm, &next, &more, "a").unwrap_err();
        assert!(
            err.status()
                .message
                .contains("no new finalizers can be added if the object is being deleted"),
            "{}",
            err.status().message
        );
        assert!(mark(&cm, &plain, &options("Sideways"), at(0), None).is_err());
    }

    #[test]
    fn namespaces_terminate() {
        let ns = def("namespaces");
        let obj = json!({"metadata": {"name": "dev"}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}});
        let next = mark(&ns, &obj, &DeleteOptions::default(), at(0), None)
            .unwrap()
            .unwrap();
        assert_eq!(next["status"]["phase"], "Terminating");
        assert!(!finished(&ns, &next));
        let mut done = next.clone();
        done["spec"]["finalizers"] = json!([]);
        assert!(finished(&ns, &done));
    }

    #[test]
    fn dry_run_values() {
        assert!(!dry_run(&[]).unwrap());
        assert!(dry_run(&["All".into()]).unwrap());
        assert!(dry_run(&["Some".into()]).is_err());
    }
}
