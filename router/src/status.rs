//! The routes' status as upstream's router writes it: one `status.ingress[]` entry per router
//! name (`host`, `routerName`, `wildcardPolicy`, `routerCanonicalHostname`, an `Admitted`
//! condition, with reason and message when rejected), written through `routes/status` only
//! when it changed (its transition time kept when the condition did not); other routers'
//! entries are left alone.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, DynamicObject, PostParams, TypeMeta};
use serde_json::{Value, json};

use crate::Options;
use crate::build::Outcome;
use crate::claims::Decision;
use crate::model::route_resource;
use crate::model::{Route, RouteRecord};

pub struct StatusWriter {
    client: Client,
    options: Arc<Options>,
    /// A digest of what was last written per route uid, so that a write is not repeated
    /// before the watch shows it.
    written: HashMap<String, u64>,
    /// Per route uid, a digest of its revision and the decision on it when its status was
    /// last found as wanted: unchanged since, it is not looked at again.
    in_line: HashMap<String, u64>,
}

impl StatusWriter {
    pub fn new(client: Client, options: Arc<Options>) -> StatusWriter {
        StatusWriter {
            client,
            options,
            written: HashMap::new(),
            in_line: HashMap::new(),
        }
    }

    /// Writes every status that differs from its decision; false when a write failed.
    pub async fn sync(
        &mut self,
        routes: &imbl::HashMap<String, Arc<RouteRecord>>,
        outcomes: &imbl::HashMap<String, Outcome>,
    ) -> bool {
        let mut ok = true;
        let live: std::collections::HashSet<&str> =
            routes.values().map(|r| r.route.uid.as_str()).collect();
        self.written.retain(|uid, _| live.contains(uid.as_str()));
        self.in_line.retain(|uid, _| live.contains(uid.as_str()));
        let name = self.options.router_name.as_str();
        for record in routes.values() {
            let route = &record.route;
            let Some(outcome) = outcomes.get(&route.key()) else {
                continue;
            };
            let checked = checked(record, outcome);
            if self.in_line.get(&route.uid) == Some(&checked) {
                continue;
            }
            let wanted = self.entry(route, outcome);
            let ingress = record.ingress();
            let current = ingress.iter().find(|e| e["routerName"] == name);
            if current.is_some_and(|c| same(c, &wanted)) {
                self.in_line.insert(route.uid.clone(), checked);
                continue;
            }
            let digest = digest(&wanted);
            if current.is_some() && self.written.get(&route.uid) == Some(&digest) {
                continue;
            }
            let wanted = keep_transition_time(current, wanted);
            let mut ingress: Vec<Value> = ingress
                .into_iter()
                .filter(|e| e["routerName"] != name)
                .collect();
            ingress.push(wanted);
            // The status subresource takes the status only; the revision guards the write.
            let body = DynamicObject {
                types: Some(TypeMeta {
                    api_version: "route.openshift.io/v1".into(),
                    kind: "Route".into(),
                }),
                metadata: ObjectMeta {
                    name: Some(route.name.clone()),
                    namespace: Some(route.namespace.clone()),
                    uid: Some(route.uid.clone()),
                    resource_version: Some(record.resource_version.clone()),
                    ..Default::default()
                },
                data: json!({"status": {"ingress": ingress}}),
            };
            let api: Api<DynamicObject> =
                Api::namespaced_with(self.client.clone(), &route.namespace, &route_resource());
            match api
                .replace_status(&route.name, &PostParams::default(), &body)
                .await
            {
                Ok(_) => drop(self.written.insert(route.uid.clone(), digest)),
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => {
                    tracing::debug!(route = %route.key(), error = %e, "route status not written");
                    ok = false;
                }
            }
        }
        ok
    }

    fn entry(&self, route: &Route, outcome: &Outcome) -> Value {
        let policy = match route.spec.wildcard_policy.as_str() {
            "" => "None",
            p => p,
        };
        let time = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let condition = match &outcome.decision {
            Decision::Admitted => {
                json!({"type": "Admitted", "status": "True", "lastTransitionTime": time})
            }
            Decision::Rejected { reason, message } => {
                json!({"type": "Admitted", "status": "False",
                "lastTransitionTime": time, "reason": reason, "message": message})
            }
        };
        json!({
            "host": outcome.host,
            "routerName": self.options.router_name,
            "conditions": [condition],
            "wildcardPolicy": policy,
            "routerCanonicalHostname": self.options.canonical_hostname(),
        })
    }
}

/// A digest of a route's revision and the decision on it.
fn checked(record: &RouteRecord, outcome: &Outcome) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    record.resource_version.hash(&mut hasher);
    outcome.host.hash(&mut hasher);
    outcome.decision.hash(&mut hasher);
    hasher.finish()
}

/// A digest of an entry but for its transition times.
fn digest(entry: &Value) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    without_times(entry).to_string().hash(&mut hasher);
    hasher.finish()
}

fn without_times(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(conditions) = v["conditions"].as_array_mut() {
        for c in conditions {
            if let Some(c) = c.as_object_mut() {
                c.remove("lastTransitionTime");
            }
        }
    }
    v
}

/// Equal but for the conditions' transition times.
fn same(a: &Value, b: &Value) -> bool {
    without_times(a) == without_times(b)
}

/// `wanted` with the current condition's transition time when the condition is unchanged.
fn keep_transition_time(current: Option<&Value>, mut wanted: Value) -> Value {
    if let Some(current) = current {
        let (old, new) = (&current["conditions"][0], &wanted["conditions"][0]);
        if old["status"] == new["status"] && old["reason"] == new["reason"] {
            wanted["conditions"][0]["lastTransitionTime"] = old["lastTransitionTime"].clone();
        }
    }
    wanted
}
