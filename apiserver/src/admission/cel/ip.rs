//! Kubernetes' IP library: `ip('10.0.0.1')`, `isIP`, `ip.isCanonical`, `string(ip)` and an
//! address's family and kind (`isLoopback`, `isGlobalUnicast`, ...). Addresses are read as Go's
//! `netip.ParseAddr` reads them, with its error messages (they reach users through policies'
//! messages); zones and IPv4-mapped IPv6 addresses are refused, as upstream.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use cel::common::types::{CelBool, CelInt, CelString, Type};
use cel::{DeclarationError, Env, ExecutionError};

static IP_TYPE: Type = Type::new_unspecified_type("net.IP");

/// An IP address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ip(pub IpAddr);

super::library_val!(Ip, IP_TYPE, eq);

/// What Go's parser says of a string that is no address.
struct AddrError<'a> {
    input: &'a str,
    message: &'static str,
    at: &'a str,
}

impl std::fmt::Display for AddrError<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ParseAddr({:?}): {}", self.input, self.message)?;
        if !self.at.is_empty() {
            write!(f, " (at {:?})", self.at)?;
        }
        Ok(())
    }
}

/// An address as Go's `netip.ParseAddr` reads it, with its zone (IPv6 only).
pub fn parse_addr(input: &str) -> Result<(IpAddr, &str), String> {
    let fail = |message, at| AddrError { input, message, at }.to_string();
    match input.find(['.', ':', '%']).map(|i| input.as_bytes()[i]) {
        Some(b'.') => ipv4_fields(input)
            .map(|o| (IpAddr::V4(Ipv4Addr::from(o)), ""))
            .map_err(|(m, at)| fail(m, at)),
        Some(b':') => ipv6(input).map_err(|(m, at)| fail(m, at)),
        Some(_) => Err(fail("missing IPv6 address", "")),
        None => Err(fail("unable to parse IP", "")),
    }
}

type Failure<'a> = (&'static str, &'a str);

/// The four octets of dotted `s`, or Go's complaint and where.
fn ipv4_fields(s: &str) -> Result<[u8; 4], Failure<'_>> {
    let bytes = s.as_bytes();
    let mut fields = [0u8; 4];
    let (mut value, mut digits, mut pos) = (0u32, 0, 0);
    for (i, &c) in bytes.iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                if digits == 1 && value == 0 {
                    return Err(("IPv4 field has octet with leading zero", ""));
                }
                value = value * 10 + u32::from(c - b'0');
                digits += 1;
                if value > 255 {
                    return Err(("IPv4 field has value >255", ""));
                }
            }
            b'.' => {
                if i == 0 || i == bytes.len() - 1 || bytes[i - 1] == b'.' {
                    return Err(("IPv4 field must have at least one digit", &s[i..]));
                }
                if pos == 3 {
                    return Err(("IPv4 address too long", ""));
                }
                fields[pos] = value as u8;
                pos += 1;
                value = 0;
                digits = 0;
            }
            _ => return Err(("unexpected character", &s[i..])),
        }
    }
    if pos < 3 {
        return Err(("IPv4 address too short", ""));
    }
    fields[3] = value as u8;
    Ok(fields)
}

fn ipv6(input: &str) -> Result<(IpAddr, &str), Failure<'_>> {
    let (mut s, zone) = match input.split_once('%') {
        Some((_, "")) => return Err(("zone must be a non-empty string", "")),
        Some((address, zone)) => (address, zone),
        None => (input, ""),
    };
    let mut ip = [0u8; 16];
    let mut ellipsis: Option<usize> = None;
    if let Some(rest) = s.strip_prefix("::") {
        ellipsis = Some(0);
        s = rest;
        if s.is_empty() {
            return Ok((IpAddr::V6(Ipv6Addr::UNSPECIFIED), zone));
        }
    }
    let mut i = 0;
    while i < 16 {
        let mut off = 0;
        let mut acc = 0u32;
        for &c in s.as_bytes() {
            let digit = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => break,
            };
            acc = (acc << 4) + u32::from(digit);
            if off > 3 {
                return Err(("each group must have 4 or less digits", s));
            }
            if acc > 0xffff {
                return Err(("IPv6 field has value >=2^16", s));
            }
            off += 1;
        }
        if off == 0 {
            return Err(("each colon-separated field must have at least one digit", s));
        }
        if s.as_bytes().get(off) == Some(&b'.') {
            if ellipsis.is_none() && i != 12 {
                return Err((
                    "embedded IPv4 address must replace the final 2 fields of the address",
                    s,
                ));
            }
            if i + 4 > 16 {
                return Err((
                    "too many hex fields to fit an embedded IPv4 at the end of the address",
                    s,
                ));
            }
            ip[i..i + 4].copy_from_slice(&ipv4_fields(s)?);
            i += 4;
            s = "";
            break;
        }
        ip[i] = (acc >> 8) as u8;
        ip[i + 1] = acc as u8;
        i += 2;
        s = &s[off..];
        if s.is_empty() {
            break;
        }
        if !s.starts_with(':') {
            return Err(("unexpected character, want colon", s));
        } else if s.len() == 1 {
            return Err(("colon must be followed by more characters", s));
        }
        s = &s[1..];
        if s.starts_with(':') {
            if ellipsis.is_some() {
                return Err(("multiple :: in address", s));
            }
            ellipsis = Some(i);
            s = &s[1..];
            if s.is_empty() {
                break;
            }
        }
    }
    if !s.is_empty() {
        return Err(("trailing garbage after address", s));
    }
    if i < 16 {
        let Some(at) = ellipsis else {
            return Err(("address string too short", ""));
        };
        let n = 16 - i;
        ip.copy_within(at..i, at + n);
        ip[at..at + n].fill(0);
    } else if ellipsis.is_some() {
        return Err(("the :: must expand to at least one field of zeros", s));
    }
    Ok((IpAddr::V6(Ipv6Addr::from(ip)), zone))
}

/// Whether `a` is an IPv4 address written as IPv6 (`::ffff:1.2.3.4`).
pub fn is_4in6(a: &IpAddr) -> bool {
    matches!(a, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some())
}

/// `ip(string)`: the address, or upstream's error.
pub fn parse(text: &str) -> Result<Ip, String> {
    let (address, zone) = parse_addr(text).map_err(|e| {
        format!("IP Address {text:?} parse error during conversion from string: {e}")
    })?;
    if !zone.is_empty() {
        return Err(format!(
            "IP address {text:?} with zone value is not allowed"
        ));
    }
    if is_4in6(&address) {
        return Err(format!("IPv4-mapped IPv6 address {text:?} is not allowed"));
    }
    Ok(Ip(address))
}

fn error(function: &str, message: String) -> ExecutionError {
    ExecutionError::function_error(function, message)
}

fn ip(text: &CelString<'_>) -> Result<Ip, ExecutionError> {
    parse(text.inner()).map_err(|e| error("ip", e))
}

fn is_ip(text: &CelString<'_>) -> CelBool {
    CelBool::from(parse(text.inner()).is_ok())
}

/// Whether the text is the address as it would be written back (lower case, zeros
/// compressed as RFC 5952 says).
fn is_canonical(text: &CelString<'_>) -> Result<CelBool, ExecutionError> {
    let address = parse(text.inner()).map_err(|e| error("ip.isCanonical", e))?;
    Ok(CelBool::from(address.0.to_string() == *text.inner()))
}

fn ip_to_string(a: &Ip) -> CelString<'static> {
    CelString::from(a.0.to_string())
}

fn family(a: &Ip) -> CelInt {
    CelInt::from(if a.0.is_ipv4() { 4 } else { 6 })
}

fn is_unspecified(a: &Ip) -> CelBool {
    CelBool::from(a.0.is_unspecified())
}

fn is_loopback(a: &Ip) -> CelBool {
    CelBool::from(a.0.is_loopback())
}

fn link_local_multicast(a: &IpAddr) -> bool {
    match a {
        IpAddr::V4(v4) => v4.octets()[..3] == [224, 0, 0],
        IpAddr::V6(v6) => v6.segments()[0] & 0xff0f == 0xff02,
    }
}

fn link_local_unicast(a: &IpAddr) -> bool {
    match a {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    }
}

fn is_link_local_multicast(a: &Ip) -> CelBool {
    CelBool::from(link_local_multicast(&a.0))
}

fn is_link_local_unicast(a: &Ip) -> CelBool {
    CelBool::from(link_local_unicast(&a.0))
}

/// Go's `IsGlobalUnicast`: not unspecified, loopback, multicast, link-local or the IPv4
/// broadcast address (private ranges are global unicast).
fn is_global_unicast(a: &Ip) -> CelBool {
    let broadcast = a.0 == IpAddr::V4(Ipv4Addr::BROADCAST);
    CelBool::from(
        !broadcast
            && !a.0.is_unspecified()
            && !a.0.is_loopback()
            && !a.0.is_multicast()
            && !link_local_unicast(&a.0),
    )
}

/// Registers the library on `env`.
pub fn extension(env: &mut Env) -> Result<(), DeclarationError> {
    cel::add_overload!(env, fn ip: (CelString) -> Result<Ip>)?;
    cel::add_overload!(env, fn is_ip: (CelString) -> CelBool, name = "isIP")?;
    cel::add_overload!(env, fn is_canonical: (CelString) -> Result<CelBool>, name = "ip.isCanonical")?;
    cel::add_overload!(env, fn ip_to_string: (Ip) -> CelString, name = "string")?;
    cel::add_member_overload!(env, fn family: (Ip) -> CelInt)?;
    cel::add_member_overload!(env, fn is_unspecified: (Ip) -> CelBool)?;
    cel::add_member_overload!(env, fn is_loopback: (Ip) -> CelBool)?;
    cel::add_member_overload!(env, fn is_link_local_multicast: (Ip) -> CelBool)?;
    cel::add_member_overload!(env, fn is_link_local_unicast: (Ip) -> CelBool)?;
    cel::add_member_overload!(env, fn is_global_unicast: (Ip) -> CelBool)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::eval_alone as t;
    use cel::Value;
    use std::sync::Arc;

    #[test]
    fn addresses_and_their_kinds() {
        let yes = Ok(Value::Bool(true));
        let no = Ok(Value::Bool(false));
        assert_eq!(t("ip('192.168.0.1').family()"), Ok(Value::Int(4)));
        assert_eq!(t("ip('2001:db8::68').family()"), Ok(Value::Int(6)));
        assert_eq!(t("ip('10.0.0.1') == ip('10.0.0.1')"), yes);
        assert_eq!(t("ip('10.0.0.1') == ip('10.0.0.2')"), no);
        assert_eq!(
            t("ip('0.0.0.0').isUnspecified() && ip('::').isUnspecified()"),
            yes
        );
        assert_eq!(
            t("ip('127.0.0.1').isLoopback() && ip('::1').isLoopback()"),
            yes
        );
        assert_eq!(t("ip('1.2.3.4').isLoopback()"), no);
        assert_eq!(t("ip('224.0.0.1').isLinkLocalMulticast()"), yes);
        assert_eq!(t("ip('224.0.1.1').isLinkLocalMulticast()"), no);
        assert_eq!(t("ip('ff02::1').isLinkLocalMulticast()"), yes);
        assert_eq!(t("ip('169.254.169.254').isLinkLocalUnicast()"), yes);
        assert_eq!(t("ip('fe80::1').isLinkLocalUnicast()"), yes);
        assert_eq!(t("ip('fd80::1').isLinkLocalUnicast()"), no);
        assert_eq!(t("ip('192.168.0.1').isGlobalUnicast()"), yes);
        assert_eq!(t("ip('255.255.255.255').isGlobalUnicast()"), no);
        assert_eq!(t("ip('ff00::1').isGlobalUnicast()"), no);
        assert_eq!(t("isIP('2001:db8::68') && !isIP('2001:db8:::68')"), yes);
        assert_eq!(t("ip.isCanonical('2001:db8::68')"), yes);
        assert_eq!(t("ip.isCanonical('2001:DB8::68')"), no);
        assert_eq!(
            t("string(ip('2001:0db8:0:0::68'))"),
            Ok(Value::String(Arc::new("2001:db8::68".into())))
        );
    }

    #[test]
    fn errors_in_upstream_words() {
        assert_eq!(
            t("ip('192.168.0.1.0').family()"),
            Err("IP Address \"192.168.0.1.0\" parse error during conversion from string: ParseAddr(\"192.168.0.1.0\"): IPv4 address too long".into())
        );
        assert_eq!(
            t("ip('2001:db8:::68').family()"),
            Err("IP Address \"2001:db8:::68\" parse error during conversion from string: ParseAddr(\"2001:db8:::68\"): each colon-separated field must have at least one digit (at \":68\")".into())
        );
        assert_eq!(
            t("ip('01.2.3.4').family()"),
            Err("IP Address \"01.2.3.4\" parse error during conversion from string: ParseAddr(\"01.2.3.4\"): IPv4 field has octet with leading zero".into())
        );
        assert_eq!(
            t("ip('fe80::1%eth0').family()"),
            Err("IP address \"fe80::1%eth0\" with zone value is not allowed".into())
        );
        assert_eq!(
            t("ip('::ffff:1.2.3.4').family()"),
            Err("IPv4-mapped IPv6 address \"::ffff:1.2.3.4\" is not allowed".into())
        );
        assert_eq!(t("isIP('web')"), Ok(Value::Bool(false)));
    }
}
