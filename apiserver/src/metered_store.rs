//! The store as the API server uses it, timed: every operation's latency goes to
//! `etcd_request_duration_seconds` by operation and type (the resource of its key, as
//! upstream labels it), whatever the backend. Committed writes are noted in the write fence.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use prometheus_client::metrics::histogram::Histogram;
use storage::{
    KeyValue, ListOptions, ListResult, Result, Revision, Store, StoreStats, Txn, TxnOp, TxnOutcome,
    WatchStream,
};

use crate::metrics::Metrics;
use crate::write_fence::{WriteFence, resource_prefix};

pub struct MeteredStore {
    inner: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    fence: Arc<WriteFence>,
    /// Histograms already looked up, by operation and type (no allocation on a hit).
    histograms: RwLock<HashMap<&'static str, HashMap<String, Histogram>>>,
}

impl MeteredStore {
    pub fn new(inner: Arc<dyn Store>, metrics: Arc<Metrics>, fence: Arc<WriteFence>) -> Self {
        MeteredStore {
            inner,
            metrics,
            fence,
            histograms: RwLock::default(),
        }
    }

    fn observe(&self, operation: &'static str, key: &str, started: Instant) {
        let seconds = started.elapsed().as_secs_f64();
        let kind = resource_prefix(key);
        let cached = self
            .histograms
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(operation)
            .and_then(|by_kind| by_kind.get(kind).cloned());
        let histogram = match cached {
            Some(h) => h,
            None => {
                let label = label_of(kind);
                let h = self.metrics.storage_histogram(operation, &label);
                self.histograms
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(operation)
                    .or_default()
                    .insert(kind.to_string(), h.clone());
                h
            }
        };
        histogram.observe(seconds);
    }
}

/// The label of a resource prefix: `plural` for the core group, `plural.group` else.
fn label_of(prefix: &str) -> String {
    let rest = prefix.strip_prefix("/registry/").unwrap_or(prefix);
    match rest.split_once('/') {
        Some(("core", plural)) => plural.to_string(),
        Some((group, plural)) => format!("{plural}.{group}"),
        None => rest.to_string(),
    }
}

/// What a transaction does, as upstream names storage operations, and its first key.
fn txn_operation(txn: &Txn) -> (&'static str, &str) {
    match (txn.ops.as_slice(), txn.compares.as_slice()) {
        ([TxnOp::Put { key, .. }], [compare]) if compare.mod_revision == 0 => ("create", key),
        ([TxnOp::Put { key, .. }], _) => ("update", key),
        ([TxnOp::Delete { key }], _) => ("delete", key),
        ([first, ..], _) => ("txn", first.key()),
        ([], _) => ("txn", ""),
    }
}

#[async_trait]
impl Store for MeteredStore {
    async fn get(
        &self,
        key: &str,
        revision: Option<Revision>,
    ) -> Result<(Option<KeyValue>, Revision)> {
        let started = Instant::now();
        let result = self.inner.get(key, revision).await;
        self.observe("get", key, started);
        result
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult> {
        let started = Instant::now();
        let result = self.inner.list(prefix, opts).await;
        self.observe("list", prefix, started);
        result
    }

    async fn count(&self, prefix: &str) -> Result<u64> {
        let started = Instant::now();
        let result = self.inner.count(prefix).await;
        self.observe("count", prefix, started);
        result
    }

    async fn txn(&self, txn: Txn) -> Result<TxnOutcome> {
        let (operation, key) = txn_operation(&txn);
        let key = key.to_string();
        // The first op's key is `key`; most transactions have no other (no allocation then).
        let others: Vec<String> = txn
            .ops
            .iter()
            .skip(1)
            .map(|op| op.key().to_string())
            .collect();
        let started = Instant::now();
        let result = self.inner.txn(txn).await;
        self.observe(operation, &key, started);
        if let Ok(TxnOutcome::Committed { revision, .. }) = &result {
            for written in std::iter::once(&key).chain(&others) {
                self.fence.note(written, *revision);
            }
        }
        result
    }

    async fn watch(&self, prefix: &str, after_revision: Revision) -> Result<WatchStream> {
        self.inner.watch(prefix, after_revision).await
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        self.inner.compact(revision).await
    }

    async fn current_revision(&self) -> Result<Revision> {
        self.inner.current_revision().await
    }

    async fn health(&self) -> Result<()> {
        self.inner.health().await
    }

    async fn stats(&self) -> Result<StoreStats> {
        self.inner.stats().await
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue> {
        let started = Instant::now();
        let result = self.inner.create(key, value).await;
        self.observe("create", key, started);
        if let Ok(kv) = &result {
            self.fence.note(key, kv.mod_revision);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_labelled_by_their_resource() {
        let label = |key| label_of(resource_prefix(key));
        assert_eq!(label("/registry/core/configmaps/ns/a"), "configmaps");
        assert_eq!(label("/registry/apps/deployments/ns/a"), "deployments.apps");
        assert_eq!(label("/registry/core/namespaces/a"), "namespaces");
        assert_eq!(label("/registry/core/configmaps/"), "configmaps");
        assert_eq!(label("/registry/core/configmaps"), "configmaps");
        assert_eq!(resource_prefix("/elsewhere"), "");
    }
}
