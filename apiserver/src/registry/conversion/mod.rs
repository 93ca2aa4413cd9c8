//! Conversion between the versions of one kind, at the generic store's boundary: a write is
//! stored in the kind's storage version, and every read (get, list, watch, the bases of
//! patches and applies, what a write or a deletion answers) shows the version the request
//! named. What is read in a handler is in the request's version, as upstream's handlers
//! (a custom resource's in-memory version is its request's); only the store holds the
//! storage version.
//!
//! Objects are stored with `apiVersion` first (`object::to_store`), so whether one is
//! already in a version is a prefix test: when the request's version is the one an object is
//! stored in, nothing is parsed (lists and watches keep serving the stored bytes).
//!
//! How objects change version is the kind's: `None` rewrites `apiVersion` only (upstream's
//! nopConverter), `Webhook` sends a `ConversionReview` (`webhook.rs`), one per batch, and the
//! built-in kinds served in several versions convert as upstream's scheme does (`builtin.rs`:
//! `hpa.rs`, `events.rs`).

pub mod builtin;
pub mod events;
pub mod hpa;
pub mod webhook;

use std::sync::Arc;

use api::scheme::ResourceDef;
use bytes::Bytes;
use serde_json::{Value, json};
use storage::KeyValue;

use crate::ApiServer;
use crate::error::ApiError;
use crate::registry::object;
use crate::watch::cache::{CacheEvent, Cached, Objects};
use crate::watch::encoded;
use crate::webhook_client::resolve::Resolver;

/// How the objects of one kind change version.
pub struct Conversion {
    pub kind: &'static str,
    /// The `apiVersion` objects are stored in.
    pub storage: String,
    /// The `apiVersion`s an object may be converted from or to.
    pub api_versions: Vec<String>,
    pub how: How,
}

impl std::fmt::Debug for Conversion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conversion")
            .field("kind", &self.kind)
            .field("storage", &self.storage)
            .finish_non_exhaustive()
    }
}

pub enum How {
    /// `apiVersion` rewritten, nothing else touched.
    None,
    Webhook(webhook::Webhook),
    /// A built-in kind's own conversion of one object to an `apiVersion`.
    Builtin(fn(&Value, &str) -> Value),
}

impl Conversion {
    /// The conversion of a kind of `group` served in `versions`, stored in `storage_version`.
    pub fn new(
        group: &str,
        kind: &'static str,
        storage_version: &str,
        versions: &[&str],
        how: How,
    ) -> Conversion {
        Conversion {
            kind,
            storage: api::scheme::api_version(group, storage_version),
            api_versions: versions
                .iter()
                .map(|v| api::scheme::api_version(group, v))
                .collect(),
            how,
        }
    }

    /// Converts `objects` to `desired` (an `apiVersion`) in place; those already in it are
    /// left alone, the others converted in one batch (`list` says the batch is a list's, for
    /// messages).
    pub async fn convert(
        &self,
        resolver: &Resolver,
        objects: &mut [Value],
        desired: &str,
        list: bool,
    ) -> Result<(), ApiError> {
        let pending: Vec<usize> = (0..objects.len())
            .filter(|&i| objects[i]["apiVersion"].as_str() != Some(desired))
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        if !self.api_versions.iter().any(|v| v == desired) {
            return Err(ApiError::Conversion(format!(
                "request to convert CR to an invalid group/version: {desired}"
            )));
        }
        for &i in &pending {
            let from = objects[i]["apiVersion"].as_str().unwrap_or_default();
            if !self.api_versions.iter().any(|v| v == from) {
                return Err(ApiError::Conversion(format!(
                    "request to convert CR from an invalid group/version: {from}"
                )));
            }
        }
        match &self.how {
            How::None => {
                for i in pending {
                    objects[i]["apiVersion"] = json!(desired);
                }
                Ok(())
            }
            How::Builtin(convert) => {
                for i in pending {
                    objects[i] = convert(&objects[i], desired);
                }
                Ok(())
            }
            How::Webhook(hook) => {
                // Upstream names the converted object's kind, or the list's.
                let gvk = match list {
                    true => format!("{desired}, Kind={}List", self.kind),
                    false => {
                        let from = objects[pending[0]]["apiVersion"].as_str().unwrap_or("");
                        format!("{}, Kind={}", gvk_version(from), self.kind)
                    }
                };
                let originals: Vec<Value> = pending.iter().map(|&i| objects[i].clone()).collect();
                let converted = hook
                    .convert(resolver, &gvk, originals, desired, list)
                    .await
                    .map_err(ApiError::Conversion)?;
                for (i, obj) in pending.into_iter().zip(converted) {
                    objects[i] = obj;
                }
                Ok(())
            }
        }
    }
}

/// A group version as Go's `GroupVersion.String()` inside a GVK (`/v1` for the core group).
fn gvk_version(api_version: &str) -> String {
    match api_version.contains('/') {
        true => api_version.to_string(),
        false => format!("/{api_version}"),
    }
}

/// Whether `json` (an object as stored or encoded, `apiVersion` first) is in `api_version`.
/// Anything laid out otherwise answers no, and is then parsed and looked at.
pub fn is_in(json: &[u8], api_version: &str) -> bool {
    const HEAD: &[u8] = b"{\"apiVersion\":\"";
    json.strip_prefix(HEAD)
        .and_then(|rest| rest.strip_prefix(api_version.as_bytes()))
        .is_some_and(|rest| rest.first() == Some(&b'"'))
}

/// The conversion of `def`'s kind, if it has versions to convert between.
pub fn of(server: &ApiServer, def: &ResourceDef) -> Option<Arc<Conversion>> {
    builtin::of(def).or_else(|| {
        server
            .served()
            .lookup(def.group, def.version, def.plural)
            .and_then(|c| c.conversion.clone())
    })
}

/// Reads of one resource in the version a request named: what the store's objects, the
/// watch cache's and its events look like in it. Cheap to clone into a watch's stream.
#[derive(Clone)]
pub struct View {
    conversion: Arc<Conversion>,
    resolver: Resolver,
    api_version: Arc<str>,
}

impl View {
    /// How requests for `def` read, or `None` when nothing ever needs converting.
    pub fn of(server: &ApiServer, def: &ResourceDef) -> Option<View> {
        let conversion = of(server, def)?;
        Some(View {
            api_version: Arc::from(def.api_version()),
            conversion,
            resolver: Resolver::of(server),
        })
    }

    /// Parses, converts and re-encodes the objects of `jsons` not in the request's version.
    async fn convert_bytes(&self, jsons: &mut [Bytes], list: bool) -> Result<(), ApiError> {
        let pending: Vec<usize> = (0..jsons.len())
            .filter(|&i| !is_in(&jsons[i], &self.api_version))
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        let mut objects = pending
            .iter()
            .map(|&i| {
                serde_json::from_slice::<Value>(&jsons[i])
                    .map_err(|e| ApiError::Internal(format!("stored object is not JSON: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.conversion
            .convert(&self.resolver, &mut objects, &self.api_version, list)
            .await?;
        for (i, obj) in pending.into_iter().zip(objects) {
            // Laid out as stored, with the resourceVersion it had.
            let revision = object::meta_str(&obj, "resourceVersion")
                .parse::<u64>()
                .ok();
            let stored = object::to_store(&obj);
            jsons[i] = match revision {
                Some(rv) => encoded::at_revision(&stored, rv),
                None => stored,
            };
        }
        Ok(())
    }

    /// A page of stored objects in the request's version.
    pub async fn page(&self, kvs: Vec<KeyValue>) -> Result<Vec<KeyValue>, ApiError> {
        let mut values: Vec<Bytes> = kvs.iter().map(|kv| kv.value.clone()).collect();
        self.convert_bytes(&mut values, true).await?;
        Ok(kvs
            .into_iter()
            .zip(values)
            .map(|(kv, value)| KeyValue { value, ..kv })
            .collect())
    }

    /// Cached objects (with their resourceVersions) in the request's version.
    pub async fn objects(&self, objects: Objects) -> Result<Objects, ApiError> {
        let mut jsons: Vec<Bytes> = objects.iter().map(|(_, c)| c.json.clone()).collect();
        self.convert_bytes(&mut jsons, true).await?;
        Ok(objects
            .into_iter()
            .zip(jsons)
            .map(|((key, cached), json)| match cached.json == json {
                true => (key, cached),
                false => (key, Arc::new(Cached { json })),
            })
            .collect())
    }

    /// A watch event in the request's version (the same event when it already is). Each
    /// event is converted once per version, by its first watcher in that version; the
    /// others wait for and share the result.
    pub async fn event(&self, event: Arc<CacheEvent>) -> Result<Arc<CacheEvent>, ApiError> {
        let prev_in = event.prev().is_none_or(|p| is_in(p, &self.api_version));
        if is_in(&event.object, &self.api_version) && prev_in {
            return Ok(event);
        }
        let shared = event.in_version(&self.api_version);
        shared
            .get_or_try_init(|| self.converted_event(&event))
            .await
            .cloned()
    }

    async fn converted_event(&self, event: &CacheEvent) -> Result<Arc<CacheEvent>, ApiError> {
        let mut jsons = vec![event.object.clone()];
        jsons.extend(event.prev().cloned());
        self.convert_bytes(&mut jsons, false).await?;
        let prev = jsons.get(1).cloned();
        Ok(Arc::new(event.showing(jsons.swap_remove(0), prev)))
    }

    /// One stored object as the API shows it, in the request's version.
    pub async fn decode(&self, kv: &KeyValue) -> Result<Value, ApiError> {
        let mut obj = object::from_store(kv)?;
        if !is_in(&kv.value, &self.api_version) {
            let objects = std::slice::from_mut(&mut obj);
            self.conversion
                .convert(&self.resolver, objects, &self.api_version, false)
                .await?;
        }
        Ok(obj)
    }

    /// The bytes to store for `obj` (in the request's version): the object in the storage
    /// version.
    pub async fn encode(&self, obj: &Value) -> Result<Bytes, ApiError> {
        let storage = &self.conversion.storage;
        if obj["apiVersion"].as_str() == Some(storage.as_str()) {
            return Ok(object::to_store(obj));
        }
        let mut converted = [obj.clone()];
        self.conversion
            .convert(&self.resolver, &mut converted, storage, false)
            .await?;
        Ok(object::to_store(&converted[0]))
    }
}

/// One stored object of `def` as a request for it sees it.
pub async fn decode(
    server: &ApiServer,
    def: &ResourceDef,
    kv: &KeyValue,
) -> Result<Value, ApiError> {
    match View::of(server, def) {
        Some(view) => view.decode(kv).await,
        None => object::from_store(kv),
    }
}

/// The bytes to store for `obj`, an object of `def`'s version.
pub async fn encode(server: &ApiServer, def: &ResourceDef, obj: &Value) -> Result<Bytes, ApiError> {
    match View::of(server, def) {
        Some(view) => view.encode(obj).await,
        None => Ok(object::to_store(obj)),
    }
}

#[cfg(test)]
mod builtin_tests;
#[cfg(test)]
mod tests;
