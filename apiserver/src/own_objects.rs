//! The objects the server's own handlers read and write (bootstrap objects, a project's
//! namespace and binding, tokens, identities): system fields and the kind's defaults, no
//! admission, guarded by their revision.

use std::sync::Arc;

use crate::error::{self, ApiError};
use crate::watch::cache::Cache;
use crate::watch::named::StaticNames;
use crate::{ApiServer, registry};

/// How long a read waits for a watch cache to hold this server's own writes: longer than a
/// healthy cache ever lags; a store read is the answer after it.
const CATCH_UP: std::time::Duration = std::time::Duration::from_secs(1);

impl ApiServer {
    /// Stores a new object the server makes itself (bootstrap objects, the objects its own
    /// handlers create): system fields and the kind's defaults, no admission.
    pub(crate) async fn create_object(
        &self,
        def: &api::ResourceDef,
        mut obj: serde_json::Value,
    ) -> Result<serde_json::Value, ApiError> {
        let name = registry::object::meta_str(&obj, "name").to_string();
        let namespace = registry::object::meta_str(&obj, "namespace").to_string();
        registry::object::prepare_create(def, &mut obj)?;
        let strategy = self.registry.strategy_of(def);
        strategy.prepare_create(&mut obj);
        strategy.complete_create(&mut obj);
        let key = def.key(Some(namespace.as_str()).filter(|n| !n.is_empty()), &name);
        let kv = self
            .store
            .create(&key, registry::object::to_store(&obj))
            .await
            .map_err(|e| error::from_storage(e, registry::object::target(def, &name)))?;
        registry::object::set_resource_version(&mut obj, kv.mod_revision);
        Ok(obj)
    }

    /// Replaces an object the server's own handlers change, if it is still at the
    /// resourceVersion it carries (else Conflict).
    pub(crate) async fn update_object(
        &self,
        def: &api::ResourceDef,
        mut obj: serde_json::Value,
    ) -> Result<serde_json::Value, ApiError> {
        let name = registry::object::meta_str(&obj, "name").to_string();
        let namespace = registry::object::meta_str(&obj, "namespace").to_string();
        let revision = registry::generic::list::parse_resource_version(Some(
            registry::object::meta_str(&obj, "resourceVersion"),
        ))?;
        let key = def.key(Some(namespace.as_str()).filter(|n| !n.is_empty()), &name);
        let kv = self
            .store
            .update(&key, registry::object::to_store(&obj), revision)
            .await
            .map_err(|e| error::from_storage(e, registry::object::target(def, &name)))?;
        registry::object::set_resource_version(&mut obj, kv.mod_revision);
        Ok(obj)
    }

    /// Deletes an object the server's own handlers remove, if it still is at `revision`
    /// (when given).
    pub(crate) async fn delete_object(
        &self,
        def: &api::ResourceDef,
        namespace: Option<&str>,
        name: &str,
        revision: Option<u64>,
    ) -> Result<(), ApiError> {
        self.store
            .delete(&def.key(namespace, name), revision)
            .await
            .map(drop)
            .map_err(|e| error::from_storage(e, registry::object::target(def, name)))
    }

    /// The stored object `name` (in `namespace`) of `def`, if any.
    pub(crate) async fn get_object(
        &self,
        def: &api::ResourceDef,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<serde_json::Value>, ApiError> {
        let (found, _) = self
            .store
            .get(&def.key(namespace, name), None)
            .await
            .map_err(|e| error::from_storage(e, registry::object::target(def, name)))?;
        found
            .map(|kv| registry::object::from_store(&kv))
            .transpose()
    }

    /// The object `name` (in `namespace`) of `def` as the watch cache holds it: for per-request
    /// reads of objects that change rarely, as upstream's admission plugins read them from
    /// informers. The cache may lag a write by moments, so not for what must read its writes
    /// (a security policy just changed).
    pub(crate) async fn cached_object(
        &self,
        def: &api::ResourceDef,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<serde_json::Value>, ApiError> {
        let cache = self.watch_caches.of(def).await?;
        Ok(cache
            .get(&def.key(namespace, name))
            .and_then(|c| serde_json::from_slice(&c.json).ok()))
    }

    /// The built-in kind the code names and its watch cache, None when the scheme does not
    /// serve it. Found by the names' addresses after the first time (`watch::named`).
    pub(crate) async fn named_cache(
        &self,
        group: &'static str,
        version: &'static str,
        plural: &'static str,
    ) -> Result<Option<(&api::ResourceDef, Arc<Cache>)>, ApiError> {
        let names = StaticNames::of(group, version, plural);
        if let Some((at, cache)) = self.named_caches.get(names)
            && let Some(def) = self.scheme.resources().get(at)
            && def.plural == plural
            && def.group == group
        {
            return Ok(Some((def, cache)));
        }
        let Some(def) = self.scheme.lookup(group, version, plural) else {
            return Ok(None);
        };
        let cache = self.watch_caches.of(def).await?;
        if let Some(at) = self
            .scheme
            .resources()
            .iter()
            .position(|r| std::ptr::eq(r, def))
        {
            self.named_caches.keep(names, at, cache.clone());
        }
        Ok(Some((def, cache)))
    }

    /// The built-in kind the code names, and its watch cache once the cache holds this
    /// server's latest write of the kind (moments after it): for reads on every request that
    /// must still see the server's own writes at once (a policy or an account just changed).
    /// No cache when that write does not come in time: the caller reads the store.
    pub(crate) async fn fresh_named_cache(
        &self,
        group: &'static str,
        version: &'static str,
        plural: &'static str,
    ) -> Result<(&api::ResourceDef, Option<Arc<Cache>>), ApiError> {
        let (def, cache) = self
            .named_cache(group, version, plural)
            .await?
            .ok_or(ApiError::PathNotFound)?;
        let fresh = cache.holds_own_writes(CATCH_UP).await;
        Ok((def, fresh.then_some(cache)))
    }

    /// The object `name` of `def` from its `cache` once it holds this server's own writes
    /// of the kind (`fresh_named_cache`), the store if they do not come.
    pub(crate) async fn fresh_cached_object(
        &self,
        def: &api::ResourceDef,
        cache: &Cache,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<serde_json::Value>, ApiError> {
        if !cache.holds_own_writes(CATCH_UP).await {
            return self.get_object(def, namespace, name).await;
        }
        Ok(def
            .with_key(namespace, name, |key| cache.get(key))
            .and_then(|c| serde_json::from_slice(&c.json).ok()))
    }

    /// The namespace `name`, from the watch cache, or from the store when the cache has not
    /// seen it yet (a namespace created a moment ago), as upstream's namespace lister falls
    /// back to a live lookup. Several admission plugins read it on every pod create: each
    /// cached state is parsed once and shared (`admission::State`'s parsed namespaces).
    pub(crate) async fn namespace_object(
        &self,
        name: &str,
    ) -> Result<Option<std::sync::Arc<serde_json::Value>>, ApiError> {
        let (def, cache) = self
            .named_cache("", "v1", "namespaces")
            .await?
            .ok_or(ApiError::PathNotFound)?;
        if let Some(cached) = def.with_key(None, name, |key| cache.get(key)) {
            let parsed = self.admission.state.namespaces.parse(name, cached);
            if parsed.is_some() {
                return Ok(parsed);
            }
        }
        Ok(self
            .get_object(def, None, name)
            .await?
            .map(std::sync::Arc::new))
    }

    /// Every object of a kind (in `namespace`, or all of a cluster-scoped kind), read from the
    /// store: for the handlers' own reads of a few configuration objects.
    pub(crate) async fn list_objects(
        &self,
        def: &api::ResourceDef,
        namespace: Option<&str>,
    ) -> Result<Vec<serde_json::Value>, ApiError> {
        let listed = self
            .store
            .list(
                &def.namespace_prefix(namespace),
                storage::ListOptions::default(),
            )
            .await
            .map_err(|e| error::from_storage(e, registry::object::target(def, "")))?;
        listed
            .kvs
            .iter()
            .map(registry::object::from_store)
            .collect()
    }
}
