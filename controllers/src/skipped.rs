//! Objects a controller passes over because it cannot read what it needs of them: counted,
//! and each logged once, by kind, namespace and name only (never its content, which may be a
//! Secret's).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use kube::api::ObjectMeta;

use crate::bounded::Lru;

/// How many skipped objects are remembered as already logged.
const REMEMBERED: usize = 4096;

#[derive(Debug)]
pub struct Skipped {
    controller: &'static str,
    count: AtomicU64,
    logged: Mutex<Lru<String, ()>>,
}

impl Skipped {
    pub fn new(controller: &'static str) -> Self {
        Skipped {
            controller,
            count: AtomicU64::new(0),
            logged: Mutex::new(Lru::new(REMEMBERED)),
        }
    }

    /// Objects skipped so far (each time one is met).
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Notes that an object of `kind` was skipped; `fields` says what could not be read.
    pub fn skip(&self, kind: &str, meta: &ObjectMeta, fields: &[&str]) {
        self.count.fetch_add(1, Ordering::Relaxed);
        let namespace = meta.namespace.as_deref().unwrap_or_default();
        let name = meta.name.as_deref().unwrap_or_default();
        let uid = meta.uid.as_deref().unwrap_or_default();
        let key = format!("{kind}/{namespace}/{name}/{uid}");
        let mut logged = self.logged.lock().unwrap_or_else(|e| e.into_inner());
        if logged.contains(&key) {
            return;
        }
        logged.insert(key, ());
        drop(logged);
        tracing::warn!(
            controller = self.controller,
            kind,
            namespace,
            name,
            fields = fields.join(","),
            "skipping an object that cannot be decoded"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_skip_and_remembers_a_bounded_number() {
        let skipped = Skipped::new("test");
        let meta = |name: &str| ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        };
        skipped.skip("ConfigMap", &meta("a"), &["labels"]);
        skipped.skip("ConfigMap", &meta("a"), &["labels"]);
        assert_eq!(skipped.count(), 2);
        assert_eq!(skipped.logged.lock().unwrap().len(), 1);
        for i in 0..REMEMBERED + 10 {
            skipped.skip("ConfigMap", &meta(&i.to_string()), &[]);
        }
        assert_eq!(skipped.logged.lock().unwrap().len(), REMEMBERED);
    }
}
