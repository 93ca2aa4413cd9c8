//! The query parameters of resource requests, read as upstream's parameter codec reads them
//! (the first value of a repeated parameter; integers with Go's errors; booleans false only
//! for `0` and `false`), and the option checks upstream makes before any work is done:
//! `ListOptions` (`resourceVersionMatch`), the write options (`fieldManager`) and
//! `DeleteOptions` (`propagationPolicy`), each a 422 naming its options kind.

use api::status::StatusCause;

use crate::error::{ApiError, Target};

#[derive(Debug, Default)]
pub(crate) struct Params {
    pub(crate) resource_version: Option<String>,
    pub(crate) resource_version_match: Option<String>,
    pub(crate) limit: Option<i64>,
    pub(crate) continue_token: Option<String>,
    pub(crate) timeout_seconds: Option<i64>,
    pub(crate) allow_watch_bookmarks: Option<bool>,
    pub(crate) label_selector: Option<String>,
    pub(crate) field_selector: Option<String>,
    pub(crate) include_object: Option<String>,
    pub(crate) send_initial_events: Option<bool>,
    pub(crate) dry_run: Vec<String>,
    pub(crate) field_validation: Option<String>,
    pub(crate) field_manager: Option<String>,
    pub(crate) force: Option<bool>,
    pub(crate) propagation_policy: Option<String>,
    pub(crate) orphan_dependents: Option<bool>,
    pub(crate) grace_period_seconds: Option<i64>,
    /// `timeout`: how long a short request may take (a Go duration).
    pub(crate) timeout: Option<String>,
}

/// Go's `strconv.ParseInt` of a query value, with its error as upstream answers it (400).
fn go_int(value: &str) -> Result<i64, ApiError> {
    value.parse::<i64>().map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        ApiError::BadRequest(format!("strconv.ParseInt: parsing {value:?}: {why}"))
    })
}

/// Upstream's query booleans: false only for `0` and (any case of) `false`.
fn go_bool(value: &str) -> bool {
    !(value == "0" || value.eq_ignore_ascii_case("false"))
}

/// A subresource's query (logs, streams, uploads), decoded in order and read as upstream's
/// parameter codec reads it.
pub(crate) struct Pairs(Vec<(String, String)>);

impl Pairs {
    pub(crate) fn parse(query: Option<&str>) -> Result<Pairs, ApiError> {
        serde_urlencoded::from_str(query.unwrap_or_default())
            .map(Pairs)
            .map_err(|e| ApiError::BadRequest(format!("invalid query: {e}")))
    }

    /// The first value of `key`.
    pub(crate) fn first(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub(crate) fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean: false when absent, `0` or `false`.
    pub(crate) fn flag(&self, key: &str) -> bool {
        self.first(key).is_some_and(go_bool)
    }

    /// An integer, with Go's errors.
    pub(crate) fn integer(&self, key: &str) -> Result<Option<i64>, ApiError> {
        self.first(key).map(go_int).transpose()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &(String, String)> {
        self.0.iter()
    }
}

/// The `version` of DeploymentLogOptions and BuildLogOptions, checked as upstream checks it
/// (`what` names the versioned thing: "deployment", "build"); `invalid` words the 422.
pub(crate) fn log_version(
    pairs: &Pairs,
    what: &str,
    invalid: impl Fn(&str, String) -> ApiError,
) -> Result<Option<i64>, ApiError> {
    let version = pairs.integer("version")?;
    if let Some(v) = version.filter(|v| *v <= 0) {
        return Err(invalid(
            "version",
            format!("Invalid value: {v}: {what} version must be greater than 0"),
        ));
    }
    if version.is_some() && pairs.flag("previous") {
        return Err(invalid(
            "previous",
            "Invalid value: true: cannot use previous when a version is specified".into(),
        ));
    }
    Ok(version)
}

impl Params {
    pub(crate) fn parse(query: Option<&str>) -> Result<Params, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or_default())
            .map_err(|e| ApiError::BadRequest(format!("invalid query: {e}")))?;
        let mut params = Params::default();
        let mut seen = std::collections::HashSet::new();
        for (key, value) in pairs {
            if key == "dryRun" {
                params.dry_run.push(value);
                continue;
            }
            // Repeated parameters: the first value counts.
            if !seen.insert(key.clone()) {
                continue;
            }
            let text = Some(value.clone());
            match key.as_str() {
                "resourceVersion" => params.resource_version = text,
                "resourceVersionMatch" => params.resource_version_match = text,
                "limit" => params.limit = Some(go_int(&value)?),
                "continue" => params.continue_token = text,
                "timeoutSeconds" => params.timeout_seconds = Some(go_int(&value)?),
                "allowWatchBookmarks" => params.allow_watch_bookmarks = Some(go_bool(&value)),
                "labelSelector" => params.label_selector = text,
                "fieldSelector" => params.field_selector = text,
                "includeObject" => params.include_object = text,
                "sendInitialEvents" => params.send_initial_events = Some(go_bool(&value)),
                "fieldValidation" => params.field_validation = text,
                "fieldManager" => params.field_manager = text,
                "force" => params.force = Some(go_bool(&value)),
                "propagationPolicy" => params.propagation_policy = text,
                "orphanDependents" => params.orphan_dependents = Some(go_bool(&value)),
                "gracePeriodSeconds" => params.grace_period_seconds = Some(go_int(&value)?),
                "timeout" => params.timeout = text,
                _ => {}
            }
        }
        Ok(params)
    }

    /// `ListOptions` as upstream validates them for a list or a watch.
    pub(crate) fn check_list(&self, watch: bool) -> Result<(), ApiError> {
        let mut causes = Vec::new();
        let matching = self.resource_version_match.as_deref().unwrap_or_default();
        let version = self.resource_version.as_deref().unwrap_or_default();
        if watch && self.send_initial_events.is_some() && matching != "NotOlderThan" {
            causes.push(forbidden(
                "resourceVersionMatch",
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
        if !matching.is_empty() {
            if watch {
                if self.send_initial_events.is_none() {
                    causes.push(forbidden(
                        "resourceVersionMatch",
                        "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                    ));
                }
                if matching != "NotOlderThan" {
                    causes.push(not_supported(
                        "resourceVersionMatch",
                        matching,
                        &["NotOlderThan"],
                    ));
                }
            } else {
                if version.is_empty() {
                    causes.push(forbidden(
                        "resourceVersionMatch",
                        "resourceVersionMatch is forbidden unless resourceVersion is provided",
                    ));
                }
                if !matches!(matching, "Exact" | "NotOlderThan") {
                    causes.push(not_supported(
                        "resourceVersionMatch",
                        matching,
                        &["Exact", "NotOlderThan", ""],
                    ));
                }
                if matching == "Exact" && version == "0" {
                    causes.push(forbidden(
                        "resourceVersionMatch",
                        "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                    ));
                }
            }
        }
        options_invalid("ListOptions", causes)
    }

    /// The options of a create or update (`CreateOptions`, `UpdateOptions`).
    pub(crate) fn check_write(&self, options: &str) -> Result<(), ApiError> {
        options_invalid(options, self.field_manager_causes())
    }

    /// The options of a patch (`PatchOptions`): server-side apply needs a field manager,
    /// and only it may force.
    pub(crate) fn check_patch(&self, apply: bool) -> Result<(), ApiError> {
        let mut causes = Vec::new();
        if !apply && self.force.is_some() {
            causes.push(forbidden(
                "force",
                "may not be specified for non-apply patch",
            ));
        }
        if apply && self.field_manager.as_deref().unwrap_or_default().is_empty() {
            causes.push(StatusCause {
                reason: "FieldValueRequired".into(),
                message: "Required value: is required for apply patch".into(),
                field: "fieldManager".into(),
            });
        }
        causes.extend(self.field_manager_causes());
        options_invalid("PatchOptions", causes)
    }

    fn field_manager_causes(&self) -> Vec<StatusCause> {
        let mut causes = Vec::new();
        if let Some(manager) = &self.field_manager {
            if manager.len() > FIELD_MANAGER_MAX {
                causes.push(StatusCause {
                    reason: "FieldValueTooLong".into(),
                    message: format!("Too long: may not be more than {FIELD_MANAGER_MAX} bytes"),
                    field: "fieldManager".into(),
                });
            }
            for (i, c) in manager.chars().enumerate() {
                if c.is_control() {
                    causes.push(StatusCause {
                        reason: "FieldValueInvalid".into(),
                        message: format!(
                            "Invalid value: {manager:?}: invalid character {} (at position {i})",
                            go_rune(c)
                        ),
                        field: "fieldManager".into(),
                    });
                }
            }
        }
        causes
    }
}

/// Upstream's limit on a field manager's name.
const FIELD_MANAGER_MAX: usize = 128;

/// A rune as Go's `%#U` prints it: `U+0007`.
fn go_rune(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

fn forbidden(field: &str, detail: &str) -> StatusCause {
    StatusCause {
        reason: "FieldValueForbidden".into(),
        message: format!("Forbidden: {detail}"),
        field: field.into(),
    }
}

pub(crate) fn not_supported(field: &str, value: &str, supported: &[&str]) -> StatusCause {
    let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
    StatusCause {
        reason: "FieldValueNotSupported".into(),
        message: format!(
            "Unsupported value: {value:?}: supported values: {}",
            list.join(", ")
        ),
        field: field.into(),
    }
}

/// 422 for invalid request options (`ListOptions.meta.k8s.io "" is invalid: ...`).
pub(crate) fn options_invalid(kind: &str, causes: Vec<StatusCause>) -> Result<(), ApiError> {
    if causes.is_empty() {
        return Ok(());
    }
    Err(ApiError::Invalid {
        kind: kind.into(),
        target: Target {
            group: "meta.k8s.io".into(),
            ..Default::default()
        },
        causes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_as_upstreams_codec_reads_them() {
        let p = Params::parse(Some(
            "limit=5&limit=7&watch=notbool&allowWatchBookmarks=0&dryRun=All&force=yes",
        ))
        .unwrap();
        assert_eq!(p.limit, Some(5));
        assert_eq!(p.allow_watch_bookmarks, Some(false));
        assert_eq!(p.force, Some(true));
        assert_eq!(p.dry_run, ["All"]);
        let err = Params::parse(Some("limit=abc")).unwrap_err();
        assert_eq!(
            err.status().message,
            "strconv.ParseInt: parsing \"abc\": invalid syntax"
        );
        assert_eq!(Params::parse(Some("limit=-1")).unwrap().limit, Some(-1));
    }

    #[test]
    fn list_options() {
        let p = Params::parse(Some("resourceVersionMatch=Bogus")).unwrap();
        assert_eq!(
            p.check_list(false).unwrap_err().status().message,
            "ListOptions.meta.k8s.io \"\" is invalid: [resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided, resourceVersionMatch: Unsupported value: \"Bogus\": supported values: \"Exact\", \"NotOlderThan\", \"\"]"
        );
        let p = Params::parse(Some("resourceVersion=5&resourceVersionMatch=NotOlderThan")).unwrap();
        assert!(p.check_list(false).is_ok());
        let p = Params::parse(Some("sendInitialEvents=false&resourceVersionMatch=Exact")).unwrap();
        assert_eq!(
            p.check_list(true).unwrap_err().status().message,
            "ListOptions.meta.k8s.io \"\" is invalid: [resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan, resourceVersionMatch: Unsupported value: \"Exact\": supported values: \"NotOlderThan\"]"
        );
    }

    #[test]
    fn patch_options() {
        let p = Params::parse(Some("force=false")).unwrap();
        assert_eq!(
            p.check_patch(false).unwrap_err().status().message,
            "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch"
        );
        let p = Params::parse(Some("fieldManager=")).unwrap();
        assert_eq!(
            p.check_patch(true).unwrap_err().status().message,
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
        );
        let p = Params::parse(Some("fieldManager=kubectl&force=true")).unwrap();
        assert!(p.check_patch(true).is_ok());
        assert!(Params::parse(None).unwrap().check_patch(false).is_ok());
    }

    #[test]
    fn field_managers_are_bounded() {
        let long = "m".repeat(129);
        let p = Params::parse(Some(&format!("fieldManager={long}"))).unwrap();
        assert_eq!(
            p.check_write("CreateOptions").unwrap_err().status().message,
            "CreateOptions.meta.k8s.io \"\" is invalid: fieldManager: Too long: may not be more than 128 bytes"
        );
    }
}
