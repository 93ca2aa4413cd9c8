//! What a stored service holds in each range, and what a write of one asks for.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use serde_json::Value;

use super::checks::{ip_error, port_error, port_not_in_range};
use super::range::{Range, ip_offset, port_offset};
use super::spec::{
    allocates_node_ports, cluster_ip, cluster_ips, health_check_port, is_headless,
    needs_cluster_ip, needs_health_check_port, needs_node_ports, node_port, node_ports, ports,
};
use crate::error::ApiError;

/// What a stored service holds: its offsets in the two ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Held {
    pub(super) ip: Option<usize>,
    pub(super) ports: BTreeSet<usize>,
}

impl Held {
    pub(super) fn values(&self) -> Vec<(Range, usize)> {
        let ip = self.ip.map(|o| (Range::ClusterIps, o));
        let ports = self.ports.iter().map(|&o| (Range::NodePorts, o));
        ip.into_iter().chain(ports).collect()
    }
}

/// A value a write asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Want {
    Any,
    Exact(usize),
}

/// One node port, shared by the `spec.ports` at `indexes` (a port number served over TCP
/// and UDP gets one node port).
#[derive(Debug)]
pub(super) struct PortWant {
    pub(super) indexes: Vec<usize>,
    pub(super) want: Want,
}

/// What a write of a service asks for.
#[derive(Debug)]
pub(super) struct Wanted {
    pub(super) ip: Option<Want>,
    pub(super) ports: Vec<PortWant>,
    pub(super) health_check: Option<Want>,
}

/// What a stored service holds in the ranges, by its type.
pub(super) fn held(svc: &Value) -> Held {
    let spec = &svc["spec"];
    let mut held = Held::default();
    if needs_cluster_ip(spec) {
        let first = cluster_ips(spec).first().copied();
        let ip = first.unwrap_or(cluster_ip(spec)).parse::<Ipv4Addr>();
        held.ip = ip.ok().and_then(ip_offset);
    }
    if needs_node_ports(spec) {
        held.ports
            .extend(node_ports(spec).into_iter().filter_map(port_offset));
    }
    if needs_health_check_port(spec) {
        held.ports.extend(port_offset(health_check_port(spec)));
    }
    held
}

/// What a (checked) service asks of the ranges.
pub(super) fn wanted(svc: &Value) -> Result<Wanted, ApiError> {
    let spec = &svc["spec"];
    let ip = match cluster_ips(spec).first() {
        _ if !needs_cluster_ip(spec) || is_headless(spec) => None,
        None | Some(&"") => Some(Want::Any),
        Some(ip) => Some(Want::Exact(ip_in_range(svc, ip)?)),
    };
    let mut wanted = Wanted {
        ip,
        ports: Vec::new(),
        health_check: None,
    };
    if needs_node_ports(spec) {
        wanted.ports = port_wants(svc)?;
    }
    if needs_health_check_port(spec) {
        wanted.health_check = Some(match health_check_port(spec) {
            0 => Want::Any,
            port => Want::Exact(port_offset(port).ok_or_else(|| {
                ApiError::Internal(format!(
                    "failed to allocate requested HealthCheck NodePort {port}: {}",
                    port_not_in_range()
                ))
            })?),
        });
    }
    Ok(wanted)
}

fn ip_in_range(svc: &Value, ip: &str) -> Result<usize, ApiError> {
    let offset = ip.parse::<Ipv4Addr>().ok().and_then(ip_offset);
    offset.ok_or_else(|| {
        let spec = Range::ClusterIps.spec();
        let detail = format!(
            "failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {spec}"
        );
        ip_error(svc, &detail)
    })
}

/// The node ports the service's ports ask for, one per distinct value or port number.
fn port_wants(svc: &Value) -> Result<Vec<PortWant>, ApiError> {
    let spec = &svc["spec"];
    let list = ports(spec);
    let number = |p: &Value| p["port"].as_i64().unwrap_or(0);
    let exact = |i: usize, port: i64| {
        let offset =
            port_offset(port).ok_or_else(|| port_error(svc, i, port, &port_not_in_range()));
        offset.map(Want::Exact)
    };
    let mut wants: Vec<(i64, PortWant)> = Vec::new();
    for (i, port) in list.iter().enumerate() {
        if !port.is_object() {
            continue;
        }
        let want = match node_port(port) {
            0 if !allocates_node_ports(spec) => continue,
            0 => {
                if let Some((_, shared)) = wants.iter_mut().find(|(n, _)| *n == number(port)) {
                    shared.indexes.push(i);
                    continue;
                }
                // The node port another port of the same number asks for, if one does.
                let requested = list
                    .iter()
                    .enumerate()
                    .find(|(_, p)| number(p) == number(port) && node_port(p) != 0);
                match requested {
                    Some((j, p)) => exact(j, node_port(p))?,
                    None => Want::Any,
                }
            }
            value => exact(i, value)?,
        };
        match wants
            .iter_mut()
            .find(|(_, w)| want != Want::Any && w.want == want)
        {
            Some((_, same)) => same.indexes.push(i),
            None => wants.push((
                number(port),
                PortWant {
                    indexes: vec![i],
                    want,
                },
            )),
        }
    }
    Ok(wants.into_iter().map(|(_, w)| w).collect())
}
