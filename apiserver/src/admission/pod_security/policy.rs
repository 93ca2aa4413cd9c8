//! A namespace's Pod Security policy: the level and version of each mode (`enforce`,
//! `audit`, `warn`) from its `pod-security.kubernetes.io/*` labels over the cluster's defaults,
//! as upstream's `PolicyToEvaluate` reads them (a bad level fails closed for enforce and open
//! for audit and warn; warn follows a stricter enforce level nobody set a warn level beside).

use crate::registry::validation::{Bad, FieldErrors, key};
use serde_json::Value;

pub use api::pod_security::LABEL_PREFIX;

pub use api::pod_security::Level;

/// A policy version: `latest` or `v1.<minor>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Version(Option<u32>);

impl Version {
    pub const LATEST: Version = Version(None);

    pub fn minor(minor: u32) -> Version {
        Version(Some(minor))
    }

    pub fn parse(s: &str) -> Result<Version, &'static str> {
        const BAD: &str = "must be \"latest\" or \"v1.x\"";
        if s == "latest" {
            return Ok(Version::LATEST);
        }
        let minor = s.strip_prefix("v1.").ok_or(BAD)?;
        let canonical = minor == "0" || (!minor.starts_with('0') && !minor.is_empty());
        match minor.parse::<u32>() {
            Ok(m) if canonical && minor.bytes().all(|b| b.is_ascii_digit()) => Ok(Version(Some(m))),
            _ => Err(BAD),
        }
    }

    /// The minor version, none for `latest`.
    pub fn minor_number(self) -> Option<u32> {
        self.0
    }

    /// Whether checks that start at `v1.<minor>` apply at this version.
    pub fn at_least(self, minor: u32) -> bool {
        self.0.is_none_or(|m| m >= minor)
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            None => f.write_str("latest"),
            Some(m) => write!(f, "v1.{m}"),
        }
    }
}

/// One mode's level and version, printed `restricted:latest`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LevelVersion {
    pub level: Level,
    pub version: Version,
}

impl std::fmt::Display for LevelVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.level.as_str(), self.version)
    }
}

impl LevelVersion {
    /// Appends `restricted:latest` to `out`; for `latest` without the formatting machinery
    /// (every warned-of pod's warning names its level).
    pub fn push_to(self, out: &mut String) {
        out.push_str(self.level.as_str());
        out.push(':');
        match self.version.minor_number() {
            None => out.push_str("latest"),
            Some(m) => {
                use std::fmt::Write;
                let _ = write!(out, "v1.{m}");
            }
        }
    }
}

/// What each mode applies in a namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub enforce: LevelVersion,
    pub audit: LevelVersion,
    pub warn: LevelVersion,
}

impl Policy {
    /// OpenShift's cluster defaults: privileged enforced, restricted audited and warned of.
    pub const OPENSHIFT_DEFAULTS: Policy = Policy {
        enforce: LevelVersion {
            level: Level::Privileged,
            version: Version::LATEST,
        },
        audit: LevelVersion {
            level: Level::Restricted,
            version: Version::LATEST,
        },
        warn: LevelVersion {
            level: Level::Restricted,
            version: Version::LATEST,
        },
    };

    /// Whether both policies apply the same checks in each mode (privileged is the same at
    /// every version).
    pub fn equivalent(&self, other: &Policy) -> bool {
        let same = |a: LevelVersion, b: LevelVersion| {
            a.level == b.level && (a.level == Level::Privileged || a.version == b.version)
        };
        same(self.enforce, other.enforce)
            && same(self.audit, other.audit)
            && same(self.warn, other.warn)
    }

    pub fn fully_privileged(&self) -> bool {
        [self.enforce, self.audit, self.warn]
            .iter()
            .all(|m| m.level == Level::Privileged)
    }

    /// The policy a namespace's labels (a JSON object) set over `defaults`, and what was
    /// wrong with them.
    pub fn from_labels(labels: &Value, defaults: Policy) -> (Policy, FieldErrors) {
        let mut p = defaults;
        let mut errors = FieldErrors::default();
        let label = |key: &str| labels.get(key).map(|v| v.as_str().unwrap_or_default());
        let level = |key: &str, fallback: Level, errors: &mut FieldErrors| {
            let value = label(key)?;
            Some(Level::parse(value).unwrap_or_else(|m| {
                invalid(errors, key, value, m);
                fallback
            }))
        };
        let version = |key: &str, errors: &mut FieldErrors| {
            let value = label(key)?;
            Some(Version::parse(value).unwrap_or_else(|m| {
                invalid(errors, key, value, m);
                Version::LATEST
            }))
        };
        // A bad enforce level fails closed; bad audit and warn levels fail open.
        let enforce_level = level(ENFORCE.0, Level::Restricted, &mut errors);
        let has_enforce_level = enforce_level.is_some() && errors.is_empty();
        p.enforce.level = enforce_level.unwrap_or(p.enforce.level);
        p.enforce.version = version(ENFORCE.1, &mut errors).unwrap_or(p.enforce.version);
        p.audit.level = level(AUDIT.0, Level::Privileged, &mut errors).unwrap_or(p.audit.level);
        p.audit.version = version(AUDIT.1, &mut errors).unwrap_or(p.audit.version);
        let warn_level = level(WARN.0, Level::Privileged, &mut errors);
        let warn_version = version(WARN.1, &mut errors);
        p.warn.level = warn_level.unwrap_or(p.warn.level);
        p.warn.version = warn_version.unwrap_or(p.warn.version);
        // Warn follows an explicitly stricter enforce level.
        if warn_level.is_none() && has_enforce_level && p.enforce.level > p.warn.level {
            p.warn.level = p.enforce.level;
            if warn_version.is_none() {
                p.warn.version = p.enforce.version;
            }
        }
        (p, errors)
    }
}

/// Each mode's level and version labels, spelled out: every pod create reads all six, and
/// formatting their names each time cost more than reading them.
const ENFORCE: (&str, &str) = (
    "pod-security.kubernetes.io/enforce",
    "pod-security.kubernetes.io/enforce-version",
);
const AUDIT: (&str, &str) = (
    "pod-security.kubernetes.io/audit",
    "pod-security.kubernetes.io/audit-version",
);
const WARN: (&str, &str) = (
    "pod-security.kubernetes.io/warn",
    "pod-security.kubernetes.io/warn-version",
);

fn invalid(errors: &mut FieldErrors, label: &str, value: &str, message: &str) {
    errors.invalid(&key("metadata.labels", label), Bad::Str(value), message);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_labels_are_the_prefix_and_the_mode() {
        for ((level, version), mode) in [(ENFORCE, "enforce"), (AUDIT, "audit"), (WARN, "warn")] {
            assert_eq!(level, format!("{LABEL_PREFIX}{mode}"));
            assert_eq!(version, format!("{LABEL_PREFIX}{mode}-version"));
        }
    }

    #[test]
    fn a_level_and_version_are_appended_as_they_print() {
        for version in [Version::LATEST, Version::minor(0), Version::minor(32)] {
            for level in [Level::Privileged, Level::Baseline, Level::Restricted] {
                let lv = LevelVersion { level, version };
                let mut out = String::from(">");
                lv.push_to(&mut out);
                assert_eq!(out, format!(">{lv}"));
            }
        }
    }
}
