//! The namespace of one admission request, read once: the node selectors, the SCC admission,
//! Pod Security and the webhooks' and policies' selectors each read the namespace of every
//! pod create. Kept in the request's attributes, so each request reads the namespace as it is
//! when the first plugin asks; the SCC admission, which may wait for the namespace's
//! allocation, keeps the fresher state it waited for.

use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::ApiServer;
use crate::error::ApiError;

/// The namespace read, by name (None: not read yet; `Some(None)`: there is none).
type Read = Option<(String, Option<Arc<Value>>)>;

#[derive(Default)]
pub struct RequestNamespace(Mutex<Read>);

impl RequestNamespace {
    /// The namespace `name`, read from the server the first time it is asked for.
    pub async fn get(
        &self,
        server: &ApiServer,
        name: &str,
    ) -> Result<Option<Arc<Value>>, ApiError> {
        if let Some(found) = self.kept(name) {
            return Ok(found);
        }
        let found = server.namespace_object(name).await?;
        self.keep(name, found.clone());
        Ok(found)
    }

    /// Keeps a state of the namespace `name` read afresh, for the plugins after.
    pub fn keep(&self, name: &str, found: Option<Arc<Value>>) {
        *self.lock() = Some((name.to_string(), found));
    }

    fn kept(&self, name: &str) -> Option<Option<Arc<Value>>> {
        match &*self.lock() {
            Some((kept, found)) if kept == name => Some(found.clone()),
            _ => None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Read> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A copy starts with what was read, as the request is the same.
impl Clone for RequestNamespace {
    fn clone(&self) -> Self {
        RequestNamespace(Mutex::new(self.lock().clone()))
    }
}

impl std::fmt::Debug for RequestNamespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestNamespace")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_by_name() {
        let memo = RequestNamespace::default();
        assert!(memo.kept("a").is_none());
        let a = Arc::new(serde_json::json!({"metadata": {"name": "a"}}));
        memo.keep("a", Some(a.clone()));
        assert!(matches!(memo.kept("a"), Some(Some(v)) if Arc::ptr_eq(&v, &a)));
        assert!(memo.kept("b").is_none());
        memo.keep("b", None);
        assert!(matches!(memo.kept("b"), Some(None)));
        assert!(matches!(memo.clone().kept("b"), Some(None)));
    }
}
