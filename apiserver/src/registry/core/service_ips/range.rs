//! The two ranges services are given values from: the service network (OpenShift's default
//! `172.30.0.0/16`) and the node ports (30000-32767), each with its place in the store and
//! upstream's size of the lower part kept for values users choose.

use std::net::Ipv4Addr;

use super::bitmap::Bitmap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Range {
    ClusterIps,
    NodePorts,
}

const NETWORK: Ipv4Addr = Ipv4Addr::new(172, 30, 0, 0);
const PREFIX_LENGTH: u32 = 16;
const FIRST_NODE_PORT: u16 = 30000;
const NODE_PORTS: usize = 2768;

impl Range {
    pub(super) const ALL: [Range; 2] = [Range::ClusterIps, Range::NodePorts];

    /// Where the range's allocations are stored (upstream's keys).
    pub(super) fn key(self) -> &'static str {
        match self {
            Range::ClusterIps => "/registry/ranges/serviceips",
            Range::NodePorts => "/registry/ranges/servicenodeports",
        }
    }

    /// The range as upstream writes it in the RangeAllocation and in messages.
    pub(super) fn spec(self) -> &'static str {
        match self {
            Range::ClusterIps => "172.30.0.0/16",
            Range::NodePorts => "30000-32767",
        }
    }

    /// How many values the range has: every address of the network but its first and last.
    fn size(self) -> usize {
        match self {
            Range::ClusterIps => (1 << (32 - PREFIX_LENGTH)) - 2,
            Range::NodePorts => NODE_PORTS,
        }
    }

    /// Upstream's lower part, kept for chosen values: `min(max(16, size / 16), 256)` of the
    /// network's addresses, `min(max(16, size / 32), 128)` of the ports.
    fn offset(self) -> usize {
        match self {
            Range::ClusterIps => ((1usize << (32 - PREFIX_LENGTH)) / 16).clamp(16, 256),
            Range::NodePorts => (NODE_PORTS / 32).clamp(16, 128),
        }
    }

    /// The value at `offset`, as people read it.
    pub(super) fn show(self, offset: usize) -> String {
        match self {
            Range::ClusterIps => ip_at(offset).to_string(),
            Range::NodePorts => port_at(offset).to_string(),
        }
    }

    pub(super) fn empty(self) -> Bitmap {
        Bitmap::new(self.size(), self.offset())
    }

    pub(super) fn decode(self, bytes: &[u8]) -> Result<Bitmap, String> {
        Bitmap::from_bytes(self.size(), self.offset(), bytes)
    }
}

/// The offset of `ip` in the service network; `None` outside it.
pub(super) fn ip_offset(ip: Ipv4Addr) -> Option<usize> {
    let offset = u32::from(ip).checked_sub(u32::from(NETWORK) + 1)? as usize;
    (offset < Range::ClusterIps.size()).then_some(offset)
}

pub(super) fn ip_at(offset: usize) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(NETWORK) + 1 + offset as u32)
}

/// The offset of node port `port`; `None` outside the range.
pub(super) fn port_offset(port: i64) -> Option<usize> {
    let offset = usize::try_from(port - i64::from(FIRST_NODE_PORT)).ok()?;
    (offset < NODE_PORTS).then_some(offset)
}

pub(super) fn port_at(offset: usize) -> i64 {
    i64::from(FIRST_NODE_PORT) + offset as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_upstreams() {
        assert_eq!(
            (Range::ClusterIps.size(), Range::ClusterIps.offset()),
            (65534, 256)
        );
        assert_eq!(
            (Range::NodePorts.size(), Range::NodePorts.offset()),
            (2768, 86)
        );
        assert_eq!(ip_offset(Ipv4Addr::new(172, 30, 0, 1)), Some(0));
        assert_eq!(ip_at(0), Ipv4Addr::new(172, 30, 0, 1));
        assert_eq!(ip_at(65533), Ipv4Addr::new(172, 30, 255, 254));
        for outside in [
            [172, 30, 0, 0],
            [172, 30, 255, 255],
            [172, 31, 0, 1],
            [10, 0, 0, 1],
        ] {
            assert_eq!(ip_offset(Ipv4Addr::from(outside)), None);
        }
        assert_eq!(port_offset(30000), Some(0));
        assert_eq!(port_offset(32767), Some(2767));
        assert_eq!(port_offset(32768), None);
        assert_eq!(port_offset(29999), None);
        assert_eq!(port_at(2767), 32767);
    }
}
