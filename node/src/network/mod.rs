//! The pod network: the shared bridge `oxshift0` holding the cluster network, one network
//! namespace per pod joined to it by a veth pair, and the addresses (`ipam`).
//!
//! Everything is done with iproute2's `ip`, not a netlink crate: the few operations needed
//! (bridge, netns, veth, address, link up) are one command each, `ip netns add` also makes
//! the bind-mounted `/run/netns/<name>` file that podman joins, and errors come out in the
//! words administrators know. No default route, NAT or forwarding is ever set up: a pod
//! reaches other pods and the bridge's address only.

pub mod ipam;

use std::net::Ipv4Addr;

use tokio::process::Command;

pub const BRIDGE: &str = "oxshift0";

#[derive(Debug, thiserror::Error)]
#[error("{command}: {message}")]
pub struct NetworkError {
    command: String,
    message: String,
}

/// Runs `ip` with `args`; "File exists" (or an address already assigned) is success when
/// `exists_ok`.
async fn ip(args: &[&str], exists_ok: bool) -> Result<(), NetworkError> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .await
        .map_err(|e| NetworkError {
            command: format!("ip {}", args.join(" ")),
            message: e.to_string(),
        })?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let exists = stderr.contains("File exists") || stderr.contains("already assigned");
    if output.status.success() || (exists_ok && exists) {
        return Ok(());
    }
    Err(NetworkError {
        command: format!("ip {}", args.join(" ")),
        message: stderr.trim().to_string(),
    })
}

/// Creates the bridge with its address and brings it up; any agent of the machine may have
/// done it already.
pub async fn ensure_bridge() -> Result<(), NetworkError> {
    ip(&["link", "add", BRIDGE, "type", "bridge"], true).await?;
    let address = format!("{}/{}", ipam::BRIDGE_ADDRESS, ipam::CLUSTER_NETWORK.1);
    ip(&["addr", "add", &address, "dev", BRIDGE], true).await?;
    ip(&["link", "set", BRIDGE, "up"], false).await
}

/// Where agents of the machine claim their pod CIDRs.
const CLAIMS: &str = "/run/oxshift";

/// Claims `cidr` for this process while the returned file is open: two agents of one machine
/// handing out addresses of one slice would give two pods one address.
pub fn claim_cidr(cidr: ipam::Cidr) -> Result<std::fs::File, NetworkError> {
    let fail = |message: String| NetworkError {
        command: format!("claiming pod CIDR {cidr}"),
        message,
    };
    std::fs::create_dir_all(CLAIMS).map_err(|e| fail(format!("{CLAIMS}: {e}")))?;
    let path = format!("{CLAIMS}/pod-cidr-{}-{}.lock", cidr.network, cidr.prefix);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| fail(format!("{path}: {e}")))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(fail(
            "another node agent of this machine uses it; give each its own --pod-cidr".into(),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(fail(format!("{path}: {e}"))),
    }
}

/// The network namespace of a pod: `oxshift-` and the first 12 hex digits of its UID.
pub fn namespace_name(pod_uid: &str) -> String {
    format!("oxshift-{}", short_uid(pod_uid))
}

/// The path containers join.
pub fn namespace_path(pod_uid: &str) -> String {
    format!("/run/netns/{}", namespace_name(pod_uid))
}

fn short_uid(pod_uid: &str) -> String {
    pod_uid
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(12)
        .collect()
}

/// Whether the pod's namespace exists.
pub fn namespace_exists(pod_uid: &str) -> bool {
    std::path::Path::new(&namespace_path(pod_uid)).exists()
}

/// Makes the pod's namespace with `lo` and `eth0` (the veth end whose peer is on the bridge)
/// up and `address` on `eth0`; the only route is the cluster network's. Idempotent: a
/// namespace left half made by a crash is made again.
pub async fn create_pod_namespace(pod_uid: &str, address: Ipv4Addr) -> Result<(), NetworkError> {
    let ns = namespace_name(pod_uid);
    if namespace_exists(pod_uid) {
        if eth0_has(&ns, address).await {
            return Ok(());
        }
        delete_pod_namespace(pod_uid).await?;
    }
    let host_end = format!("oxv{}", short_uid(pod_uid));
    ip(&["netns", "add", &ns], false).await?;
    let made = async {
        // A host end left by an earlier attempt goes first (its peer went with the namespace).
        let _ = ip(&["link", "del", &host_end], false).await;
        ip(
            &[
                "link", "add", &host_end, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ],
            false,
        )
        .await?;
        ip(&["link", "set", &host_end, "master", BRIDGE, "up"], false).await?;
        let cidr = format!("{address}/{}", ipam::CLUSTER_NETWORK.1);
        ip(&["-n", &ns, "addr", "add", &cidr, "dev", "eth0"], false).await?;
        ip(&["-n", &ns, "link", "set", "lo", "up"], false).await?;
        ip(&["-n", &ns, "link", "set", "eth0", "up"], false).await
    }
    .await;
    if made.is_err() {
        let _ = delete_pod_namespace(pod_uid).await;
    }
    made
}

async fn eth0_has(ns: &str, address: Ipv4Addr) -> bool {
    let Ok(output) = Command::new("ip")
        .args(["-n", ns, "-o", "-4", "addr", "show", "dev", "eth0"])
        .output()
        .await
    else {
        return false;
    };
    String::from_utf8_lossy(&output.stdout).contains(&format!(" {address}/"))
}

/// Deletes the pod's namespace; its veth pair goes with it.
pub async fn delete_pod_namespace(pod_uid: &str) -> Result<(), NetworkError> {
    if !namespace_exists(pod_uid) {
        return Ok(());
    }
    ip(&["netns", "del", &namespace_name(pod_uid)], false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_the_kernel_limit_of_15_characters() {
        let uid = "8c2f0e3a-41b7-4f55-9d0e-2b8a5f1c7d90";
        assert_eq!(namespace_name(uid), "oxshift-8c2f0e3a41b7");
        assert!(format!("oxv{}", short_uid(uid)).len() <= 15);
        assert_eq!(namespace_path(uid), "/run/netns/oxshift-8c2f0e3a41b7");
    }
}
