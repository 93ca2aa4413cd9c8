//! `oc port-forward POD [LOCAL_PORT:]REMOTE_PORT...`: local ports on the loopback addresses
//! forwarded to the pod's ports through the server's `pods/portforward`, printed as kubectl
//! prints them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use super::Globals;
use super::pod_target;
use crate::client::{encode, session};
use crate::error::CliError;
use crate::spdy_tunnel;

#[derive(Debug, clap::Args)]
pub struct PortForwardArgs {
    /// The pod (`NAME` or `pod/NAME`).
    pub pod: String,
    /// `[LOCAL_PORT:]REMOTE_PORT`; an empty local port picks a free one.
    #[arg(required = true)]
    pub ports: Vec<String>,
}

/// A `[LOCAL:]REMOTE` argument (local 0: any free port).
fn parse_port(spec: &str) -> Result<(u16, u16), CliError> {
    let bad = || CliError::msg(format!("error parsing local port '{spec}'"));
    let (local, remote) = match spec.split_once(':') {
        Some((local, remote)) => (local, remote),
        None => (spec, spec),
    };
    let remote: u16 = remote
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| CliError::msg(format!("error parsing remote port '{remote}'")))?;
    let local: u16 = match local {
        "" => 0,
        l => l.parse().map_err(|_| bad())?,
    };
    Ok((local, remote))
}

pub async fn port_forward(g: &Globals, a: &PortForwardArgs) -> Result<(), CliError> {
    let ports = a
        .ports
        .iter()
        .map(|p| parse_port(p))
        .collect::<Result<Vec<_>, _>>()?;
    let config = g.kubeconfig()?;
    let session = session(&config, &g.overrides).await?;
    let name = pod_target::pod_name(&a.pod)?;
    let pod = pod_target::get(&session, name).await?;
    let phase = pod["status"]["phase"].as_str().unwrap_or_default();
    if phase != "Running" {
        return Err(CliError::msg(format!(
            "unable to forward port because pod is not running. Current status={phase}"
        )));
    }
    let path = format!(
        "/api/v1/namespaces/{}/pods/{}/portforward",
        encode(&session.namespace),
        encode(name)
    );
    let tunnel = spdy_tunnel::open(&session.client, &path).await?;
    let requests = Arc::new(AtomicU32::new(0));
    let mut listening = Vec::new();
    for (local, remote) in ports {
        let v4 = tokio::net::TcpListener::bind(("127.0.0.1", local))
            .await
            .map_err(|e| CliError::msg(format!("unable to listen on port {local}: {e}")))?;
        let local = v4
            .local_addr()
            .map_err(|e| CliError::msg(e.to_string()))?
            .port();
        println!("Forwarding from 127.0.0.1:{local} -> {remote}");
        listening.push((v4, local, remote));
        if let Ok(v6) = tokio::net::TcpListener::bind(("::1", local)).await {
            println!("Forwarding from [::1]:{local} -> {remote}");
            listening.push((v6, local, remote));
        }
    }
    for (listener, local, remote) in listening {
        let (tunnel, requests) = (tunnel.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((connection, _)) = listener.accept().await {
                println!("Handling connection for {local}");
                let request = requests.fetch_add(1, Ordering::SeqCst);
                let tunnel = tunnel.clone();
                tokio::spawn(async move {
                    if let Err(e) = tunnel.forward(connection, remote, request).await {
                        eprintln!("error: an error occurred forwarding {local} -> {remote}: {e}");
                    }
                });
            }
        });
    }
    let mut closed = tunnel.closed.clone();
    let _ = closed.wait_for(|c| *c).await;
    Err(CliError::msg("lost connection to pod"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_arguments_are_kubectls() {
        assert_eq!(parse_port("8080:80").unwrap(), (8080, 80));
        assert_eq!(parse_port(":80").unwrap(), (0, 80));
        assert_eq!(parse_port("5000").unwrap(), (5000, 5000));
        assert!(parse_port("x:80").is_err());
        assert!(parse_port("80:0").is_err());
    }
}
