//! The parts of a Build the builder reads, from the build pod's `BUILD` variable (the Build
//! as the build controller wrote it: images resolved to pull specs, the output resolved to
//! the push target). A `null` member reads as absent.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Build {
    pub metadata: Metadata,
    pub spec: BuildSpec,
    pub status: BuildStatus,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Metadata {
    pub name: String,
    pub namespace: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BuildSpec {
    pub source: Source,
    pub revision: Option<Value>,
    pub strategy: Strategy,
    pub output: Output,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Source {
    pub git: Option<GitSource>,
    pub binary: Option<Value>,
    pub dockerfile: Option<String>,
    pub context_dir: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GitSource {
    pub uri: String,
    #[serde(rename = "ref")]
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Strategy {
    pub docker_strategy: Option<DockerStrategy>,
    pub source_strategy: Option<SourceStrategy>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DockerStrategy {
    pub from: Option<ObjectRef>,
    pub build_args: Vec<NameValue>,
    pub env: Vec<NameValue>,
    pub no_cache: bool,
    pub force_pull: bool,
    pub dockerfile_path: Option<String>,
    pub image_optimization_policy: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SourceStrategy {
    pub from: ObjectRef,
    pub env: Vec<NameValue>,
    pub scripts: Option<String>,
    pub force_pull: bool,
    pub incremental: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ObjectRef {
    pub kind: String,
    pub name: String,
}

/// An environment variable or build argument (`valueFrom` is resolved by the controller).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NameValue {
    pub name: String,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Output {
    pub to: Option<ObjectRef>,
    pub image_labels: Vec<NameValue>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BuildStatus {
    pub output_docker_image_reference: Option<String>,
}

/// The commit the sources were taken at, as `spec.revision.git` holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revision {
    pub commit: String,
    pub message: String,
    pub author_name: String,
    pub author_email: String,
    pub committer_name: String,
    pub committer_email: String,
    pub date: String,
}

/// Removes every `null` member (as Go's decoder leaves such fields at their zero value).
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

impl Build {
    /// The Build in `BUILD`, and the value as it came (sent back with the details).
    pub fn parse(text: &str) -> Result<(Build, Value), String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("unable to parse build: {e}"))?;
        let mut present = value.clone();
        drop_nulls(&mut present);
        let build =
            serde_json::from_value(present).map_err(|e| format!("unable to parse build: {e}"))?;
        Ok((build, value))
    }

    /// Where the image goes: `status.outputDockerImageReference`, else a DockerImage output.
    pub fn push_target(&self) -> Option<String> {
        self.status
            .output_docker_image_reference
            .clone()
            .filter(|r| !r.is_empty())
            .or_else(|| {
                self.spec
                    .output
                    .to
                    .as_ref()
                    .filter(|t| t.kind == "DockerImage" && !t.name.is_empty())
                    .map(|t| t.name.clone())
            })
    }

    /// `spec.source.contextDir`, without leading or trailing slashes.
    pub fn context_dir(&self) -> &str {
        self.spec
            .source
            .context_dir
            .as_deref()
            .unwrap_or("")
            .trim_matches('/')
    }

    /// The commit the build asked for (`spec.revision.git.commit`), else the source's ref.
    pub fn wanted_ref(&self) -> Option<String> {
        let commit = self
            .spec
            .revision
            .as_ref()
            .and_then(|r| r["git"]["commit"].as_str())
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        commit.or_else(|| {
            self.spec
                .source
                .git
                .as_ref()
                .and_then(|g| g.reference.clone())
                .filter(|r| !r.is_empty())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_controllers_build_reads_with_its_targets() {
        let text = r#"{"kind":"Build","apiVersion":"build.openshift.io/v1",
            "metadata":{"name":"web-1","namespace":"p"},
            "spec":{"source":{"type":"Git","git":{"uri":"git://127.0.0.1/r","ref":"main"},"contextDir":"/app/"},
                    "strategy":{"type":"Docker","dockerStrategy":{"from":{"kind":"DockerImage","name":"b:1"},
                        "buildArgs":[{"name":"A","value":"1"}],"noCache":true}},
                    "output":{"to":{"kind":"ImageStreamTag","name":"web:latest"}}},
            "status":{"phase":"New","outputDockerImageReference":"127.0.0.1:5000/p/web:latest"}}"#;
        let (build, raw) = Build::parse(text).unwrap();
        assert_eq!(raw["kind"], "Build");
        assert_eq!(build.metadata.name, "web-1");
        assert_eq!(build.context_dir(), "app");
        assert_eq!(build.wanted_ref().as_deref(), Some("main"));
        assert_eq!(
            build.push_target().as_deref(),
            Some("127.0.0.1:5000/p/web:latest")
        );
        let docker = build.spec.strategy.docker_strategy.unwrap();
        assert!(docker.no_cache);
        assert_eq!(docker.from.unwrap().name, "b:1");
        assert_eq!(docker.build_args[0].value.as_deref(), Some("1"));
    }

    #[test]
    fn a_revision_wins_over_the_ref_and_a_docker_image_output_is_a_target() {
        let text = r#"{"metadata":{"name":"b"},"spec":{"revision":{"git":{"commit":"abc"}},
            "source":{"git":{"uri":"u","ref":"main"}},
            "output":{"to":{"kind":"DockerImage","name":"127.0.0.1:5000/x/y:1"}}}}"#;
        let (build, _) = Build::parse(text).unwrap();
        assert_eq!(build.wanted_ref().as_deref(), Some("abc"));
        assert_eq!(build.push_target().as_deref(), Some("127.0.0.1:5000/x/y:1"));
        assert!(Build::parse("nope").is_err());
        // Null members read as absent.
        let text = r#"{"spec":{"strategy":{"dockerStrategy":{"env":null,"noCache":null}},"revision":null}}"#;
        let (build, raw) = Build::parse(text).unwrap();
        assert!(build.spec.strategy.docker_strategy.unwrap().env.is_empty());
        assert!(build.spec.revision.is_none());
        assert!(raw["spec"]["revision"].is_null());
    }
}
