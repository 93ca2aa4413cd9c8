//! A route's annotations as upstream's router template reads them: each value must match the
//! template's pattern in full, else it is ignored (the default applies), as `firstMatch` does.
//! Pure parsing; the proxy applies what comes out (`Policy`).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

/// How a route's requests are spread over its endpoints (`haproxy.router.openshift.io/balance`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Balance {
    Random,
    RoundRobin,
    LeastConn,
    Source,
}

impl Balance {
    pub fn parse(text: &str) -> Option<Balance> {
        match text {
            "random" => Some(Balance::Random),
            "roundrobin" => Some(Balance::RoundRobin),
            "leastconn" => Some(Balance::LeastConn),
            "source" => Some(Balance::Source),
            _ => None,
        }
    }
}

const PREFIX: &str = "haproxy.router.openshift.io/";

/// How the forwarded headers are set (`set-forwarded-headers`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forwarded {
    /// Added to whatever the client sent (the default).
    Append,
    /// Set, replacing the client's.
    Replace,
    /// Set only when the client sent none.
    IfNone,
    /// Not set.
    Never,
}

/// The connection limits of `rate-limit-connections` (each `None`: not limited).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimits {
    /// Concurrent connections from one source address.
    pub concurrent_tcp: Option<u64>,
    /// New connections from one source address per 3 seconds.
    pub rate_tcp: Option<u64>,
    /// HTTP requests from one source address per 10 seconds.
    pub rate_http: Option<u64>,
}

/// An address or a network of the allow list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Network {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            _ => ip,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u128::from(u32::from(net)), 32, self.prefix)
                    == masked(u128::from(u32::from(ip)), 32, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), 128, self.prefix)
                    == masked(u128::from(ip), 128, self.prefix)
            }
            _ => false,
        }
    }
}

fn masked(bits: u128, width: u8, prefix: u8) -> u128 {
    match prefix {
        0 => 0,
        p if p >= width => bits,
        p => bits >> (width - p),
    }
}

/// What a route's annotations change in how it is served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// `timeout`: how long the backend has to answer (HAProxy's `timeout server`).
    pub timeout: Option<Duration>,
    /// `timeout-tunnel`: how long an upgraded or passthrough connection may stay idle.
    pub timeout_tunnel: Option<Duration>,
    /// `ip_allowlist` (or the older `ip_whitelist`): the sources allowed; others are cut off.
    pub allowlist: Option<Vec<Network>>,
    /// `rate-limit-connections` and its limits.
    pub limits: Option<RateLimits>,
    /// `hsts_header`: the `Strict-Transport-Security` of edge and reencrypt routes.
    pub hsts: Option<String>,
    pub forwarded: Forwarded,
    /// `rewrite-target`: what replaces the route's path at the start of the request's.
    pub rewrite_target: Option<String>,
    pub balance: Option<Balance>,
    pub disable_cookies: bool,
}

impl Policy {
    pub fn parse(annotations: &BTreeMap<String, String>) -> Policy {
        let get = |name: &str| {
            annotations
                .get(&format!("{PREFIX}{name}"))
                .map(String::as_str)
        };
        let limits = get("rate-limit-connections")
            .is_some_and(is_true)
            .then(|| RateLimits {
                concurrent_tcp: get("rate-limit-connections.concurrent-tcp").and_then(integer),
                rate_tcp: get("rate-limit-connections.rate-tcp").and_then(integer),
                rate_http: get("rate-limit-connections.rate-http").and_then(integer),
            });
        let allowlist = get("ip_allowlist")
            .or_else(|| get("ip_whitelist"))
            .and_then(ip_list);
        Policy {
            timeout: get("timeout").and_then(time_spec),
            timeout_tunnel: get("timeout-tunnel").and_then(time_spec),
            allowlist,
            limits,
            hsts: get("hsts_header")
                .filter(|h| is_hsts(h))
                .map(str::to_string),
            forwarded: match get("set-forwarded-headers") {
                Some("replace") => Forwarded::Replace,
                Some("if-none") => Forwarded::IfNone,
                Some("never") => Forwarded::Never,
                _ => Forwarded::Append,
            },
            rewrite_target: get("rewrite-target")
                .filter(|t| t.starts_with('/'))
                .map(str::to_string),
            balance: get("balance").and_then(Balance::parse),
            disable_cookies: get("disable_cookies").is_some_and(is_true),
        }
    }

    /// Whether `ip` may use the route.
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.allowlist
            .as_ref()
            .is_none_or(|list| list.iter().any(|n| n.contains(ip)))
    }

    /// The idle timeout of a passthrough connection: `timeout-tunnel`, else `timeout`.
    pub fn passthrough_tunnel(&self) -> Option<Duration> {
        self.timeout_tunnel.or(self.timeout)
    }
}

/// Go's `strconv.ParseBool` truths, as the template's `isTrue`.
fn is_true(value: &str) -> bool {
    matches!(value, "1" | "t" | "T" | "TRUE" | "true" | "True")
}

/// The template's `isInteger`: digits only.
fn integer(value: &str) -> Option<u64> {
    match !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        true => value.parse().ok(),
        false => None,
    }
}

/// `[1-9][0-9]*(us|ms|s|m|h|d)?` (no unit: milliseconds), clipped to HAProxy's largest
/// timeout, 2147483647 ms.
pub fn time_spec(value: &str) -> Option<Duration> {
    let digits = value.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = value.split_at(digits);
    if number.is_empty() || number.starts_with('0') {
        return None;
    }
    let micros_per: u128 = match unit {
        "us" => 1,
        "" | "ms" => 1_000,
        "s" => 1_000_000,
        "m" => 60_000_000,
        "h" => 3_600_000_000,
        "d" => 86_400_000_000,
        _ => return None,
    };
    // Digits beyond u128 are far past the clip anyway.
    let n: u128 = number.parse().unwrap_or(u128::MAX / 86_400_000_000);
    let micros = n.saturating_mul(micros_per).min(2_147_483_647_000);
    Some(Duration::from_micros(micros as u64))
}

/// The allow list: addresses and networks separated by spaces; invalid entries dropped, a
/// list with leading or trailing spaces ignored whole, as upstream's `parseIPList`.
fn ip_list(value: &str) -> Option<Vec<Network>> {
    if value.is_empty() || value.trim() != value {
        return None;
    }
    let list: Vec<Network> = value.split_whitespace().filter_map(network).collect();
    (!list.is_empty()).then_some(list)
}

fn network(text: &str) -> Option<Network> {
    let (addr, prefix) = match text.split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix)),
        None => (text, None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let width = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => width,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.len() <= 3 => {
            p.parse::<u8>().ok().filter(|p| *p <= width)?
        }
        Some(_) => return None,
    };
    Some(Network { addr, prefix })
}

/// The template's HSTS pattern, case-insensitive: `max-age=N` (N may be quoted) once, with
/// `includeSubDomains` and `preload` directives around it, separated by `;`.
fn is_hsts(value: &str) -> bool {
    let mut max_age = 0;
    for directive in value.split(';') {
        let directive = directive.trim().to_ascii_lowercase();
        if directive == "includesubdomains" || directive == "preload" {
            continue;
        }
        let Some(rest) = directive.strip_prefix("max-age") else {
            return false;
        };
        let Some(seconds) = rest.trim_start().strip_prefix('=') else {
            return false;
        };
        let seconds = seconds.trim_start();
        let seconds = seconds
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(seconds);
        if seconds.is_empty() || !seconds.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        max_age += 1;
    }
    // Spaces are allowed around `;` only, not at either end.
    max_age == 1 && value.trim() == value
}

/// The path the backend gets under `rewrite-target`: the route's path at the start of the
/// request's replaced by the target (with `/`, a slash after the route's path goes too).
pub fn rewrite_path(route_path: &str, target: &str, path: &str) -> String {
    let Some(rest) = path.strip_prefix(route_path) else {
        return path.to_string();
    };
    match target {
        "/" => format!("/{}", rest.strip_prefix('/').unwrap_or(rest)),
        _ => format!("{target}{rest}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(pairs: &[(&str, &str)]) -> Policy {
        Policy::parse(
            &pairs
                .iter()
                .map(|(k, v)| (format!("{PREFIX}{k}"), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn timeouts_follow_the_time_spec() {
        assert_eq!(time_spec("5s"), Some(Duration::from_secs(5)));
        assert_eq!(time_spec("250"), Some(Duration::from_millis(250)));
        assert_eq!(time_spec("2m"), Some(Duration::from_secs(120)));
        assert_eq!(time_spec("10us"), Some(Duration::from_micros(10)));
        assert_eq!(time_spec("30d"), Some(Duration::from_millis(2_147_483_647)));
        for bad in ["", "0s", "05s", "5 s", "5sec", "-1s", "1.5s"] {
            assert_eq!(time_spec(bad), None, "{bad}");
        }
        let p = policy(&[("timeout", "2s"), ("timeout-tunnel", "bad")]);
        assert_eq!(p.timeout, Some(Duration::from_secs(2)));
        assert_eq!(p.timeout_tunnel, None);
        assert_eq!(p.passthrough_tunnel(), Some(Duration::from_secs(2)));
    }

    #[test]
    fn allow_lists_keep_valid_entries_and_refuse_others() {
        let p = policy(&[("ip_allowlist", "10.0.0.0/8 bogus 192.168.1.7 ::1")]);
        assert!(p.allows("10.2.3.4".parse().unwrap()));
        assert!(p.allows("192.168.1.7".parse().unwrap()));
        assert!(p.allows("::1".parse().unwrap()));
        assert!(p.allows("::ffff:10.0.0.1".parse().unwrap()));
        assert!(!p.allows("192.168.1.8".parse().unwrap()));
        assert!(!p.allows("127.0.0.1".parse().unwrap()));
        // The older name, and the newer winning over it.
        let old = policy(&[("ip_whitelist", "127.0.0.1")]);
        assert!(old.allows("127.0.0.1".parse().unwrap()));
        let both = policy(&[("ip_whitelist", "127.0.0.1"), ("ip_allowlist", "10.0.0.1")]);
        assert!(!both.allows("127.0.0.1".parse().unwrap()));
        // Nothing valid, or spaces around the list: no restriction.
        for ignored in ["bogus", " 10.0.0.1", "10.0.0.1 ", "10.0.0.0/33", ""] {
            let p = policy(&[("ip_allowlist", ignored)]);
            assert!(p.allowlist.is_none(), "{ignored:?}");
            assert!(p.allows("127.0.0.1".parse().unwrap()));
        }
        assert!(policy(&[("ip_allowlist", "0.0.0.0/0")]).allows("8.8.8.8".parse().unwrap()));
    }

    #[test]
    fn rate_limits_need_the_switch_and_integers() {
        assert_eq!(
            policy(&[("rate-limit-connections.rate-http", "5")]).limits,
            None
        );
        let p = policy(&[
            ("rate-limit-connections", "true"),
            ("rate-limit-connections.concurrent-tcp", "2"),
            ("rate-limit-connections.rate-tcp", "x"),
            ("rate-limit-connections.rate-http", "10"),
        ]);
        assert_eq!(
            p.limits,
            Some(RateLimits {
                concurrent_tcp: Some(2),
                rate_tcp: None,
                rate_http: Some(10)
            })
        );
    }

    #[test]
    fn hsts_headers_are_validated() {
        for good in [
            "max-age=31536000",
            "max-age=31536000;includeSubDomains;preload",
            "includeSubDomains; max-age=\"0\" ; PRELOAD",
            "MAX-AGE = 10",
        ] {
            assert_eq!(policy(&[("hsts_header", good)]).hsts.as_deref(), Some(good));
        }
        for bad in [
            "",
            "includeSubDomains",
            "max-age=",
            "max-age=1;max-age=2",
            "max-age=1;",
            "max-age=1;foo",
            " max-age=1",
            "max-age=-1",
        ] {
            assert_eq!(policy(&[("hsts_header", bad)]).hsts, None, "{bad:?}");
        }
    }

    #[test]
    fn forwarded_balance_and_cookies() {
        assert_eq!(policy(&[]).forwarded, Forwarded::Append);
        assert_eq!(
            policy(&[("set-forwarded-headers", "replace")]).forwarded,
            Forwarded::Replace
        );
        assert_eq!(
            policy(&[("set-forwarded-headers", "if-none")]).forwarded,
            Forwarded::IfNone
        );
        assert_eq!(
            policy(&[("set-forwarded-headers", "never")]).forwarded,
            Forwarded::Never
        );
        assert_eq!(
            policy(&[("set-forwarded-headers", "Never")]).forwarded,
            Forwarded::Append
        );
        assert_eq!(
            policy(&[("balance", "leastconn")]).balance,
            Some(Balance::LeastConn)
        );
        assert_eq!(policy(&[("balance", "first")]).balance, None);
        assert!(policy(&[("disable_cookies", "true")]).disable_cookies);
        assert!(!policy(&[("disable_cookies", "yes")]).disable_cookies);
    }

    #[test]
    fn rewrite_targets_as_the_documented_table() {
        let cases = [
            ("/foo", "/foo", "/", "/"),
            ("/foo", "/foo/", "/", "/"),
            ("/foo", "/foo/bar", "/", "/bar"),
            ("/foo", "/foo/bar/", "/", "/bar/"),
            ("/foo", "/foo", "/bar", "/bar"),
            ("/foo", "/foo/", "/bar", "/bar/"),
            ("/foo", "/foo/bar", "/baz", "/baz/bar"),
            ("/foo/", "/foo/", "/", "/"),
            ("/foo/", "/foo/bar", "/", "/bar"),
            ("", "/a/b", "/x", "/x/a/b"),
        ];
        for (route, path, target, want) in cases {
            assert_eq!(
                rewrite_path(route, target, path),
                want,
                "{route} {path} {target}"
            );
        }
        assert_eq!(
            policy(&[("rewrite-target", "/v2")])
                .rewrite_target
                .as_deref(),
            Some("/v2")
        );
        assert_eq!(policy(&[("rewrite-target", "v2")]).rewrite_target, None);
    }
}
