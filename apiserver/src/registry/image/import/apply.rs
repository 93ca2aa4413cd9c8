//! An import's results written into its stream: per tag, either a new history event (the
//! spec tag pointed at what was imported) or an `ImportSuccess=False` condition; the Images
//! created first (children before lists), the stream written once at the end.

use images::tags::{add_tag_event, latest_tagged_image, set_spec_tag, spec_tag, status_tag};
use serde_json::{Value, json};

use super::importer::Imported;
use crate::ApiServer;
use crate::error::ApiError;
use crate::http::serve::User;
use crate::registry::image::streams;
use crate::registry::object;

const REPOSITORY_CHECK: &str = "openshift.io/image.dockerRepositoryCheck";

/// One imported tag: the request's entry (`from`, policies) and what came back.
pub struct Outcome {
    pub tag: String,
    pub from: String,
    pub spec: Value,
    pub imported: Imported,
}

/// The spec tag `tag` pointed at `from`, generation reset, policies from the request.
fn reset_spec_tag(stream: &mut Value, outcome: &Outcome) {
    let mut tag = spec_tag(stream, &outcome.tag)
        .cloned()
        .unwrap_or_else(|| json!({}));
    tag["from"] = json!({"kind": "DockerImage", "name": outcome.from});
    tag["generation"] = json!(0);
    if outcome.spec["importPolicy"].is_object() {
        tag["importPolicy"] = outcome.spec["importPolicy"].clone();
    }
    if !tag["referencePolicy"].is_object() && outcome.spec["referencePolicy"].is_object() {
        tag["referencePolicy"] = outcome.spec["referencePolicy"].clone();
    }
    set_spec_tag(stream, &outcome.tag, tag);
}

/// An image as stored by an import: no signatures, manifest or config.
fn stored(mut image: Value) -> Value {
    if let Some(map) = image.as_object_mut() {
        for field in ["signatures", "dockerImageManifest", "dockerImageConfig"] {
            map.remove(field);
        }
        map.insert("kind".into(), json!("Image"));
        map.insert("apiVersion".into(), json!("image.openshift.io/v1"));
    }
    image
}

async fn create_image(server: &ApiServer, image: Value) -> Result<(), ApiError> {
    let def = crate::registry::image::def(server, "images")?;
    match server.create_object(def, stored(image)).await {
        Ok(_) | Err(ApiError::AlreadyExists(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Applies `outcomes` to the stream `ns/name` (`None`: created) and returns it as written.
pub async fn apply(
    server: &ApiServer,
    user: &User,
    ns: &str,
    name: &str,
    stream: Option<Value>,
    outcomes: &[Outcome],
) -> Result<Value, ApiError> {
    let original = stream.clone();
    let mut next = stream.unwrap_or_else(|| {
        json!({"kind": "ImageStream", "apiVersion": "image.openshift.io/v1",
               "metadata": {"name": name, "namespace": ns}, "spec": {}, "status": {}})
    });
    let generation = next["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
    let now = object::now();
    let mut changed = false;
    for outcome in outcomes {
        let tag = outcome.tag.as_str();
        let Some(image) = outcome
            .imported
            .image
            .clone()
            .filter(|_| outcome.imported.succeeded())
        else {
            let status = &outcome.imported.status;
            let message = match status["message"].as_str() {
                Some(m) if !m.is_empty() => m.to_string(),
                _ => "unknown error prevented import".to_string(),
            };
            let condition = json!({"type": "ImportSuccess", "status": "False",
                "reason": status["reason"], "message": message,
                "generation": generation, "lastTransitionTime": now});
            let same = status_tag(&next, tag)
                .and_then(|t| t["conditions"].as_array())
                .is_some_and(|c| {
                    c.iter().any(|c| {
                        c["type"] == "ImportSuccess"
                            && c["status"] == "False"
                            && c["reason"] == condition["reason"]
                            && c["message"] == condition["message"]
                    })
                });
            if !same {
                let entry = json!([condition]);
                set_conditions(&mut next, tag, entry);
                reset_spec_tag(&mut next, outcome);
                changed = true;
            }
            continue;
        };
        for child in &outcome.imported.manifests {
            create_image(server, child.clone()).await?;
        }
        create_image(server, image.clone()).await?;
        let event = json!({"created": now, "dockerImageReference": image["dockerImageReference"],
                           "image": image["metadata"]["name"], "generation": generation});
        let latest = latest_tagged_image(&next, tag).cloned();
        let spec_generation = spec_tag(&next, tag).and_then(|t| t["generation"].as_i64());
        let moved = match (&latest, spec_generation) {
            (None, _) | (_, None) => true,
            (Some(l), Some(g)) => {
                l["dockerImageReference"] != event["dockerImageReference"]
                    || l["image"] != event["image"]
                    || g > l["generation"].as_i64().unwrap_or(0)
            }
        };
        if moved {
            reset_spec_tag(&mut next, outcome);
            add_tag_event(&mut next, tag, event);
            changed = true;
        }
        // The tag imports as asked from now on, and its failures are over.
        let mut spec = spec_tag(&next, tag).cloned().unwrap_or_else(|| json!({}));
        if outcome.spec["importPolicy"].is_object()
            && spec["importPolicy"] != outcome.spec["importPolicy"]
        {
            spec["importPolicy"] = outcome.spec["importPolicy"].clone();
            set_spec_tag(&mut next, tag, spec);
            changed = true;
        }
        if status_tag(&next, tag).is_some_and(|t| t.get("conditions").is_some()) {
            set_conditions(&mut next, tag, Value::Null);
            changed = true;
        }
    }
    let checked = next["metadata"]["annotations"][REPOSITORY_CHECK].is_string();
    if original.is_some() && !changed && checked {
        return Ok(next);
    }
    if !next["metadata"]["annotations"].is_object() {
        next["metadata"]["annotations"] = json!({});
    }
    next["metadata"]["annotations"][REPOSITORY_CHECK] = json!(now);
    match &original {
        None => streams::create(server, Some(user), next).await,
        Some(old) => streams::update(server, Some(user), next, old).await,
    }
}

/// Sets (or, with `Null`, removes) the conditions of the status tag `tag`.
fn set_conditions(stream: &mut Value, tag: &str, conditions: Value) {
    if status_tag(stream, tag).is_none() {
        images::tags::add_tag_condition(stream, tag, json!({}));
    }
    if let Some(tags) = stream["status"]["tags"].as_array_mut()
        && let Some(entry) = tags.iter_mut().find(|t| t["tag"] == tag)
    {
        match conditions {
            Value::Null => drop(entry.as_object_mut().map(|m| m.remove("conditions"))),
            c => entry["conditions"] = c,
        }
    }
}
