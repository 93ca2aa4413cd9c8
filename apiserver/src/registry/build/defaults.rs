//! Upstream's defaults of builds and build configs (openshift-apiserver's build/v1 defaults
//! and the group strategies): the source and strategy types named by what is set, empty
//! binary and docker strategies filled in, `from` references of kind ImageStreamTag, the
//! Serial run policy; on create, history limits of 5 and no trigger of an unknown type.

use serde_json::{Value, json};

const STRATEGIES: [(&str, &str); 4] = [
    ("dockerStrategy", "Docker"),
    ("sourceStrategy", "Source"),
    ("customStrategy", "Custom"),
    ("jenkinsPipelineStrategy", "JenkinsPipeline"),
];

const TRIGGER_TYPES: [&str; 6] = [
    "GitHub",
    "Generic",
    "GitLab",
    "Bitbucket",
    "ImageChange",
    "ConfigChange",
];

/// The defaults of the spec builds and configs share (upstream's CommonSpec).
pub fn common_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    let source = &mut spec["source"];
    if source["type"].as_str().unwrap_or_default().is_empty() {
        let kind = if source["binary"].is_object() {
            "Binary"
        } else if source["git"].is_object() {
            "Git"
        } else if source["dockerfile"].is_string() {
            "Dockerfile"
        } else if source["images"].is_array() {
            "Image"
        } else {
            "None"
        };
        source["type"] = json!(kind);
    }
    if source["type"] == "Binary" && source["binary"].is_null() {
        source["binary"] = json!({});
    }
    let strategy = &mut spec["strategy"];
    if strategy["type"].as_str().unwrap_or_default().is_empty()
        && let Some((_, kind)) = STRATEGIES.iter().find(|(f, _)| strategy[*f].is_object())
    {
        strategy["type"] = json!(kind);
    }
    if strategy["type"] == "Docker" && strategy["dockerStrategy"].is_null() {
        strategy["dockerStrategy"] = json!({});
    }
    for field in ["dockerStrategy", "sourceStrategy", "customStrategy"] {
        if let Some(from) = strategy
            .get_mut(field)
            .and_then(|s| s.get_mut("from"))
            .filter(|f| f.is_object())
            && from["kind"].as_str().unwrap_or_default().is_empty()
        {
            from["kind"] = json!("ImageStreamTag");
        }
    }
    if let Some(strategy) = spec["strategy"].as_object_mut() {
        strategy.retain(|_, v| !v.is_null());
    }
}

/// Defaults of every write of a build config.
pub fn config(obj: &mut Value) {
    common_spec(&mut obj["spec"]);
    let spec = &mut obj["spec"];
    if spec["runPolicy"].as_str().unwrap_or_default().is_empty() {
        spec["runPolicy"] = json!("Serial");
    }
    if spec["triggers"].is_null() {
        spec["triggers"] = json!([]);
    }
    if !obj["status"].is_object() {
        obj["status"] = json!({"lastVersion": 0});
    }
}

/// Defaults of a new build config (the group API's, not the legacy one's).
pub fn config_on_create(obj: &mut Value) {
    config(obj);
    let spec = &mut obj["spec"];
    for limit in ["successfulBuildsHistoryLimit", "failedBuildsHistoryLimit"] {
        if spec[limit].is_null() {
            spec[limit] = json!(5);
        }
    }
    if let Some(triggers) = spec["triggers"].as_array_mut() {
        triggers.retain(|t| TRIGGER_TYPES.contains(&t["type"].as_str().unwrap_or_default()));
    }
}

/// Defaults of every write of a build.
pub fn build(obj: &mut Value) {
    common_spec(&mut obj["spec"]);
    if !obj["status"].is_object() {
        obj["status"] = json!({});
    }
    if obj["status"]["phase"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
    {
        obj["status"]["phase"] = json!("New");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_config_gets_upstreams_defaults() {
        let mut bc = json!({"spec": {"source": {"git": {"uri": "file:///r"}},
            "strategy": {"dockerStrategy": {"from": {"name": "base:1"}}},
            "triggers": [{"type": "ConfigChange"}, {"type": "Bogus"}]}});
        config_on_create(&mut bc);
        assert_eq!(bc["spec"]["runPolicy"], "Serial");
        assert_eq!(bc["spec"]["source"]["type"], "Git");
        assert_eq!(bc["spec"]["strategy"]["type"], "Docker");
        assert_eq!(
            bc["spec"]["strategy"]["dockerStrategy"]["from"]["kind"],
            "ImageStreamTag"
        );
        assert_eq!(bc["spec"]["successfulBuildsHistoryLimit"], 5);
        assert_eq!(bc["spec"]["failedBuildsHistoryLimit"], 5);
        assert_eq!(bc["spec"]["triggers"], json!([{"type": "ConfigChange"}]));
        assert_eq!(bc["status"]["lastVersion"], 0);
    }

    #[test]
    fn binary_and_docker_are_filled_in() {
        let mut bc =
            json!({"spec": {"source": {"type": "Binary"}, "strategy": {"type": "Docker"}}});
        config(&mut bc);
        assert_eq!(bc["spec"]["source"]["binary"], json!({}));
        assert_eq!(bc["spec"]["strategy"]["dockerStrategy"], json!({}));
    }
}
