//! The aggregated servers' OpenAPI, as kube-aggregator's OpenAPI v3 controller keeps it: at
//! each check that finds an aggregated group version available, its server's `/openapi/v3`
//! index is read and the group version's document fetched from the URL the index gives (as
//! `system:kube-aggregator`); the last document read is kept while a fetch fails. The
//! documents are served beside this server's own (`/openapi/v3` and its index) and their
//! paths and definitions added to `/openapi/v2`, so that `kubectl explain` finds the
//! aggregated kinds.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::apiservice::{ServiceRef, Spec};
use super::check;
use super::transport::Transport;
use super::{Aggregation, Table};
use crate::custom_resources::Served;

/// The largest document read.
const MAX_DOCUMENT: usize = 16 * 1024 * 1024;

/// The group version's document on its server, if its index lists one.
pub async fn fetch(
    transport: &Transport,
    addr: SocketAddr,
    service: &ServiceRef,
    spec: &Spec,
) -> Result<Option<Arc<str>>, String> {
    let index = check::get(transport, addr, service, "/openapi/v3", MAX_DOCUMENT).await?;
    let index: Value = serde_json::from_slice(&index).map_err(|e| e.to_string())?;
    let key = crate::openapi::gv_path(&spec.group, &spec.version);
    let Some(url) = index["paths"][&key]["serverRelativeURL"].as_str() else {
        return Ok(None);
    };
    let document = check::get(transport, addr, service, url, MAX_DOCUMENT).await?;
    // Served as it came, once it is known to be a document.
    serde_json::from_slice::<Value>(&document).map_err(|e| e.to_string())?;
    let text = String::from_utf8(document.to_vec()).map_err(|e| e.to_string())?;
    Ok(Some(Arc::from(text)))
}

/// `/openapi/v2` with the aggregated documents added, made once per table and served set.
#[derive(Default)]
pub struct SwaggerCache {
    last: Mutex<Option<Cached>>,
}

struct Cached {
    table: Arc<Table>,
    served: Arc<Served>,
    doc: Arc<(String, Vec<u8>)>,
}

impl Aggregation {
    /// The aggregated group versions' OpenAPI v3 documents, by index key.
    pub fn openapi_documents(&self) -> BTreeMap<String, String> {
        self.table()
            .values()
            .filter_map(|e| {
                let doc = e.openapi.as_ref()?;
                let key = crate::openapi::gv_path(&e.spec.group, &e.spec.version);
                Some((key, doc.to_string()))
            })
            .collect()
    }

    /// The document of the aggregated group version at `key` (`apis/<group>/<version>`).
    pub fn openapi_document(&self, key: &str) -> Option<Arc<str>> {
        self.table()
            .values()
            .find(|e| crate::openapi::gv_path(&e.spec.group, &e.spec.version) == key)
            .and_then(|e| e.openapi.clone())
    }

    /// `base` (this server's `/openapi/v2` while `served` is what it serves) with the
    /// aggregated documents' paths and definitions, JSON and protobuf; `None` when no
    /// aggregated server published any.
    pub fn swagger(&self, served: &Arc<Served>, base: &str) -> Option<Arc<(String, Vec<u8>)>> {
        let table = self.table();
        if table.values().all(|e| e.openapi.is_none()) {
            return None;
        }
        let mut last = self.swagger.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = last.as_ref()
            && Arc::ptr_eq(&c.table, &table)
            && Arc::ptr_eq(&c.served, served)
        {
            return Some(c.doc.clone());
        }
        let json = crate::custom_resources::openapi::swagger(base, &self.openapi_documents());
        let protobuf = serde_json::from_str(&json)
            .map(|d| crate::openapi::protobuf::encode(&d))
            .unwrap_or_default();
        let doc = Arc::new((json, protobuf));
        *last = Some(Cached {
            table,
            served: served.clone(),
            doc: doc.clone(),
        });
        Some(doc)
    }
}
