//! An image stream's tag history (`status.tags[].items[]`, newest first) and what upstream's
//! helpers do with it: events added (collapsing repeats of the newest), conditions, tags that
//! track another tag of the same stream, image IDs resolved by prefix, and the pull spec a
//! consumer should use for an event. Streams are JSON in the v1 shape; `status.tags` is kept
//! sorted by tag name, as upstream emits it.

use serde_json::{Map, Value, json};

use crate::digest::digest_or_image_match;
use crate::reference::{DEFAULT_TAG, DockerImageReference};

/// The status tag `tag` of `stream` (`{tag, items, conditions}`).
pub fn status_tag<'a>(stream: &'a Value, tag: &str) -> Option<&'a Value> {
    stream["status"]["tags"]
        .as_array()?
        .iter()
        .find(|t| t["tag"] == tag)
}

/// The spec tag `tag` of `stream`.
pub fn spec_tag<'a>(stream: &'a Value, tag: &str) -> Option<&'a Value> {
    stream["spec"]["tags"]
        .as_array()?
        .iter()
        .find(|t| t["name"] == tag)
}

/// The newest event of `tag` (`latest` when empty).
pub fn latest_tagged_image<'a>(stream: &'a Value, tag: &str) -> Option<&'a Value> {
    let tag = if tag.is_empty() { DEFAULT_TAG } else { tag };
    status_tag(stream, tag)?["items"].as_array()?.first()
}

/// The status tag `tag`, created (in name order) if missing.
fn status_tag_mut<'a>(stream: &'a mut Value, tag: &str) -> &'a mut Value {
    if !stream["status"].is_object() {
        stream["status"] = json!({});
    }
    let mut tags = match stream["status"]["tags"].take() {
        Value::Array(tags) => tags,
        _ => Vec::new(),
    };
    let at = match tags.iter().position(|t| t["tag"] == tag) {
        Some(i) => i,
        None => {
            let at = tags
                .iter()
                .position(|t| t["tag"].as_str().unwrap_or_default() > tag)
                .unwrap_or(tags.len());
            tags.insert(at, json!({"tag": tag, "items": []}));
            at
        }
    };
    stream["status"]["tags"] = Value::Array(tags);
    &mut stream["status"]["tags"][at]
}

fn same(a: &Value, b: &Value, field: &str) -> bool {
    let text = |v: &Value| v[field].as_str().unwrap_or_default().to_string();
    match field {
        "generation" => a[field].as_i64().unwrap_or(0) == b[field].as_i64().unwrap_or(0),
        _ => text(a) == text(b),
    }
}

/// Adds `next` as the newest event of `tag` unless it repeats the newest one: a repeat with
/// another generation, image or reference updates the newest event in place. Any change
/// clears the tag's conditions. Whether anything changed.
pub fn add_tag_event(stream: &mut Value, tag: &str, next: Value) -> bool {
    let entry = status_tag_mut(stream, tag);
    let items = entry["items"].as_array().cloned().unwrap_or_default();
    let Some(previous) = items.first() else {
        *entry = json!({"tag": tag, "items": [next]});
        return true;
    };
    let same_ref = same(previous, &next, "dockerImageReference");
    let same_image = same(previous, &next, "image");
    let same_gen = same(previous, &next, "generation");
    let mut items = items.clone();
    match (same_ref, same_image, same_gen) {
        (true, true, true) => return false,
        (true, true, false) => items[0]["generation"] = next["generation"].clone(),
        (true, false, _) => {
            items[0]["image"] = next["image"].clone();
            items[0]["generation"] = next["generation"].clone();
        }
        (false, true, _) => {
            items[0]["dockerImageReference"] = next["dockerImageReference"].clone();
            items[0]["generation"] = next["generation"].clone();
        }
        (false, false, _) => items.insert(0, next),
    }
    entry["items"] = Value::Array(items);
    if let Some(map) = entry.as_object_mut() {
        map.remove("conditions");
    }
    true
}

/// Records `condition` on `tag`: set when the tag has none, else only the first condition's
/// generation moves on.
pub fn add_tag_condition(stream: &mut Value, tag: &str, condition: Value) {
    let entry = status_tag_mut(stream, tag);
    match entry["conditions"].as_array_mut() {
        Some(conditions) if !conditions.is_empty() => {
            conditions[0]["generation"] = condition["generation"].clone();
        }
        _ => entry["conditions"] = json!([condition]),
    }
}

/// The pull spec a consumer of `event` (of `tag`) should use: the stream's own repository by
/// digest when the tag's reference policy is `Local`, else the event's reference.
pub fn resolve_reference_for_tag_event(stream: &Value, tag: &str, event: &Value) -> String {
    let reference = event["dockerImageReference"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let local = spec_tag(stream, tag).is_some_and(|t| t["referencePolicy"]["type"] == "Local");
    let repository = stream["status"]["dockerImageRepository"]
        .as_str()
        .unwrap_or_default();
    let image = event["image"].as_str().unwrap_or_default();
    if !local || repository.is_empty() || image.is_empty() {
        return reference;
    }
    match DockerImageReference::parse(repository) {
        Ok(mut r) => {
            r.tag.clear();
            r.id = image.to_string();
            r.exact()
        }
        Err(_) => reference,
    }
}

/// The tag a spec tag of `stream` tracks inside the same stream (`<tag>` or
/// `<stream>:<tag>` of kind ImageStreamTag, same namespace), if any.
pub fn tracked_tag<'a>(stream: &Value, spec: &'a Value) -> Option<&'a str> {
    let from = &spec["from"];
    if from["kind"] != "ImageStreamTag" {
        return None;
    }
    let ns = from["namespace"].as_str().unwrap_or_default();
    if !ns.is_empty() && ns != stream["metadata"]["namespace"].as_str().unwrap_or_default() {
        return None;
    }
    let name = from["name"].as_str()?;
    match name.split_once(':') {
        None => Some(name),
        Some((s, tag)) if s == stream["metadata"]["name"].as_str().unwrap_or_default() => Some(tag),
        Some(_) => None,
    }
}

/// Tags of `stream` that track `updated` take its newest event (and its first condition).
/// How many changed.
pub fn update_tracking_tags(stream: &mut Value, updated: &str) -> usize {
    let Some(event) = latest_tagged_image(stream, updated).cloned() else {
        return 0;
    };
    let condition = status_tag(stream, updated)
        .and_then(|t| t["conditions"].as_array())
        .and_then(|c| c.first())
        .cloned();
    let trackers: Vec<String> = stream["spec"]["tags"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .filter(|t| t["name"] != updated)
                .filter(|t| tracked_tag(stream, t) == Some(updated))
                .filter_map(|t| t["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut changed = 0;
    for tag in trackers {
        if add_tag_event(stream, &tag, event.clone()) {
            changed += 1;
        }
        if let Some(c) = &condition {
            add_tag_condition(stream, &tag, c.clone());
        }
    }
    changed
}

/// Why an image ID did not resolve to one image of a stream.
#[derive(Debug, PartialEq, Eq)]
pub enum ResolveError {
    NotFound,
    /// Upstream's Conflict message: `multiple images match the prefix "<id>": <a>, <b>`.
    Ambiguous(String),
}

/// The one image of `stream`'s history that `id` names (by prefix), as a fresh event
/// (without `created` and `generation`, which the caller sets).
pub fn resolve_image_id(stream: &Value, id: &str) -> Result<Value, ResolveError> {
    let mut found: Option<&Value> = None;
    let mut images: Vec<&str> = Vec::new();
    for tag in stream["status"]["tags"].as_array().into_iter().flatten() {
        for item in tag["items"].as_array().into_iter().flatten() {
            let image = item["image"].as_str().unwrap_or_default();
            if digest_or_image_match(image, id) {
                found = Some(item);
                if !images.contains(&image) {
                    images.push(image);
                }
            }
        }
    }
    match (images.len(), found) {
        (1, Some(item)) => Ok(json!({
            "dockerImageReference": item["dockerImageReference"],
            "image": item["image"],
        })),
        (0, _) | (_, None) => Err(ResolveError::NotFound),
        _ => {
            images.sort_unstable();
            Err(ResolveError::Ambiguous(format!(
                "multiple images match the prefix {id:?}: {}",
                images.join(", ")
            )))
        }
    }
}

/// The newest generation of `tag` the import controller has seen: of its newest event, or of
/// its first `ImportSuccess` condition, whichever is greater.
pub fn latest_observed_tag_generation(stream: &Value, tag: &str) -> i64 {
    let Some(entry) = status_tag(stream, tag) else {
        return 0;
    };
    let from_event = entry["items"][0]["generation"].as_i64().unwrap_or(0);
    let from_condition = entry["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "ImportSuccess"))
        .and_then(|c| c["generation"].as_i64())
        .unwrap_or(0);
    from_event.max(from_condition)
}

/// Every image ID in `stream`'s history (all tags, all items), each once.
pub fn history_images(stream: &Value) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for tag in stream["status"]["tags"].as_array().into_iter().flatten() {
        for item in tag["items"].as_array().into_iter().flatten() {
            if let Some(image) = item["image"].as_str().filter(|i| !i.is_empty())
                && !seen.iter().any(|s| s == image)
            {
                seen.push(image.to_string());
            }
        }
    }
    seen
}

/// Sets the spec tag `tag` of `stream` to `reference` (its name forced), keeping the list
/// sorted by name.
pub fn set_spec_tag(stream: &mut Value, tag: &str, mut reference: Value) {
    if let Some(map) = reference.as_object_mut() {
        map.insert("name".into(), json!(tag));
    }
    if !stream["spec"].is_object() {
        stream["spec"] = Value::Object(Map::new());
    }
    let tags = &mut stream["spec"]["tags"];
    if !tags.is_array() {
        *tags = json!([]);
    }
    if let Some(list) = tags.as_array_mut() {
        match list.iter().position(|t| t["name"] == tag) {
            Some(i) => list[i] = reference,
            None => {
                let at = list
                    .iter()
                    .position(|t| t["name"].as_str().unwrap_or_default() > tag)
                    .unwrap_or(list.len());
                list.insert(at, reference);
            }
        }
    }
}

/// Removes the spec and status tag `tag`; whether either existed.
pub fn remove_tag(stream: &mut Value, tag: &str) -> bool {
    let mut removed = false;
    for (part, key) in [("spec", "name"), ("status", "tag")] {
        if let Some(list) = stream[part]["tags"].as_array_mut() {
            let before = list.len();
            list.retain(|t| t[key] != tag);
            removed |= list.len() != before;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(reference: &str, image: &str, generation: i64) -> Value {
        json!({"created": "2026-01-01T00:00:00Z", "dockerImageReference": reference, "image": image, "generation": generation})
    }

    fn stream() -> Value {
        json!({"metadata": {"name": "app", "namespace": "ns"}, "spec": {"tags": []}, "status": {}})
    }

    #[test]
    fn events_collapse_onto_the_newest_and_clear_conditions() {
        let mut s = stream();
        assert!(add_tag_event(&mut s, "v1", event("r@a", "a", 1)));
        assert!(!add_tag_event(&mut s, "v1", event("r@a", "a", 1)));
        add_tag_condition(
            &mut s,
            "v1",
            json!({"type": "ImportSuccess", "status": "False", "generation": 2}),
        );
        assert!(add_tag_event(&mut s, "v1", event("r@a", "a", 3)));
        assert_eq!(
            status_tag(&s, "v1").map(|t| t.get("conditions").is_none()),
            Some(true)
        );
        assert_eq!(
            s["status"]["tags"][0]["items"].as_array().map(Vec::len),
            Some(1)
        );
        assert!(add_tag_event(&mut s, "v1", event("r@b", "b", 4)));
        assert_eq!(s["status"]["tags"][0]["items"][0]["image"], "b");
        assert_eq!(
            s["status"]["tags"][0]["items"].as_array().map(Vec::len),
            Some(2)
        );
        // Same image, new reference: updated in place.
        assert!(add_tag_event(&mut s, "v1", event("other@b", "b", 4)));
        assert_eq!(
            s["status"]["tags"][0]["items"].as_array().map(Vec::len),
            Some(2)
        );
        add_tag_event(&mut s, "a", event("r@a", "a", 1));
        assert_eq!(s["status"]["tags"][0]["tag"], "a");
    }

    #[test]
    fn conditions_keep_their_first_message() {
        let mut s = stream();
        add_tag_condition(
            &mut s,
            "t",
            json!({"type": "ImportSuccess", "message": "one", "generation": 1}),
        );
        add_tag_condition(
            &mut s,
            "t",
            json!({"type": "ImportSuccess", "message": "two", "generation": 2}),
        );
        let c = &status_tag(&s, "t")
            .map(|t| t["conditions"][0].clone())
            .unwrap_or_default();
        assert_eq!(
            (c["message"].as_str(), c["generation"].as_i64()),
            (Some("one"), Some(2))
        );
        assert_eq!(latest_observed_tag_generation(&s, "t"), 2);
    }

    #[test]
    fn tracking_tags_follow_their_source() {
        let mut s = stream();
        set_spec_tag(
            &mut s,
            "latest",
            json!({"from": {"kind": "ImageStreamTag", "name": "v1"}}),
        );
        set_spec_tag(
            &mut s,
            "stable",
            json!({"from": {"kind": "ImageStreamTag", "name": "app:v1"}}),
        );
        set_spec_tag(
            &mut s,
            "other",
            json!({"from": {"kind": "ImageStreamTag", "name": "x:v1"}}),
        );
        add_tag_event(&mut s, "v1", event("r@a", "a", 1));
        assert_eq!(update_tracking_tags(&mut s, "v1"), 2);
        assert_eq!(
            latest_tagged_image(&s, "").map(|e| e["image"].clone()),
            Some(json!("a"))
        );
        assert!(latest_tagged_image(&s, "other").is_none());
        assert!(remove_tag(&mut s, "stable"));
        assert!(!remove_tag(&mut s, "stable"));
    }

    #[test]
    fn image_ids_resolve_by_prefix_or_conflict() {
        let mut s = stream();
        add_tag_event(&mut s, "a", event("r@sha256:aa11", "sha256:aa11", 1));
        add_tag_event(&mut s, "b", event("r@sha256:aa22", "sha256:aa22", 1));
        assert_eq!(
            resolve_image_id(&s, "sha256:aa1").map(|e| e["image"].clone()),
            Ok(json!("sha256:aa11"))
        );
        assert_eq!(
            resolve_image_id(&s, "sha256:bb"),
            Err(ResolveError::NotFound)
        );
        assert_eq!(
            resolve_image_id(&s, "sha256:aa"),
            Err(ResolveError::Ambiguous(
                "multiple images match the prefix \"sha256:aa\": sha256:aa11, sha256:aa22".into()
            ))
        );
        assert_eq!(history_images(&s).len(), 2);
    }

    #[test]
    fn local_reference_policy_points_at_the_stream() {
        let mut s = stream();
        s["status"]["dockerImageRepository"] = json!("registry:5000/ns/app");
        set_spec_tag(&mut s, "v1", json!({"referencePolicy": {"type": "Local"}}));
        let d = crate::digest::sha256(b"x");
        let e = event(&format!("quay.io/x/y@{d}"), &d, 1);
        assert_eq!(
            resolve_reference_for_tag_event(&s, "v1", &e),
            format!("registry:5000/ns/app@{d}")
        );
        assert_eq!(
            resolve_reference_for_tag_event(&s, "v2", &e),
            format!("quay.io/x/y@{d}")
        );
    }
}
