//! Warnings the server sends (`Warning: 299 - "text"` headers), printed on standard error as
//! kubectl prints them: `Warning: text`, each text once per run.

use std::collections::HashSet;
use std::sync::Mutex;

static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// Prints the warnings of an answer's headers not printed before.
pub fn print(headers: &http::HeaderMap) {
    for value in headers.get_all("warning") {
        let Some(text) = value.to_str().ok().and_then(text_of) else {
            continue;
        };
        let Ok(mut seen) = SEEN.lock() else {
            return;
        };
        if seen.get_or_insert_with(HashSet::new).insert(text.clone()) {
            eprintln!("Warning: {text}");
        }
    }
}

/// The text of a `299` warning (`299 - "text"` with an optional date), as client-go reads it;
/// other codes are ignored, as upstream ignores them.
fn text_of(value: &str) -> Option<String> {
    let rest = value.strip_prefix("299 ")?;
    let (_agent, quoted) = rest.split_once(' ')?;
    let quoted = quoted.trim();
    // The quoted text ends at the closing quote; a date may follow it.
    let mut end = None;
    let mut escaped = false;
    for (i, c) in quoted.char_indices().skip(1) {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => {
                end = Some(i);
                break;
            }
            _ => escaped = false,
        }
    }
    let text = quoted.get(..=end?)?;
    serde_json::from_str::<String>(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_text_of_299_warnings_only() {
        assert_eq!(
            text_of(r#"299 - "apps.openshift.io/v1 DeploymentConfig is deprecated""#).as_deref(),
            Some("apps.openshift.io/v1 DeploymentConfig is deprecated")
        );
        assert_eq!(
            text_of(r#"299 - "a \"quoted\" word" "Sat, 05 Dec 2026 10:00:00 GMT""#).as_deref(),
            Some(r#"a "quoted" word"#)
        );
        assert_eq!(text_of(r#"199 - "misc""#), None);
        assert_eq!(text_of("299 -"), None);
    }
}
