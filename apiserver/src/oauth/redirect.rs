//! Sending the browser on: a `302 Found` to a location, and a client's redirect URI with the
//! parameters of the answer (codes and errors in the query, tokens in the fragment).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A `302 Found` to `location`.
pub(super) fn redirect(location: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// `redirect` with `params` in its query (errors, codes) or fragment (tokens).
pub(super) fn with_params(base: &str, separator: char, params: &[(&str, &str)]) -> String {
    let encoded: Vec<String> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect();
    let glue = match (separator, base.contains('?')) {
        ('?', true) => '&',
        (s, _) => s,
    };
    format!("{base}{glue}{}", encoded.join("&"))
}

fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_parameters() {
        assert_eq!(
            with_params(
                "https://h/cb",
                '#',
                &[("access_token", "a"), ("scope", "user:full"), ("state", "")]
            ),
            "https://h/cb#access_token=a&scope=user%3Afull"
        );
        assert_eq!(
            with_params("https://h/cb?x=1", '?', &[("code", "c")]),
            "https://h/cb?x=1&code=c"
        );
    }
}
