//! The admission configuration file (`--admission-control-config-file`), as kube-apiserver
//! reads it: an `AdmissionConfiguration` (`apiserver.config.k8s.io/v1` or `v1alpha1`,
//! `apiserver.k8s.io/v1alpha1`), YAML or JSON, whose `plugins` each give one plugin's
//! configuration inline (`configuration`) or in a file of their own (`path`, relative to this
//! one). A file of another shape is the legacy form: the whole of it goes to every plugin.

use std::path::Path;

use serde_json::Value;

const KIND: &str = "AdmissionConfiguration";
const API_VERSIONS: &[&str] = &[
    "apiserver.config.k8s.io/v1",
    "apiserver.config.k8s.io/v1alpha1",
    "apiserver.k8s.io/v1alpha1",
];

/// What the file gives each plugin.
#[derive(Debug, PartialEq)]
pub enum Plugins {
    /// Plugin name → its configuration.
    Named(Vec<(String, Value)>),
    /// The legacy form: one document for every plugin.
    Legacy(Value),
}

impl Plugins {
    /// The configuration `plugin` is given, if any.
    pub fn of(&self, plugin: &str) -> Option<&Value> {
        match self {
            Plugins::Named(entries) => entries.iter().find(|(n, _)| n == plugin).map(|(_, v)| v),
            Plugins::Legacy(all) => Some(all),
        }
    }
}

pub fn load(path: &Path) -> Result<Plugins, String> {
    let doc = read(path)?;
    let api_version = doc["apiVersion"].as_str().unwrap_or_default();
    if doc["kind"].as_str() != Some(KIND) {
        return Ok(Plugins::Legacy(doc));
    }
    if !API_VERSIONS.contains(&api_version) {
        return Err(format!(
            "{}: no kind \"{KIND}\" is registered for version {api_version:?}",
            path.display()
        ));
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let mut plugins: Vec<(String, Value)> = Vec::new();
    let entries = match &doc["plugins"] {
        Value::Null => &Vec::new(),
        Value::Array(entries) => entries,
        _ => return Err(format!("{}: plugins must be a list", path.display())),
    };
    for (i, entry) in entries.iter().enumerate() {
        let name = entry["name"].as_str().unwrap_or_default();
        if name.is_empty() {
            return Err(format!(
                "{}: plugins[{i}].name: Required value",
                path.display()
            ));
        }
        // The first entry of a name wins, as upstream reads them.
        if plugins.iter().any(|(n, _)| n == name) {
            continue;
        }
        let config = match (&entry["configuration"], entry["path"].as_str()) {
            (Value::Null, Some(file)) if !file.is_empty() => read(&base.join(file))?,
            (Value::Null, _) => continue,
            (inline, _) => inline.clone(),
        };
        plugins.push((name.to_string(), config));
    }
    Ok(Plugins::Named(plugins))
}

/// One YAML or JSON document.
fn read(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn plugins_are_read_inline_or_from_their_own_file() {
        let dir = tempfile::tempdir().ok();
        let dir = dir
            .as_ref()
            .map(|d| d.path())
            .unwrap_or(Path::new("/nonexistent"));
        let main = dir.join("admission.yaml");
        let _ = std::fs::write(
            &main,
            "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n\
             - name: PodSecurity\n  configuration:\n    kind: PodSecurityConfiguration\n\
             - name: PodNodeSelector\n  path: pns.yaml\n",
        );
        let _ = std::fs::write(
            dir.join("pns.yaml"),
            "podNodeSelectorPluginConfig:\n  clusterDefaultNodeSelector: region=east\n",
        );
        let plugins = load(&main);
        assert_eq!(
            plugins.as_ref().ok().and_then(|p| p.of("PodSecurity")),
            Some(&json!({"kind": "PodSecurityConfiguration"}))
        );
        assert_eq!(
            plugins.as_ref().ok().and_then(|p| p.of("PodNodeSelector")),
            Some(
                &json!({"podNodeSelectorPluginConfig": {"clusterDefaultNodeSelector": "region=east"}})
            )
        );
        assert_eq!(
            plugins.as_ref().ok().and_then(|p| p.of("LimitRanger")),
            None
        );

        let legacy = dir.join("legacy.yaml");
        let _ = std::fs::write(&legacy, "podNodeSelectorPluginConfig:\n  ci: tier=ci\n");
        assert_eq!(
            load(&legacy)
                .ok()
                .and_then(|p| p.of("PodNodeSelector").cloned()),
            Some(json!({"podNodeSelectorPluginConfig": {"ci": "tier=ci"}}))
        );
        let _ = std::fs::write(
            &legacy,
            "apiVersion: apiserver.config.k8s.io/v9\nkind: AdmissionConfiguration\n",
        );
        assert!(load(&legacy).is_err());
        assert!(load(&dir.join("missing.yaml")).is_err());
    }
}
