//! The routes' status as upstream's router writes it: one `status.ingress[]` entry per router
//! name (`host`, `routerName`, `wildcardPolicy`, `routerCanonicalHostname`, an `Admitted`
//! condition, with reason and message when rejected), written through `routes/status` only
//! when it changed (its transition time kept when the condition did not); other routers'
//! entries are left alone.

use std::collections::HashMap;
use std::sync::Arc;

use kube::Client;
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::{Value, json};

use crate::Options;
use crate::build::Outcome;
use crate::claims::Decision;
use crate::control::route_resource;

pub struct StatusWriter {
    client: Client,
    options: Arc<Options>,
    /// What was last written per route uid, so that a write is not repeated before the
    /// watch shows it.
    written: HashMap<String, Value>,
}

impl StatusWriter {
    pub fn new(client: Client, options: Arc<Options>) -> StatusWriter {
        StatusWriter {
            client,
            options,
            written: HashMap::new(),
        }
    }

    /// Writes every status that differs from its decision; false when a write failed.
    pub async fn sync(
        &mut self,
        routes: &[Arc<DynamicObject>],
        outcomes: &HashMap<String, Outcome>,
    ) -> bool {
        let mut ok = true;
        let live: std::collections::HashSet<&str> = routes
            .iter()
            .filter_map(|r| r.metadata.uid.as_deref())
            .collect();
        self.written.retain(|uid, _| live.contains(uid.as_str()));
        for route in routes {
            let (Some(ns), Some(name)) = (&route.metadata.namespace, &route.metadata.name) else {
                continue;
            };
            let Some(outcome) = outcomes.get(&format!("{ns}/{name}")) else {
                continue;
            };
            let wanted = self.entry(route, outcome);
            let entries = route.data["status"]["ingress"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let current = entries
                .iter()
                .find(|e| e["routerName"] == self.options.router_name.as_str());
            if current.is_some_and(|c| same(c, &wanted)) {
                continue;
            }
            let uid = route.metadata.uid.clone().unwrap_or_default();
            if self.written.get(&uid).is_some_and(|w| same(w, &wanted)) && current.is_some() {
                continue;
            }
            let wanted = keep_transition_time(current, wanted);
            let mut next = (**route).clone();
            let mut ingress: Vec<Value> = entries
                .into_iter()
                .filter(|e| e["routerName"] != self.options.router_name.as_str())
                .collect();
            ingress.push(wanted.clone());
            next.data["status"] = json!({"ingress": ingress});
            let api: Api<DynamicObject> =
                Api::namespaced_with(self.client.clone(), ns, &route_resource());
            match api
                .replace_status(name, &PostParams::default(), &next)
                .await
            {
                Ok(_) => drop(self.written.insert(uid, wanted)),
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => {
                    tracing::debug!(route = %format!("{ns}/{name}"), error = %e, "route status not written");
                    ok = false;
                }
            }
        }
        ok
    }

    fn entry(&self, route: &DynamicObject, outcome: &Outcome) -> Value {
        let policy = route.data["spec"]["wildcardPolicy"]
            .as_str()
            .filter(|p| !p.is_empty())
            .unwrap_or("None");
        let now = jiff::Timestamp::now()
            .round(jiff::Unit::Second)
            .unwrap_or(jiff::Timestamp::now());
        let time = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let condition = match &outcome.decision {
            Decision::Admitted => {
                json!({"type": "Admitted", "status": "True", "lastTransitionTime": time})
            }
            Decision::Rejected { reason, message } => json!({"type": "Admitted", "status": "False",
                "lastTransitionTime": time, "reason": reason, "message": message}),
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

/// Equal but for the conditions' transition times.
fn same(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(conditions) = v["conditions"].as_array_mut() {
            for c in conditions {
                if let Some(c) = c.as_object_mut() {
                    c.remove("lastTransitionTime");
                }
            }
        }
        v
    };
    strip(a) == strip(b)
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
