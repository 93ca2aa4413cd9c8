//! Events as the kubelet writes them: `source.component: kubelet`, `source.host: <node>`,
//! named `<object>.<hex nanoseconds>`. The same event again (same object, container, type,
//! reason and message) bumps the first one's `count` and `lastTimestamp`, as client-go's
//! event correlator does, instead of making another object. A failed write is logged, never
//! retried: events are best effort.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

/// Events remembered for aggregation; past this many the memory starts over.
const REMEMBERED: usize = 4096;

#[derive(Clone)]
pub struct Recorder {
    client: kube::Client,
    node: String,
    /// Off for simulated nodes: thousands of pods, no one to read their events.
    enabled: bool,
    /// What an event is about and says → its name and count so far.
    seen: Arc<Mutex<HashMap<String, (String, i32)>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Normal,
    Warning,
}

impl Recorder {
    pub fn new(client: kube::Client, node: &str, enabled: bool) -> Recorder {
        Recorder {
            client,
            node: node.to_string(),
            enabled,
            seen: Arc::default(),
        }
    }

    /// An event about a pod, or one of its containers when `field_path` names it
    /// (`spec.containers{app}`).
    pub async fn pod(
        &self,
        pod: &Pod,
        field_path: Option<String>,
        kind: Kind,
        reason: &str,
        message: &str,
    ) {
        let object = ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            namespace: pod.metadata.namespace.clone(),
            name: pod.metadata.name.clone(),
            uid: pod.metadata.uid.clone(),
            resource_version: pod.metadata.resource_version.clone(),
            field_path,
        };
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        self.record(&namespace, object, kind, reason, message).await;
    }

    /// An event about the node (in `default`, as the kubelet writes them; its UID is its name).
    pub async fn node(&self, kind: Kind, reason: &str, message: &str) {
        let object = ObjectReference {
            kind: Some("Node".into()),
            name: Some(self.node.clone()),
            uid: Some(self.node.clone()),
            ..Default::default()
        };
        self.record("default", object, kind, reason, message).await;
    }

    async fn record(
        &self,
        namespace: &str,
        object: ObjectReference,
        kind: Kind,
        reason: &str,
        message: &str,
    ) {
        if !self.enabled {
            return;
        }
        let now = jiff::Timestamp::now();
        let api: Api<Event> = Api::namespaced(self.client.clone(), namespace);
        let key = format!(
            "{namespace}\u{0}{}\u{0}{}\u{0}{kind:?}\u{0}{reason}\u{0}{message}",
            object.uid.clone().unwrap_or_default(),
            object.field_path.clone().unwrap_or_default(),
        );
        let repeated = {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            seen.get_mut(&key).map(|(name, count)| {
                *count += 1;
                (name.clone(), *count)
            })
        };
        if let Some((name, count)) = repeated {
            let patch = json!({"count": count, "lastTimestamp": Time(now)});
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => return,
                // Gone (expired or deleted): recorded anew below.
                Err(e) => {
                    tracing::debug!(reason, error = %controllers::logs::describe(&e), "event not updated");
                    let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
                    seen.remove(&key);
                }
            }
        }
        let name = format!(
            "{}.{:x}",
            object.name.clone().unwrap_or_default(),
            now.as_nanosecond()
        );
        let event = Event {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace.to_string()),
                ..Default::default()
            },
            involved_object: object,
            reason: Some(reason.to_string()),
            message: Some(message.to_string()),
            type_: Some(match kind {
                Kind::Normal => "Normal".into(),
                Kind::Warning => "Warning".into(),
            }),
            source: Some(EventSource {
                component: Some("kubelet".into()),
                host: Some(self.node.clone()),
            }),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            event_time: None::<MicroTime>,
            count: Some(1),
            reporting_component: Some("kubelet".into()),
            reporting_instance: Some(self.node.clone()),
            ..Default::default()
        };
        match api.create(&PostParams::default(), &event).await {
            Ok(_) => {
                let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
                if seen.len() >= REMEMBERED {
                    seen.clear();
                }
                seen.insert(key, (name, 1));
            }
            Err(e) => {
                tracing::debug!(reason, error = %controllers::logs::describe(&e), "event not recorded")
            }
        }
    }
}

/// The field path of a container (`spec.containers{app}`, `spec.initContainers{init}`).
pub fn container_path(init: bool, name: &str) -> String {
    if init {
        format!("spec.initContainers{{{name}}}")
    } else {
        format!("spec.containers{{{name}}}")
    }
}
