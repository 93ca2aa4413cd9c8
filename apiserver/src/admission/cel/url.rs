//! Kubernetes' URL library: `url('https://example.com:80/p?q=1')`, `isURL`, and the parts a
//! URL is made of, as Go's `url.ParseRequestURI` splits them: an absolute URL or an absolute
//! path, the fragment kept in the path, the path returned as written.

use std::collections::HashMap;

use cel::common::types::{CelBool, CelList, CelMap, CelMapKey, CelString, Type};
use cel::common::value::Val;
use cel::{DeclarationError, Env, ExecutionError};

static URL_TYPE: Type = Type::new_unspecified_type("kubernetes.URL");

/// A URL split into its parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    scheme: String,
    /// `host[:port]`, brackets kept around an IPv6 address.
    host: String,
    path: String,
    query: String,
}

super::library_val!(Url, URL_TYPE, eq);

/// Go's `ParseRequestURI`: the URL, or why it is not one (Go's words).
pub fn parse(text: &str) -> Result<Url, String> {
    let invalid = || format!("parse {text:?}: invalid URI for request");
    if text.is_empty() {
        return Err(format!("parse {text:?}: empty url"));
    }
    if text.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(format!(
            "parse {text:?}: net/url: invalid control character in URL"
        ));
    }
    let (scheme, rest) = if text.starts_with('/') {
        ("", text)
    } else {
        let (scheme, rest) = text.split_once(':').ok_or_else(invalid)?;
        let well_formed = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if !well_formed {
            return Err(match scheme.is_empty() {
                true => format!("parse {text:?}: missing protocol scheme"),
                false => invalid(),
            });
        }
        (scheme, rest)
    };
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (host, path) = match rest.strip_prefix("//") {
        Some(authority) => {
            let end = authority.find('/').unwrap_or(authority.len());
            let (authority, path) = authority.split_at(end);
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            (host, path)
        }
        None => ("", rest),
    };
    Ok(Url {
        scheme: scheme.to_ascii_lowercase(),
        host: host.to_string(),
        path: path.to_string(),
        query: query.to_string(),
    })
}

impl Url {
    /// Go's `Hostname` and `Port`: the host without brackets, and the port after it.
    fn host_and_port(&self) -> (&str, &str) {
        let host = self.host.as_str();
        if let Some(inner) = host.strip_prefix('[') {
            return match inner.split_once(']') {
                Some((address, rest)) => (address, rest.strip_prefix(':').unwrap_or("")),
                None => (inner, ""),
            };
        }
        match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => (name, port),
            _ => (host, ""),
        }
    }
}

fn url(text: &CelString<'_>) -> Result<Url, ExecutionError> {
    parse(text.inner()).map_err(|e| {
        ExecutionError::function_error(
            "url",
            format!("URL parse error during conversion from string: {e}"),
        )
    })
}

fn is_url(text: &CelString<'_>) -> CelBool {
    CelBool::from(parse(text.inner()).is_ok())
}

fn get_scheme(u: &Url) -> CelString<'static> {
    CelString::from(u.scheme.clone())
}

fn get_host(u: &Url) -> CelString<'static> {
    CelString::from(u.host.clone())
}

fn get_hostname(u: &Url) -> CelString<'static> {
    CelString::from(u.host_and_port().0.to_string())
}

fn get_port(u: &Url) -> CelString<'static> {
    CelString::from(u.host_and_port().1.to_string())
}

fn get_escaped_path(u: &Url) -> CelString<'static> {
    CelString::from(u.path.clone())
}

/// Go's `Query`: every value of every key, decoded (`+` is a space).
fn get_query(u: &Url) -> CelMap<'static> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    let mut values: HashMap<String, Vec<String>> = HashMap::new();
    for pair in u.query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        values.entry(decode(key)).or_default().push(decode(value));
    }
    let entries: HashMap<CelMapKey<'static>, Box<dyn Val>> = values
        .into_iter()
        .map(|(k, vs)| {
            let list: Vec<Box<dyn Val>> = vs
                .into_iter()
                .map(|v| Box::new(CelString::from(v)) as Box<dyn Val>)
                .collect();
            (
                CelMapKey::from(k),
                Box::new(CelList::from(list)) as Box<dyn Val>,
            )
        })
        .collect();
    CelMap::from(entries)
}

/// Registers the library on `env`.
pub fn extension(env: &mut Env) -> Result<(), DeclarationError> {
    cel::add_overload!(env, fn url: (CelString) -> Result<Url>)?;
    cel::add_overload!(env, fn is_url: (CelString) -> CelBool, name = "isURL")?;
    cel::add_member_overload!(env, fn get_scheme: (Url) -> CelString)?;
    cel::add_member_overload!(env, fn get_host: (Url) -> CelString)?;
    cel::add_member_overload!(env, fn get_hostname: (Url) -> CelString)?;
    cel::add_member_overload!(env, fn get_port: (Url) -> CelString)?;
    cel::add_member_overload!(env, fn get_escaped_path: (Url) -> CelString)?;
    cel::add_member_overload!(env, fn get_query: (Url) -> CelMap)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::eval;
    use cel::Value;
    use std::sync::Arc;

    fn s(v: &str) -> Result<Value, String> {
        Ok(Value::String(Arc::new(v.to_string())))
    }

    #[test]
    fn parts_of_a_url() {
        let t = |src: &str| eval(src, serde_json::json!({}));
        let u = "url('https://user@example.com:8443/a%20b/c?x=1&x=2&y=a+b')";
        assert_eq!(t(&format!("{u}.getScheme()")), s("https"));
        assert_eq!(t(&format!("{u}.getHost()")), s("example.com:8443"));
        assert_eq!(t(&format!("{u}.getHostname()")), s("example.com"));
        assert_eq!(t(&format!("{u}.getPort()")), s("8443"));
        assert_eq!(t(&format!("{u}.getEscapedPath()")), s("/a%20b/c"));
        assert_eq!(t(&format!("{u}.getQuery()['x'][1]")), s("2"));
        assert_eq!(t(&format!("{u}.getQuery()['y'][0]")), s("a b"));
        assert_eq!(t("url('http://[::1]:80/').getHostname()"), s("::1"));
        assert_eq!(t("url('/only/a/path').getHost()"), s(""));
        assert_eq!(t("isURL('https://example.com')"), Ok(Value::Bool(true)));
        assert_eq!(t("isURL('example.com')"), Ok(Value::Bool(false)));
        assert_eq!(
            t("url('example.com').getHost() == ''"),
            Err("URL parse error during conversion from string: parse \"example.com\": invalid URI for request".into())
        );
    }
}
