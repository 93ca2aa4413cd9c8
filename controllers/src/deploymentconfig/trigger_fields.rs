//! Image triggers without I/O: which tags an object follows, an image stream tag's current
//! image (upstream's ResolveLatestTaggedImage), and a resolved image written into a
//! DeploymentConfig's template or into the container a workload's
//! `image.openshift.io/triggers` annotation names by field path.

use serde_json::{Value, json};

pub const TRIGGERS_ANNOTATION: &str = "image.openshift.io/triggers";

/// An image stream tag followed: namespace, stream, tag.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Tag {
    pub namespace: String,
    pub stream: String,
    pub tag: String,
}

impl Tag {
    fn parse(from: &Value, default_namespace: &str) -> Option<Tag> {
        if from["kind"].as_str().is_some_and(|k| k != "ImageStreamTag") {
            return None;
        }
        let (stream, tag) = from["name"].as_str()?.split_once(':')?;
        let namespace = from["namespace"]
            .as_str()
            .filter(|n| !n.is_empty())
            .unwrap_or(default_namespace);
        Some(Tag {
            namespace: namespace.into(),
            stream: stream.into(),
            tag: tag.into(),
        })
    }

    /// The image stream's key, `<namespace>/<stream>`.
    pub fn stream_key(&self) -> String {
        format!("{}/{}", self.namespace, self.stream)
    }
}

/// The pull spec `tag` of `stream` points at, if it has one.
pub fn resolve(stream: &Value, tag: &str) -> Option<String> {
    let tag = if tag.is_empty() { "latest" } else { tag };
    let event = stream["status"]["tags"]
        .as_array()?
        .iter()
        .find(|t| t["tag"] == tag)?["items"]
        .as_array()?
        .first()?;
    let local = stream["spec"]["tags"]
        .as_array()
        .and_then(|tags| tags.iter().find(|t| t["name"] == tag))
        .is_some_and(|t| t["referencePolicy"]["type"] == "Local");
    let repository = stream["status"]["dockerImageRepository"]
        .as_str()
        .unwrap_or_default();
    let image = event["image"].as_str().unwrap_or_default();
    let resolved = if local && !repository.is_empty() && !image.is_empty() {
        format!("{repository}@{image}")
    } else {
        event["dockerImageReference"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    Some(resolved).filter(|r| !r.is_empty())
}

/// The automatic image triggers of a config's spec, with their tags.
pub fn config_tags(spec: &Value, namespace: &str) -> Vec<Tag> {
    spec["triggers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["type"] == "ImageChange" && t["imageChangeParams"]["automatic"] == true)
        .filter_map(|t| Tag::parse(&t["imageChangeParams"]["from"], namespace))
        .collect()
}

/// A config with its automatic image triggers resolved (`resolve` answers a tag's image);
/// `None` when nothing changes, or when a trigger that never had an image still has none
/// (upstream gives up on the whole config then).
pub fn update_config(config: &Value, resolve: impl Fn(&Tag) -> Option<String>) -> Option<Value> {
    let namespace = config["metadata"]["namespace"].as_str().unwrap_or_default();
    let mut next = config.clone();
    let count = next["spec"]["triggers"].as_array().map_or(0, Vec::len);
    for i in 0..count {
        let trigger = &config["spec"]["triggers"][i];
        let params = &trigger["imageChangeParams"];
        if trigger["type"] != "ImageChange" || params["automatic"] != true {
            continue;
        }
        let Some(tag) = Tag::parse(&params["from"], namespace) else {
            continue;
        };
        let last = params["lastTriggeredImage"].as_str().unwrap_or_default();
        let image = match resolve(&tag) {
            Some(image) => image,
            None if last.is_empty() => return None,
            None => continue,
        };
        next["spec"]["triggers"][i]["imageChangeParams"]["lastTriggeredImage"] = json!(image);
        let names: Vec<&str> = params["containerNames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for list in ["initContainers", "containers"] {
            // Read with `pointer_mut`: indexing would add the lists a template lacks.
            for c in next
                .pointer_mut(&format!("/spec/template/spec/{list}"))
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if names.contains(&c["name"].as_str().unwrap_or_default()) {
                    c["image"] = json!(image);
                }
            }
        }
    }
    (next != *config).then_some(next)
}

/// Where a workload kind keeps its pod spec.
pub fn pod_spec_path(kind: &str) -> &'static str {
    match kind {
        "CronJob" => "spec.jobTemplate.spec.template.spec.",
        "Pod" => "spec.",
        _ => "spec.template.spec.",
    }
}

/// The triggers of a workload's annotation that are not paused: tag and field path.
pub fn annotation_triggers(
    annotation: &str,
    namespace: &str,
) -> Result<Vec<(Tag, String)>, String> {
    let list: Vec<Value> = serde_json::from_str(annotation).map_err(|e| e.to_string())?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for t in &list {
        let path = t["fieldPath"].as_str().unwrap_or_default().to_string();
        if !seen.insert(path.clone()) {
            return Err("duplicate triggers are not allowed".into());
        }
        if t["paused"] == true {
            continue;
        }
        if let Some(tag) = Tag::parse(&t["from"], namespace) {
            out.push((tag, path));
        }
    }
    Ok(out)
}

/// The container a field path names under `pod_spec` (`containers[?(@.name=="web")].image`,
/// `containers[0].image`, and the same for `initContainers`).
fn container_at<'a>(pod_spec: &'a mut Value, rest: &str) -> Result<&'a mut Value, String> {
    let invalid = || format!("field path is not valid: {rest}");
    let (list, selector) = rest.split_once('[').ok_or_else(invalid)?;
    if list != "containers" && list != "initContainers" {
        return Err(invalid());
    }
    let selector = selector.strip_suffix("].image").ok_or_else(invalid)?;
    let containers = pod_spec[list]
        .as_array_mut()
        .ok_or_else(|| format!("no such container: {rest}"))?;
    let found = if let Some(name) = selector
        .strip_prefix("?(@.name==\"")
        .and_then(|s| s.strip_suffix("\")"))
    {
        containers.iter_mut().find(|c| c["name"] == name)
    } else {
        let i: usize = selector.parse().map_err(|_| invalid())?;
        containers.get_mut(i)
    };
    found.ok_or_else(|| format!("no such container: {rest}"))
}

/// A workload with its annotation's triggers resolved; `None` when nothing changes.
pub fn update_annotated(
    object: &Value,
    kind: &str,
    resolve: impl Fn(&Tag) -> Option<String>,
) -> Result<Option<Value>, String> {
    let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default();
    let Some(annotation) = object["metadata"]["annotations"][TRIGGERS_ANNOTATION].as_str() else {
        return Ok(None);
    };
    let prefix = pod_spec_path(kind);
    let mut next = object.clone();
    let spec_path = prefix
        .trim_end_matches('.')
        .split('.')
        .fold(String::new(), |p, k| format!("{p}/{k}"));
    for (tag, path) in annotation_triggers(annotation, namespace)? {
        let Some(rest) = path.strip_prefix(prefix) else {
            continue;
        };
        let Some(image) = resolve(&tag) else { continue };
        let Some(pod_spec) = next.pointer_mut(&spec_path) else {
            continue;
        };
        let container = container_at(pod_spec, rest)?;
        if container["image"] != image.as_str() {
            container["image"] = json!(image);
        }
    }
    Ok((next != *object).then_some(next))
}

/// A JSON Patch key: `~` and `/` escaped.
fn escaped(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The JSON Patch operations that turn `old` into `new` under `path`: objects and arrays of
/// the same length are walked, anything else that differs is replaced whole.
fn diff(path: &str, old: &Value, new: &Value, ops: &mut Vec<Value>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in b {
                let at = format!("{path}/{}", escaped(key));
                match a.get(key) {
                    Some(before) => diff(&at, before, value, ops),
                    None => ops.push(json!({"op": "add", "path": at, "value": value})),
                }
            }
            for key in a.keys().filter(|k| !b.contains_key(*k)) {
                ops.push(json!({"op": "remove", "path": format!("{path}/{}", escaped(key))}));
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (before, value)) in a.iter().zip(b).enumerate() {
                diff(&format!("{path}/{i}"), before, value, ops);
            }
        }
        _ if old != new => ops.push(json!({"op": "replace", "path": path, "value": new})),
        _ => {}
    }
}

/// A JSON Patch writing `next`'s spec over `object`'s, applied only if the object is still
/// the one it was computed from: same uid, same spec (its generation) and same trigger
/// annotation. Writes to its status or other metadata do not stand in its way.
pub fn guarded_patch(object: &Value, next: &Value) -> Value {
    let meta = &object["metadata"];
    let mut ops = vec![json!({"op": "test", "path": "/metadata/uid", "value": meta["uid"]})];
    match meta.get("generation") {
        Some(generation) => {
            ops.push(json!({"op": "test", "path": "/metadata/generation", "value": generation}));
        }
        None => ops.push(
            json!({"op": "test", "path": "/metadata/resourceVersion", "value": meta["resourceVersion"]}),
        ),
    }
    let annotation = format!("/metadata/annotations/{}", escaped(TRIGGERS_ANNOTATION));
    if let Some(value) = object.pointer(&annotation) {
        ops.push(json!({"op": "test", "path": annotation, "value": value}));
    }
    diff("/spec", &object["spec"], &next["spec"], &mut ops);
    Value::Array(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(_: &Tag) -> Option<String> {
        Some("quay.io/web@sha256:b".into())
    }

    #[test]
    fn a_config_takes_its_tags_image() {
        let config = json!({"metadata": {"namespace": "p"}, "spec": {
            "triggers": [{"type": "ImageChange", "imageChangeParams": {"automatic": true,
                "containerNames": ["web"], "from": {"kind": "ImageStreamTag", "name": "web:latest"}}}],
            "template": {"spec": {"containers": [{"name": "web", "image": " "}, {"name": "side", "image": "s"}]}}}});
        assert_eq!(config_tags(&config["spec"], "p")[0].stream_key(), "p/web");
        let next = update_config(&config, image).unwrap();
        assert_eq!(
            next["spec"]["template"]["spec"]["containers"][0]["image"],
            "quay.io/web@sha256:b"
        );
        assert_eq!(
            next["spec"]["template"]["spec"]["containers"][1]["image"],
            "s"
        );
        assert_eq!(
            next["spec"]["triggers"][0]["imageChangeParams"]["lastTriggeredImage"],
            "quay.io/web@sha256:b"
        );
        assert!(update_config(&next, image).is_none());
        assert!(update_config(&config, |_| None).is_none());
    }

    #[test]
    fn an_annotated_workload_takes_its_tags_image() {
        let annotation = r#"[{"from":{"kind":"ImageStreamTag","name":"web:latest"},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image"}]"#;
        let deployment = json!({"metadata": {"namespace": "p", "annotations": {TRIGGERS_ANNOTATION: annotation}},
            "spec": {"template": {"spec": {"containers": [{"name": "web", "image": " "}]}}}});
        let next = update_annotated(&deployment, "Deployment", image)
            .unwrap()
            .unwrap();
        assert_eq!(
            next["spec"]["template"]["spec"]["containers"][0]["image"],
            "quay.io/web@sha256:b"
        );
        let twice =
            r#"[{"from":{"name":"a:b"},"fieldPath":"x"},{"from":{"name":"a:b"},"fieldPath":"x"}]"#;
        assert_eq!(
            annotation_triggers(twice, "p").unwrap_err(),
            "duplicate triggers are not allowed"
        );
        let cron = json!({"metadata": {"namespace": "p", "annotations": {TRIGGERS_ANNOTATION:
            r#"[{"from":{"kind":"ImageStreamTag","name":"web:latest"},"fieldPath":"spec.jobTemplate.spec.template.spec.containers[0].image"}]"#}},
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "old"}]}}}}}});
        let next = update_annotated(&cron, "CronJob", image).unwrap().unwrap();
        assert_eq!(
            next["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"],
            "quay.io/web@sha256:b"
        );
    }

    #[test]
    fn the_patch_writes_only_what_changed_and_is_guarded() {
        let annotation = r#"[{"from":{"kind":"ImageStreamTag","name":"web:latest"},"fieldPath":"spec.template.spec.containers[0].image"}]"#;
        let deployment = json!({"metadata": {"namespace": "p", "uid": "u", "generation": 3,
                "resourceVersion": "9", "annotations": {TRIGGERS_ANNOTATION: annotation}},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "web", "image": "old"}]}}},
            "status": {"replicas": 1}});
        let next = update_annotated(&deployment, "Deployment", image)
            .unwrap()
            .unwrap();
        assert_eq!(
            guarded_patch(&deployment, &next),
            json!([
                {"op": "test", "path": "/metadata/uid", "value": "u"},
                {"op": "test", "path": "/metadata/generation", "value": 3},
                {"op": "test", "path": "/metadata/annotations/image.openshift.io~1triggers", "value": annotation},
                {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "quay.io/web@sha256:b"},
            ])
        );
        // A config's trigger gains the image it last triggered.
        let config = json!({"metadata": {"namespace": "p", "uid": "u", "generation": 1}, "spec": {
            "triggers": [{"type": "ImageChange", "imageChangeParams": {"automatic": true,
                "containerNames": ["web"], "from": {"kind": "ImageStreamTag", "name": "web:latest"}}}],
            "template": {"spec": {"containers": [{"name": "web", "image": " "}]}}}});
        let next = update_config(&config, image).unwrap();
        let ops = guarded_patch(&config, &next);
        assert_eq!(
            ops[2],
            json!({"op": "add", "path": "/spec/triggers/0/imageChangeParams/lastTriggeredImage", "value": "quay.io/web@sha256:b"})
        );
        assert_eq!(ops.as_array().unwrap().len(), 4);
        // Without a generation, the resourceVersion guards it.
        let mut bare = config.clone();
        bare["metadata"] = json!({"uid": "u", "resourceVersion": "7", "namespace": "p"});
        assert_eq!(
            guarded_patch(&bare, &next)[1],
            json!({"op": "test", "path": "/metadata/resourceVersion", "value": "7"})
        );
    }

    #[test]
    fn local_reference_policy_pulls_by_digest() {
        let stream = json!({"spec": {"tags": [{"name": "latest", "referencePolicy": {"type": "Local"}}]},
            "status": {"dockerImageRepository": "127.0.0.1:5000/p/web", "tags": [{"tag": "latest",
                "items": [{"dockerImageReference": "quay.io/web@sha256:b", "image": "sha256:b"}]}]}});
        assert_eq!(
            resolve(&stream, "latest").as_deref(),
            Some("127.0.0.1:5000/p/web@sha256:b")
        );
        assert_eq!(resolve(&stream, "v2"), None);
    }
}
