//! The ImageStream strategy (upstream's `imagestream/strategy.go`): v1 defaults, tag
//! generations, the registry repositories in status, the allow-list and cross-namespace
//! checks, and spec tags turned into status history (`tag_sources`). The same steps serve
//! the image API's own writes (`process` with the status the caller built).

use async_trait::async_trait;
use images::DockerImageReference;
use serde_json::{Value, json};

use super::allowlist::AllowList;
use super::config::{ImageConfig, image_config};
use super::{access, tag_sources, validation};
use crate::ApiServer;
use crate::error::ApiError;
use crate::http::serve::User;
use crate::registry::strategy::{Strategy, Writer};
use crate::registry::validation::{FieldErrors, key};

pub struct ImageStreams;

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or_default()
}

/// v1 defaults: reference policy `Source`, import mode `Legacy`; tags sorted by name, a
/// repeated spec tag name keeping its last entry.
pub fn defaults(obj: &mut Value) {
    if let Some(tags) = obj["spec"]["tags"].as_array_mut() {
        let mut unique: Vec<Value> = Vec::with_capacity(tags.len());
        for mut tag in tags.drain(..) {
            if !tag.is_object() {
                continue;
            }
            if text(&tag["referencePolicy"], "type").is_empty() {
                tag["referencePolicy"] = json!({"type": "Source"});
            }
            if !tag["importPolicy"].is_object() {
                tag["importPolicy"] = json!({});
            }
            if text(&tag["importPolicy"], "importMode").is_empty() {
                tag["importPolicy"]["importMode"] = json!("Legacy");
            }
            let name = tag["name"].clone();
            unique.retain(|t| t["name"] != name);
            unique.push(tag);
        }
        unique.sort_by(|a, b| text(a, "name").cmp(text(b, "name")));
        *tags = unique;
    }
    if let Some(tags) = obj["status"]["tags"].as_array_mut() {
        tags.sort_by(|a, b| text(a, "tag").cmp(text(b, "tag")));
    }
}

/// Tag generations of an update: users may only reset a tag's generation to 0; tags that are
/// new, point elsewhere or were reset get the stream's generation.
fn update_generations(obj: &mut Value, old: &Value) {
    let namespace = text(&obj["metadata"], "namespace").to_string();
    if let Some(tags) = obj["spec"]["tags"].as_array_mut() {
        for tag in tags.iter_mut() {
            if tag["generation"].as_i64().unwrap_or(0) != 0 {
                let previous = images::tags::spec_tag(old, text(tag, "name"));
                tag["generation"] = previous.map_or(Value::Null, |p| p["generation"].clone());
            }
        }
    }
    let old_generation = old["metadata"]["generation"].as_i64().unwrap_or(0);
    let generation = if obj["spec"] != old["spec"] || old_generation == 0 {
        old_generation + 1
    } else {
        old_generation
    };
    obj["metadata"]["generation"] = json!(generation);
    if let Some(tags) = obj["spec"]["tags"].as_array_mut() {
        for tag in tags.iter_mut() {
            let previous = images::tags::spec_tag(old, text(tag, "name"));
            let reset = tag["generation"].as_i64().unwrap_or(0) == 0;
            if reset || previous.is_none_or(|p| tag_sources::tag_ref_changed(p, tag, &namespace)) {
                tag["generation"] = json!(generation);
            }
        }
    }
}

/// `status.dockerImageRepository` and `publicDockerImageRepository` from the configuration.
pub fn set_repositories(config: &ImageConfig, obj: &mut Value) {
    let ns = text(&obj["metadata"], "namespace").to_string();
    let name = text(&obj["metadata"], "name").to_string();
    if !obj["status"].is_object() {
        obj["status"] = json!({});
    }
    let internal = config
        .internal_repository(&ns, &name)
        .unwrap_or_else(|| text(&obj["spec"], "dockerImageRepository").to_string());
    obj["status"]["dockerImageRepository"] = json!(internal);
    match config.public_repository(&ns, &name) {
        Some(public) => obj["status"]["publicDockerImageRepository"] = json!(public),
        None => drop(
            obj["status"]
                .as_object_mut()
                .map(|s| s.remove("publicDockerImageRepository")),
        ),
    }
}

/// Every registry reference of the stream must be allowed, but those the old object had.
fn check_allowed(config: &ImageConfig, obj: &Value, old: Option<&Value>, errors: &mut FieldErrors) {
    let allow = AllowList::new(config);
    let insecure_stream =
        obj["metadata"]["annotations"]["openshift.io/image.insecureRepository"] == "true";
    let had = |path: &dyn Fn(&Value) -> Option<String>| old.and_then(path);
    let repo = text(&obj["spec"], "dockerImageRepository");
    if !repo.is_empty()
        && had(&|o| Some(text(&o["spec"], "dockerImageRepository").to_string())).as_deref()
            != Some(repo)
        && let Ok(r) = DockerImageReference::parse(repo)
        && let Err(e) = allow.check(&r, insecure_stream)
    {
        errors.forbidden("spec.dockerImageRepository", &e);
    }
    for tag in obj["spec"]["tags"].as_array().into_iter().flatten() {
        if text(&tag["from"], "kind") != "DockerImage" {
            continue;
        }
        let name = text(&tag["from"], "name");
        let tag_name = text(tag, "name");
        let before = old
            .and_then(|o| images::tags::spec_tag(o, tag_name))
            .map(|t| text(&t["from"], "name").to_string());
        if before.as_deref() == Some(name) {
            continue;
        }
        let insecure = insecure_stream || tag["importPolicy"]["insecure"] == true;
        if let Ok(r) = DockerImageReference::parse(name)
            && let Err(e) = allow.check(&r, insecure)
        {
            errors.forbidden(&format!("{}.from.name", key("spec.tags", tag_name)), &e);
        }
    }
}

/// A requester may tag from another namespace's stream only if they may read its layers.
async fn check_sources(
    server: &ApiServer,
    user: Option<&User>,
    obj: &Value,
    old: Option<&Value>,
    errors: &mut FieldErrors,
) {
    let namespace = text(&obj["metadata"], "namespace");
    for tag in tag_sources::changed_tags(obj, old) {
        let from = &tag["from"];
        let source_ns = text(from, "namespace");
        if source_ns.is_empty() || source_ns == namespace {
            continue;
        }
        let path = format!("{}.from", key("spec.tags", text(&tag, "name")));
        let source = text(from, "name");
        let stream = source.split([':', '@']).next().unwrap_or_default();
        let Some(user) = user else {
            errors.forbidden(&path, "no user context available");
            continue;
        };
        if !access::allowed(
            server,
            user,
            "get",
            ("imagestreams", "layers"),
            source_ns,
            stream,
        )
        .await
        {
            errors.forbidden(&path, &format!("{source_ns}/{stream}: \"\" \"\""));
        }
    }
}

/// Who writes a stream and how its status comes.
pub enum Status {
    /// A client's write: status computed here (create) or kept (update).
    Computed,
    /// The image API's own write: the status the caller built, history added to.
    Given,
}

/// The strategy's steps that need the server: generations on update, repositories, checks,
/// and the history of changed spec tags.
pub async fn process(
    server: &ApiServer,
    user: Option<&User>,
    obj: &mut Value,
    old: Option<&Value>,
    status: Status,
) -> Result<(), ApiError> {
    let config = image_config(server).await?;
    let created = match old {
        None => {
            if matches!(status, Status::Computed) {
                obj["status"] = json!({"tags": []});
            }
            text(&obj["metadata"], "creationTimestamp").to_string()
        }
        Some(old) => {
            update_generations(obj, old);
            crate::registry::object::now()
        }
    };
    set_repositories(&config, obj);
    let mut errors = FieldErrors::default();
    check_allowed(&config, obj, old, &mut errors);
    check_sources(server, user, obj, old, &mut errors).await;
    errors.into_result(super::stream_def(server)?, obj)?;
    tag_sources::record(server, &config, obj, old, &created).await?;
    // Status tags with nothing in them are dropped.
    if let Some(tags) = obj["status"]["tags"].as_array_mut() {
        tags.retain(|t| {
            t["items"].as_array().is_some_and(|i| !i.is_empty())
                || t["conditions"].as_array().is_some_and(|c| !c.is_empty())
        });
    }
    Ok(())
}

#[async_trait]
impl Strategy for ImageStreams {
    fn prepare(&self, obj: &mut Value) {
        if !obj["spec"].is_object() {
            obj["spec"] = json!({});
        }
        defaults(obj);
    }

    fn prepare_create(&self, obj: &mut Value) {
        self.prepare(obj);
        obj["metadata"]["generation"] = json!(1);
        if let Some(tags) = obj["spec"]["tags"].as_array_mut() {
            for tag in tags {
                tag["generation"] = json!(1);
            }
        }
    }

    fn validate(
        &self,
        _def: &api::scheme::ResourceDef,
        obj: &Value,
        _old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        validation::stream(obj, errors);
    }

    async fn resolve(
        &self,
        writer: &Writer<'_>,
        obj: &mut Value,
        old: Option<&Value>,
    ) -> Result<(), ApiError> {
        process(writer.server, writer.user, obj, old, Status::Computed).await
    }

    fn prepare_status(&self, obj: &mut Value, old: &Value) {
        defaults(obj);
        let generation = obj["metadata"]["generation"].clone();
        let Some(tags) = obj["status"]["tags"].as_array_mut() else {
            return;
        };
        for tag in tags {
            let name = text(tag, "tag").to_string();
            let Some(first) = tag["items"].get_mut(0) else {
                continue;
            };
            if first["generation"].as_i64().unwrap_or(0) != 0 {
                continue;
            }
            let before = images::tags::latest_tagged_image(old, &name);
            let unchanged = before.is_some_and(|b| {
                b["image"] == first["image"]
                    && b["dockerImageReference"] == first["dockerImageReference"]
            });
            let spec_generation = images::tags::spec_tag(old, &name)
                .map(|t| t["generation"].clone())
                .filter(|g| !g.is_null());
            first["generation"] = match (unchanged, spec_generation) {
                (false, Some(g)) => g,
                _ => generation.clone(),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_sort_and_dedupe_spec_tags() {
        let mut obj = json!({"spec": {"tags": [
            {"name": "b"}, {"name": "a", "from": {"kind": "DockerImage", "name": "x"}}, {"name": "b", "reference": true}
        ]}});
        defaults(&mut obj);
        assert_eq!(obj["spec"]["tags"][0]["name"], "a");
        assert_eq!(obj["spec"]["tags"][1]["reference"], true);
        assert_eq!(obj["spec"]["tags"][0]["referencePolicy"]["type"], "Source");
        assert_eq!(
            obj["spec"]["tags"][0]["importPolicy"]["importMode"],
            "Legacy"
        );
    }

    #[test]
    fn generations_follow_changed_tags_only() {
        let old = json!({"metadata": {"generation": 2, "namespace": "ns"}, "spec": {"tags": [
            {"name": "a", "from": {"kind": "DockerImage", "name": "x"}, "generation": 2},
            {"name": "b", "from": {"kind": "DockerImage", "name": "y"}, "generation": 1}
        ]}});
        let mut new = json!({"metadata": {"generation": 2, "namespace": "ns"}, "spec": {"tags": [
            {"name": "a", "from": {"kind": "DockerImage", "name": "x2"}, "generation": 7},
            {"name": "b", "from": {"kind": "DockerImage", "name": "y"}, "generation": 1},
            {"name": "c", "from": {"kind": "DockerImage", "name": "z"}}
        ]}});
        update_generations(&mut new, &old);
        assert_eq!(new["metadata"]["generation"], 3);
        assert_eq!(new["spec"]["tags"][0]["generation"], 3);
        assert_eq!(new["spec"]["tags"][1]["generation"], 1);
        assert_eq!(new["spec"]["tags"][2]["generation"], 3);
    }
}
