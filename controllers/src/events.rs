//! Events the controllers record about the objects they act on (core/v1, as upstream's
//! legacy recorder writes them: a source component, first and last timestamps, a count).

use k8s_openapi::api::core::v1::{Event, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, PostParams};
use serde_json::json;

use crate::lenient::Object;

/// The object an event is about.
pub struct Involved<'a> {
    pub api_version: &'a str,
    pub kind: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
}

impl<'a> Involved<'a> {
    /// The object of kind `kind` (`api_version`) that `meta` describes.
    pub fn of(api_version: &'a str, kind: &'a str, meta: &'a ObjectMeta) -> Involved<'a> {
        Involved {
            api_version,
            kind,
            namespace: meta.namespace.as_deref().unwrap_or_default(),
            name: meta.name.as_deref().unwrap_or_default(),
            uid: meta.uid.as_deref().unwrap_or_default(),
        }
    }
}

/// A unique event name: the object's name and the time in nanoseconds, in hex (upstream's).
fn event_name(object: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{object}.{nanos:x}")
}

/// Records one event; a failure is logged, never returned (events are best effort).
pub async fn record(
    client: &Client,
    component: &str,
    on: &Involved<'_>,
    type_: &str,
    reason: &str,
    message: &str,
) {
    let now = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
        .map(|t| t.to_string())
        .unwrap_or_default();
    let event = json!({
        "metadata": {"name": event_name(on.name), "namespace": on.namespace},
        "involvedObject": ObjectReference {
            api_version: Some(on.api_version.into()),
            kind: Some(on.kind.into()),
            namespace: Some(on.namespace.into()).filter(|n: &String| !n.is_empty()),
            name: Some(on.name.into()),
            uid: Some(on.uid.into()),
            ..Default::default()
        },
        "reason": reason,
        "message": message,
        "type": type_,
        "source": {"component": component},
        "reportingComponent": component,
        "reportingInstance": "",
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    });
    let Ok(event) = serde_json::from_value::<Event>(event) else {
        return;
    };
    let namespace = if on.namespace.is_empty() {
        "default"
    } else {
        on.namespace
    };
    let api: Api<Object<Event>> = Api::namespaced(client.clone(), namespace);
    if let Err(error) = api
        .create(&PostParams::default(), &Object::new(event))
        .await
    {
        tracing::debug!(error = %crate::logs::describe(&error), reason, "event not recorded");
    }
}
