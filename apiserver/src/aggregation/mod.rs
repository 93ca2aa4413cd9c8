//! API aggregation (kube-aggregator's part of kube-apiserver): `APIService`s, `Local` for
//! what this server serves, or a service in a namespace whose server (an aggregated API
//! server) answers `/apis/<group>/<version>/...` through this one.
//!
//! - `apiservice.rs` the APIService model: spec, `Local` objects, `Available` (pure)
//! - `controller.rs` the loop keeping `Local` APIServices and checking the others
//! - `check.rs` one availability check (service, endpoints, discovery)
//! - `transport.rs` TLS to aggregated servers with the front proxy's client certificate
//! - `proxy.rs` the layer passing requests on, with the user in `X-Remote-*` headers
//! - `discovery.rs` the aggregated group versions in `/apis` (legacy and v2)
//! - `openapi.rs` the aggregated group versions' OpenAPI documents, served with this one's
//! - `authentication.rs` the CAs aggregated servers trust, published in `kube-system`

pub mod apiservice;
pub mod authentication;
mod check;
mod controller;
pub mod discovery;
pub mod openapi;
pub mod proxy;
pub mod transport;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;

pub use transport::ClientCert;

/// An aggregated group version as last checked.
pub struct External {
    pub spec: apiservice::Spec,
    pub service: apiservice::ServiceRef,
    pub available: bool,
    /// Its server's `APIResourceList`, from the last check that reached it.
    pub discovery: Option<Value>,
    /// Its OpenAPI v3 document, from the last check that read one.
    pub openapi: Option<Arc<str>>,
    /// None: the transport could not be built (its error is answered).
    pub transport: Result<Arc<transport::Transport>, String>,
}

/// The aggregated group versions, by (group, version).
pub type Table = BTreeMap<(String, String), Arc<External>>;

/// The front proxy's identity and what aggregated servers are told to trust.
#[derive(Clone, Debug)]
pub struct FrontProxy {
    pub client: ClientCert,
    /// The CA of the front proxy's client certificate (`requestheader-client-ca-file`).
    pub ca_pem: String,
    /// The CA of users' client certificates (`client-ca-file`).
    pub client_ca_pem: String,
}

#[derive(Default)]
pub struct Aggregation {
    pub(crate) front_proxy: Option<FrontProxy>,
    table: RwLock<Arc<Table>>,
    swagger: openapi::SwaggerCache,
}

impl Aggregation {
    pub fn new(front_proxy: Option<FrontProxy>) -> Aggregation {
        Aggregation {
            front_proxy,
            table: RwLock::default(),
            swagger: Default::default(),
        }
    }

    pub fn table(&self) -> Arc<Table> {
        self.table.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn replace(&self, table: Table) {
        *self.table.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(table);
    }

    /// The aggregated group version `group/version`, if one is registered.
    pub fn external(&self, group: &str, version: &str) -> Option<Arc<External>> {
        self.table()
            .get(&(group.to_string(), version.to_string()))
            .cloned()
    }
}

impl crate::ApiServer {
    /// Starts the APIServices' controller (`Local` ones kept, the others checked), until the
    /// process ends.
    pub fn start_aggregation(self: &Arc<Self>) {
        let server = self.clone();
        tokio::spawn(async move { controller::run(server).await });
    }
}
