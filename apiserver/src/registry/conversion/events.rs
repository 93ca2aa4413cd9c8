//! Events between core `v1` (stored) and `events.k8s.io/v1`, as kube-apiserver converts them:
//! the same object under other names (`regarding` is `involvedObject`, `note` is `message`,
//! `reportingController` is `reportingComponent`, the `deprecated*` fields are the legacy
//! `source`, `firstTimestamp`, `lastTimestamp` and `count`).

use serde_json::{Map, Value, json};

pub const CORE: &str = "v1";
pub const EVENTS: &str = "events.k8s.io/v1";

/// Field names in core `v1` and in `events.k8s.io/v1`, in `events.k8s.io/v1`'s order.
const FIELDS: [(&str, &str); 14] = [
    ("eventTime", "eventTime"),
    ("series", "series"),
    ("reportingComponent", "reportingController"),
    ("reportingInstance", "reportingInstance"),
    ("action", "action"),
    ("reason", "reason"),
    ("involvedObject", "regarding"),
    ("related", "related"),
    ("message", "note"),
    ("type", "type"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
];

/// `obj` (either version) in `api_version`.
pub fn convert(obj: &Value, api_version: &str) -> Value {
    let to_events = api_version == EVENTS;
    let mut out = Map::new();
    out.insert("apiVersion".into(), json!(api_version));
    out.insert("kind".into(), json!("Event"));
    out.insert("metadata".into(), obj["metadata"].clone());
    for (core, events) in FIELDS {
        let (from, to) = match to_events {
            true => (core, events),
            false => (events, core),
        };
        let value = &obj[from];
        // Strings are omitted when empty, as Go's `omitempty`.
        if value.is_null() || value.as_str() == Some("") {
            continue;
        }
        out.insert(to.into(), value.clone());
    }
    if to_events {
        // Not pointers in Go: always written, `null` and `{}` when unset.
        out.entry("eventTime").or_insert(Value::Null);
        out.entry("deprecatedSource").or_insert(json!({}));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_under_the_newer_names() {
        let core = json!({"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "web.1", "namespace": "demo"},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "demo"},
            "reason": "Started", "message": "Started container web",
            "source": {"component": "kubelet", "host": "node-1"},
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:01:00Z",
            "count": 2, "type": "Normal", "reportingComponent": "", "reportingInstance": ""});
        let events = convert(&core, EVENTS);
        assert_eq!(events["apiVersion"], EVENTS);
        assert_eq!(events["regarding"]["name"], "web");
        assert_eq!(events["note"], "Started container web");
        assert_eq!(events["deprecatedSource"]["component"], "kubelet");
        assert_eq!(events["deprecatedCount"], 2);
        assert_eq!(events["deprecatedLastTimestamp"], "2026-01-01T00:01:00Z");
        assert!(events["eventTime"].is_null() && events.get("eventTime").is_some());
        assert!(events.get("reportingController").is_none());
        let back = convert(&events, CORE);
        let mut expected = core.clone();
        let fields = expected.as_object_mut().unwrap();
        fields.remove("reportingComponent");
        fields.remove("reportingInstance");
        for (key, value) in fields.iter() {
            assert_eq!(&back[key], value, "{key}");
        }
    }

    #[test]
    fn new_events_keep_their_reporting_fields() {
        let events = json!({"apiVersion": EVENTS, "kind": "Event",
            "metadata": {"name": "e", "namespace": "demo"},
            "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "example.com/ctl",
            "reportingInstance": "ctl-1", "action": "Scale", "reason": "Scaled", "type": "Normal",
            "regarding": {"kind": "Deployment", "name": "web"}, "note": "scaled up",
            "series": {"count": 3, "lastObservedTime": "2026-01-01T00:02:00.000000Z"}});
        let core = convert(&events, CORE);
        assert_eq!(core["reportingComponent"], "example.com/ctl");
        assert_eq!(core["involvedObject"]["kind"], "Deployment");
        assert_eq!(core["message"], "scaled up");
        assert_eq!(core["series"]["count"], 3);
        assert!(core.get("source").is_none());
        assert_eq!(convert(&core, EVENTS)["deprecatedSource"], json!({}));
    }
}
