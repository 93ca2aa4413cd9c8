//! Upstream's rules for DeploymentConfigs (openshift-apiserver's apps validation), in its
//! words: triggers, the strategy and its parameters, replicas, selector and template.

use serde_json::{Value, json};

use crate::registry::validation::{Bad, FieldErrors, bad, index, pods};

const POSITIVE: &str = "must be >0";

fn triggers(spec: &Value, errors: &mut FieldErrors) {
    for (i, trigger) in spec["triggers"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let path = index("spec.triggers", i);
        match trigger["type"].as_str().unwrap_or_default() {
            "" => errors.required(&format!("{path}.type"), ""),
            "ImageChange" => image_change(&trigger["imageChangeParams"], &path, errors),
            _ => {}
        }
    }
}

fn image_change(params: &Value, path: &str, errors: &mut FieldErrors) {
    let path = format!("{path}.imageChangeParams");
    if !params.is_object() {
        errors.required(&path, "");
        return;
    }
    let from = &params["from"];
    let name = from["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        errors.required(&format!("{path}.from"), "");
    } else {
        let kind = from["kind"].as_str().unwrap_or_default();
        if kind != "ImageStreamTag" {
            errors.invalid(
                &format!("{path}.from.kind"),
                Bad::Str(kind),
                "kind must be an ImageStreamTag",
            );
        }
        let parts: Vec<&str> = name.split(':').collect();
        if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
            errors.invalid(
                &format!("{path}.from.name"),
                Bad::Str(name),
                "must be in the form of <name>:<tag>",
            );
        }
    }
    if params["containerNames"]
        .as_array()
        .is_none_or(Vec::is_empty)
    {
        errors.required(&format!("{path}.containerNames"), "");
    }
}

/// The lifecycle hooks of a strategy's parameters (`points`: `pre`, `mid`, `post`).
fn hooks(params: &Value, path: &str, points: &[&str], errors: &mut FieldErrors) {
    for point in points {
        let hook = &params[*point];
        if hook.is_object() {
            lifecycle_hook(hook, &format!("{path}.{point}"), errors);
        }
    }
}

fn lifecycle_hook(hook: &Value, path: &str, errors: &mut FieldErrors) {
    if hook["failurePolicy"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
    {
        errors.required(&format!("{path}.failurePolicy"), "");
    }
    let exec = &hook["execNewPod"];
    let tags = hook["tagImages"].as_array().filter(|t| !t.is_empty());
    match (exec.is_object(), tags) {
        (true, Some(_)) => errors.invalid(
            path,
            Bad::Str("<hook>"),
            "only one of 'execNewPod' or 'tagImages' may be specified",
        ),
        (true, None) => {
            let exec_path = format!("{path}.execNewPod");
            if exec["command"].as_array().is_none_or(Vec::is_empty) {
                errors.required(&format!("{exec_path}.command"), "");
            }
            if exec["containerName"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
            {
                errors.required(&format!("{exec_path}.containerName"), "");
            }
            for (i, volume) in exec["volumes"].as_array().into_iter().flatten().enumerate() {
                if volume.as_str().unwrap_or_default().is_empty() {
                    errors.invalid(
                        &index(&format!("{exec_path}.volumes"), i),
                        Bad::Str(""),
                        "must not be empty",
                    );
                }
            }
        }
        (false, Some(tags)) => {
            for (i, tag) in tags.iter().enumerate() {
                let at = index(&format!("{path}.tagImages"), i);
                if tag["containerName"].as_str().unwrap_or_default().is_empty() {
                    errors.required(
                        &format!("{at}.containerName"),
                        "a containerName is required",
                    );
                }
                let kind = tag["to"]["kind"].as_str().unwrap_or_default();
                if kind != "ImageStreamTag" {
                    errors.invalid(
                        &format!("{at}.to.kind"),
                        Bad::Str(kind),
                        "Must be 'ImageStreamTag'",
                    );
                }
                if tag["to"]["name"].as_str().unwrap_or_default().is_empty() {
                    errors.required(
                        &format!("{at}.to.name"),
                        "a destination tag name is required",
                    );
                }
            }
        }
        (false, None) => errors.invalid(
            path,
            Bad::Str("<empty>"),
            "One of execNewPod or tagImages must be specified",
        ),
    }
}

fn positive(params: &Value, path: &str, fields: &[&str], errors: &mut FieldErrors) {
    for field in fields {
        if let Some(n) = params[*field].as_i64().filter(|n| *n < 1) {
            errors.invalid(&format!("{path}.{field}"), Bad::Int(n), POSITIVE);
        }
    }
}

/// An int-or-percent parameter: `Some(true)` when it is zero.
fn surge_value(value: &Value, field: &str, errors: &mut FieldErrors) -> bool {
    match value {
        Value::Number(n) => match n.as_i64() {
            Some(i) if i < 0 => {
                errors.invalid(field, Bad::Int(i), "must be non-negative");
                false
            }
            i => i == Some(0),
        },
        Value::String(s) => match s.strip_suffix('%').map(str::parse::<u64>) {
            Some(Ok(p)) => {
                if p > 100 && field.ends_with("maxUnavailable") {
                    errors.invalid(field, Bad::Str(s), "should not be more than 100%");
                }
                p == 0
            }
            _ => {
                errors.invalid(
                    field,
                    Bad::Str(s),
                    "value should be int(5) or percentage(5%)",
                );
                false
            }
        },
        _ => true,
    }
}

fn strategy(spec: &Value, errors: &mut FieldErrors) {
    let strategy = &spec["strategy"];
    let path = "spec.strategy";
    let timeout = match strategy["type"].as_str().unwrap_or_default() {
        "" => {
            errors.required(&format!("{path}.type"), "");
            errors.required(&format!("{path}.type"), "strategy type is required");
            None
        }
        "Rolling" => {
            let params = &strategy["rollingParams"];
            let p = format!("{path}.rollingParams");
            if !params.is_object() {
                errors.required(&p, "");
                return;
            }
            positive(
                params,
                &p,
                &["intervalSeconds", "updatePeriodSeconds", "timeoutSeconds"],
                errors,
            );
            let surge_zero = surge_value(&params["maxSurge"], &format!("{p}.maxSurge"), errors);
            let unavailable = &params["maxUnavailable"];
            let unavailable_zero = surge_value(unavailable, &format!("{p}.maxUnavailable"), errors);
            if surge_zero && unavailable_zero {
                errors.invalid(
                    &format!("{p}.maxUnavailable"),
                    if unavailable.is_null() {
                        Bad::Int(0)
                    } else {
                        bad(unavailable)
                    },
                    "cannot be 0 when maxSurge is 0 as well",
                );
            }
            hooks(params, &p, &["pre", "post"], errors);
            params["timeoutSeconds"].as_i64()
        }
        "Recreate" => {
            let params = &strategy["recreateParams"];
            let p = format!("{path}.recreateParams");
            positive(params, &p, &["timeoutSeconds"], errors);
            hooks(params, &p, &["pre", "mid", "post"], errors);
            params["timeoutSeconds"].as_i64()
        }
        "Custom" => {
            if !strategy["customParams"].is_object() {
                errors.required(&format!("{path}.customParams"), "");
            }
            None
        }
        other => {
            errors.invalid(
                &format!("{path}.type"),
                Bad::Str(other),
                "unsupported strategy type, use \"Custom\" instead and specify your own strategy",
            );
            None
        }
    };
    let deadline = strategy["activeDeadlineSeconds"].as_i64();
    if let Some(d) = deadline {
        let field = format!("{path}.activeDeadlineSeconds");
        if d < 0 {
            errors.invalid(&field, Bad::Int(d), "must be greater than or equal to 0");
        } else if timeout.is_some_and(|t| d <= t) {
            errors.invalid(
                &field,
                Bad::Int(d),
                "activeDeadlineSeconds must be greater than timeoutSeconds",
            );
        }
    }
    if let Some(min) = spec["minReadySeconds"].as_i64().filter(|m| *m > 0) {
        let timeout = timeout.unwrap_or(super::defaults::STRATEGY_TIMEOUT_SECONDS);
        if timeout > 0 && min >= timeout {
            errors.invalid(
                "spec.minReadySeconds",
                Bad::Int(min),
                &format!("must be less than the deployment timeout ({timeout}s)"),
            );
        }
        if let Some(d) = deadline.filter(|d| min >= *d) {
            errors.invalid(
                "spec.minReadySeconds",
                Bad::Int(min),
                &format!(
                    "must be less than activeDeadlineSeconds ({d}s - used by the deployer pod)"
                ),
            );
        }
    }
}

/// The template as the pod rules see it: an image a trigger fills in (empty or blank) stands
/// as `unset`, as upstream validates it.
fn template_with_placeholders(spec: &Value) -> Value {
    let mut template = spec["template"].clone();
    let filled: Vec<&str> = spec["triggers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["imageChangeParams"]["containerNames"].as_array())
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for list in ["containers", "initContainers"] {
        for c in template["spec"][list].as_array_mut().into_iter().flatten() {
            let image = c["image"].as_str().unwrap_or_default();
            let named = filled.contains(&c["name"].as_str().unwrap_or_default());
            if (image.is_empty() && named) || (!image.is_empty() && image.trim().is_empty()) {
                c["image"] = json!("unset");
            }
        }
    }
    template
}

fn template(spec: &Value, errors: &mut FieldErrors) {
    let template = &spec["template"];
    if !template.is_object() {
        errors.required("spec.template", "");
        return;
    }
    let checked = json!({"spec": {"template": template_with_placeholders(spec)}});
    pods::pod_spec_at(&checked, "spec.template.spec", errors);
    let labels = &template["metadata"]["labels"];
    let selects = spec["selector"]
        .as_object()
        .is_some_and(|s| s.iter().all(|(k, v)| labels[k] == *v));
    if spec["selector"].as_object().is_some_and(|s| !s.is_empty()) && !selects {
        errors.invalid(
            "spec.template.metadata.labels",
            bad(labels),
            "`selector` does not match template `labels`",
        );
    }
}

/// Everything upstream refuses in a DeploymentConfig's spec.
pub fn spec(obj: &Value, errors: &mut FieldErrors) {
    let spec = &obj["spec"];
    triggers(spec, errors);
    if spec["template"].is_object() {
        strategy(spec, errors);
    }
    for field in ["revisionHistoryLimit", "minReadySeconds"] {
        if let Some(n) = spec[field].as_i64().filter(|n| *n < 0) {
            errors.invalid(
                &format!("spec.{field}"),
                Bad::Int(n),
                "must be greater than or equal to 0",
            );
        }
    }
    if let Some(n) = spec["replicas"].as_i64().filter(|n| *n < 0) {
        errors.invalid("spec.replicas", Bad::Int(n), "replicas cannot be negative");
    }
    if spec["selector"].as_object().is_none_or(|s| s.is_empty()) {
        errors.invalid(
            "spec.selector",
            Bad::Go("map[]".into()),
            "selector cannot be empty",
        );
    }
    template(spec, errors);
}

/// A status write: counts never negative, versions never go back.
pub fn status(obj: &Value, old: Option<&Value>, errors: &mut FieldErrors) {
    let status = &obj["status"];
    for field in [
        "latestVersion",
        "observedGeneration",
        "replicas",
        "readyReplicas",
        "availableReplicas",
        "unavailableReplicas",
    ] {
        if let Some(n) = status[field].as_i64().filter(|n| *n < 0) {
            errors.invalid(
                &format!("status.{field}"),
                Bad::Int(n),
                "must be greater than or equal to 0",
            );
        }
    }
    let Some(old) = old else { return };
    for (field, what) in [
        ("latestVersion", "latestVersion"),
        ("observedGeneration", "observedGeneration"),
    ] {
        let (new, before) = (
            status[field].as_i64().unwrap_or(0),
            old["status"][field].as_i64().unwrap_or(0),
        );
        if new < before {
            errors.invalid(
                &format!("status.{field}"),
                Bad::Int(new),
                &format!("{what} cannot be decremented"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::validation::validated;

    fn errors_of(obj: &Value) -> Vec<String> {
        let served = ("apps.openshift.io", "v1", "deploymentconfigs");
        validated(&super::super::DeploymentConfigs, served, obj, None)
            .lines()
            .map(String::from)
            .collect()
    }

    fn dc(extra: Value) -> Value {
        let mut dc = json!({"metadata": {"name": "web"}, "spec": {"replicas": 1,
            "selector": {"app": "web"}, "triggers": [],
            "strategy": {"type": "Rolling", "rollingParams": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}});
        if let (Some(spec), Some(extra)) = (dc["spec"].as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                spec.insert(k.clone(), v.clone());
            }
        }
        dc
    }

    #[test]
    fn a_valid_config_passes() {
        assert!(errors_of(&dc(json!({}))).is_empty());
    }

    #[test]
    fn upstreams_messages() {
        let bad = dc(json!({"replicas": -1, "selector": {},
            "strategy": {"type": "Rolling", "rollingParams": {"maxSurge": 0, "maxUnavailable": "0%", "intervalSeconds": 0}},
            "triggers": [{"type": "ImageChange", "imageChangeParams": {"from": {"kind": "DockerImage", "name": "web"}}}]}));
        assert_eq!(
            errors_of(&bad),
            vec![
                "spec.triggers[0].imageChangeParams.from.kind: Invalid value: \"DockerImage\": kind must be an ImageStreamTag",
                "spec.triggers[0].imageChangeParams.from.name: Invalid value: \"web\": must be in the form of <name>:<tag>",
                "spec.triggers[0].imageChangeParams.containerNames: Required value",
                "spec.strategy.rollingParams.intervalSeconds: Invalid value: 0: must be >0",
                "spec.strategy.rollingParams.maxUnavailable: Invalid value: \"0%\": cannot be 0 when maxSurge is 0 as well",
                "spec.replicas: Invalid value: -1: replicas cannot be negative",
                "spec.selector: Invalid value: map[]: selector cannot be empty",
            ]
        );
        let unsupported = dc(json!({"strategy": {"type": "Blue"}}));
        assert_eq!(
            errors_of(&unsupported),
            vec![
                "spec.strategy.type: Invalid value: \"Blue\": unsupported strategy type, use \"Custom\" instead and specify your own strategy"
            ]
        );
    }

    #[test]
    fn lifecycle_hooks_in_upstreams_words() {
        let bad = dc(json!({"strategy": {"type": "Recreate", "recreateParams": {
            "pre": {"execNewPod": {"command": [], "volumes": [""]}},
            "mid": {"failurePolicy": "Abort"},
            "post": {"failurePolicy": "Ignore", "execNewPod": {"containerName": "web", "command": ["x"]},
                "tagImages": [{"containerName": "web", "to": {"kind": "ImageStreamTag", "name": "a:b"}}]}}}}));
        assert_eq!(
            errors_of(&bad),
            vec![
                "spec.strategy.recreateParams.pre.failurePolicy: Required value",
                "spec.strategy.recreateParams.pre.execNewPod.command: Required value",
                "spec.strategy.recreateParams.pre.execNewPod.containerName: Required value",
                "spec.strategy.recreateParams.pre.execNewPod.volumes[0]: Invalid value: \"\": must not be empty",
                "spec.strategy.recreateParams.mid: Invalid value: \"<empty>\": One of execNewPod or tagImages must be specified",
                "spec.strategy.recreateParams.post: Invalid value: \"<hook>\": only one of 'execNewPod' or 'tagImages' may be specified",
            ]
        );
        let tags = dc(json!({"strategy": {"type": "Rolling", "rollingParams": {
            "maxSurge": "25%", "maxUnavailable": "25%",
            "post": {"failurePolicy": "Abort", "tagImages": [{"to": {"kind": "DockerImage"}}]}}}}));
        assert_eq!(
            errors_of(&tags),
            vec![
                "spec.strategy.rollingParams.post.tagImages[0].containerName: Required value: a containerName is required",
                "spec.strategy.rollingParams.post.tagImages[0].to.kind: Invalid value: \"DockerImage\": Must be 'ImageStreamTag'",
                "spec.strategy.rollingParams.post.tagImages[0].to.name: Required value: a destination tag name is required",
            ]
        );
    }

    #[test]
    fn an_image_a_trigger_fills_may_be_empty() {
        let mut ok = dc(
            json!({"triggers": [{"type": "ImageChange", "imageChangeParams": {
            "containerNames": ["web"], "from": {"kind": "ImageStreamTag", "name": "web:latest"}}}]}),
        );
        ok["spec"]["template"]["spec"]["containers"][0]["image"] = json!("");
        assert!(errors_of(&ok).is_empty());
        ok["spec"]["triggers"] = json!([]);
        assert_eq!(
            errors_of(&ok),
            vec!["spec.template.spec.containers[0].image: Required value"]
        );
    }
}
