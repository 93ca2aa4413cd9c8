//! Custom resources: the resources CustomResourceDefinitions add at run time, served next to
//! the built-in scheme by the same generic store. `CustomResources` is the table of what the
//! Established definitions serve (`definition.rs`), replaced whole by the in-process
//! controller (`controller.rs`: names accepted or in conflict (`names.rs`), conditions,
//! instances removed when a definition is deleted (`cleanup.rs`)); dispatch, discovery and
//! OpenAPI read it where they read the built-in scheme. An object's schema is applied on
//! every write by `schema/` (defaults, pruning, validation; `formats.rs`).

pub mod cleanup;
pub mod controller;
pub mod definition;
pub mod formats;
pub mod names;
pub mod openapi;
pub mod schema;
#[cfg(test)]
mod tests;

use std::sync::{Arc, RwLock};

use api::Scheme;
use api::scheme::ResourceDef;

pub use definition::Custom;

/// What is served at one moment: the built-in resources and the custom ones.
pub struct Served {
    /// Built-in entries first, then the custom ones (each group's versions by priority).
    pub scheme: Scheme,
    customs: Vec<Custom>,
    /// The custom group versions' OpenAPI v3 documents, built when first asked for.
    openapi: std::sync::OnceLock<std::collections::BTreeMap<String, String>>,
    /// `/openapi/v2` with the custom resources, as JSON and protobuf, built when first
    /// asked for.
    swagger: std::sync::OnceLock<(String, Vec<u8>)>,
}

impl Served {
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<&Custom> {
        self.customs
            .iter()
            .find(|c| c.def.group == group && c.def.version == version && c.def.plural == plural)
    }

    pub fn customs(&self) -> &[Custom] {
        &self.customs
    }

    /// The custom group versions' OpenAPI v3 documents, by index key.
    pub fn openapi(&self) -> &std::collections::BTreeMap<String, String> {
        self.openapi.get_or_init(|| openapi::documents(self))
    }

    /// `/openapi/v2` (JSON, protobuf) with the custom resources added to `builtin`'s.
    pub fn swagger(&self, builtin: &str) -> &(String, Vec<u8>) {
        self.swagger.get_or_init(|| {
            let doc = openapi::swagger(builtin, self.openapi());
            let protobuf = serde_json::from_str(&doc)
                .map(|d| crate::openapi::protobuf::encode(&d))
                .unwrap_or_default();
            (doc, protobuf)
        })
    }
}

/// The custom resources served now, swapped whole when a definition changes.
pub struct CustomResources {
    builtin: Vec<ResourceDef>,
    current: RwLock<Arc<Served>>,
}

impl CustomResources {
    pub fn new(builtin: &Scheme) -> Self {
        let builtin = builtin.resources().to_vec();
        let current = RwLock::new(Arc::new(Served {
            scheme: Scheme::new(builtin.clone()),
            customs: Vec::new(),
            openapi: Default::default(),
            swagger: Default::default(),
        }));
        CustomResources { builtin, current }
    }

    /// What is served now.
    pub fn served(&self) -> Arc<Served> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Serves `customs` from now on (built-in resources win over custom ones of the same
    /// group, version and plural).
    pub fn replace(&self, customs: Vec<Custom>) {
        let builtin = &self.builtin;
        let customs: Vec<Custom> = customs
            .into_iter()
            .filter(|c| {
                !builtin.iter().any(|b| {
                    b.group == c.def.group && b.version == c.def.version && b.plural == c.def.plural
                })
            })
            .collect();
        let mut all = builtin.clone();
        all.extend(customs.iter().map(|c| c.def));
        let served = Arc::new(Served {
            scheme: Scheme::new(all),
            customs,
            openapi: Default::default(),
            swagger: Default::default(),
        });
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = served;
    }
}

impl crate::ApiServer {
    /// The scheme of everything served now (built-in and custom resources), for discovery.
    pub fn served(&self) -> Arc<Served> {
        self.custom_resources.served()
    }

    /// The resource a request names: a built-in one, else a custom one.
    pub(crate) fn resource(&self, group: &str, version: &str, plural: &str) -> Option<ResourceDef> {
        if let Some(def) = self.scheme.lookup(group, version, plural) {
            return Some(*def);
        }
        self.served().lookup(group, version, plural).map(|c| c.def)
    }

    /// Starts the custom resource definitions' controller (names, conditions, what is
    /// served, cleanup on deletion), until the process ends.
    pub fn start_custom_resources(self: &Arc<Self>) {
        let server = self.clone();
        tokio::spawn(async move { controller::run(server).await });
    }
}
