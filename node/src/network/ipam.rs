//! Pod IPs from the node's slice of the cluster network. Each allocation is a file named by
//! the address and holding the pod's UID, created exclusively: a second agent (or this one
//! after a restart) sees it and never hands the address out again until the pod is gone.

use std::collections::HashMap;
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The cluster network, which only lives on the bridge.
pub const CLUSTER_NETWORK: (Ipv4Addr, u8) = (Ipv4Addr::new(10, 128, 0, 0), 14);
/// The bridge's own address in the host's namespace.
pub const BRIDGE_ADDRESS: Ipv4Addr = Ipv4Addr::new(10, 128, 0, 1);

/// An IPv4 network, `a.b.c.d/len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub network: Ipv4Addr,
    pub prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;
    fn from_str(text: &str) -> Result<Cidr, String> {
        let bad = || format!("{text:?} is not an IPv4 CIDR such as 10.128.2.0/23");
        let (ip, len) = text.split_once('/').ok_or_else(bad)?;
        let ip: Ipv4Addr = ip.parse().map_err(|_| bad())?;
        let prefix: u8 = len.parse().map_err(|_| bad())?;
        if prefix > 30 {
            return Err(bad());
        }
        let mask = u32::MAX << (32 - prefix);
        Ok(Cidr {
            network: Ipv4Addr::from(u32::from(ip) & mask),
            prefix,
        })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl Cidr {
    /// The podCIDR of node index `n`: `10.128.<2n>.0/23` (index 0 holds the bridge's address).
    pub fn node_slice(n: u32) -> Cidr {
        let base = u32::from(CLUSTER_NETWORK.0) + (n << 9);
        Cidr {
            network: Ipv4Addr::from(base),
            prefix: 23,
        }
    }

    /// The addresses pods may have: neither the network's first and last nor the bridge's,
    /// and inside the cluster network.
    fn hosts(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        let first = u32::from(self.network);
        let size = 1u32 << (32 - self.prefix);
        (first + 1..first + size - 1)
            .map(Ipv4Addr::from)
            .filter(|ip| *ip != BRIDGE_ADDRESS && in_cluster_network(*ip))
    }
}

fn in_cluster_network(ip: Ipv4Addr) -> bool {
    let mask = u32::MAX << (32 - CLUSTER_NETWORK.1);
    u32::from(ip) & mask == u32::from(CLUSTER_NETWORK.0)
}

#[derive(Debug, thiserror::Error)]
pub enum IpamError {
    #[error("no free address left in {0}")]
    Exhausted(Cidr),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The allocations of one node, kept in a directory.
pub struct Allocator {
    cidr: Cidr,
    dir: PathBuf,
    /// Pod UID → address, as on disk.
    held: Mutex<HashMap<String, Ipv4Addr>>,
}

impl Allocator {
    /// Opens (creating) the allocation directory and reads what is already held.
    pub fn open(dir: &Path, cidr: Cidr) -> Result<Allocator, IpamError> {
        let io = |source| IpamError::Io {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut held = HashMap::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let Some(ip) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<Ipv4Addr>().ok())
            else {
                continue;
            };
            if let Ok(uid) = std::fs::read_to_string(entry.path()) {
                held.insert(uid.trim().to_string(), ip);
            }
        }
        Ok(Allocator {
            cidr,
            dir: dir.to_path_buf(),
            held: Mutex::new(held),
        })
    }

    pub fn cidr(&self) -> Cidr {
        self.cidr
    }

    /// The pod's address: the one it holds, else the first free one, recorded before it is
    /// returned.
    pub fn allocate(&self, pod_uid: &str) -> Result<Ipv4Addr, IpamError> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(ip) = held.get(pod_uid) {
            return Ok(*ip);
        }
        let taken: std::collections::HashSet<Ipv4Addr> = held.values().copied().collect();
        for ip in self.cidr.hosts().filter(|ip| !taken.contains(ip)) {
            let path = self.dir.join(ip.to_string());
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    file.write_all(pod_uid.as_bytes())
                        .and_then(|_| file.sync_all())
                        .map_err(|source| IpamError::Io {
                            path: path.clone(),
                            source,
                        })?;
                    held.insert(pod_uid.to_string(), ip);
                    return Ok(ip);
                }
                // Another agent sharing the directory holds it.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(IpamError::Io { path, source }),
            }
        }
        Err(IpamError::Exhausted(self.cidr))
    }

    /// The pod's address, if it holds one.
    pub fn get(&self, pod_uid: &str) -> Option<Ipv4Addr> {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.get(pod_uid).copied()
    }

    /// Pods holding addresses.
    pub fn holders(&self) -> Vec<String> {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.keys().cloned().collect()
    }

    /// Gives the pod's address back (once its network namespace is gone).
    pub fn release(&self, pod_uid: &str) -> Result<(), IpamError> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(ip) = held.remove(pod_uid) {
            let path = self.dir.join(ip.to_string());
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(IpamError::Io { path, source }),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn node_slices_are_slash_23s_of_the_cluster_network() {
        assert_eq!(Cidr::node_slice(1).to_string(), "10.128.2.0/23");
        assert_eq!(Cidr::node_slice(100).to_string(), "10.128.200.0/23");
        assert_eq!(
            "10.128.3.7/23".parse::<Cidr>().unwrap(),
            Cidr::node_slice(1)
        );
        assert!("10.128.0.0".parse::<Cidr>().is_err());
    }

    #[test]
    fn the_bridge_address_and_the_ends_are_never_handed_out() {
        let dir = tempfile::tempdir().unwrap();
        let a = Allocator::open(dir.path(), Cidr::node_slice(0)).unwrap();
        assert_eq!(a.allocate("a").unwrap(), Ipv4Addr::new(10, 128, 0, 2));
        let slice = "10.128.2.0/30".parse::<Cidr>().unwrap();
        let b = Allocator::open(&dir.path().join("b"), slice).unwrap();
        assert_eq!(b.allocate("x").unwrap(), Ipv4Addr::new(10, 128, 2, 1));
        assert_eq!(b.allocate("y").unwrap(), Ipv4Addr::new(10, 128, 2, 2));
        assert!(matches!(b.allocate("z"), Err(IpamError::Exhausted(_))));
    }

    #[test]
    fn a_reopened_allocator_keeps_what_was_handed_out() {
        let dir = tempfile::tempdir().unwrap();
        let first = Allocator::open(dir.path(), Cidr::node_slice(1)).unwrap();
        let a = first.allocate("pod-a").unwrap();
        let b = first.allocate("pod-b").unwrap();
        assert_ne!(a, b);
        assert_eq!(first.allocate("pod-a").unwrap(), a);
        drop(first);
        let again = Allocator::open(dir.path(), Cidr::node_slice(1)).unwrap();
        assert_eq!(again.get("pod-a"), Some(a));
        let c = again.allocate("pod-c").unwrap();
        assert!(c != a && c != b);
        again.release("pod-a").unwrap();
        assert_eq!(again.get("pod-a"), None);
        assert_eq!(again.allocate("pod-d").unwrap(), a);
    }

    #[test]
    fn two_allocators_on_one_directory_never_share_an_address() {
        let dir = tempfile::tempdir().unwrap();
        let one = Allocator::open(dir.path(), Cidr::node_slice(1)).unwrap();
        let two = Allocator::open(dir.path(), Cidr::node_slice(1)).unwrap();
        let a = one.allocate("a").unwrap();
        let b = two.allocate("b").unwrap();
        assert_ne!(a, b);
    }
}
