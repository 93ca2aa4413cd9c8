//! Which tags of a stream need importing, and the ImageStreamImport that asks for them
//! (upstream's image import controller): importable tags (`DockerImage`, not reference-only)
//! whose spec generation is newer than what the import last observed, or everything
//! importable when the stream was never checked against its repository.

use serde_json::{Value, json};

pub const REPOSITORY_CHECK: &str = "openshift.io/image.dockerRepositoryCheck";

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or_default()
}

/// Whether a spec tag is imported from a registry.
pub fn importable(tag: &Value) -> bool {
    tag["from"]["kind"] == "DockerImage" && tag["reference"] != true
}

/// The newest generation an import of `tag` was seen for: its newest event's, or its first
/// `ImportSuccess` condition's.
fn observed(stream: &Value, tag: &str) -> i64 {
    let Some(entry) = stream["status"]["tags"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["tag"] == tag))
    else {
        return 0;
    };
    let event = entry["items"][0]["generation"].as_i64().unwrap_or(0);
    let condition = entry["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "ImportSuccess"))
        .and_then(|c| c["generation"].as_i64())
        .unwrap_or(0);
    event.max(condition)
}

/// Whether `tag` waits for an import (`unknown`: what a tag without generation counts as).
fn needs_import(stream: &Value, tag: &Value, unknown: bool) -> bool {
    if !importable(tag) {
        return false;
    }
    match tag["generation"].as_i64() {
        None => unknown,
        Some(g) => g > observed(stream, text(tag, "name")),
    }
}

/// One entry of `spec.images`.
fn image_entry(tag: &Value) -> Value {
    let mut entry = json!({"from": {"kind": "DockerImage", "name": tag["from"]["name"]}, "to": {"name": tag["name"]}});
    if tag["importPolicy"].is_object() {
        entry["importPolicy"] = tag["importPolicy"].clone();
    }
    if tag["referencePolicy"].is_object() {
        entry["referencePolicy"] = tag["referencePolicy"].clone();
    }
    entry
}

/// The ImageStreamImport the stream needs, if any. `tags` narrows it to those tags when
/// given (the scheduled importer's re-imports, which need no generation change).
pub fn import_for(stream: &Value, only: Option<&[String]>) -> Option<Value> {
    let meta = &stream["metadata"];
    let tags: Vec<&Value> = stream["spec"]["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let checked = meta["annotations"][REPOSITORY_CHECK].is_string();
    let repository = text(&stream["spec"], "dockerImageRepository");
    let full = !checked && !repository.is_empty();
    let chosen: Vec<Value> = match only {
        Some(names) => tags
            .iter()
            .filter(|t| importable(t) && names.iter().any(|n| n == text(t, "name")))
            .map(|t| image_entry(t))
            .collect(),
        None => tags
            .iter()
            .filter(|t| {
                if checked {
                    needs_import(stream, t, false)
                } else {
                    importable(t)
                }
            })
            .map(|t| image_entry(t))
            .collect(),
    };
    if chosen.is_empty() && !full {
        return None;
    }
    let mut spec = json!({"import": true, "images": chosen});
    if full {
        let insecure = meta["annotations"]["openshift.io/image.insecureRepository"] == "true";
        spec["repository"] = json!({"from": {"kind": "DockerImage", "name": repository}, "importPolicy": {"insecure": insecure}});
    }
    Some(json!({
        "apiVersion": "image.openshift.io/v1",
        "kind": "ImageStreamImport",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                     "resourceVersion": meta["resourceVersion"], "uid": meta["uid"]},
        "spec": spec,
    }))
}

/// The tags of `stream` scheduled for periodic import: importable, `importPolicy.scheduled`,
/// and not a digest already imported once. `None` when a tag's source does not parse (the
/// stream is not scheduled at all, as upstream).
pub fn scheduled_tags(stream: &Value) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for tag in stream["spec"]["tags"].as_array().into_iter().flatten() {
        if !importable(tag) || tag["importPolicy"]["scheduled"] != true {
            continue;
        }
        let from = text(&tag["from"], "name");
        let reference = images::DockerImageReference::parse(from).ok()?;
        let name = text(tag, "name");
        let imported = stream["status"]["tags"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["tag"] == name))
            .is_some_and(|t| t["items"].as_array().is_some_and(|i| !i.is_empty()));
        if images::digest::is_digest(&reference.id) && imported {
            continue;
        }
        out.push(name.to_string());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(tags: Value, status: Value, checked: bool) -> Value {
        let annotations = if checked {
            json!({REPOSITORY_CHECK: "2026-01-01T00:00:00Z"})
        } else {
            json!({})
        };
        json!({"metadata": {"name": "app", "namespace": "p", "resourceVersion": "5", "uid": "u", "annotations": annotations},
               "spec": {"tags": tags}, "status": {"tags": status}})
    }

    #[test]
    fn only_newer_generations_are_imported_once_checked() {
        let tags = json!([
            {"name": "a", "from": {"kind": "DockerImage", "name": "quay.io/x/a:1"}, "generation": 2},
            {"name": "b", "from": {"kind": "DockerImage", "name": "quay.io/x/b:1"}, "generation": 1},
            {"name": "c", "from": {"kind": "DockerImage", "name": "quay.io/x/c:1"}, "generation": 3, "reference": true},
            {"name": "d", "from": {"kind": "ImageStreamTag", "name": "a"}, "generation": 3}
        ]);
        let status = json!([
            {"tag": "a", "items": [{"generation": 1}]},
            {"tag": "b", "items": [{"generation": 1}]}
        ]);
        let isi = import_for(&stream(tags.clone(), status.clone(), true), None).unwrap_or_default();
        assert_eq!(
            isi["spec"]["images"].as_array().map(Vec::len),
            Some(1),
            "{isi}"
        );
        assert_eq!(isi["spec"]["images"][0]["to"]["name"], "a");
        assert_eq!(isi["metadata"]["resourceVersion"], "5");
        // Never checked: every importable tag.
        let isi = import_for(&stream(tags, status, false), None).unwrap_or_default();
        assert_eq!(isi["spec"]["images"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn failed_imports_count_as_observed() {
        let tags = json!([{"name": "a", "from": {"kind": "DockerImage", "name": "quay.io/x/a:1"}, "generation": 2}]);
        let status = json!([{"tag": "a", "items": [], "conditions": [{"type": "ImportSuccess", "status": "False", "generation": 2}]}]);
        assert!(import_for(&stream(tags, status, true), None).is_none());
    }

    #[test]
    fn scheduled_tags_skip_imported_digests() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let tags = json!([
            {"name": "a", "from": {"kind": "DockerImage", "name": "quay.io/x/a:1"}, "importPolicy": {"scheduled": true}},
            {"name": "b", "from": {"kind": "DockerImage", "name": format!("quay.io/x/b@{digest}")}, "importPolicy": {"scheduled": true}},
            {"name": "c", "from": {"kind": "DockerImage", "name": "quay.io/x/c:1"}}
        ]);
        let status = json!([{"tag": "b", "items": [{"generation": 1}]}]);
        assert_eq!(
            scheduled_tags(&stream(tags, status, true)),
            Some(vec!["a".to_string()])
        );
    }
}
