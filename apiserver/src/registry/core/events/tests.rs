use serde_json::{Value, json};

use super::*;
use crate::registry::validation::validated;

fn core(obj: &Value, old: Option<&Value>) -> String {
    validated(&Events, ("", "v1", "events"), obj, old)
}

fn newer(obj: &Value, old: Option<&Value>) -> String {
    validated(&Events, ("events.k8s.io", "v1", "events"), obj, old)
}

fn reported() -> Value {
    json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "api.scaled", "namespace": "news"},
        "eventTime": "2026-01-01T00:00:00.123456Z",
        "reportingController": "example.com/scaler", "reportingInstance": "scaler-1",
        "action": "Scale", "reason": "Scaled", "type": "Normal",
        "regarding": {"kind": "Deployment", "name": "api", "namespace": "news", "uid": "u1"},
        "note": "scaled to 3"})
}

#[test]
fn core_events_get_the_legacy_rules_only() {
    let old_style = json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "web.1", "namespace": "news"},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "news"},
        "reason": "Started", "count": 3, "source": {"component": "kubelet"},
        "firstTimestamp": "2026-01-01T00:00:00Z"});
    assert_eq!(core(&old_style, None), "");
    let mut elsewhere = old_style.clone();
    elsewhere["involvedObject"]["namespace"] = json!("other");
    assert_eq!(
        core(&elsewhere, None),
        "involvedObject.namespace: Invalid value: \"other\": does not match event.namespace\n"
    );
    // A cluster-scoped object's old-style events live in `default`.
    let mut node = old_style.clone();
    node["involvedObject"] = json!({"kind": "Node", "name": "aio"});
    assert_eq!(
        core(&node, None),
        "involvedObject.namespace: Invalid value: \"\": does not match event.namespace\n"
    );
    node["metadata"]["namespace"] = json!("default");
    assert_eq!(core(&node, None), "");
    // With an eventTime, the reporter is required, named as v1 names it.
    let mut new_style = old_style.clone();
    new_style["eventTime"] = json!("2026-01-01T00:00:00.000000Z");
    new_style["reportingInstance"] = json!("node-1");
    assert_eq!(
        core(&new_style, None),
        "reportingComponent: Required value\n\
         reportingComponent: Invalid value: \"\": name part must be non-empty\n\
         reportingComponent: Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')\n\
         action: Required value\n"
    );
    // Updates through v1 may change anything the legacy rules allow.
    let mut changed = old_style.clone();
    changed["count"] = json!(4);
    changed["reason"] = json!("Pulled");
    assert_eq!(core(&changed, Some(&old_style)), "");
}

#[test]
fn new_events_through_events_k8s_io_are_strict() {
    assert_eq!(newer(&reported(), None), "");
    let mut bad = reported();
    let map = bad.as_object_mut().unwrap();
    map.remove("eventTime");
    map.remove("action");
    map.insert("type".into(), json!("Info"));
    map.insert("deprecatedCount".into(), json!(2));
    map.insert(
        "deprecatedFirstTimestamp".into(),
        json!("2026-01-01T00:00:00Z"),
    );
    map.insert("series".into(), json!({"count": 1}));
    // Without an eventTime the legacy rules ask for no action.
    assert_eq!(
        newer(&bad, None),
        "series.count: Invalid value: \"\": should be at least 2\n\
         series.lastObservedTime: Required value\n\
         eventTime: Required value\n\
         type: Invalid value: \"\": has invalid value: Info\n\
         firstTimestamp: Invalid value: \"\": needs to be unset\n\
         count: Invalid value: \"\": needs to be unset\n"
    );
    let mut no_action = reported();
    no_action["action"] = json!("");
    assert_eq!(newer(&no_action, None), "action: Required value\n");
}

#[test]
fn updates_through_events_k8s_io_keep_what_the_event_reports() {
    let old = reported();
    let mut next = reported();
    next["series"] = json!({"count": 2, "lastObservedTime": "2026-01-01T00:01:00.000000Z"});
    assert_eq!(newer(&next, Some(&old)), "", "a series may grow");
    next["note"] = json!("scaled to 4");
    next["regarding"]["name"] = json!("web");
    next["eventTime"] = json!("2026-01-01T00:00:01.5Z");
    next["deprecatedSource"] = json!({"component": "me"});
    next["related"] = json!({"kind": "Pod", "name": "p"});
    next["reportingInstance"] = json!("scaler-2");
    assert_eq!(
        newer(&next, Some(&old)),
        "involvedObject: Invalid value: core.ObjectReference{Kind:\"Deployment\", Namespace:\"news\", Name:\"web\", UID:\"u1\", APIVersion:\"\", ResourceVersion:\"\", FieldPath:\"\"}: field is immutable\n\
         message: Invalid value: \"scaled to 4\": field is immutable\n\
         source: Invalid value: core.EventSource{Component:\"me\", Host:\"\"}: field is immutable\n\
         eventTime: Invalid value: 2026-01-01 00:00:01.5 +0000 UTC: field is immutable\n\
         related: Invalid value: core.ObjectReference{Kind:\"Pod\", Namespace:\"\", Name:\"p\", UID:\"\", APIVersion:\"\", ResourceVersion:\"\", FieldPath:\"\"}: field is immutable\n\
         reportingInstance: Invalid value: \"scaler-2\": field is immutable\n"
    );
    // Below a microsecond, the time is the same.
    let mut same = reported();
    same["eventTime"] = json!("2026-01-01T00:00:00.123456789Z");
    assert_eq!(newer(&same, Some(&old)), "");
    let mut shrunk = reported();
    shrunk["series"] = json!({"count": 1, "lastObservedTime": "2026-01-01T00:01:00Z"});
    assert_eq!(
        newer(&shrunk, Some(&old)),
        "series.count: Invalid value: \"\": should be at least 2\n"
    );
}
