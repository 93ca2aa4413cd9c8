//! The objects `oc new-app` and `oc new-build` generate for source code, as upstream's
//! generator writes them: an ImageStream for the output (no tags: the build pushes to it), a
//! BuildConfig (Git, Dockerfile or Binary source; Docker or Source strategy from the builder
//! image's stream tag; output to `<name>:latest`; GitHub and generic webhooks with generated
//! secrets, ConfigChange and the builder's ImageChange, binary builds having only the
//! webhooks). Pure, but for the secrets' randomness.

use base64::Engine;
use serde_json::{Value, json};

use super::generate::{GENERATED_BY, ImageInput, trigger_from};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Strategy {
    Docker,
    Source,
}

impl Strategy {
    /// The word upstream prints (`A Docker build ...`).
    pub fn word(self) -> &'static str {
        match self {
            Strategy::Docker => "Docker",
            Strategy::Source => "source",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum BuildSource {
    Git {
        uri: String,
        git_ref: Option<String>,
        context_dir: String,
    },
    Dockerfile(String),
    Binary,
}

/// Where the build pushes.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// An image stream tag `stream:tag` of the project.
    StreamTag { stream: String, tag: String },
    /// A pull spec (`--to-docker`).
    DockerImage(String),
}

/// One build: its name, source, strategy, builder image and output.
#[derive(Clone, Debug)]
pub struct BuildPlan {
    pub name: String,
    pub source: BuildSource,
    pub strategy: Strategy,
    /// The builder (`FROM`) image; `None` for `FROM scratch` or a binary build without one.
    pub base: Option<ImageInput>,
    pub output: Output,
    /// The strategy's environment (`oc new-build -e`).
    pub env: Vec<(String, String)>,
    pub generated_by: &'static str,
    /// The language the sources' files mark, if any.
    pub language: Option<&'static str>,
}

/// A webhook secret as upstream generates one: 20 URL-safe base64 characters.
pub fn generate_secret() -> String {
    base64::engine::general_purpose::URL_SAFE.encode(rand::random::<[u8; 15]>())
}

/// The output stream: no tags, the builds push to it.
pub fn output_stream(name: &str, generated_by: &str) -> Value {
    json!({
        "kind": "ImageStream", "apiVersion": "image.openshift.io/v1",
        "metadata": {"name": name, "creationTimestamp": null,
                     "annotations": {GENERATED_BY: generated_by}},
        "spec": {"lookupPolicy": {"local": false}},
        "status": {"dockerImageRepository": ""},
    })
}

/// The stream tag of the builder image that triggers builds (`None` without one).
pub fn base_stream_tag(plan: &BuildPlan) -> Option<String> {
    plan.base
        .as_ref()
        .map(|b| format!("{}:{}", b.stream, b.tag))
}

pub fn build_config(plan: &BuildPlan, mut secret: impl FnMut() -> String) -> Value {
    let mut triggers = vec![
        json!({"type": "GitHub", "github": {"secret": secret()}}),
        json!({"type": "Generic", "generic": {"secret": secret()}}),
    ];
    let binary = plan.source == BuildSource::Binary;
    if !binary {
        triggers.push(json!({"type": "ConfigChange"}));
        if plan.base.is_some() {
            triggers.push(json!({"type": "ImageChange", "imageChange": {}}));
        }
    }
    let source = match &plan.source {
        BuildSource::Git {
            uri,
            git_ref,
            context_dir,
        } => {
            let mut git = json!({"uri": uri});
            if let Some(r) = git_ref {
                git["ref"] = json!(r);
            }
            let mut s = json!({"type": "Git", "git": git});
            if !context_dir.is_empty() {
                s["contextDir"] = json!(context_dir);
            }
            s
        }
        BuildSource::Dockerfile(text) => json!({"type": "Dockerfile", "dockerfile": text}),
        BuildSource::Binary => json!({"type": "Binary", "binary": {}}),
    };
    let mut params = json!({});
    if let Some(base) = &plan.base {
        params["from"] = trigger_from(base);
    }
    if !plan.env.is_empty() {
        let env: Vec<Value> = plan
            .env
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect();
        params["env"] = json!(env);
    }
    let strategy = match plan.strategy {
        Strategy::Docker => json!({"type": "Docker", "dockerStrategy": params}),
        Strategy::Source => json!({"type": "Source", "sourceStrategy": params}),
    };
    let to = match &plan.output {
        Output::StreamTag { stream, tag } => {
            json!({"kind": "ImageStreamTag", "name": format!("{stream}:{tag}")})
        }
        Output::DockerImage(name) => json!({"kind": "DockerImage", "name": name}),
    };
    json!({
        "kind": "BuildConfig", "apiVersion": "build.openshift.io/v1",
        "metadata": {"name": plan.name, "creationTimestamp": null,
                     "annotations": {GENERATED_BY: plan.generated_by}},
        "spec": {
            "nodeSelector": null,
            "output": {"to": to},
            "postCommit": {},
            "resources": {},
            "source": source,
            "strategy": strategy,
            "triggers": triggers,
        },
        "status": {"lastVersion": 0},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> BuildPlan {
        BuildPlan {
            name: "web".into(),
            source: BuildSource::Git {
                uri: "git://127.0.0.1:9418/web".into(),
                git_ref: Some("main".into()),
                context_dir: "app".into(),
            },
            strategy: Strategy::Docker,
            base: Some(ImageInput {
                name: "base".into(),
                stream: "base".into(),
                tag: "1".into(),
                ..Default::default()
            }),
            output: Output::StreamTag {
                stream: "web".into(),
                tag: "latest".into(),
            },
            env: vec![],
            generated_by: "OpenShiftNewApp",
            language: None,
        }
    }

    #[test]
    fn a_git_docker_build_with_its_triggers() {
        let mut n = 0;
        let bc = build_config(&plan(), || {
            n += 1;
            format!("s{n}")
        });
        assert_eq!(
            bc["spec"]["source"],
            json!({"type": "Git", "git": {"uri": "git://127.0.0.1:9418/web", "ref": "main"}, "contextDir": "app"})
        );
        assert_eq!(
            bc["spec"]["strategy"],
            json!({"type": "Docker", "dockerStrategy": {"from": {"kind": "ImageStreamTag", "name": "base:1"}}})
        );
        assert_eq!(
            bc["spec"]["triggers"],
            json!([{"type": "GitHub", "github": {"secret": "s1"}},
                   {"type": "Generic", "generic": {"secret": "s2"}},
                   {"type": "ConfigChange"}, {"type": "ImageChange", "imageChange": {}}])
        );
        assert_eq!(
            bc["spec"]["output"]["to"],
            json!({"kind": "ImageStreamTag", "name": "web:latest"})
        );
        assert_eq!(generate_secret().len(), 20);
    }

    #[test]
    fn a_binary_build_has_only_webhooks() {
        let mut p = plan();
        p.source = BuildSource::Binary;
        p.base = None;
        p.strategy = Strategy::Source;
        p.env = vec![("A".into(), "1".into())];
        let bc = build_config(&p, || "s".into());
        let types: Vec<&str> = bc["spec"]["triggers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["GitHub", "Generic"]);
        assert_eq!(
            bc["spec"]["strategy"],
            json!({"type": "Source", "sourceStrategy": {"env": [{"name": "A", "value": "1"}]}})
        );
    }
}
