//! Spec tags that are new or point elsewhere become status history (upstream's
//! `tagsChanged`): a `DockerImage` reference tag records its pull spec, an `ImageStreamTag`
//! takes the newest event of its source tag, an `ImageStreamImage` the image its ID names.
//! Plain `DockerImage` tags are left to the import controller.

use images::DockerImageReference;
use images::tags::{ResolveError, add_tag_event, resolve_image_id, update_tracking_tags};
use serde_json::{Value, json};

use super::config::ImageConfig;
use crate::ApiServer;
use crate::error::ApiError;
use crate::registry::validation::{Bad, FieldErrors, key};

const WRONG_FORM: &str = "must be of the form <tag>, <repo>:<tag>, <id>, or <repo>@<id>";

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or_default()
}

/// Whether a spec tag points somewhere else than it did (a changed kind alone, import or
/// reference policy do not count).
pub fn tag_ref_changed(old: &Value, new: &Value, namespace: &str) -> bool {
    let from = &new["from"];
    if !from.is_object() || (text(from, "kind").is_empty() && text(from, "name").is_empty()) {
        return false;
    }
    let old_from = &old["from"];
    if !old_from.is_object() {
        return true;
    }
    let ns = |f: &Value| match text(f, "namespace") {
        "" => namespace.to_string(),
        n => n.to_string(),
    };
    let generation = |t: &Value| t["generation"].as_i64().unwrap_or(0);
    ns(old_from) != ns(from)
        || text(old_from, "name") != text(from, "name")
        || old["reference"].as_bool().unwrap_or(false)
            != new["reference"].as_bool().unwrap_or(false)
        || (generation(old) != 0 && generation(new) == 0)
}

/// The spec tags of `stream` that are new or changed against `old`.
pub fn changed_tags(stream: &Value, old: Option<&Value>) -> Vec<Value> {
    let namespace = text(&stream["metadata"], "namespace");
    stream["spec"]["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|tag| {
            let previous = old.and_then(|o| images::tags::spec_tag(o, text(tag, "name")));
            previous.is_none_or(|p| tag_ref_changed(p, tag, namespace))
        })
        .cloned()
        .collect()
}

/// Records the events of the changed spec tags in `stream`'s status; `created` stamps them.
/// Problems come back as upstream's wrapped Invalid.
pub async fn record(
    server: &ApiServer,
    config: &ImageConfig,
    stream: &mut Value,
    old: Option<&Value>,
    created: &str,
) -> Result<(), ApiError> {
    let namespace = text(&stream["metadata"], "namespace").to_string();
    let name = text(&stream["metadata"], "name").to_string();
    let mut errors = FieldErrors::default();
    for tag in changed_tags(stream, old) {
        let from = &tag["from"];
        if !from.is_object() {
            continue;
        }
        let tag_name = text(&tag, "name").to_string();
        let generation = tag["generation"].clone();
        let path = format!("{}.from.name", key("spec.tags", &tag_name));
        let from_name = text(from, "name");
        let event = match text(from, "kind") {
            "DockerImage" => {
                if tag["reference"] != true {
                    continue;
                }
                Some(
                    json!({"created": created, "dockerImageReference": from_name, "image": "", "generation": generation}),
                )
            }
            kind @ ("ImageStreamTag" | "ImageStreamImage") => {
                let separator = if kind == "ImageStreamTag" { ':' } else { '@' };
                let parts: Vec<&str> = from_name.split(separator).collect();
                let (source, reference) = match parts.as_slice() {
                    [one] => (name.as_str(), *one),
                    [s, r] => (*s, *r),
                    _ => {
                        errors.invalid(&path, Bad::Str(from_name), WRONG_FORM);
                        continue;
                    }
                };
                let source_ns = match text(from, "namespace") {
                    "" => namespace.as_str(),
                    ns => ns,
                };
                let source_stream = if source_ns == namespace && source == name {
                    Some(stream.clone())
                } else {
                    match fetch_stream(server, source_ns, source).await {
                        Ok(s) => s,
                        Err(e) => {
                            errors.invalid(
                                &path,
                                Bad::Str(from_name),
                                &format!("unable to retrieve image stream: {}", e.status().message),
                            );
                            continue;
                        }
                    }
                };
                let Some(source_stream) = source_stream else {
                    errors.not_found(&path, Bad::Str(from_name));
                    continue;
                };
                let found = if kind == "ImageStreamTag" {
                    images::tags::latest_tagged_image(&source_stream, reference).cloned()
                } else {
                    match resolve_image_id(&source_stream, reference) {
                        Ok(e) => Some(e),
                        Err(e) => {
                            let message = match e {
                                ResolveError::NotFound => format!(
                                    "imagestreamimage.image.openshift.io {reference:?} not found"
                                ),
                                ResolveError::Ambiguous(why) => format!(
                                    "Operation cannot be fulfilled on imagestreamimage.image.openshift.io {reference:?}: {why}"
                                ),
                            };
                            errors.invalid(
                                &path,
                                Bad::Str(from_name),
                                &format!("error generating tag event: {message}"),
                            );
                            continue;
                        }
                    }
                };
                found.map(|e| {
                    let mut reference = text(&e, "dockerImageReference").to_string();
                    if tag["reference"] != true {
                        reference = rehome(config, &reference, &source_stream, stream);
                    }
                    json!({"created": created, "dockerImageReference": reference, "image": e["image"], "generation": generation})
                })
            }
            other => {
                errors.invalid(
                    &path,
                    Bad::Str(from_name),
                    &format!("invalid from.kind {other:?}: it must be DockerImage, ImageStreamImage or ImageStreamTag"),
                );
                continue;
            }
        };
        if let Some(event) = event {
            add_tag_event(stream, &tag_name, event);
            update_tracking_tags(stream, &tag_name);
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    // Upstream reports these as an Invalid ImageStream inside an internal field error.
    let mut wrapped = FieldErrors::default();
    wrapped.internal(
        "",
        &format!(
            "ImageStream.image.openshift.io {name:?} is invalid: {}",
            errors.summary()
        ),
    );
    let def = super::stream_def(server)?;
    wrapped.into_result(def, stream)
}

/// An event's reference into the integrated registry's repository of `source` re-pointed at
/// `target`'s repository, so pulls are authorized against the stream that tags it.
fn rehome(config: &ImageConfig, reference: &str, source: &Value, target: &Value) -> String {
    let Some(internal) = &config.internal else {
        return reference.to_string();
    };
    let Ok(mut r) = DockerImageReference::parse(reference) else {
        return reference.to_string();
    };
    let source_ns = text(&source["metadata"], "namespace");
    let source_name = text(&source["metadata"], "name");
    if &r.registry != internal || r.namespace != source_ns || r.name != source_name {
        return reference.to_string();
    }
    r.namespace = text(&target["metadata"], "namespace").to_string();
    r.name = text(&target["metadata"], "name").to_string();
    r.exact()
}

/// The stream `ns/name`, if it exists.
pub async fn fetch_stream(
    server: &ApiServer,
    ns: &str,
    name: &str,
) -> Result<Option<Value>, ApiError> {
    let def = super::stream_def(server)?;
    server.get_object(def, Some(ns), name).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_counts_as_a_changed_reference() {
        let a = json!({"from": {"kind": "ImageStreamTag", "name": "x:1"}, "generation": 2});
        let mut b = a.clone();
        b["from"]["kind"] = json!("DockerImage");
        b["importPolicy"] = json!({"scheduled": true});
        assert!(!tag_ref_changed(&a, &b, "ns"));
        b["from"]["namespace"] = json!("ns");
        assert!(!tag_ref_changed(&a, &b, "ns"));
        b["from"]["namespace"] = json!("other");
        assert!(tag_ref_changed(&a, &b, "ns"));
        let mut c = a.clone();
        c["generation"] = json!(0);
        assert!(tag_ref_changed(&a, &c, "ns"));
        assert!(!tag_ref_changed(&a, &json!({}), "ns"));
    }
}
