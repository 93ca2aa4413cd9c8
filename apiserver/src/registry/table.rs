//! Table output: what `kubectl get` asks for (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`)
//! and prints as is. Columns come from the scheme; each row carries the object's metadata
//! (`includeObject=Metadata`, the default), the whole object, or nothing.

mod autoscaling;
#[cfg(test)]
mod later_kinds_tests;
mod routes;
mod special;

use api::columns::{Cell, Column};
use api::scheme::ResourceDef;
use serde_json::{Value, json};

pub const CONTENT_TYPE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

/// What rows carry (`includeObject`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Include {
    None,
    Metadata,
    Object,
}

impl Include {
    pub fn parse(value: Option<&str>) -> Include {
        match value {
            Some("None") => Include::None,
            Some("Object") => Include::Object,
            _ => Include::Metadata,
        }
    }
}

/// Upstream's short duration format: `45s`, `5m30s`, `3h10m`, `2d4h`, `1y20d`.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{}d", hours / 24),
            h => format!("{}d{h}h", hours / 24),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let years = hours / 24 / 365;
        return match (hours / 24) % 365 {
            0 => format!("{years}y"),
            d => format!("{years}y{d}d"),
        };
    }
    format!("{}y", hours / 24 / 365)
}

fn at<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(obj, |v, part| v.get(part))
}

/// The string at a path, "" when absent.
fn str_at<'a>(obj: &'a Value, path: &str) -> &'a str {
    at(obj, path).and_then(Value::as_str).unwrap_or_default()
}

/// Seconds from the timestamp at a path until `now`.
fn seconds_since(obj: &Value, path: &str, now: i64) -> Option<i64> {
    let t = at(obj, path)?.as_str()?.parse::<jiff::Timestamp>().ok()?;
    Some(now - t.as_second())
}

fn scalar(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn int(obj: &Value, path: &str) -> i64 {
    at(obj, path).and_then(Value::as_i64).unwrap_or(0)
}

fn containers<'a>(obj: &'a Value, pod_spec: &str) -> impl Iterator<Item = &'a Value> {
    at(obj, &format!("{pod_spec}.containers"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn join_field(obj: &Value, pod_spec: &str, field: &str) -> String {
    containers(obj, pod_spec)
        .filter_map(|c| c[field].as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn selector(obj: &Value, path: &str) -> String {
    match api::selector::format_label_selector(at(obj, path)) {
        s if s.is_empty() => "<none>".into(),
        s => s,
    }
}

fn cell(column: &Column, obj: &Value, now: i64) -> Value {
    match column.cell {
        Cell::Name => json!(obj["metadata"]["name"].as_str().unwrap_or_default()),
        Cell::Age => cell(
            &Column {
                cell: Cell::AgeOf("metadata.creationTimestamp"),
                ..*column
            },
            obj,
            now,
        ),
        Cell::AgeOf(path) => match seconds_since(obj, path, now) {
            Some(s) => json!(human_duration(s)),
            None => json!("<unknown>"),
        },
        Cell::PathOrUnset(path) => json!(scalar(at(obj, path)).unwrap_or_else(|| "<unset>".into())),
        Cell::PathOr(path, absent) => json!(scalar(at(obj, path)).unwrap_or_else(|| absent.into())),
        Cell::Int(path) => json!(int(obj, path)),
        Cell::Bool(path, absent) => json!(at(obj, path).and_then(Value::as_bool).unwrap_or(absent)),
        Cell::BoolText(path) => json!(match at(obj, path).and_then(Value::as_bool) {
            Some(true) => "True",
            Some(false) => "False",
            None => "<unset>",
        }),
        Cell::SinceOrNone(path) => match seconds_since(obj, path, now) {
            Some(s) => json!(human_duration(s)),
            None => json!("<none>"),
        },
        Cell::Pairs(path) => {
            let mut pairs: Vec<String> = at(obj, path)
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect();
            pairs.sort();
            match pairs.is_empty() {
                true => json!("<none>"),
                false => json!(pairs.join(",")),
            }
        }
        Cell::KindName(path) => json!(format!(
            "{}/{}",
            str_at(obj, &format!("{path}.kind")),
            str_at(obj, &format!("{path}.name"))
        )),
        Cell::Joined(path, field) => json!(
            at(obj, path)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|e| match field {
                    "" => e.as_str(),
                    f => e[f].as_str(),
                })
                .collect::<Vec<_>>()
                .join(",")
        ),
        Cell::JsonOrNoValue(path) => match at(obj, path) {
            Some(v) if !v.is_null() => json!(v.to_string()),
            _ => json!("<no value>"),
        },
        Cell::Special(special) => special::cell(special, obj, now),
        Cell::Annotation(key) => json!(
            obj["metadata"]["annotations"][key]
                .as_str()
                .unwrap_or_default()
        ),
        Cell::Path(path) => match (scalar(at(obj, path)), column.kind) {
            (Some(v), "integer") => v.parse::<i64>().map(|n| json!(n)).unwrap_or(json!(v)),
            (Some(v), _) => json!(v),
            (None, "integer") => json!(0),
            (None, _) => json!(""),
        },
        Cell::PathOrNone(path) => json!(scalar(at(obj, path)).unwrap_or_else(|| "<none>".into())),
        Cell::Keys(maps) => json!(
            maps.iter()
                .filter_map(|m| obj[*m].as_object())
                .map(|m| m.len())
                .sum::<usize>()
        ),
        Cell::Len(path) => json!(at(obj, path).and_then(Value::as_array).map_or(0, Vec::len)),
        Cell::Ratio(a, b) => json!(format!("{}/{}", int(obj, a), int(obj, b))),
        Cell::ContainerNames(spec) => json!(join_field(obj, spec, "name")),
        Cell::ContainerImages(spec) => json!(join_field(obj, spec, "image")),
        Cell::Selector(path) => json!(selector(obj, path)),
        Cell::PodReady => {
            let statuses = obj["status"]["containerStatuses"].as_array();
            let ready = statuses.map_or(0, |s| {
                s.iter().filter(|c| c["ready"] == json!(true)).count()
            });
            json!(format!("{ready}/{}", containers(obj, "spec").count()))
        }
        Cell::PodStatus => {
            let reason = obj["status"]["reason"].as_str().filter(|r| !r.is_empty());
            json!(
                reason
                    .or(obj["status"]["phase"].as_str())
                    .unwrap_or("Pending")
            )
        }
        Cell::PodRestarts => {
            let statuses = obj["status"]["containerStatuses"].as_array();
            json!(
                statuses
                    .map_or(0, |s| s
                        .iter()
                        .map(|c| c["restartCount"].as_i64().unwrap_or(0))
                        .sum::<i64>())
                    .to_string()
            )
        }
    }
}

fn row_object(obj: &Value, include: Include) -> Option<Value> {
    match include {
        Include::None => None,
        Include::Metadata => Some(json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
        })),
        Include::Object => Some(obj.clone()),
    }
}

/// The Table of `objects`; `columns` false leaves out the column definitions (watch events
/// after the first).
pub fn table(
    def: &ResourceDef,
    objects: &[Value],
    metadata: Value,
    include: Include,
    columns: bool,
) -> Value {
    let now = jiff::Timestamp::now().as_second();
    let printed = def.printer_columns();
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            // Upstream prints the internal version, whatever the request's.
            let stored = crate::registry::conversion::builtin::stored_form(def, obj);
            let printed_obj = stored.as_ref().unwrap_or(obj);
            let mut row = json!({"cells": printed.iter().map(|c| cell(c, printed_obj, now)).collect::<Vec<_>>()});
            if let Some(object) = row_object(obj, include) {
                row["object"] = object;
            }
            row
        })
        .collect();
    let mut table = json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata, "rows": rows});
    if columns {
        table["columnDefinitions"] = printed
            .iter()
            .map(|c| {
                json!({"name": c.name, "type": c.kind, "format": c.format, "description": c.description, "priority": c.priority})
            })
            .collect();
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::Scheme;

    #[test]
    fn durations_print_as_upstream() {
        for (secs, want) in [
            (-5, "<invalid>"),
            (0, "0s"),
            (119, "119s"),
            (125, "2m5s"),
            (600, "10m"),
            (3 * 3600 + 600, "3h10m"),
            (10 * 3600, "10h"),
            (3 * 86400 + 7200, "3d2h"),
            (30 * 86400, "30d"),
            (3 * 365 * 86400 + 20 * 86400, "3y20d"),
            (9 * 365 * 86400, "9y"),
        ] {
            assert_eq!(human_duration(secs), want, "{secs}s");
        }
    }

    #[test]
    fn rows_follow_the_kind_columns() {
        let scheme = Scheme::builtin();
        let deploy = scheme.lookup("apps", "v1", "deployments").unwrap();
        let obj = json!({"metadata": {"name": "web", "creationTimestamp": "2020-01-01T00:00:00Z"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"spec": {"containers": [{"name": "app", "image": "nginx"}, {"name": "s", "image": "busybox"}]}}},
            "status": {"readyReplicas": 2}});
        let t = table(
            deploy,
            &[obj],
            json!({"resourceVersion": "5"}),
            Include::Metadata,
            true,
        );
        let names: Vec<&str> = t["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "Name",
                "Ready",
                "Up-to-date",
                "Available",
                "Age",
                "Containers",
                "Images",
                "Selector"
            ]
        );
        let cells = &t["rows"][0]["cells"];
        assert_eq!(
            (
                &cells[0], &cells[1], &cells[2], &cells[5], &cells[6], &cells[7]
            ),
            (
                &json!("web"),
                &json!("2/3"),
                &json!(0),
                &json!("app,s"),
                &json!("nginx,busybox"),
                &json!("app=web")
            )
        );
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        let cm = scheme.lookup("", "v1", "configmaps").unwrap();
        let t = table(
            cm,
            &[json!({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}})],
            json!({}),
            Include::None,
            false,
        );
        assert_eq!(t["rows"][0]["cells"][1], 2);
        assert!(t["rows"][0].get("object").is_none() && t.get("columnDefinitions").is_none());
    }

    /// The cells of one object of `plural` in `group`, at a fixed time.
    fn cells(group: &str, plural: &str, obj: Value) -> Vec<Value> {
        let scheme = Scheme::builtin();
        let def = scheme.lookup(group, "v1", plural).unwrap();
        let now = "2024-01-01T01:00:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second();
        def.printer_columns()
            .iter()
            .map(|c| cell(c, &obj, now))
            .collect()
    }

    #[test]
    fn kind_specific_cells() {
        let svc = cells(
            "",
            "services",
            json!({"metadata": {"name": "web"},
            "spec": {"type": "NodePort", "clusterIP": "10.0.0.5", "selector": {"b": "2", "a": "1"},
                     "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}}),
        );
        assert_eq!(
            svc[1..5],
            [
                json!("NodePort"),
                json!("10.0.0.5"),
                json!("<none>"),
                json!("80:30080/TCP,53/UDP")
            ]
        );
        assert_eq!(svc[6], json!("a=1,b=2"));

        let job = cells(
            "batch",
            "jobs",
            json!({"metadata": {"name": "j"},
            "spec": {"completions": 3},
            "status": {"succeeded": 3, "startTime": "2024-01-01T00:00:00Z", "completionTime": "2024-01-01T00:02:05Z",
                       "conditions": [{"type": "Complete", "status": "True"}]}}),
        );
        assert_eq!(job[1..4], [json!("Complete"), json!("3/3"), json!("2m5s")]);

        let rb = cells(
            "rbac.authorization.k8s.io",
            "rolebindings",
            json!({"metadata": {"name": "rb"},
            "roleRef": {"kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "User", "name": "bob"}, {"kind": "ServiceAccount", "name": "ci", "namespace": "dev"}]}),
        );
        assert_eq!(
            (&rb[1], &rb[3], &rb[5]),
            (&json!("ClusterRole/view"), &json!("bob"), &json!("dev/ci"))
        );

        let route = cells(
            "route.openshift.io",
            "routes",
            json!({"metadata": {"name": "r"},
            "spec": {"host": "www.example.com", "to": {"kind": "Service", "name": "web"},
                     "port": {"targetPort": "http"}, "tls": {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"},
                     "wildcardPolicy": "None"}}),
        );
        assert_eq!(
            route[1..],
            [
                json!("www.example.com"),
                json!(""),
                json!("web"),
                json!("http"),
                json!("edge/Redirect"),
                json!("None")
            ]
        );

        let node = cells(
            "",
            "nodes",
            json!({"metadata": {"name": "n", "labels": {"node-role.kubernetes.io/worker": ""}},
            "spec": {"unschedulable": true}, "status": {"conditions": [{"type": "Ready", "status": "True"}],
            "nodeInfo": {"kubeletVersion": "v1.32.0"}}}),
        );
        assert_eq!(
            (&node[1], &node[2], &node[4]),
            (
                &json!("Ready,SchedulingDisabled"),
                &json!("worker"),
                &json!("v1.32.0")
            )
        );

        let dc = cells(
            "apps.openshift.io",
            "deploymentconfigs",
            json!({"metadata": {"name": "d"},
            "spec": {"replicas": 2, "triggers": [{"type": "ConfigChange"},
                {"type": "ImageChange", "imageChangeParams": {"automatic": true, "from": {"kind": "ImageStreamTag", "name": "app:latest"}}},
                {"type": "ImageChange", "imageChangeParams": {"from": {"kind": "ImageStreamTag", "name": "manual:latest"}}}]},
            "status": {"latestVersion": 4, "replicas": 2, "updatedReplicas": 2}}),
        );
        assert_eq!(
            dc[1..],
            [
                json!(4),
                json!(2),
                json!(2),
                json!("config,image(app:latest)")
            ]
        );
    }
}
