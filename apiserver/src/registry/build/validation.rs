//! Upstream's rules for builds and build configs (openshift-apiserver's build validation), in
//! its words: the source, the strategy and its `from`, the output, the run policy, history
//! limits and triggers; a build's spec is immutable (its push secret aside) and its phase never
//! leaves a terminal one.

use serde_json::Value;

use super::keys;
use crate::registry::validation::{Bad, FieldErrors, index};

const RUN_POLICIES: [&str; 3] = ["Parallel", "Serial", "SerialLatestOnly"];
const MAX_DOCKERFILE_BYTES: usize = 60000;

fn str_at<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

/// `<name>:<tag>` with both parts.
fn is_tag_reference(name: &str) -> bool {
    matches!(name.split_once(':'), Some((n, t)) if !n.is_empty() && !t.is_empty() && !t.contains(':'))
}

fn from_reference(from: &Value, path: &str, errors: &mut FieldErrors) {
    let name = str_at(from, "name");
    if name.is_empty() {
        errors.required(&format!("{path}.name"), "");
    }
    match str_at(from, "kind") {
        "ImageStreamTag" => {
            if !name.is_empty() && !is_tag_reference(name) {
                errors.invalid(
                    &format!("{path}.name"),
                    Bad::Str(name),
                    "must be <name>:<tag>",
                );
            }
        }
        "ImageStreamImage" => {
            if !name.is_empty() && !name.contains('@') {
                errors.invalid(
                    &format!("{path}.name"),
                    Bad::Str(name),
                    "must be <name>@<id>",
                );
            }
        }
        "DockerImage" => {}
        kind => errors.invalid(
            &format!("{path}.kind"),
            Bad::Str(kind),
            "must be 'ImageStreamTag', 'ImageStreamImage', or 'DockerImage'",
        ),
    }
}

fn source(spec: &Value, errors: &mut FieldErrors) {
    let source = &spec["source"];
    let strategy = &spec["strategy"];
    let git = source["git"].is_object();
    let binary = source["binary"].is_object();
    let dockerfile = source["dockerfile"].is_string();
    let images = source["images"].as_array().is_some_and(|i| !i.is_empty());
    if strategy["dockerStrategy"].is_object() && !(git || binary || dockerfile || images) {
        errors.invalid(
            "spec.source",
            Bad::Go("\"\"".into()),
            "must provide a value for at least one source input(git, binary, dockerfile, images).",
        );
    }
    if git && binary && !strategy["customStrategy"].is_object() {
        errors.invalid(
            "spec.source.git",
            Bad::Go("\"\"".into()),
            "may not be set when binary is also set",
        );
        errors.invalid(
            "spec.source.binary",
            Bad::Go("\"\"".into()),
            "may not be set when git is also set",
        );
    }
    if git && str_at(&source["git"], "uri").is_empty() {
        errors.required("spec.source.git.uri", "");
    }
    if let Some(text) = source["dockerfile"].as_str()
        && text.len() > MAX_DOCKERFILE_BYTES
    {
        errors.invalid(
            "spec.source.dockerfile",
            Bad::Go("\"\"".into()),
            "must be smaller than 60000 bytes",
        );
    }
    let context = str_at(source, "contextDir");
    if context == ".." || context.starts_with("../") {
        errors.invalid(
            "spec.source.contextDir",
            Bad::Str(context),
            "context dir must not be a relative path",
        );
    }
    let as_file = str_at(&source["binary"], "asFile");
    if !as_file.is_empty() && (as_file.contains('/') || as_file == "." || as_file == "..") {
        errors.invalid(
            "spec.source.binary.asFile",
            Bad::Str(as_file),
            "file name may not contain slashes or relative path segments and must be a valid POSIX filename",
        );
    }
}

fn strategy(spec: &Value, errors: &mut FieldErrors) {
    let strategy = &spec["strategy"];
    let set: Vec<&str> = [
        "sourceStrategy",
        "customStrategy",
        "dockerStrategy",
        "jenkinsPipelineStrategy",
    ]
    .into_iter()
    .filter(|f| strategy[*f].is_object())
    .collect();
    if set.len() != 1 {
        errors.invalid(
            "spec.strategy",
            Bad::Go("\"\"".into()),
            "must provide a value for exactly one of sourceStrategy, customStrategy, dockerStrategy, or jenkinsPipelineStrategy",
        );
        return;
    }
    let field = set[0];
    let path = format!("spec.strategy.{field}");
    let params = &strategy[field];
    match field {
        "sourceStrategy" | "customStrategy" => {
            if params["from"].is_object() {
                from_reference(&params["from"], &format!("{path}.from"), errors);
            } else {
                errors.required(&format!("{path}.from"), "");
            }
        }
        "dockerStrategy" => {
            if params["from"].is_object() {
                from_reference(&params["from"], &format!("{path}.from"), errors);
            }
            let dockerfile_path = str_at(params, "dockerfilePath");
            if dockerfile_path.starts_with('/')
                || dockerfile_path == ".."
                || dockerfile_path.starts_with("../")
            {
                errors.invalid(
                    &format!("{path}.dockerfilePath"),
                    Bad::Str(dockerfile_path),
                    "dockerfilePath must be a relative path within your source location",
                );
            }
            let policy = str_at(params, "imageOptimizationPolicy");
            if !matches!(policy, "" | "None" | "SkipLayers" | "SkipLayersAndWarn") {
                errors.invalid(
                    &format!("{path}.imageOptimizationPolicy"),
                    Bad::Str(policy),
                    "must be unset, 'None', 'SkipLayers', or 'SkipLayersAndWarn'",
                );
            }
        }
        _ => {}
    }
    for (i, env) in params["env"].as_array().into_iter().flatten().enumerate() {
        if str_at(env, "name").is_empty() {
            errors.required(&format!("{}.name", index(&format!("{path}.env"), i)), "");
        }
    }
}

fn output(spec: &Value, errors: &mut FieldErrors) {
    let to = &spec["output"]["to"];
    if !to.is_object() {
        return;
    }
    let name = str_at(to, "name");
    match str_at(to, "kind") {
        "ImageStreamTag" => {
            if !is_tag_reference(name) {
                errors.invalid(
                    "spec.output.to.name",
                    Bad::Str(name),
                    "ImageStreamTag object references must be in the form <name>:<tag>",
                );
            }
        }
        "DockerImage" => {
            if !str_at(to, "namespace").is_empty() {
                errors.invalid(
                    "spec.output.to.namespace",
                    Bad::Str(str_at(to, "namespace")),
                    "namespace is not valid when used with a 'DockerImage'",
                );
            }
            if let Err(e) = images::reference::DockerImageReference::parse(name) {
                errors.invalid(
                    "spec.output.to.name",
                    Bad::Str(name),
                    &format!("name is not a valid Docker pull specification: {e}"),
                );
            }
        }
        kind => errors.invalid(
            "spec.output.to.kind",
            Bad::Str(kind),
            "the target of build output must be an 'ImageStreamTag' or 'DockerImage'",
        ),
    }
}

fn common(spec: &Value, errors: &mut FieldErrors) {
    source(spec, errors);
    strategy(spec, errors);
    output(spec, errors);
    let hook = &spec["postCommit"];
    if hook["command"].is_array() && hook["script"].as_str().is_some_and(|s| !s.is_empty()) {
        errors.invalid(
            "spec.postCommit",
            Bad::Go("\"\"".into()),
            "cannot use command and script together",
        );
    }
    if let Some(n) = spec["completionDeadlineSeconds"]
        .as_i64()
        .filter(|n| *n <= 0)
    {
        errors.invalid(
            "spec.completionDeadlineSeconds",
            Bad::Int(n),
            "completionDeadlineSeconds must be a positive integer greater than 0",
        );
    }
}

fn triggers(spec: &Value, errors: &mut FieldErrors) {
    let strategy_from_is_tag = ["sourceStrategy", "dockerStrategy", "customStrategy"]
        .iter()
        .any(|f| spec["strategy"][*f]["from"]["kind"] == "ImageStreamTag");
    let mut image_tags = Vec::new();
    for (i, trigger) in spec["triggers"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let path = index("spec.triggers", i);
        let field = match str_at(trigger, "type") {
            "" => {
                errors.required(&format!("{path}.type"), "");
                continue;
            }
            "GitHub" => "github",
            "GitLab" => "gitlab",
            "Bitbucket" => "bitbucket",
            "Generic" => "generic",
            "ImageChange" => "imageChange",
            "ConfigChange" => continue,
            other => {
                errors.invalid(
                    &format!("{path}.type"),
                    Bad::Str(other),
                    "invalid trigger type",
                );
                continue;
            }
        };
        let params = &trigger[field];
        let params_path = format!("{path}.{field}");
        if !params.is_object() {
            errors.required(&params_path, "");
            continue;
        }
        if field == "imageChange" {
            let from = &params["from"];
            if !from.is_object() {
                if !strategy_from_is_tag {
                    errors.invalid(
                        &format!("{params_path}.from"),
                        Bad::Go("\"\"".into()),
                        "a default ImageChange trigger can only be used when the build strategy includes an ImageStreamTag reference.",
                    );
                }
                image_tags.push(String::new());
                continue;
            }
            if str_at(from, "kind") != "ImageStreamTag" {
                errors.invalid(
                    &format!("{params_path}.from.kind"),
                    Bad::Str(str_at(from, "kind")),
                    "only an ImageStreamTag type of reference is allowed in an ImageChange trigger.",
                );
            }
            image_tags.push(format!(
                "{}/{}",
                str_at(from, "namespace"),
                str_at(from, "name")
            ));
            continue;
        }
        let secret = str_at(params, "secret");
        let reference = &params["secretReference"];
        if secret.is_empty() && !reference.is_object() {
            errors.invalid(
                &params_path,
                Bad::Go("\"\"".into()),
                "must provide a value for at least one of secret or secretReference",
            );
        }
        if reference.is_object() && str_at(reference, "name").is_empty() {
            errors.required(&format!("{params_path}.secretReference.name"), "");
        }
        if field != "generic" && params["allowEnv"] == true {
            errors.invalid(
                &format!("{params_path}.allowEnv"),
                Bad::Go("true".into()),
                "git webhooks cannot allow env vars",
            );
        }
    }
    let mut seen = std::collections::HashSet::new();
    if image_tags.iter().any(|t| !seen.insert(t)) {
        errors.invalid(
            "spec.triggers",
            Bad::Go("\"\"".into()),
            "multiple ImageChange triggers refer to the same image stream tag",
        );
    }
}

/// A build config's rules.
pub fn config(obj: &Value, errors: &mut FieldErrors) {
    let spec = &obj["spec"];
    common(spec, errors);
    let policy = str_at(spec, "runPolicy");
    if !RUN_POLICIES.contains(&policy) {
        errors.invalid(
            "spec.runPolicy",
            Bad::Str(policy),
            "run policy must Parallel, Serial, or SerialLatestOnly",
        );
    }
    for limit in ["successfulBuildsHistoryLimit", "failedBuildsHistoryLimit"] {
        if let Some(n) = spec[limit].as_i64().filter(|n| *n < 0) {
            errors.invalid(
                &format!("spec.{limit}"),
                Bad::Int(n),
                "must be greater than or equal to 0",
            );
        }
    }
    triggers(spec, errors);
}

/// A build's rules; on update its spec stays (but the push secret) and a terminal phase stays.
pub fn build(obj: &Value, old: Option<&Value>, errors: &mut FieldErrors) {
    let Some(old) = old else {
        common(&obj["spec"], errors);
        return;
    };
    let mut spec = obj["spec"].clone();
    let mut old_spec = old["spec"].clone();
    for s in [&mut spec, &mut old_spec] {
        if let Some(output) = s["output"].as_object_mut() {
            output.remove("pushSecret");
        }
    }
    if spec != old_spec {
        errors.invalid(
            "spec",
            Bad::Str("content of spec is not printed out, please refer to the details"),
            "spec is immutable",
        );
    }
    let before = str_at(&old["status"], "phase");
    let after = str_at(&obj["status"], "phase");
    if keys::is_terminal(before) && before != after {
        errors.invalid(
            "status.phase",
            Bad::Str(after),
            "phase cannot be updated from a terminal state",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(errors: FieldErrors) -> String {
        errors.summary()
    }

    #[test]
    fn a_config_without_source_or_with_a_bad_policy_is_refused() {
        let bc = json!({"spec": {"runPolicy": "Sometimes", "source": {},
            "strategy": {"dockerStrategy": {}}}});
        let mut errors = FieldErrors::default();
        config(&bc, &mut errors);
        let text = messages(errors);
        assert!(text.contains("spec.source: Invalid value: \"\": must provide a value for at least one source input(git, binary, dockerfile, images)."), "{text}");
        assert!(text.contains("spec.runPolicy: Invalid value: \"Sometimes\": run policy must Parallel, Serial, or SerialLatestOnly"), "{text}");
    }

    #[test]
    fn outputs_and_webhooks_are_checked() {
        let bc = json!({"spec": {"runPolicy": "Serial", "source": {"dockerfile": "FROM x"},
            "strategy": {"dockerStrategy": {}}, "output": {"to": {"kind": "ImageStreamTag", "name": "web"}},
            "triggers": [{"type": "GitHub", "github": {}}]}});
        let mut errors = FieldErrors::default();
        config(&bc, &mut errors);
        let text = messages(errors);
        assert!(text.contains("spec.output.to.name: Invalid value: \"web\": ImageStreamTag object references must be in the form <name>:<tag>"), "{text}");
        assert!(text.contains("spec.triggers[0].github: Invalid value: \"\": must provide a value for at least one of secret or secretReference"), "{text}");
    }

    #[test]
    fn a_build_keeps_its_spec_and_final_phase() {
        let old = json!({"spec": {"output": {"pushSecret": {"name": "a"}}}, "status": {"phase": "Complete"}});
        let mut next = old.clone();
        next["spec"]["output"]["pushSecret"]["name"] = json!("b");
        let mut errors = FieldErrors::default();
        build(&next, Some(&old), &mut errors);
        assert!(errors.is_empty());
        next["status"]["phase"] = json!("Running");
        next["spec"]["serviceAccount"] = json!("x");
        let mut errors = FieldErrors::default();
        build(&next, Some(&old), &mut errors);
        let text = messages(errors);
        assert!(text.contains("spec is immutable"), "{text}");
        assert!(
            text.contains("phase cannot be updated from a terminal state"),
            "{text}"
        );
    }
}
