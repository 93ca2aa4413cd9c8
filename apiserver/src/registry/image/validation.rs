//! Upstream's field rules for image streams and their tag references, in its words.

use images::DockerImageReference;
use serde_json::Value;

use crate::registry::validation::FieldErrors;
use crate::registry::validation::{Bad, bad, key};

const NAME_PATTERN: &str = "[a-z0-9]+(?:[._-][a-z0-9]+)*";

/// Whether `name` matches `[a-z0-9]+(?:[._-][a-z0-9]+)*`.
fn stream_name_ok(name: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !name.is_empty()
        && name
            .split(['.', '_', '-'])
            .all(|part| !part.is_empty() && part.chars().all(alnum))
}

/// An image stream's name, spec and status history.
pub fn stream(obj: &Value, errors: &mut FieldErrors) {
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let namespace = obj["metadata"]["namespace"].as_str().unwrap_or_default();
    if !stream_name_ok(name) {
        errors.invalid(
            "metadata.name",
            Bad::Str(name),
            &format!("must match {NAME_PATTERN:?}"),
        );
    }
    if namespace.len() + 1 + name.len() > 255 {
        errors.invalid(
            "metadata.name",
            Bad::Str(name),
            "'namespace/name' cannot be longer than 255 characters",
        );
    }
    if let Some(repo) = obj["spec"]["dockerImageRepository"]
        .as_str()
        .filter(|r| !r.is_empty())
    {
        let path = "spec.dockerImageRepository";
        match DockerImageReference::parse(repo) {
            Err(e) => errors.invalid(path, Bad::Str(repo), &e.to_string()),
            Ok(r) if !r.tag.is_empty() => errors.invalid(
                path,
                Bad::Str(repo),
                "the repository name may not contain a tag",
            ),
            Ok(r) if !r.id.is_empty() => errors.invalid(
                path,
                Bad::Str(repo),
                "the repository name may not contain an ID",
            ),
            Ok(_) => {}
        }
    }
    for tag in obj["spec"]["tags"].as_array().into_iter().flatten() {
        let name = tag["name"].as_str().unwrap_or_default();
        tag_reference(&key("spec.tags", name), tag, errors);
    }
    for tag in obj["status"]["tags"].as_array().into_iter().flatten() {
        let name = tag["tag"].as_str().unwrap_or_default();
        for (i, item) in tag["items"].as_array().into_iter().flatten().enumerate() {
            let path = format!(
                "{}.items[{i}].dockerImageReference",
                key("status.tags", name)
            );
            match item["dockerImageReference"].as_str().unwrap_or_default() {
                "" => errors.required(&path, ""),
                r => {
                    if let Err(e) = DockerImageReference::parse(r) {
                        errors.invalid(&path, Bad::Str(r), &e.to_string());
                    }
                }
            }
        }
    }
}

/// A tag reference (`spec.tags[t]`, an ImageStreamTag's `tag`) at `path`.
pub fn tag_reference(path: &str, tag: &Value, errors: &mut FieldErrors) {
    let from = &tag["from"];
    let kind = from["kind"].as_str().unwrap_or_default();
    if from.is_object() {
        let name = from["name"].as_str().unwrap_or_default();
        match kind {
            "DockerImage" | "ImageStreamImage" | "ImageStreamTag" if name.is_empty() => {
                errors.required(&format!("{path}.from.name"), "")
            }
            "DockerImage" => {
                if let Err(e) = DockerImageReference::parse(name) {
                    errors.invalid(&format!("{path}.from.name"), Bad::Str(name), &e.to_string());
                }
            }
            "ImageStreamImage" | "ImageStreamTag" => {}
            _ => errors.required(
                &format!("{path}.from.kind"),
                "valid values are 'DockerImage', 'ImageStreamImage', 'ImageStreamTag'",
            ),
        }
    }
    if tag["importPolicy"]["scheduled"] == true && kind != "DockerImage" {
        errors.invalid(
            &format!("{path}.importPolicy.scheduled"),
            Bad::Go("true".into()),
            "only tags pointing to Docker repositories may be scheduled for background import",
        );
    }
    match &tag["referencePolicy"]["type"] {
        Value::Null => {}
        Value::String(t) if t == "Source" || t == "Local" || t.is_empty() => {}
        other => errors.invalid(
            &format!("{path}.referencePolicy.type"),
            bad(other),
            "valid values are \"Source\", \"Local\"",
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn messages(obj: Value) -> String {
        let mut errors = FieldErrors::default();
        stream(&obj, &mut errors);
        errors.summary()
    }

    #[test]
    fn names_and_repositories() {
        assert_eq!(
            messages(json!({"metadata": {"name": "a..b", "namespace": "n"}})),
            "metadata.name: Invalid value: \"a..b\": must match \"[a-z0-9]+(?:[._-][a-z0-9]+)*\""
        );
        assert_eq!(
            messages(
                json!({"metadata": {"name": "a", "namespace": "n"}, "spec": {"dockerImageRepository": "quay.io/a/b:v1"}})
            ),
            "spec.dockerImageRepository: Invalid value: \"quay.io/a/b:v1\": the repository name may not contain a tag"
        );
    }

    #[test]
    fn spec_tags() {
        let obj = json!({"metadata": {"name": "a", "namespace": "n"}, "spec": {"tags": [
            {"name": "x", "from": {"kind": "DockerImage", "name": ""}},
            {"name": "y", "from": {"kind": "Pod", "name": "p"}},
            {"name": "z", "from": {"kind": "ImageStreamTag", "name": "a:b"}, "importPolicy": {"scheduled": true}, "referencePolicy": {"type": "Remote"}},
            {"name": "w", "from": {"kind": "DockerImage", "name": "Bad"}}
        ]}});
        assert_eq!(
            messages(obj),
            "[spec.tags[x].from.name: Required value, \
              spec.tags[y].from.kind: Required value: valid values are 'DockerImage', 'ImageStreamImage', 'ImageStreamTag', \
              spec.tags[z].importPolicy.scheduled: Invalid value: true: only tags pointing to Docker repositories may be scheduled for background import, \
              spec.tags[z].referencePolicy.type: Invalid value: \"Remote\": valid values are \"Source\", \"Local\", \
              spec.tags[w].from.name: Invalid value: \"Bad\": invalid reference format: repository name must be lowercase]"
        );
    }
}
