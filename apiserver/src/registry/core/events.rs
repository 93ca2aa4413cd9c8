//! Events written through `events.k8s.io/v1`: upstream's strict rules for new events
//! (`ValidateEventCreate`); core `v1` writes keep the legacy leniency.

use api::scheme::ResourceDef;
use serde_json::Value;

use crate::registry::strategy::Strategy;
use crate::registry::validation::{Bad, FieldErrors};

pub struct Events;

const LIMIT: usize = 128;
const NOTE_LIMIT: usize = 1024;

impl Strategy for Events {
    fn validate(
        &self,
        def: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        if def.group != "events.k8s.io" || old.is_some() {
            return;
        }
        let text = |field: &str| obj[field].as_str().unwrap_or_default();
        let namespace = obj["metadata"]["namespace"].as_str().unwrap_or_default();
        let regarding_ns = obj["regarding"]["namespace"].as_str().unwrap_or_default();
        if regarding_ns.is_empty() && !matches!(namespace, "default" | "kube-system") {
            // Upstream names the legacy field here.
            errors.invalid(
                "involvedObject.namespace",
                Bad::Str(regarding_ns),
                "does not match event.namespace",
            );
        }
        if text("reportingController").is_empty() {
            errors.required("reportingController", "");
        } else {
            for message in api::names::qualified_name(text("reportingController")) {
                errors.invalid(
                    "reportingController",
                    Bad::Str(text("reportingController")),
                    &message,
                );
            }
        }
        for (field, limit) in [
            ("reportingInstance", LIMIT),
            ("action", LIMIT),
            ("reason", LIMIT),
        ] {
            match text(field).len() {
                0 => errors.required(field, ""),
                n if n > limit => errors.invalid(
                    field,
                    Bad::Str(""),
                    &format!("can have at most {limit} characters"),
                ),
                _ => {}
            }
        }
        if text("note").len() > NOTE_LIMIT {
            errors.invalid(
                "message",
                Bad::Str(""),
                &format!("can have at most {NOTE_LIMIT} characters"),
            );
        }
        if obj["eventTime"].is_null() {
            errors.required("eventTime", "");
        }
        if !matches!(text("type"), "Normal" | "Warning") {
            errors.invalid(
                "type",
                Bad::Str(""),
                &format!("has invalid value: {}", text("type")),
            );
        }
        for field in ["deprecatedFirstTimestamp", "deprecatedLastTimestamp"] {
            if !obj[field].is_null() {
                errors.invalid(field, Bad::Str(""), "needs to be unset");
            }
        }
        if obj["deprecatedCount"].as_i64().is_some_and(|c| c != 0) {
            errors.invalid("deprecatedCount", Bad::Str(""), "needs to be unset");
        }
        let source = &obj["deprecatedSource"];
        let set = |f: &str| source[f].as_str().is_some_and(|s| !s.is_empty());
        if set("component") || set("host") {
            errors.invalid("deprecatedSource", Bad::Str(""), "needs to be unset");
        }
    }
}
