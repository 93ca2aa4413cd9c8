//! The `Events:` table of a description: the events whose involved object is the one
//! described, oldest first, with kubectl's columns and ages.

use serde_json::Value;

use super::text::{age, indent};
use crate::client::Session;

pub async fn about(s: &Session, obj: &Value) -> String {
    let meta = &obj["metadata"];
    let namespace = meta["namespace"].as_str().unwrap_or("default");
    let uid = meta["uid"].as_str().unwrap_or_default();
    let events = listed(s, &format!("/api/v1/namespaces/{namespace}/events"))
        .await
        .into_iter()
        .filter(|e| {
            let involved = &e["involvedObject"];
            match involved["uid"].as_str().filter(|u| !u.is_empty()) {
                Some(u) => u == uid,
                None => involved["name"] == meta["name"] && involved["kind"] == obj["kind"],
            }
        })
        .collect();
    table(events)
}

/// The events about a node, in any namespace: controllers name it by its UID, the node
/// agent by its name, and kubectl asks for both.
pub async fn about_node(s: &Session, node: &Value) -> String {
    let name = node["metadata"]["name"].as_str().unwrap_or_default();
    let uid = node["metadata"]["uid"].as_str().unwrap_or_default();
    let events = listed(s, "/api/v1/events")
        .await
        .into_iter()
        .filter(|e| {
            let involved = &e["involvedObject"];
            involved["kind"] == "Node"
                && involved["name"] == name
                && involved["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .is_empty()
                && (involved["uid"] == uid || involved["uid"] == name)
        })
        .collect();
    table(events)
}

async fn listed(s: &Session, path: &str) -> Vec<Value> {
    s.get(path)
        .await
        .ok()
        .and_then(|l| l["items"].as_array().cloned())
        .unwrap_or_default()
}

fn table(mut events: Vec<Value>) -> String {
    if events.is_empty() {
        return "Events:\t<none>\n".into();
    }
    let first = |e: &Value| -> String {
        e["eventTime"]
            .as_str()
            .or_else(|| e["firstTimestamp"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    events.sort_by_key(|e| {
        e["lastTimestamp"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| first(e))
    });
    let mut out = format!(
        "Events:\n  Type\tReason\tAge\tFrom\tMessage\n{}----\t------\t----\t----\t-------\n",
        indent(1)
    );
    for e in &events {
        let since = age(&first(e));
        let count = e["count"].as_i64().unwrap_or(1);
        let interval = match (&e["series"], count) {
            (Value::Object(series), _) => format!(
                "{} (x{} over {since})",
                age(series["lastObservedTime"].as_str().unwrap_or_default()),
                series["count"].as_i64().unwrap_or(1)
            ),
            (_, c) if c > 1 => format!(
                "{} (x{c} over {since})",
                age(e["lastTimestamp"].as_str().unwrap_or_default())
            ),
            _ => since,
        };
        let source = e["source"]["component"]
            .as_str()
            .filter(|c| !c.is_empty())
            .or_else(|| e["reportingComponent"].as_str())
            .unwrap_or_default();
        out.push_str(&format!(
            "{}{}\t{}\t{interval}\t{source}\t{}\n",
            indent(1),
            e["type"].as_str().unwrap_or_default(),
            e["reason"].as_str().unwrap_or_default(),
            e["message"].as_str().unwrap_or_default().trim()
        ));
    }
    out
}
