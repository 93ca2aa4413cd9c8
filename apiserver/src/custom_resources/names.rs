//! Which definitions get their names, and the status the server gives each definition:
//! `NamesAccepted` (a name already taken in the group by an older definition is a conflict,
//! as upstream's naming controller words it), `Established` once the names are accepted,
//! `acceptedNames` and `storedVersions`. Pure: the controller writes what differs.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

/// The status one definition should have, and whether it is served.
#[derive(Debug)]
pub struct Decision {
    pub name: String,
    pub status: Value,
    pub serves: bool,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// The names a definition asks for, defaulted as upstream (singular: the kind in lower
/// case; listKind: the kind + `List`).
pub fn requested_names(crd: &Value) -> Value {
    let names = &crd["spec"]["names"];
    let kind = names["kind"].as_str().unwrap_or_default();
    let mut out = names.as_object().cloned().unwrap_or_default();
    if names["singular"].as_str().unwrap_or_default().is_empty() {
        out.insert("singular".into(), json!(kind.to_lowercase()));
    }
    if names["listKind"].as_str().unwrap_or_default().is_empty() {
        out.insert("listKind".into(), json!(format!("{kind}List")));
    }
    Value::Object(out)
}

/// The first of a definition's names another definition of its group holds already, with
/// upstream's condition reason.
fn conflict(
    names: &Value,
    taken: &HashMap<String, String>,
    own: &str,
) -> Option<(&'static str, String)> {
    let held = |n: &str| taken.get(n).is_some_and(|owner| owner != own);
    let one = |field: &str| names[field].as_str().unwrap_or_default().to_string();
    for (field, reason) in [
        ("plural", "PluralConflict"),
        ("singular", "SingularConflict"),
    ] {
        let n = one(field);
        if held(&format!("resource:{n}")) {
            return Some((reason, format!("{n:?} is already in use")));
        }
    }
    for short in strings(&names["shortNames"]) {
        if held(&format!("resource:{short}")) {
            return Some(("ShortNamesConflict", format!("{short:?} is already in use")));
        }
    }
    for (field, reason) in [("kind", "KindConflict"), ("listKind", "ListKindConflict")] {
        let n = one(field);
        if held(&format!("kind:{n}")) {
            return Some((reason, format!("{n:?} is already in use")));
        }
    }
    None
}

fn take(names: &Value, taken: &mut HashMap<String, String>, own: &str) {
    let mut add = |key: String| {
        taken.entry(key).or_insert_with(|| own.to_string());
    };
    for field in ["plural", "singular"] {
        add(format!(
            "resource:{}",
            names[field].as_str().unwrap_or_default()
        ));
    }
    for short in strings(&names["shortNames"]) {
        add(format!("resource:{short}"));
    }
    for field in ["kind", "listKind"] {
        add(format!(
            "kind:{}",
            names[field].as_str().unwrap_or_default()
        ));
    }
}

/// A condition, keeping its transition time when its status did not change.
fn condition(
    old: &Value,
    kind: &str,
    status: bool,
    reason: &str,
    message: &str,
    now: &str,
) -> Value {
    let status = if status { "True" } else { "False" };
    let before = old["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == kind));
    let since = match before {
        Some(b) if b["status"] == status => b["lastTransitionTime"].clone(),
        _ => json!(now),
    };
    json!({"type": kind, "status": status, "lastTransitionTime": since, "reason": reason, "message": message})
}

/// The status every definition should have, oldest first winning its names.
pub fn decide(crds: &[Value], now: &str) -> Vec<Decision> {
    let mut order: Vec<&Value> = crds.iter().collect();
    order.sort_by_key(|c| {
        let meta = &c["metadata"];
        (
            meta["creationTimestamp"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            meta["name"].as_str().unwrap_or_default().to_string(),
        )
    });
    let mut taken: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut decisions = Vec::new();
    for crd in order {
        let name = crd["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let group = crd["spec"]["group"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let names = requested_names(crd);
        let in_group = taken.entry(group).or_default();
        let clash = conflict(&names, in_group, &name);
        let mut status: Map<String, Value> = crd["status"].as_object().cloned().unwrap_or_default();
        let mut conditions: Vec<Value> = status
            .get("conditions")
            .and_then(Value::as_array)
            .map(|c| {
                c.iter()
                    .filter(|c| {
                        !matches!(c["type"].as_str(), Some("NamesAccepted" | "Established"))
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let accepted = clash.is_none();
        let (reason, message) = match &clash {
            None => ("NoConflicts", "no conflicts found".to_string()),
            Some((reason, message)) => (*reason, message.clone()),
        };
        let mut own = vec![condition(
            crd,
            "NamesAccepted",
            accepted,
            reason,
            &message,
            now,
        )];
        own.push(match accepted {
            true => condition(
                crd,
                "Established",
                true,
                "InitialNamesAccepted",
                "the initial names have been accepted",
                now,
            ),
            false => condition(
                crd,
                "Established",
                false,
                "NotAccepted",
                "not all names are accepted",
                now,
            ),
        });
        own.append(&mut conditions);
        status.insert("conditions".into(), Value::Array(own));
        if accepted {
            take(&names, in_group, &name);
            status.insert("acceptedNames".into(), names);
        } else if !status.contains_key("acceptedNames") {
            status.insert("acceptedNames".into(), json!({"plural": "", "kind": ""}));
        }
        let storage = crd["spec"]["versions"]
            .as_array()
            .and_then(|v| v.iter().find(|v| v["storage"] == json!(true)))
            .and_then(|v| v["name"].as_str())
            .unwrap_or_default()
            .to_string();
        let mut stored = strings(&status.get("storedVersions").cloned().unwrap_or_default());
        if !storage.is_empty() && !stored.contains(&storage) {
            stored.push(storage);
        }
        status.insert("storedVersions".into(), json!(stored));
        decisions.push(Decision {
            name,
            status: Value::Object(status),
            serves: accepted,
        });
    }
    decisions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd(name: &str, created: &str, plural: &str, kind: &str) -> Value {
        json!({"metadata": {"name": name, "creationTimestamp": created}, "spec": {
            "group": "example.com", "names": {"plural": plural, "kind": kind},
            "versions": [{"name": "v1", "served": true, "storage": true}]}})
    }

    #[test]
    fn the_older_definition_keeps_its_names() {
        let crds = [
            crd(
                "things.example.com",
                "2024-01-02T00:00:00Z",
                "things",
                "Widget",
            ),
            crd(
                "widgets.example.com",
                "2024-01-01T00:00:00Z",
                "widgets",
                "Widget",
            ),
        ];
        let d = decide(&crds, "2024-01-03T00:00:00Z");
        assert_eq!(d[0].name, "widgets.example.com");
        assert!(d[0].serves);
        let c = &d[0].status["conditions"];
        assert_eq!(
            (&c[0]["type"], &c[0]["status"], &c[0]["reason"]),
            (
                &json!("NamesAccepted"),
                &json!("True"),
                &json!("NoConflicts")
            )
        );
        assert_eq!(
            (&c[1]["type"], &c[1]["status"]),
            (&json!("Established"), &json!("True"))
        );
        assert_eq!(d[0].status["acceptedNames"]["listKind"], "WidgetList");
        assert_eq!(d[0].status["acceptedNames"]["singular"], "widget");
        assert_eq!(d[0].status["storedVersions"], json!(["v1"]));
        assert!(!d[1].serves);
        let c = &d[1].status["conditions"][0];
        assert_eq!(
            (&c["status"], &c["reason"], &c["message"]),
            (
                &json!("False"),
                &json!("SingularConflict"),
                &json!("\"widget\" is already in use")
            )
        );
    }

    #[test]
    fn transition_times_stay_while_the_status_stays() {
        let crds = [crd(
            "widgets.example.com",
            "2024-01-01T00:00:00Z",
            "widgets",
            "Widget",
        )];
        let first = decide(&crds, "t1");
        let mut again = crds[0].clone();
        again["status"] = first[0].status.clone();
        let second = decide(&[again], "t2");
        assert_eq!(
            second[0].status["conditions"][0]["lastTransitionTime"],
            "t1"
        );
    }
}
