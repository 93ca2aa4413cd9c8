//! The order tags are shown and imported in (upstream's `PrioritizeTags`): `latest` first,
//! then minor versions (`5.1`, `v5.1`, `5.1-rc1`) newest first, then full semantic versions
//! newest first, then every other tag by name.

use std::cmp::Ordering;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Priority {
    Latest,
    Minor,
    Full,
    Other,
}

struct Ranked<'a> {
    tag: &'a str,
    priority: Priority,
    version: Option<Semver>,
    prefix: &'a str,
}

/// A semantic version (`major.minor.patch[-pre][+build]`), compared as semver orders them.
#[derive(Clone, PartialEq, Eq)]
struct Semver {
    core: [u64; 3],
    pre: Vec<String>,
}

impl Semver {
    fn parse(s: &str) -> Option<Semver> {
        let s = s.split_once('+').map_or(s, |(v, _build)| v);
        let (core, pre) = match s.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (s, None),
        };
        let mut numbers = [0u64; 3];
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() != 3 {
            return None;
        }
        for (n, part) in numbers.iter_mut().zip(&parts) {
            if !numeric(part) {
                return None;
            }
            *n = part.parse().ok()?;
        }
        let pre = match pre {
            None => Vec::new(),
            Some(pre) => {
                let ids: Vec<String> = pre.split('.').map(str::to_string).collect();
                let valid = |id: &String| {
                    !id.is_empty()
                        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                        && (!id.bytes().all(|b| b.is_ascii_digit()) || numeric(id))
                };
                if !ids.iter().all(valid) {
                    return None;
                }
                ids
            }
        };
        Some(Semver { core: numbers, pre })
    }

    fn compare(&self, other: &Semver) -> Ordering {
        self.core
            .cmp(&other.core)
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_pre(&self.pre, &other.pre),
            })
    }
}

/// Digits without a leading zero (but `0` itself).
fn numeric(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
}

fn compare_pre(a: &[String], b: &[String]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let order = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(m), Ok(n)) => m.cmp(&n),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            (Err(_), Err(_)) => x.cmp(y),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

/// `X.Y` with digits only.
fn minor(s: &str) -> bool {
    matches!(s.split_once('.'), Some((a, b)) if is_digits(a) && is_digits(b))
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn rank(tag: &str) -> Ranked<'_> {
    let other = |prefix| Ranked {
        tag,
        priority: Priority::Other,
        version: None,
        prefix,
    };
    if tag == "latest" {
        return Ranked {
            priority: Priority::Latest,
            ..other("")
        };
    }
    let (prefix, short) = match tag.strip_prefix('v') {
        Some(short) => ("v", short),
        None => ("", tag),
    };
    let ranked = |priority, version| Ranked {
        tag,
        priority,
        version: Some(version),
        prefix,
    };
    if let Some(v) = Semver::parse(short) {
        return ranked(Priority::Full, v);
    }
    if minor(short)
        && let Some(v) = Semver::parse(&format!("{short}.0"))
    {
        return ranked(Priority::Minor, v);
    }
    // `X.Y-word`
    if let Some((version, word)) = short.split_once('-')
        && minor(version)
        && !word.is_empty()
        && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && let Some(v) = Semver::parse(&format!("{version}.0-{word}"))
    {
        return ranked(Priority::Minor, v);
    }
    other(prefix)
}

fn order(a: &Ranked<'_>, b: &Ranked<'_>) -> Ordering {
    a.priority
        .cmp(&b.priority)
        .then_with(|| match (&a.version, &b.version) {
            (Some(x), Some(y)) => y.compare(x).then_with(|| a.prefix.cmp(b.prefix)),
            _ => a.tag.cmp(b.tag),
        })
}

/// Sorts `tags` into upstream's display and import order.
pub fn prioritize_tags(tags: &mut [String]) {
    let mut ranked: Vec<(Ranked<'_>, usize)> =
        tags.iter().enumerate().map(|(i, t)| (rank(t), i)).collect();
    ranked.sort_by(|a, b| order(&a.0, &b.0));
    let sorted: Vec<String> = ranked.iter().map(|(r, _)| r.tag.to_string()).collect();
    tags.clone_from_slice(&sorted);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(tags: &[&str]) -> Vec<String> {
        let mut t: Vec<String> = tags.iter().map(|s| s.to_string()).collect();
        prioritize_tags(&mut t);
        t
    }

    #[test]
    fn latest_then_minor_then_full_then_others() {
        assert_eq!(
            sorted(&[
                "other", "1.0.0", "5.1", "latest", "v5.2", "abc", "5.2-rc1", "2.0.1"
            ]),
            [
                "latest", "v5.2", "5.2-rc1", "5.1", "2.0.1", "1.0.0", "abc", "other"
            ]
        );
    }

    #[test]
    fn prefixed_and_bare_versions_tie_on_the_prefix() {
        assert_eq!(sorted(&["v1.0", "1.0"]), ["1.0", "v1.0"]);
        assert_eq!(sorted(&["1.0.0-alpha", "1.0.0"]), ["1.0.0", "1.0.0-alpha"]);
    }
}
