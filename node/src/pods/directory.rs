//! What the node's HTTPS API needs to find a pod's containers by name: their runtime IDs,
//! log files and states, kept current by the pod workers.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::RwLock;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerEntry {
    /// The current instance's runtime ID.
    pub id: Option<String>,
    pub log: Option<PathBuf>,
    /// The previous (terminated) instance's log.
    pub previous_log: Option<PathBuf>,
    pub running: bool,
    pub terminated: bool,
    /// The waiting reason, while waiting.
    pub waiting: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodEntry {
    pub uid: String,
    pub ip: Option<Ipv4Addr>,
    pub containers: HashMap<String, ContainerEntry>,
}

/// Pods of this node by (namespace, name).
#[derive(Debug, Default)]
pub struct Directory {
    pods: RwLock<HashMap<(String, String), PodEntry>>,
}

impl Directory {
    pub fn set(&self, namespace: &str, name: &str, entry: PodEntry) {
        let mut pods = self.pods.write().unwrap_or_else(|e| e.into_inner());
        pods.insert((namespace.to_string(), name.to_string()), entry);
    }

    pub fn remove(&self, namespace: &str, name: &str, uid: &str) {
        let mut pods = self.pods.write().unwrap_or_else(|e| e.into_inner());
        let key = (namespace.to_string(), name.to_string());
        if pods.get(&key).is_some_and(|p| p.uid == uid) {
            pods.remove(&key);
        }
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<PodEntry> {
        let pods = self.pods.read().unwrap_or_else(|e| e.into_inner());
        pods.get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }
}
