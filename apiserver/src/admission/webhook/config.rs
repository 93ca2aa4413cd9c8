//! The webhooks of the stored configurations, compiled once per change: rules, selectors and
//! match conditions parsed, the client built. They are read from the configurations' watch
//! caches and rebuilt only when a cache has applied changes since (never a store list per
//! request); a client is kept across rebuilds while its configuration's CA stays the same,
//! so its connections stay open.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::selector::LabelSelector;
use serde_json::Value;

use crate::ApiServer;
use crate::admission::cel;
use crate::admission::matching::{Rule, selector};
use crate::error::ApiError;
use crate::watch::cache::Cache;
use crate::webhook_client::client::{self, Client};
use crate::webhook_client::{Target, ca_bundle};

/// One webhook, ready to match and call.
pub struct Hook {
    pub name: String,
    pub rules: Vec<Rule>,
    /// matchPolicy Equivalent.
    pub equivalent: bool,
    pub namespace_selector: LabelSelector,
    pub object_selector: LabelSelector,
    pub conditions: Vec<(String, cel::Expression)>,
    /// failurePolicy Fail (the default).
    pub fail_closed: bool,
    pub timeout: Duration,
    /// sideEffects None or NoneOnDryRun: may be called on dry runs.
    pub dry_run_safe: bool,
    /// reinvocationPolicy IfNeeded.
    pub reinvoke: bool,
    pub target: Result<Target, String>,
    pub client: Result<Arc<Client>, String>,
    /// What made the webhook unusable (a selector or condition that does not compile):
    /// calling it fails, and its failure policy decides.
    pub broken: Option<String>,
}

/// The webhooks of one kind of configuration, as of a cache's state.
#[derive(Default)]
pub struct Hooks {
    current: Mutex<Option<Snapshot>>,
}

struct Snapshot {
    cache: Arc<Cache>,
    changes: u64,
    hooks: Arc<Vec<Arc<Hook>>>,
    /// (configuration, caBundle) → its client, kept across rebuilds.
    clients: HashMap<(String, String), Arc<Client>>,
}

impl Hooks {
    /// The webhooks of the configurations of `resource` (mutating or validating), compiled
    /// again only when their cache changed.
    pub async fn current(
        &self,
        server: &ApiServer,
        resource: &'static str,
    ) -> Result<Arc<Vec<Arc<Hook>>>, ApiError> {
        let (def, cache) = server
            .named_cache("admissionregistration.k8s.io", "v1", resource)
            .await?
            .ok_or_else(|| ApiError::Internal(format!("{resource} are not served")))?;
        let changes = cache.changes();
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = current.as_ref()
            && Arc::ptr_eq(&s.cache, &cache)
            && s.changes == changes
        {
            return Ok(s.hooks.clone());
        }
        let (objects, _) = cache.snapshot(&def.key_prefix());
        let mut configs: Vec<Value> = objects
            .iter()
            .filter_map(|(_, c)| serde_json::from_slice(&c.json).ok())
            .collect();
        // Upstream calls configurations in the order of their names.
        configs.sort_by(|a, b| {
            a["metadata"]["name"]
                .as_str()
                .cmp(&b["metadata"]["name"].as_str())
        });
        let old_clients = current.take().map(|s| s.clients).unwrap_or_default();
        let mut clients = HashMap::new();
        let mut hooks = Vec::new();
        for config in &configs {
            let config_name = config["metadata"]["name"].as_str().unwrap_or_default();
            for w in config["webhooks"].as_array().into_iter().flatten() {
                let ca = w["clientConfig"]["caBundle"].as_str().unwrap_or_default();
                let key = (config_name.to_string(), ca.to_string());
                let client = match old_clients.get(&key).or(clients.get(&key)) {
                    Some(c) => Ok(c.clone()),
                    None => ca_bundle(ca)
                        .and_then(|pem| Client::new(&pem))
                        .map(Arc::new),
                };
                if let Ok(c) = &client {
                    clients.insert(key, c.clone());
                }
                hooks.push(Arc::new(compile(w, client)));
            }
        }
        let hooks = Arc::new(hooks);
        *current = Some(Snapshot {
            cache,
            changes,
            hooks: hooks.clone(),
            clients,
        });
        Ok(hooks)
    }
}

fn compile(w: &Value, client: Result<Arc<Client>, String>) -> Hook {
    let mut broken = None;
    let mut selector_of = |field: &str| {
        selector(&w[field]).unwrap_or_else(|e| {
            broken = Some(format!("{field}: {e}"));
            LabelSelector::default()
        })
    };
    let namespace_selector = selector_of("namespaceSelector");
    let object_selector = selector_of("objectSelector");
    let mut conditions = Vec::new();
    for c in w["matchConditions"].as_array().into_iter().flatten() {
        let name = c["name"].as_str().unwrap_or_default().to_string();
        match cel::compile_admission(c["expression"].as_str().unwrap_or_default()) {
            Ok(expr) => conditions.push((name, expr)),
            Err(e) => broken = Some(format!("matchConditions {name:?}: {e}")),
        }
    }
    Hook {
        name: w["name"].as_str().unwrap_or_default().to_string(),
        rules: w["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .map(Rule::from_json)
            .collect(),
        equivalent: w["matchPolicy"].as_str() != Some("Exact"),
        namespace_selector,
        object_selector,
        conditions,
        fail_closed: w["failurePolicy"].as_str() != Some("Ignore"),
        timeout: client::timeout(w["timeoutSeconds"].as_i64()),
        dry_run_safe: matches!(w["sideEffects"].as_str(), Some("None" | "NoneOnDryRun")),
        reinvoke: w["reinvocationPolicy"].as_str() == Some("IfNeeded"),
        target: crate::webhook_client::target(&w["clientConfig"]),
        client,
        broken,
    }
}
