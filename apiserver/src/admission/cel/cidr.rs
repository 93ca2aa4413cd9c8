//! Kubernetes' CIDR library: `cidr('10.0.0.0/8')`, `isCIDR`, `containsIP`, `containsCIDR`,
//! `ip()`, `masked()`, `prefixLength()` and `string(cidr)`. Prefixes are read as Go's
//! `netip.ParsePrefix` reads them (the address as written, bits after the mask kept), with
//! upstream's messages.

use std::net::IpAddr;

use cel::common::types::{CelBool, CelInt, CelString, Type};
use cel::{DeclarationError, Env, ExecutionError};

use super::ip::{self, Ip};

static CIDR_TYPE: Type = Type::new_unspecified_type("net.CIDR");

/// An address and a prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    address: IpAddr,
    bits: u8,
}

super::library_val!(Cidr, CIDR_TYPE, eq);

impl Cidr {
    /// The address with the bits after the prefix cleared.
    fn masked(&self) -> Cidr {
        let address = match self.address {
            IpAddr::V4(a) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                IpAddr::V4((u32::from(a) & mask).into())
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.bits))
                    .unwrap_or(0);
                IpAddr::V6((u128::from(a) & mask).into())
            }
        };
        Cidr {
            address,
            bits: self.bits,
        }
    }

    fn contains(&self, a: &IpAddr) -> bool {
        let other = Cidr {
            address: *a,
            bits: self.bits,
        };
        self.address.is_ipv4() == a.is_ipv4() && other.masked() == self.masked()
    }
}

/// Go's `netip.ParsePrefix`, in its words.
fn parse_prefix(text: &str) -> Result<Cidr, String> {
    let fail = |m: &str| format!("netip.ParsePrefix({text:?}): {m}");
    let Some((address, bits)) = text.rsplit_once('/') else {
        return Err(fail("no '/'"));
    };
    let (address, zone) = ip::parse_addr(address).map_err(|e| fail(&e))?;
    if !zone.is_empty() {
        return Err(fail("IPv6 zones cannot be present in a prefix"));
    }
    let bad_bits = || fail(&format!("bad bits after slash: {bits:?}"));
    if bits.len() > 1 && !bits.starts_with(|c: char| ('1'..='9').contains(&c)) {
        return Err(bad_bits());
    }
    let bits: i64 = bits.parse().map_err(|_| bad_bits())?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    if !(0..=max).contains(&bits) {
        return Err(fail("prefix length out of range"));
    }
    Ok(Cidr {
        address,
        bits: bits as u8,
    })
}

/// `cidr(string)`: the prefix, or upstream's error (which says its first words twice).
pub fn parse(text: &str) -> Result<Cidr, String> {
    const PARSE: &str = "network address parse error during conversion from string";
    let cidr = parse_prefix(text).map_err(|e| format!("{PARSE}: {PARSE}: {e}"))?;
    if ip::is_4in6(&cidr.address) {
        return Err(format!(
            "{PARSE}: IPv4-mapped IPv6 address {text:?} is not allowed"
        ));
    }
    Ok(cidr)
}

fn error(function: &str, message: String) -> ExecutionError {
    ExecutionError::function_error(function, message)
}

fn cidr(text: &CelString<'_>) -> Result<Cidr, ExecutionError> {
    parse(text.inner()).map_err(|e| error("cidr", e))
}

fn is_cidr(text: &CelString<'_>) -> CelBool {
    CelBool::from(parse(text.inner()).is_ok())
}

fn cidr_to_string(c: &Cidr) -> CelString<'static> {
    CelString::from(format!("{}/{}", c.address, c.bits))
}

fn contains_ip(c: &Cidr, a: &Ip) -> CelBool {
    CelBool::from(c.contains(&a.0))
}

fn contains_ip_string(c: &Cidr, text: &CelString<'_>) -> Result<CelBool, ExecutionError> {
    let a = ip::parse(text.inner()).map_err(|e| error("containsIP", e))?;
    Ok(contains_ip(c, &a))
}

/// Whether every address of `other` is in `c`.
fn contains_cidr(c: &Cidr, other: &Cidr) -> CelBool {
    CelBool::from(c.bits <= other.bits && c.contains(&other.address))
}

fn contains_cidr_string(c: &Cidr, text: &CelString<'_>) -> Result<CelBool, ExecutionError> {
    let other = parse(text.inner()).map_err(|e| error("containsCIDR", e))?;
    Ok(contains_cidr(c, &other))
}

fn cidr_ip(c: &Cidr) -> Ip {
    Ip(c.address)
}

fn masked(c: &Cidr) -> Cidr {
    c.masked()
}

fn prefix_length(c: &Cidr) -> CelInt {
    CelInt::from(i64::from(c.bits))
}

/// Registers the library on `env`.
pub fn extension(env: &mut Env) -> Result<(), DeclarationError> {
    cel::add_overload!(env, fn cidr: (CelString) -> Result<Cidr>)?;
    cel::add_overload!(env, fn is_cidr: (CelString) -> CelBool, name = "isCIDR")?;
    cel::add_overload!(env, fn cidr_to_string: (Cidr) -> CelString, name = "string")?;
    cel::add_member_overload!(env, fn contains_ip: (Cidr, Ip) -> CelBool, name = "containsIP")?;
    cel::add_member_overload!(env, fn contains_ip_string: (Cidr, CelString) -> Result<CelBool>, name = "containsIP")?;
    cel::add_member_overload!(env, fn contains_cidr: (Cidr, Cidr) -> CelBool, name = "containsCIDR")?;
    cel::add_member_overload!(env, fn contains_cidr_string: (Cidr, CelString) -> Result<CelBool>, name = "containsCIDR")?;
    cel::add_member_overload!(env, fn cidr_ip: (Cidr) -> Ip, name = "ip")?;
    cel::add_member_overload!(env, fn masked: (Cidr) -> Cidr)?;
    cel::add_member_overload!(env, fn prefix_length: (Cidr) -> CelInt)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::eval_alone as t;
    use cel::Value;
    use std::sync::Arc;

    fn s(v: &str) -> Result<Value, String> {
        Ok(Value::String(Arc::new(v.to_string())))
    }

    #[test]
    fn prefixes_and_what_they_hold() {
        let yes = Ok(Value::Bool(true));
        let no = Ok(Value::Bool(false));
        assert_eq!(
            t("cidr('192.168.0.0/24').containsIP(ip('192.168.0.1'))"),
            yes
        );
        assert_eq!(t("cidr('192.168.0.0/24').containsIP('192.168.1.1')"), no);
        assert_eq!(t("cidr('192.168.0.0/24').containsIP('::1')"), no);
        assert_eq!(
            t("cidr('192.168.0.0/16').containsCIDR(cidr('192.168.10.0/24'))"),
            yes
        );
        assert_eq!(
            t("cidr('192.168.1.0/24').containsCIDR('192.168.2.0/24')"),
            no
        );
        assert_eq!(
            t("cidr('192.168.1.0/24').containsCIDR('192.168.0.0/16')"),
            no
        );
        assert_eq!(t("cidr('0.0.0.0/0').containsIP('8.8.8.8')"), yes);
        assert_eq!(t("cidr('192.168.0.1/24').ip() == ip('192.168.0.1')"), yes);
        assert_eq!(t("cidr('::1/128').ip().family()"), Ok(Value::Int(6)));
        assert_eq!(
            t("string(cidr('192.168.0.1/24').masked())"),
            s("192.168.0.0/24")
        );
        assert_eq!(
            t("string(cidr('2001:db8::1/32').masked())"),
            s("2001:db8::/32")
        );
        assert_eq!(
            t("cidr('192.168.0.1/24') == cidr('192.168.0.1/24').masked()"),
            no
        );
        assert_eq!(t("cidr('10.0.0.0/8').prefixLength()"), Ok(Value::Int(8)));
        assert_eq!(t("isCIDR('10.0.0.0/8') && !isCIDR('10.0.0.0/33')"), yes);
    }

    #[test]
    fn errors_in_upstream_words() {
        let pre = "network address parse error during conversion from string: network address parse error during conversion from string";
        assert_eq!(
            t("cidr('192.168.0.0/33').prefixLength()"),
            Err(format!(
                "{pre}: netip.ParsePrefix(\"192.168.0.0/33\"): prefix length out of range"
            ))
        );
        assert_eq!(
            t("cidr('10.0.0.0').prefixLength()"),
            Err(format!("{pre}: netip.ParsePrefix(\"10.0.0.0\"): no '/'"))
        );
        assert_eq!(
            t("cidr('10.0.0.0/08').prefixLength()"),
            Err(format!(
                "{pre}: netip.ParsePrefix(\"10.0.0.0/08\"): bad bits after slash: \"08\""
            ))
        );
        assert_eq!(
            t("cidr('1.2.3/8').prefixLength()"),
            Err(format!(
                "{pre}: netip.ParsePrefix(\"1.2.3/8\"): ParseAddr(\"1.2.3\"): IPv4 address too short"
            ))
        );
    }
}
