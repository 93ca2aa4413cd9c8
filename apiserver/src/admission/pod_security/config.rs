//! The plugin's configuration: a `PodSecurityConfiguration`
//! (`pod-security.admission.config.k8s.io/v1`, or `v1beta1`/`v1alpha1`) from the admission
//! configuration file, as kube-apiserver reads it: the cluster's default level and version of
//! each mode (each unset one `privileged` / `latest`), and the users, runtime classes and
//! namespaces exempt. Without a file, OpenShift's: privileged enforced, restricted audited and
//! warned of, nothing exempt beyond what the plugin always exempts.

use api::field::Field;
use serde_json::Value;

use super::policy::{Level, LevelVersion, Policy, Version};
use crate::registry::validation::{Bad, FieldErrors};

pub const KIND: &str = "PodSecurityConfiguration";
const GROUP: &str = "pod-security.admission.config.k8s.io";
const VERSIONS: &[&str] = &["v1", "v1beta1", "v1alpha1"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Configuration {
    pub defaults: Policy,
    pub exempt_usernames: Vec<String>,
    pub exempt_runtime_classes: Vec<String>,
    pub exempt_namespaces: Vec<String>,
}

impl Default for Configuration {
    fn default() -> Self {
        Configuration {
            defaults: Policy::OPENSHIFT_DEFAULTS,
            exempt_usernames: Vec::new(),
            exempt_runtime_classes: Vec::new(),
            exempt_namespaces: Vec::new(),
        }
    }
}

impl Configuration {
    /// The configuration a plugin entry of the admission configuration file holds, with
    /// upstream's field errors for what is wrong in it.
    pub fn from_value(config: &Value) -> Result<Configuration, String> {
        let api_version = config["apiVersion"].as_str().unwrap_or_default();
        let kind = config["kind"].as_str().unwrap_or_default();
        let known = api_version
            .split_once('/')
            .is_some_and(|(g, v)| g == GROUP && VERSIONS.contains(&v));
        if !known || kind != KIND {
            return Err(format!(
                "expected {KIND} of {GROUP}/v1, got {:?} of {:?}",
                kind, api_version
            ));
        }
        let mut errors = FieldErrors::default();
        let defaults = &config["defaults"];
        let mode = |name: &str, errors: &mut FieldErrors| {
            let text = |field: &str| defaults[field].as_str().filter(|s| !s.is_empty());
            let level = text(name).unwrap_or("privileged");
            let version_field = format!("{name}-version");
            let version = text(&version_field).unwrap_or("latest");
            let level = Level::parse(level).unwrap_or_else(|m| {
                errors.invalid(&format!("defaults.{name}"), Bad::Str(level), m);
                Level::Privileged
            });
            let version = Version::parse(version).unwrap_or_else(|m| {
                errors.invalid(&format!("defaults.{version_field}"), Bad::Str(version), m);
                Version::LATEST
            });
            LevelVersion { level, version }
        };
        let enforce = mode("enforce", &mut errors);
        let warn = mode("warn", &mut errors);
        let audit = mode("audit", &mut errors);
        let exemptions = &config["exemptions"];
        let namespaces = names(
            exemptions,
            "namespaces",
            &mut errors,
            api::names::dns1123_label,
        );
        let runtime_classes = names(
            exemptions,
            "runtimeClasses",
            &mut errors,
            api::names::dns1123_subdomain,
        );
        let usernames = names(exemptions, "usernames", &mut errors, |_| Vec::new());
        if !errors.is_empty() {
            return Err(errors.summary());
        }
        Ok(Configuration {
            defaults: Policy {
                enforce,
                audit,
                warn,
            },
            exempt_usernames: usernames,
            exempt_runtime_classes: runtime_classes,
            exempt_namespaces: namespaces,
        })
    }

    pub fn exempt_user(&self, name: &str) -> bool {
        !name.is_empty() && self.exempt_usernames.iter().any(|u| u == name)
    }

    pub fn exempt_namespace(&self, name: &str) -> bool {
        !name.is_empty() && self.exempt_namespaces.iter().any(|n| n == name)
    }

    /// Whether a pod spec names an exempt runtime class.
    pub fn exempt_runtime_class(&self, spec: &Value) -> bool {
        !self.exempt_runtime_classes.is_empty()
            && spec.field("runtimeClassName").as_str().is_some_and(|c| {
                !c.is_empty() && self.exempt_runtime_classes.iter().any(|r| r == c)
            })
    }
}

/// One exemption list: each entry valid (`check` gives its problems) and given once; an empty
/// user name is required to be set.
fn names(
    exemptions: &Value,
    field: &str,
    errors: &mut FieldErrors,
    check: fn(&str) -> Vec<String>,
) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    let Some(list) = exemptions[field].as_array() else {
        return kept;
    };
    for (i, entry) in list.iter().enumerate() {
        let path = format!("exemptions.{field}[{i}]");
        let name = entry.as_str().unwrap_or_default();
        let problems = check(name);
        if field == "usernames" && name.is_empty() {
            errors.required(&path, "");
        } else if !problems.is_empty() {
            errors.invalid(&path, Bad::Str(name), &problems.join(", "));
        } else if kept.iter().any(|k| k == name) {
            errors.duplicate(&path, Bad::Str(name));
        } else {
            kept.push(name.to_string());
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn unset_modes_are_privileged_at_latest() {
        let config = Configuration::from_value(&json!({
            "apiVersion": "pod-security.admission.config.k8s.io/v1",
            "kind": "PodSecurityConfiguration",
            "defaults": {"enforce": "baseline", "warn-version": "v1.25"},
            "exemptions": {"usernames": ["bob"], "namespaces": ["ci"], "runtimeClasses": ["kata"]}
        }))
        .unwrap_or_default();
        assert_eq!(config.defaults.enforce.to_string(), "baseline:latest");
        assert_eq!(config.defaults.warn.to_string(), "privileged:v1.25");
        assert_eq!(config.defaults.audit.to_string(), "privileged:latest");
        assert!(config.exempt_user("bob") && !config.exempt_user(""));
        assert!(config.exempt_namespace("ci") && !config.exempt_namespace("cd"));
        assert!(config.exempt_runtime_class(&json!({"runtimeClassName": "kata"})));
        assert!(!config.exempt_runtime_class(&json!({})));
    }

    #[test]
    fn bad_values_get_upstreams_field_errors() {
        let err = Configuration::from_value(&json!({
            "apiVersion": "pod-security.admission.config.k8s.io/v1",
            "kind": "PodSecurityConfiguration",
            "defaults": {"enforce": "strict", "audit-version": "1.25"},
            "exemptions": {"usernames": ["", "a", "a"], "namespaces": ["Bad_NS"]}
        }));
        assert_eq!(
            err,
            Err("[defaults.enforce: Invalid value: \"strict\": must be one of privileged, baseline, restricted, \
                 defaults.audit-version: Invalid value: \"1.25\": must be \"latest\" or \"v1.x\", \
                 exemptions.namespaces[0]: Invalid value: \"Bad_NS\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?'), \
                 exemptions.usernames[0]: Required value, \
                 exemptions.usernames[2]: Duplicate value: \"a\"]"
                .to_string())
        );
        assert!(
            Configuration::from_value(&json!({"apiVersion": "v1", "kind": "ConfigMap"})).is_err()
        );
    }
}
