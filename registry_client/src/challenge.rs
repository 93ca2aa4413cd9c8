//! `WWW-Authenticate` challenges (RFC 7235): a scheme and its `key="value"` parameters.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// A token is to be fetched from `realm` for `service`.
    Bearer {
        realm: String,
        service: Option<String>,
    },
    Basic,
}

/// The challenges of one header value, in order; unknown schemes are skipped.
pub(crate) fn parse(header: &str) -> Vec<Challenge> {
    let mut out = Vec::new();
    let mut rest = header.trim();
    while !rest.is_empty() {
        let (scheme, after) = rest
            .split_once(|c: char| c.is_ascii_whitespace())
            .unwrap_or((rest, ""));
        let (params, after) = parameters(after);
        rest = after;
        match scheme.trim_end_matches(',').to_ascii_lowercase().as_str() {
            "bearer" => {
                if let Some(realm) = params.get("realm") {
                    out.push(Challenge::Bearer {
                        realm: realm.clone(),
                        service: params.get("service").cloned(),
                    });
                }
            }
            "basic" => out.push(Challenge::Basic),
            _ => {}
        }
    }
    out
}

/// Parses `k=v, k="v, w"` up to the start of the next challenge (a token not followed by `=`).
fn parameters(mut s: &str) -> (BTreeMap<String, String>, &str) {
    let mut params = BTreeMap::new();
    loop {
        s = s.trim_start_matches(|c: char| c == ',' || c.is_ascii_whitespace());
        let key_end = s
            .find(|c: char| c == '=' || c == ',' || c.is_ascii_whitespace())
            .unwrap_or(s.len());
        if key_end == 0 || !s[key_end..].trim_start().starts_with('=') {
            return (params, s);
        }
        let key = s[..key_end].to_ascii_lowercase();
        s = s[key_end..].trim_start()[1..].trim_start();
        let value;
        if let Some(quoted) = s.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            v.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => v.push(c),
                }
            }
            value = v;
            s = &quoted[end.min(quoted.len())..];
        } else {
            let end = s.find(',').unwrap_or(s.len());
            value = s[..end].trim().to_string();
            s = &s[end..];
        }
        params.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_with_quoted_parameters() {
        let c = parse(
            r#"Bearer realm="https://127.0.0.1:8443/openshift/token",service="oxshift-registry",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(
            c,
            vec![Challenge::Bearer {
                realm: "https://127.0.0.1:8443/openshift/token".into(),
                service: Some("oxshift-registry".into()),
            }]
        );
    }

    #[test]
    fn parses_basic_and_several_challenges() {
        assert_eq!(
            parse(r#"Basic realm="Registry Realm""#),
            vec![Challenge::Basic]
        );
        assert_eq!(
            parse(r#"Negotiate, Basic realm=x, Bearer realm="r\"q", service=s"#),
            vec![
                Challenge::Basic,
                Challenge::Bearer {
                    realm: "r\"q".into(),
                    service: Some("s".into())
                }
            ]
        );
        assert_eq!(parse("Bearer service=x"), vec![]);
    }
}
