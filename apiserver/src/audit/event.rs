//! The `audit.k8s.io/v1` `Event`, written one JSON object per line with upstream's field
//! names, order and timestamp format (RFC 3339 in UTC with microseconds).

use std::collections::BTreeMap;
use std::net::IpAddr;

use axum::http::HeaderMap;
use serde::Serialize;
use serde_json::Value;

use super::policy::{Level, Stage};
use crate::http::serve::User;

/// Who made a request (`authentication.k8s.io/v1` `UserInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Vec<String>>,
}

impl From<&User> for UserInfo {
    fn from(user: &User) -> Self {
        UserInfo {
            username: user.name.clone(),
            uid: user.uid.clone(),
            groups: user.groups.clone(),
            extra: user.extra.clone(),
        }
    }
}

/// The object a request is about.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resource: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_group: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subresource: String,
}

/// The answer's `metav1.Status`: the code alone for objects, and status, message, reason and
/// details when the answer was a Status (failures, deletions).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ResponseStatus {
    pub metadata: serde_json::Map<String, Value>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    #[serde(skip_serializing_if = "is_zero")]
    pub code: u16,
}

fn is_zero(code: &u16) -> bool {
    *code == 0
}

impl ResponseStatus {
    pub fn code(code: u16) -> Self {
        ResponseStatus {
            code,
            ..Default::default()
        }
    }

    pub fn failure(code: u16, reason: &str, message: String) -> Self {
        ResponseStatus {
            status: "Failure".into(),
            message,
            reason: reason.into(),
            code,
            ..Default::default()
        }
    }

    /// The fields a `Status` answer carries, if `body` is one.
    pub fn of_status(code: u16, body: &Value) -> Self {
        if body.get("kind").and_then(Value::as_str) != Some("Status") {
            return ResponseStatus::code(code);
        }
        let text = |field: &str| body[field].as_str().unwrap_or_default().to_string();
        ResponseStatus {
            metadata: Default::default(),
            status: text("status"),
            message: text("message"),
            reason: text("reason"),
            details: body.get("details").filter(|d| !d.is_null()).cloned(),
            code: body["code"]
                .as_u64()
                .and_then(|c| u16::try_from(c).ok())
                .unwrap_or(code),
        }
    }
}

/// A point in time as `metav1.MicroTime` writes it: `2025-01-02T03:04:05.678901Z`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MicroTime(pub jiff::Timestamp);

impl MicroTime {
    pub fn now() -> Self {
        MicroTime(jiff::Timestamp::now())
    }
}

impl Serialize for MicroTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
    }
}

/// One audit event.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub kind: &'static str,
    pub api_version: &'static str,
    #[serde(serialize_with = "level_name")]
    pub level: Level,
    #[serde(rename = "auditID")]
    pub audit_id: String,
    #[serde(serialize_with = "stage_name")]
    pub stage: Stage,
    #[serde(rename = "requestURI")]
    pub request_uri: String,
    pub verb: String,
    pub user: UserInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impersonated_user: Option<UserInfo>,
    #[serde(rename = "sourceIPs", skip_serializing_if = "Vec::is_empty")]
    pub source_ips: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user_agent: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_ref: Option<ObjectReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_status: Option<ResponseStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_object: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_object: Option<Value>,
    pub request_received_timestamp: MicroTime,
    pub stage_timestamp: MicroTime,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

fn level_name<S: serde::Serializer>(level: &Level, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(level.as_str())
}

fn stage_name<S: serde::Serializer>(stage: &Stage, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(stage.as_str())
}

impl Event {
    /// The event of a request just received, at the `RequestReceived` stage.
    pub fn new(level: Level, audit_id: String, received: MicroTime) -> Self {
        Event {
            kind: "Event",
            api_version: "audit.k8s.io/v1",
            level,
            audit_id,
            stage: Stage::RequestReceived,
            request_uri: String::new(),
            verb: String::new(),
            user: UserInfo::default(),
            impersonated_user: None,
            source_ips: Vec::new(),
            user_agent: String::new(),
            object_ref: None,
            response_status: None,
            request_object: None,
            response_object: None,
            request_received_timestamp: received,
            stage_timestamp: received,
            annotations: BTreeMap::new(),
        }
    }

    /// The event as one line of the log.
    pub fn line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).unwrap_or_default();
        line.push(b'\n');
        line
    }
}

/// Longest user agent recorded, as upstream.
const MAX_USER_AGENT: usize = 1024;

/// The user agent, cut at 1,024 bytes (and marked so) as upstream.
pub fn user_agent(headers: &HeaderMap) -> String {
    let agent = headers
        .get(axum::http::header::USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    if agent.len() <= MAX_USER_AGENT {
        return agent;
    }
    let mut cut = MAX_USER_AGENT;
    while !agent.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...TRUNCATED", &agent[..cut])
}

/// Where a request came from, as upstream lists it: the `X-Forwarded-For` addresses, then
/// `X-Real-Ip` unless already listed, then the peer unless it is the last one listed. All
/// but the peer are the client's word.
pub fn source_ips(headers: &HeaderMap, peer: Option<IpAddr>) -> Vec<String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let mut ips: Vec<IpAddr> = header("x-forwarded-for")
        .into_iter()
        .flat_map(|list| list.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    if let Some(real) = header("x-real-ip").and_then(|v| v.trim().parse().ok())
        && !ips.contains(&real)
    {
        ips.push(real);
    }
    if let Some(peer) = peer.map(canonical)
        && ips.last() != Some(&peer)
    {
        ips.push(peer);
    }
    ips.iter().map(IpAddr::to_string).collect()
}

/// An IPv4 peer reached over an IPv6 socket, as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// `object` without `metadata.managedFields`: itself, each item of a list, each row object
/// of a Table.
pub fn drop_managed_fields(object: &mut Value) {
    let strip = |o: &mut Value| {
        if let Some(meta) = o.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("managedFields");
        }
    };
    strip(object);
    if let Some(items) = object.get_mut("items").and_then(Value::as_array_mut) {
        items.iter_mut().for_each(strip);
    }
    if let Some(rows) = object.get_mut("rows").and_then(Value::as_array_mut) {
        for row in rows {
            if let Some(o) = row.get_mut("object") {
                strip(o);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(text: &str) -> MicroTime {
        MicroTime(text.parse().unwrap())
    }

    #[test]
    fn events_render_as_upstream_writes_them() {
        let mut event = Event::new(
            Level::Metadata,
            "0b9a5c2e-1f3d-4e5a-8b7c-6d5e4f3a2b1c".into(),
            at("2025-03-04T05:06:07.123456789Z"),
        );
        event.stage = Stage::ResponseComplete;
        event.stage_timestamp = at("2025-03-04T05:06:08Z");
        event.request_uri = "/api/v1/namespaces/dev/configmaps?limit=500".into();
        event.verb = "list".into();
        event.user = UserInfo {
            username: "alice".into(),
            groups: vec!["system:authenticated".into()],
            ..Default::default()
        };
        event.source_ips = vec!["10.0.0.1".into()];
        event.user_agent = "kubectl/v1.32.0".into();
        event.object_ref = Some(ObjectReference {
            resource: "configmaps".into(),
            namespace: "dev".into(),
            api_version: "v1".into(),
            ..Default::default()
        });
        event.response_status = Some(ResponseStatus::code(200));
        event
            .annotations
            .insert("authorization.k8s.io/decision".into(), "allow".into());
        let line = String::from_utf8(event.line()).unwrap();
        assert_eq!(
            line,
            concat!(
                r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","#,
                r#""auditID":"0b9a5c2e-1f3d-4e5a-8b7c-6d5e4f3a2b1c","stage":"ResponseComplete","#,
                r#""requestURI":"/api/v1/namespaces/dev/configmaps?limit=500","verb":"list","#,
                r#""user":{"username":"alice","groups":["system:authenticated"]},"#,
                r#""sourceIPs":["10.0.0.1"],"userAgent":"kubectl/v1.32.0","#,
                r#""objectRef":{"resource":"configmaps","namespace":"dev","apiVersion":"v1"},"#,
                r#""responseStatus":{"metadata":{},"code":200},"#,
                r#""requestReceivedTimestamp":"2025-03-04T05:06:07.123456Z","#,
                r#""stageTimestamp":"2025-03-04T05:06:08.000000Z","#,
                r#""annotations":{"authorization.k8s.io/decision":"allow"}}"#,
                "\n"
            )
        );
        assert_eq!(line.matches('\n').count(), 1, "one line per event");
    }

    #[test]
    fn status_answers_fill_the_response_status() {
        let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": "configmaps \"a\" is forbidden", "reason": "Forbidden",
            "details": {"name": "a", "kind": "configmaps"}, "code": 403});
        let status = ResponseStatus::of_status(403, &body);
        assert_eq!(
            serde_json::to_value(&status).unwrap(),
            json!({"metadata": {}, "status": "Failure", "message": "configmaps \"a\" is forbidden",
                "reason": "Forbidden", "details": {"name": "a", "kind": "configmaps"}, "code": 403})
        );
        let object = json!({"kind": "ConfigMap"});
        assert_eq!(
            ResponseStatus::of_status(201, &object),
            ResponseStatus::code(201)
        );
    }

    #[test]
    fn source_ips_as_upstream_lists_them() {
        let mut headers = HeaderMap::new();
        let peer: IpAddr = "10.0.0.9".parse().unwrap();
        assert_eq!(source_ips(&headers, Some(peer)), ["10.0.0.9"]);
        headers.insert(
            "x-forwarded-for",
            "1.2.3.4, bogus, 10.0.0.9".parse().unwrap(),
        );
        assert_eq!(source_ips(&headers, Some(peer)), ["1.2.3.4", "10.0.0.9"]);
        headers.insert("x-real-ip", "5.6.7.8".parse().unwrap());
        assert_eq!(
            source_ips(&headers, Some(peer)),
            ["1.2.3.4", "10.0.0.9", "5.6.7.8", "10.0.0.9"]
        );
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(source_ips(&HeaderMap::new(), Some(mapped)), ["127.0.0.1"]);
    }

    #[test]
    fn long_user_agents_are_cut() {
        let mut headers = HeaderMap::new();
        headers.insert("user-agent", "x".repeat(2000).parse().unwrap());
        let agent = user_agent(&headers);
        assert_eq!(agent.len(), 1024 + "...TRUNCATED".len());
        assert!(agent.ends_with("x...TRUNCATED"));
    }

    #[test]
    fn managed_fields_are_dropped_from_objects_lists_and_tables() {
        let mf = json!([{"manager": "kubectl"}]);
        let mut obj = json!({"metadata": {"name": "a", "managedFields": mf}});
        drop_managed_fields(&mut obj);
        assert_eq!(obj, json!({"metadata": {"name": "a"}}));
        let mut list =
            json!({"kind": "List", "metadata": {}, "items": [{"metadata": {"managedFields": mf}}]});
        drop_managed_fields(&mut list);
        assert_eq!(list["items"][0], json!({"metadata": {}}));
        let mut table =
            json!({"kind": "Table", "rows": [{"object": {"metadata": {"managedFields": mf}}}]});
        drop_managed_fields(&mut table);
        assert_eq!(table["rows"][0]["object"], json!({"metadata": {}}));
    }
}
