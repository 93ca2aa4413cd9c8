//! The in-process loop over APIServices (upstream's autoregistration, CRD registration and
//! available-condition controllers in one): `Local` APIServices for every group version
//! this server serves, built-in (`onstart`) or custom (`true`, removed with their
//! definition); every other APIService checked on each change of the APIServices, of the
//! Services they name and of those Services' Endpoints (as kube-aggregator's available
//! controller), and at a slow resync, its `Available` condition written when it changes, and
//! the table the proxy and discovery read replaced.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::apiservice::{self, AUTOMANAGED, GROUP, PLURAL};
use super::{External, Table, check, openapi, transport::Transport};
use crate::ApiServer;
use api::scheme::ResourceDef;

use crate::error::ApiError;
use crate::kind_loop::Next;
use crate::registry::object;

/// How often aggregated servers are checked when nothing they depend on changes.
const RESYNC: Duration = Duration::from_secs(30);
/// How soon an unavailable one is checked again (its server may still be starting).
const RETRY_UNAVAILABLE: Duration = Duration::from_secs(5);
/// How long reading an aggregated server's OpenAPI may take.
const OPENAPI_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn run(server: Arc<ApiServer>) {
    crate::kind_loop::run(&server, GROUP, PLURAL, pass).await
}

/// One look at every APIService; what to wait for before the next.
async fn pass(server: &ApiServer, def: &ResourceDef, objects: &[Value]) -> Result<Next, ApiError> {
    let def = *def;
    keep_locals(server, &def, objects).await;
    let table = check_externals(server, &def, objects).await;
    let next = next_check(server, &table);
    server.aggregation.replace(table);
    Ok(next)
}

/// The next check: on a change of a Service an APIService names or of its Endpoints, or of
/// a CustomResourceDefinition, at the resync, or sooner while one is unavailable.
fn next_check(server: &ApiServer, table: &Table) -> Next {
    let key = |plural: &str, namespace: &str, name: &str| {
        server
            .scheme
            .lookup("", "v1", plural)
            .map(|def| def.key(Some(namespace), name))
    };
    let mut keys: Vec<String> = table
        .values()
        .flat_map(|e| {
            let (ns, name) = (&e.service.namespace, &e.service.name);
            [key("services", ns, name), key("endpoints", ns, name)]
        })
        .flatten()
        .collect();
    keys.sort();
    keys.dedup();
    let within = match table.values().all(|e| e.available) {
        true => RESYNC,
        false => RETRY_UNAVAILABLE,
    };
    // The custom resources' group versions have their Local APIServices.
    let prefixes = server
        .scheme
        .lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .map(|def| def.key_prefix())
        .into_iter()
        .collect();
    Next {
        within,
        keys,
        prefixes,
    }
}

/// The group versions served here, with the `automanaged` label of their APIService.
fn served_locally(server: &ApiServer) -> Vec<(String, String, &'static str)> {
    let served = server.served();
    let mut wanted = Vec::new();
    for group in served.scheme.groups() {
        for version in &group.versions {
            let builtin = server
                .scheme
                .group_version(group.group, version)
                .next()
                .is_some();
            let label = if builtin { "onstart" } else { "true" };
            wanted.push((group.group.to_string(), version.to_string(), label));
        }
    }
    wanted
}

async fn keep_locals(server: &ApiServer, def: &api::ResourceDef, objects: &[Value]) {
    let now = object::now();
    let wanted = served_locally(server);
    for (group, version, label) in &wanted {
        let name = apiservice::name_of(group, version);
        let found = objects.iter().find(|o| object::meta_str(o, "name") == name);
        let result = match found {
            None => server
                .create_object(def, apiservice::local(group, version, label, &now))
                .await
                .map(drop),
            Some(obj) if obj["spec"]["service"].is_null() => {
                match apiservice::with_condition(obj, &apiservice::local_condition(), &now) {
                    Some(next) => server.update_object(def, next).await.map(drop),
                    None => Ok(()),
                }
            }
            Some(_) => Ok(()),
        };
        if let Err(e) = result {
            tracing::debug!(error = %e, apiservice = %name, "local APIService not written");
        }
    }
    // A custom resource's group version no longer served: its APIService goes.
    for obj in objects {
        let automanaged = obj["metadata"]["labels"][AUTOMANAGED].as_str();
        let Some(spec) = apiservice::spec(obj) else {
            continue;
        };
        let still = wanted
            .iter()
            .any(|(g, v, _)| *g == spec.group && *v == spec.version);
        if automanaged == Some("true") && !still {
            let revision = object::meta_str(obj, "resourceVersion").parse().ok();
            if let Err(e) = server.delete_object(def, None, &spec.name, revision).await {
                tracing::debug!(error = %e, apiservice = %spec.name, "APIService not removed");
            }
        }
    }
}

async fn check_externals(server: &ApiServer, def: &api::ResourceDef, objects: &[Value]) -> Table {
    let previous = server.aggregation.table();
    let client = server.aggregation.front_proxy.as_ref().map(|f| &f.client);
    let checks = objects.iter().filter_map(|obj| {
        let spec = apiservice::spec(obj)?;
        let service = spec.service.clone()?;
        Some(async move {
            let transport = Transport::new(client, &spec.ca_bundle, spec.insecure).map(Arc::new);
            let outcome = match &transport {
                Ok(transport) => check::check(server, &spec, &service, transport).await,
                Err(e) => check::Outcome {
                    condition: apiservice::Condition::unavailable(
                        "FailedDiscoveryCheck",
                        e.clone(),
                    ),
                    discovery: None,
                    addr: None,
                },
            };
            // Its OpenAPI, read before its availability is told.
            let openapi = match (&transport, outcome.addr) {
                (Ok(transport), Some(addr)) => {
                    let read = openapi::fetch(transport, addr, &service, &spec);
                    match tokio::time::timeout(OPENAPI_TIMEOUT, read).await {
                        Ok(Ok(doc)) => Ok(doc),
                        Ok(Err(e)) => Err(e),
                        Err(_) => Err("timed out".to_string()),
                    }
                }
                _ => Err("unavailable".to_string()),
            };
            if let Err(e) = &openapi {
                tracing::debug!(error = %e, apiservice = %spec.name, "OpenAPI not read");
            }
            let now = object::now();
            if let Some(next) = apiservice::with_condition(obj, &outcome.condition, &now)
                && let Err(e) = server.update_object(def, next).await
            {
                tracing::debug!(error = %e, apiservice = %spec.name, "status not written");
            }
            (spec, service, outcome, transport, openapi)
        })
    });
    let mut table = Table::new();
    for (spec, service, outcome, transport, openapi) in futures::future::join_all(checks).await {
        let key = (spec.group.clone(), spec.version.clone());
        // The last discovery that was read stays, as upstream keeps a stale document; so
        // does the last OpenAPI document.
        let discovery = outcome
            .discovery
            .or_else(|| previous.get(&key).and_then(|e| e.discovery.clone()));
        let openapi = match openapi {
            Ok(doc) => doc,
            Err(_) => previous.get(&key).and_then(|e| e.openapi.clone()),
        };
        let external = External {
            available: outcome.condition.status == "True",
            spec,
            service,
            discovery,
            openapi,
            transport,
        };
        table.insert(key, Arc::new(external));
    }
    table
}
