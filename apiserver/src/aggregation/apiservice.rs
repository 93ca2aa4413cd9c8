//! The APIService model the aggregation reads (pure): an object's spec, the `Local`
//! APIServices of what this server serves, with upstream's priorities, and the `Available`
//! condition.

use base64::Engine;
use serde_json::{Value, json};

pub const GROUP: &str = "apiregistration.k8s.io";
pub const PLURAL: &str = "apiservices";
/// The label of the APIServices the server manages itself: `onstart` for its own group
/// versions, `true` for those of custom resource definitions, as upstream marks them.
pub const AUTOMANAGED: &str = "kube-aggregator.kubernetes.io/automanaged";

/// The service an aggregated group version is served by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRef {
    pub namespace: String,
    pub name: String,
    pub port: u16,
}

/// What the aggregation needs of an APIService.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub name: String,
    pub group: String,
    pub version: String,
    /// None: served by this server (`Local`).
    pub service: Option<ServiceRef>,
    /// PEM certificates (the decoded `caBundle`).
    pub ca_bundle: Vec<u8>,
    pub insecure: bool,
    pub group_priority: i64,
    pub version_priority: i64,
}

pub fn spec(obj: &Value) -> Option<Spec> {
    let spec = &obj["spec"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let service = spec["service"].as_object().map(|s| ServiceRef {
        namespace: s.get("namespace").map(text).unwrap_or_default(),
        name: s.get("name").map(text).unwrap_or_default(),
        port: s
            .get("port")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(443),
    });
    let ca_bundle = base64::engine::general_purpose::STANDARD
        .decode(spec["caBundle"].as_str().unwrap_or_default())
        .unwrap_or_default();
    Some(Spec {
        name: obj["metadata"]["name"].as_str()?.to_string(),
        group: text(&spec["group"]),
        version: text(&spec["version"]),
        service,
        ca_bundle,
        insecure: spec["insecureSkipTLSVerify"].as_bool().unwrap_or(false),
        group_priority: spec["groupPriorityMinimum"].as_i64().unwrap_or(0),
        version_priority: spec["versionPriority"].as_i64().unwrap_or(0),
    })
}

/// `<version>.<group>` (`v1.` for the core group).
pub fn name_of(group: &str, version: &str) -> String {
    format!("{version}.{group}")
}

/// kube-apiserver's priorities of its group versions; OpenShift's servers register theirs at
/// 9900/15, and so does everything else this server serves.
fn priorities(group: &str, version: &str) -> (i64, i64) {
    match (group, version) {
        ("", "v1") => (18000, 1),
        ("apps", _) => (17800, 15),
        ("events.k8s.io", _) => (17750, 15),
        ("authentication.k8s.io", _) => (17700, 15),
        ("authorization.k8s.io", _) => (17600, 15),
        ("autoscaling", "v2") => (17500, 30),
        ("autoscaling", _) => (17500, 15),
        ("batch", _) => (17400, 15),
        ("certificates.k8s.io", _) => (17300, 15),
        ("networking.k8s.io", _) => (17200, 15),
        ("policy", _) => (17100, 15),
        ("rbac.authorization.k8s.io", _) => (17000, 15),
        ("storage.k8s.io", _) => (16800, 15),
        ("apiextensions.k8s.io" | "admissionregistration.k8s.io", _) => (16700, 15),
        ("scheduling.k8s.io", _) => (16600, 15),
        ("coordination.k8s.io", _) => (16500, 15),
        ("node.k8s.io", _) => (16300, 15),
        ("discovery.k8s.io", _) => (16200, 15),
        ("flowcontrol.apiserver.k8s.io", _) => (16100, 21),
        ("apiregistration.k8s.io", _) => (18000, 15),
        _ => (9900, 15),
    }
}

/// The condition of every `Local` APIService.
pub fn local_condition() -> Condition {
    Condition {
        status: "True",
        reason: "Local".into(),
        message: "Local APIServices are always available".into(),
    }
}

/// The `Local` APIService of a group version this server serves; `automanaged` is `onstart`
/// for built-in group versions, `true` for custom resources' (at upstream's 1000/100).
pub fn local(group: &str, version: &str, automanaged: &str, now: &str) -> Value {
    let (group_priority, version_priority) = match automanaged {
        "true" => (1000, 100),
        _ => priorities(group, version),
    };
    let mut obj = json!({
        "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
        "metadata": {"name": name_of(group, version), "labels": {AUTOMANAGED: automanaged}},
        "spec": {"group": group, "version": version,
            "groupPriorityMinimum": group_priority, "versionPriority": version_priority},
    });
    if let Some(next) = with_condition(&obj, &local_condition(), now) {
        obj = next;
    }
    obj
}

/// An `Available` condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub status: &'static str,
    pub reason: String,
    pub message: String,
}

impl Condition {
    pub fn unavailable(reason: &str, message: String) -> Condition {
        Condition {
            status: "False",
            reason: reason.into(),
            message,
        }
    }
}

/// Whether the object's `Available` condition is `True`.
pub fn is_available(obj: &Value) -> bool {
    available_of(obj).is_some_and(|c| c["status"] == "True")
}

fn available_of(obj: &Value) -> Option<&Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Available")
}

/// The object with `condition` as its `Available` condition, or None when it already has it;
/// the transition time moves only when the status changes.
pub fn with_condition(obj: &Value, condition: &Condition, now: &str) -> Option<Value> {
    let old = available_of(obj);
    if old.is_some_and(|c| {
        c["status"] == condition.status
            && c["reason"] == condition.reason.as_str()
            && c["message"] == condition.message.as_str()
    }) {
        return None;
    }
    let since = old
        .filter(|c| c["status"] == condition.status)
        .and_then(|c| c["lastTransitionTime"].as_str())
        .unwrap_or(now);
    let mut next = obj.clone();
    let fresh = json!({"type": "Available", "status": condition.status,
        "lastTransitionTime": since, "reason": condition.reason, "message": condition.message});
    let mut conditions: Vec<Value> = next["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c["type"] != "Available")
        .collect();
    conditions.push(fresh);
    next["status"] = json!({"conditions": conditions});
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_apiservices() {
        let core = local("", "v1", "onstart", "2026-01-01T00:00:00Z");
        assert_eq!(core["metadata"]["name"], "v1.");
        assert_eq!(core["spec"]["groupPriorityMinimum"], 18000);
        assert_eq!(core["status"]["conditions"][0]["reason"], "Local");
        let crd = local("example.com", "v1", "true", "2026-01-01T00:00:00Z");
        assert_eq!(
            (
                &crd["spec"]["groupPriorityMinimum"],
                &crd["spec"]["versionPriority"]
            ),
            (&json!(1000), &json!(100))
        );
        let parsed = spec(&core).unwrap();
        assert_eq!((parsed.group.as_str(), parsed.service), ("", None));
        assert!(is_available(&core));
    }

    #[test]
    fn external_spec() {
        let obj = json!({"metadata": {"name": "v1.wardle.example.com"},
            "spec": {"group": "wardle.example.com", "version": "v1", "caBundle": "cGVt",
                "service": {"namespace": "ns", "name": "api", "port": 8443},
                "groupPriorityMinimum": 100, "versionPriority": 10}});
        let parsed = spec(&obj).unwrap();
        assert_eq!(
            parsed.service,
            Some(ServiceRef {
                namespace: "ns".into(),
                name: "api".into(),
                port: 8443
            })
        );
        assert_eq!(parsed.ca_bundle, b"pem");
    }

    #[test]
    fn condition_transitions() {
        let obj = json!({"metadata": {"name": "v1.x"}});
        let down = Condition::unavailable("ServiceNotFound", "gone".into());
        let first = with_condition(&obj, &down, "t1").unwrap();
        assert_eq!(first["status"]["conditions"][0]["lastTransitionTime"], "t1");
        assert!(with_condition(&first, &down, "t2").is_none(), "unchanged");
        let other = Condition::unavailable("EndpointsNotFound", "none".into());
        let second = with_condition(&first, &other, "t2").unwrap();
        assert_eq!(
            second["status"]["conditions"][0]["lastTransitionTime"], "t1",
            "still False"
        );
        let up = Condition {
            status: "True",
            reason: "Passed".into(),
            message: "all checks passed".into(),
        };
        let third = with_condition(&second, &up, "t3").unwrap();
        assert_eq!(third["status"]["conditions"][0]["lastTransitionTime"], "t3");
        assert!(is_available(&third));
    }
}
