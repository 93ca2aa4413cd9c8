//! Events in core `v1` and `events.k8s.io/v1` (one kind under two schemas): upstream's rules
//! on every write of either (`legacyValidateEvent`: a new-style event, one with an `eventTime`,
//! names its reporter, action and reason; an old-style one agrees with its object's
//! namespace), and, through `events.k8s.io` only, the strict rules of a new event
//! (`ValidateEventCreate`) and the fields an update may not change (`ValidateEventUpdate`).
//! Field paths are the internal type's, as upstream reports them for either version.

use api::scheme::ResourceDef;
use jiff::Timestamp;
use serde_json::Value;

use crate::registry::strategy::Strategy;
use crate::registry::validation::{Bad, FieldErrors};

pub struct Events;

const LIMIT: usize = 128;
const NOTE_LIMIT: usize = 1024;

/// One event's fields by their internal names, whichever version was written.
struct Fields<'a> {
    obj: &'a Value,
    core: bool,
}

impl<'a> Fields<'a> {
    fn new(def: &ResourceDef, obj: &'a Value) -> Fields<'a> {
        Fields {
            obj,
            core: def.group.is_empty(),
        }
    }

    /// The field's JSON name in the written version.
    fn key(&self, internal: &'static str) -> &'static str {
        match (self.core, internal) {
            (true, "reportingController") => "reportingComponent",
            (true, other) => other,
            (false, "involvedObject") => "regarding",
            (false, "message") => "note",
            (false, "source") => "deprecatedSource",
            (false, "firstTimestamp") => "deprecatedFirstTimestamp",
            (false, "lastTimestamp") => "deprecatedLastTimestamp",
            (false, "count") => "deprecatedCount",
            (false, other) => other,
        }
    }

    fn get(&self, internal: &'static str) -> &'a Value {
        &self.obj[self.key(internal)]
    }

    fn text(&self, internal: &'static str) -> &'a str {
        self.get(internal).as_str().unwrap_or_default()
    }

    fn time(&self, internal: &'static str) -> Option<Timestamp> {
        self.text(internal).parse().ok()
    }

    fn namespace(&self) -> &'a str {
        self.obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
    }
}

impl Strategy for Events {
    fn validate(
        &self,
        def: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        let event = Fields::new(def, obj);
        legacy(&event, errors);
        if event.core {
            return;
        }
        match old {
            None => strict_create(&event, errors),
            Some(old) => strict_update(&event, &Fields::new(def, old), errors),
        }
    }
}

/// What every event written in any version must satisfy.
fn legacy(event: &Fields, errors: &mut FieldErrors) {
    let namespace = event.namespace();
    let object_ns = event.get("involvedObject")["namespace"]
        .as_str()
        .unwrap_or_default();
    let mismatch = |errors: &mut FieldErrors| {
        errors.invalid(
            "involvedObject.namespace",
            Bad::Str(object_ns),
            "does not match event.namespace",
        )
    };
    if event.get("eventTime").is_null() {
        // An old-style event of a cluster-scoped object may live in `default`.
        let agrees = match object_ns {
            "" => matches!(namespace, "" | "default"),
            ns => ns == namespace,
        };
        if !agrees {
            mismatch(errors);
        }
    } else {
        if object_ns.is_empty() && !matches!(namespace, "default" | "kube-system") {
            mismatch(errors);
        }
        let controller_path = event.key("reportingController");
        let controller = event.text("reportingController");
        if controller.is_empty() {
            errors.required(controller_path, "");
        }
        for message in api::names::qualified_name(controller) {
            errors.invalid(controller_path, Bad::Str(controller), &message);
        }
        for (field, limit) in [
            ("reportingInstance", LIMIT),
            ("action", LIMIT),
            ("reason", LIMIT),
        ] {
            match event.text(field).len() {
                0 => errors.required(field, ""),
                n if n > limit => errors.invalid(
                    field,
                    Bad::Str(""),
                    &format!("can have at most {limit} characters"),
                ),
                _ => {}
            }
        }
        if event.text("message").len() > NOTE_LIMIT {
            errors.invalid(
                "message",
                Bad::Str(""),
                &format!("can have at most {NOTE_LIMIT} characters"),
            );
        }
    }
    for message in api::names::dns1123_subdomain(namespace) {
        errors.invalid("namespace", Bad::Str(namespace), &message);
    }
}

/// A new event through `events.k8s.io`.
fn strict_create(event: &Fields, errors: &mut FieldErrors) {
    series(event, errors);
    if event.get("eventTime").is_null() {
        errors.required("eventTime", "");
    }
    let kind = event.text("type");
    if !matches!(kind, "Normal" | "Warning") {
        errors.invalid("type", Bad::Str(""), &format!("has invalid value: {kind}"));
    }
    for field in ["firstTimestamp", "lastTimestamp"] {
        if event.time(field).is_some() {
            errors.invalid(field, Bad::Str(""), "needs to be unset");
        }
    }
    if event.get("count").as_i64().is_some_and(|c| c != 0) {
        errors.invalid("count", Bad::Str(""), "needs to be unset");
    }
    let source = event.get("source");
    let set = |f: &str| source[f].as_str().is_some_and(|s| !s.is_empty());
    if set("component") || set("host") {
        errors.invalid("source", Bad::Str(""), "needs to be unset");
    }
}

/// A series, when given, counts two occurrences at least and says when it saw the last.
fn series(event: &Fields, errors: &mut FieldErrors) {
    let series = event.get("series");
    if series.is_null() {
        return;
    }
    if series["count"].as_i64().unwrap_or(0) < 2 {
        errors.invalid("series.count", Bad::Str(""), "should be at least 2");
    }
    if series["lastObservedTime"].is_null() {
        errors.required("series.lastObservedTime", "");
    }
}

/// An update through `events.k8s.io`: a changed series is checked anew; what the event
/// reports may not change.
fn strict_update(event: &Fields, old: &Fields, errors: &mut FieldErrors) {
    if normalized(event.get("series")) != normalized(old.get("series")) {
        series(event, errors);
    }
    let immutable = |errors: &mut FieldErrors, path: &str, new: String, was: String| {
        if new != was {
            errors.invalid(path, Bad::Go(new), "field is immutable");
        }
    };
    let reference = |f: &Fields, field| go_reference(f.get(field));
    let quoted = |f: &Fields, field| format!("{:?}", f.text(field));
    let time = |f: &Fields, field| go_time(f.time(field));
    immutable(
        errors,
        "involvedObject",
        reference(event, "involvedObject"),
        reference(old, "involvedObject"),
    );
    for field in ["reason", "message"] {
        immutable(errors, field, quoted(event, field), quoted(old, field));
    }
    immutable(
        errors,
        "source",
        go_source(event.get("source")),
        go_source(old.get("source")),
    );
    for field in ["firstTimestamp", "lastTimestamp"] {
        immutable(errors, field, time(event, field), time(old, field));
    }
    let count = |f: &Fields| f.get("count").as_i64().unwrap_or(0).to_string();
    immutable(errors, "count", count(event), count(old));
    immutable(errors, "type", quoted(event, "type"), quoted(old, "type"));
    // Sub-microsecond changes are tolerated (clients truncate to microseconds).
    let micros = |f: &Fields| f.time("eventTime").map(|t| t.as_microsecond());
    if micros(event) != micros(old) {
        immutable(
            errors,
            "eventTime",
            time(event, "eventTime"),
            time(old, "eventTime"),
        );
    }
    immutable(
        errors,
        "action",
        quoted(event, "action"),
        quoted(old, "action"),
    );
    let related = |f: &Fields| match f.get("related") {
        Value::Null => "null".to_string(),
        r => go_reference(r),
    };
    immutable(errors, "related", related(event), related(old));
    for field in ["reportingController", "reportingInstance"] {
        immutable(errors, field, quoted(event, field), quoted(old, field));
    }
}

/// A JSON value with its null members left out (absent and null are one to Go).
fn normalized(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), normalized(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// An object reference as Go's `%#v` prints upstream's internal one.
fn go_reference(r: &Value) -> String {
    let text = |f: &str| format!("{:?}", r[f].as_str().unwrap_or_default());
    format!(
        "core.ObjectReference{{Kind:{}, Namespace:{}, Name:{}, UID:{}, APIVersion:{}, \
         ResourceVersion:{}, FieldPath:{}}}",
        text("kind"),
        text("namespace"),
        text("name"),
        text("uid"),
        text("apiVersion"),
        text("resourceVersion"),
        text("fieldPath")
    )
}

fn go_source(s: &Value) -> String {
    let text = |f: &str| format!("{:?}", s[f].as_str().unwrap_or_default());
    format!(
        "core.EventSource{{Component:{}, Host:{}}}",
        text("component"),
        text("host")
    )
}

/// A time as Go's `time.Time` prints itself (in UTC; the zero time when unset).
fn go_time(t: Option<Timestamp>) -> String {
    let Some(t) = t else {
        return "0001-01-01 00:00:00 +0000 UTC".into();
    };
    let whole = t.strftime("%Y-%m-%d %H:%M:%S").to_string();
    let nanos = t.subsec_nanosecond();
    let fraction = match nanos {
        0 => String::new(),
        n => format!(".{n:09}").trim_end_matches('0').to_string(),
    };
    format!("{whole}{fraction} +0000 UTC")
}

#[cfg(test)]
mod tests;
