//! New builds, as upstream's build generator makes them: from a config (`instantiate`: the
//! config's `status.lastVersion` moved on by compare-and-swap first, then `<config>-<n>`
//! created) or from an earlier build (`clone`). The build's spec is the config's with the
//! request's revision, environment and options merged in, and the strategy's `from` resolved
//! to the pull spec its image stream tag points at.

use api::status::StatusCause;
use serde_json::{Map, Value, json};

use super::keys;
use crate::ApiServer;
use crate::error::{ApiError, Target};
use crate::registry::apps_openshift::tags;
use crate::registry::object;

/// Conflicting writes of the config are retried this many times (as upstream).
const ATTEMPTS: usize = 3;

const STRATEGY_FIELDS: [&str; 3] = ["dockerStrategy", "sourceStrategy", "customStrategy"];

fn def<'a>(server: &'a ApiServer, plural: &str) -> Result<&'a api::ResourceDef, ApiError> {
    server
        .scheme
        .lookup("build.openshift.io", "v1", plural)
        .ok_or(ApiError::PathNotFound)
}

fn not_found(plural: &str, name: &str) -> ApiError {
    ApiError::NotFound(Target {
        group: "build.openshift.io".into(),
        resource: plural.into(),
        name: name.into(),
    })
}

/// A label value made valid by cutting it from the end (upstream's truncation).
pub fn label_value(value: &str) -> String {
    let mut v: String = value.chars().take(63).collect();
    while v.ends_with(|c: char| !c.is_ascii_alphanumeric()) {
        v.pop();
    }
    v
}

/// The strategy's parameters (`dockerStrategy`, `sourceStrategy`...) of a spec.
pub fn strategy_params(spec: &mut Value) -> Option<&mut Value> {
    let field = STRATEGY_FIELDS
        .into_iter()
        .find(|f| spec["strategy"][*f].is_object())?;
    Some(&mut spec["strategy"][field])
}

/// `env` merged into `into`: same names replaced, new ones appended.
fn merge_env(into: &mut Value, env: &[Value]) {
    if env.is_empty() {
        return;
    }
    if !into.is_array() {
        *into = json!([]);
    }
    let Some(list) = into.as_array_mut() else {
        return;
    };
    for e in env {
        match list.iter_mut().find(|x| x["name"] == e["name"]) {
            Some(x) => *x = e.clone(),
            None => list.push(e.clone()),
        }
    }
}

/// The request's revision, environment and strategy options applied to a build's spec.
fn apply_request(spec: &mut Value, request: &Value, target: &str) -> Result<(), ApiError> {
    if request["revision"].is_object() {
        spec["revision"] = request["revision"].clone();
    }
    let triggered_by = match request["triggeredBy"].as_array() {
        Some(causes) if !causes.is_empty() => json!(causes),
        _ => json!([{"message": "Manually triggered"}]),
    };
    spec["triggeredBy"] = triggered_by;
    let env: Vec<Value> = request["env"].as_array().cloned().unwrap_or_default();
    let docker = spec["strategy"]["dockerStrategy"].is_object();
    let source = spec["strategy"]["sourceStrategy"].is_object();
    let options = &request["dockerStrategyOptions"];
    let build_args = options["buildArgs"].as_array().filter(|a| !a.is_empty());
    if build_args.is_some() || options["noCache"].is_boolean() {
        if !docker {
            return Err(ApiError::BadRequest(format!(
                "Cannot specify Docker build specific options on {target}, not a Docker build."
            )));
        }
        if let Some(args) = build_args {
            merge_env(&mut spec["strategy"]["dockerStrategy"]["buildArgs"], args);
        }
        if let Some(no_cache) = options["noCache"].as_bool() {
            spec["strategy"]["dockerStrategy"]["noCache"] = json!(no_cache);
        }
    }
    if let Some(incremental) = request["sourceStrategyOptions"]["incremental"].as_bool() {
        if !source {
            return Err(ApiError::BadRequest(format!(
                "Cannot specify Source build specific options on {target}, not a Source build."
            )));
        }
        spec["strategy"]["sourceStrategy"]["incremental"] = json!(incremental);
    }
    if let Some(params) = strategy_params(spec) {
        merge_env(&mut params["env"], &env);
        // An image change of the strategy's own image stream tag builds from that image.
        if request["from"].is_object()
            && params["from"].is_object()
            && params["from"]["name"] == request["from"]["name"]
        {
            params["from"] = request["from"].clone();
        }
    }
    if request["binary"].is_object() {
        let source = &mut spec["source"];
        if let Some(map) = source.as_object_mut() {
            map.remove("git");
        }
        source["binary"] = request["binary"].clone();
        source["type"] = json!("Binary");
        if request["binary"]["asFile"] == "Dockerfile"
            && let Some(map) = source.as_object_mut()
        {
            map.remove("dockerfile");
        }
    }
    Ok(())
}

fn merge_meta(obj: &mut Value, field: &str, extra: &Value) {
    if !obj["metadata"][field].is_object() {
        obj["metadata"][field] = json!({});
    }
    if let (Some(into), Some(extra)) = (obj["metadata"][field].as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            into.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
}

/// Build `<config>-<number>` of `bc`, before its images are resolved.
pub fn from_config(bc: &Value, request: &Value, number: i64) -> Result<Value, ApiError> {
    let name = object::meta_str(bc, "name");
    let namespace = object::meta_str(bc, "namespace");
    let mut spec = bc["spec"].clone();
    if let Some(map) = spec.as_object_mut() {
        for field in [
            "triggers",
            "runPolicy",
            "successfulBuildsHistoryLimit",
            "failedBuildsHistoryLimit",
        ] {
            map.remove(field);
        }
    }
    if spec["serviceAccount"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
    {
        spec["serviceAccount"] = json!("builder");
    }
    apply_request(&mut spec, request, &format!("{namespace}/{name}"))?;
    let policy = bc["spec"]["runPolicy"].as_str().unwrap_or("Serial");
    let mut build = json!({
        "apiVersion": "build.openshift.io/v1",
        "kind": "Build",
        "metadata": {
            "name": format!("{name}-{number}"),
            "namespace": namespace,
            "labels": {
                keys::BUILD_CONFIG_NAME: label_value(name),
                keys::LEGACY_CONFIG: label_value(name),
                keys::START_POLICY: policy,
            },
            "annotations": {
                keys::BUILD_CONFIG_NAME: name,
                keys::BUILD_NUMBER: number.to_string(),
            },
            "ownerReferences": [{
                "apiVersion": "build.openshift.io/v1", "kind": "BuildConfig", "name": name,
                "uid": object::meta_str(bc, "uid"), "controller": true,
            }],
        },
        "spec": spec,
        "status": {"phase": "New", "config": {"kind": "BuildConfig", "namespace": namespace, "name": name}},
    });
    merge_meta(&mut build, "labels", &request["metadata"]["labels"]);
    merge_meta(&mut build, "labels", &bc["metadata"]["labels"]);
    merge_meta(
        &mut build,
        "annotations",
        &request["metadata"]["annotations"],
    );
    Ok(build)
}

/// The pull spec of an image reference of kind ImageStreamTag or ImageStreamImage, read from
/// its stream's status; `None` when nothing is tagged there yet.
async fn resolve_reference(
    server: &ApiServer,
    namespace: &str,
    from: &Value,
) -> Result<Option<String>, ApiError> {
    let kind = from["kind"].as_str().unwrap_or_default();
    let name = from["name"].as_str().unwrap_or_default();
    let ns = from["namespace"]
        .as_str()
        .filter(|n| !n.is_empty())
        .unwrap_or(namespace);
    let streams = server
        .scheme
        .lookup("image.openshift.io", "v1", "imagestreams")
        .ok_or(ApiError::PathNotFound)?;
    let (stream, tag_or_id, by_id) = match kind {
        "ImageStreamTag" => {
            let (s, t) = name.split_once(':').unwrap_or((name, "latest"));
            (s, t, false)
        }
        "ImageStreamImage" => {
            let (s, id) = name.split_once('@').unwrap_or((name, ""));
            (s, id, true)
        }
        _ => return Ok(Some(name.to_string())),
    };
    let Some(found) = server.get_object(streams, Some(ns), stream).await? else {
        return Ok(None);
    };
    if !by_id {
        return Ok(tags::resolve(&found, tag_or_id));
    }
    let items = found["status"]["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["items"].as_array().into_iter().flatten());
    for item in items {
        if item["image"]
            .as_str()
            .is_some_and(|i| !tag_or_id.is_empty() && i.starts_with(tag_or_id))
        {
            return Ok(item["dockerImageReference"].as_str().map(String::from));
        }
    }
    Ok(None)
}

/// The strategy's `from` of `build` turned into a DockerImage reference.
pub async fn resolve_from(server: &ApiServer, build: &mut Value) -> Result<(), ApiError> {
    let namespace = object::meta_str(build, "namespace").to_string();
    let build_name = object::meta_str(build, "name").to_string();
    let Some(params) = strategy_params(&mut build["spec"]) else {
        return Ok(());
    };
    let from = params["from"].clone();
    if !from.is_object() || from["kind"] == "DockerImage" {
        return Ok(());
    }
    match resolve_reference(server, &namespace, &from).await? {
        Some(pull_spec) => {
            params["from"] = json!({"kind": "DockerImage", "name": pull_spec});
            Ok(())
        }
        None => {
            let kind = from["kind"].as_str().unwrap_or_default();
            let ns = from["namespace"]
                .as_str()
                .filter(|n| !n.is_empty())
                .unwrap_or(&namespace);
            Err(ApiError::Invalid {
                kind: "Build".into(),
                target: Target {
                    group: "build.openshift.io".into(),
                    resource: String::new(),
                    name: build_name,
                },
                causes: vec![StatusCause {
                    reason: "FieldValueInvalid".into(),
                    message: format!(
                        "Error resolving {kind} {} in namespace {ns}: unable to find latest tagged image",
                        from["name"].as_str().unwrap_or_default()
                    ),
                    field: "from".into(),
                }],
            })
        }
    }
}

/// The image change triggers' record on `bc` after a build fired by `request`: the firing one
/// takes the request's image; Err when that image already made a build.
fn record_image_trigger(bc: &mut Value, request: &Value) -> Result<(), ApiError> {
    let image = request["triggeredByImage"]["name"]
        .as_str()
        .unwrap_or_default();
    if image.is_empty() {
        return Ok(());
    }
    let from_name = request["from"]["name"].as_str().unwrap_or_default();
    let from_ns = request["from"]["namespace"].as_str().unwrap_or_default();
    let mut entries: Vec<Value> = bc["status"]["imageChangeTriggers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let position = entries.iter().position(|e| {
        e["from"]["name"] == from_name
            && e["from"]["namespace"].as_str().unwrap_or_default() == from_ns
    });
    if let Some(i) = position
        && entries[i]["lastTriggeredImageID"] == image
    {
        return Err(ApiError::BadRequest(format!(
            "build config {}/{} has already instantiated a build for imageid {image}",
            object::meta_str(bc, "namespace"),
            object::meta_str(bc, "name")
        )));
    }
    let entry = json!({"from": {"name": from_name, "namespace": from_ns},
        "lastTriggeredImageID": image, "lastTriggerTime": object::now()});
    match position {
        Some(i) => entries[i] = entry,
        None => entries.push(entry),
    }
    bc["status"]["imageChangeTriggers"] = json!(entries);
    for trigger in bc["spec"]["triggers"].as_array_mut().into_iter().flatten() {
        if trigger["type"] == "ImageChange" {
            let named = trigger["imageChange"]["from"]["name"].as_str();
            if named.is_none_or(|n| n == from_name) && trigger["imageChange"].is_object() {
                trigger["imageChange"]["lastTriggeredImageID"] = json!(image);
            }
        }
    }
    Ok(())
}

fn paused(bc: &Value) -> bool {
    bc["metadata"]["annotations"][keys::PAUSED]
        .as_str()
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Moves the config's `lastVersion` on (compare-and-swap) and creates the build it names.
async fn store_build(
    server: &ApiServer,
    mut bc: Value,
    mut build: Value,
) -> Result<Option<Value>, ApiError> {
    let bc_def = def(server, "buildconfigs")?;
    let build_def = def(server, "builds")?;
    let number = bc["status"]["lastVersion"].as_i64().unwrap_or(0) + 1;
    bc["status"]["lastVersion"] = json!(number);
    match server.update_object(bc_def, bc).await {
        Ok(_) => {}
        Err(ApiError::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e),
    }
    super::Builds.prepare_created(&mut build);
    server.create_object(build_def, build).await.map(Some)
}

/// `buildconfigs/<name>/instantiate`: the next build of the config.
pub async fn instantiate(
    server: &ApiServer,
    namespace: &str,
    name: &str,
    request: &Value,
) -> Result<Value, ApiError> {
    let bc_def = def(server, "buildconfigs")?;
    for _ in 0..ATTEMPTS {
        let mut bc = server
            .get_object(bc_def, Some(namespace), name)
            .await?
            .ok_or_else(|| not_found("buildconfigs", name))?;
        if paused(&bc) {
            return Err(ApiError::BadRequest(format!(
                "can't instantiate from BuildConfig {namespace}/{name}: BuildConfig is paused"
            )));
        }
        let last = bc["status"]["lastVersion"].as_i64().unwrap_or(0);
        if let Some(requested) = request["lastVersion"].as_i64()
            && requested != last
        {
            return Err(ApiError::BadRequest(format!(
                "the LastVersion({last}) on build config {namespace}/{name} does not match the build request LastVersion({requested})"
            )));
        }
        record_image_trigger(&mut bc, request)?;
        let mut build = from_config(&bc, request, last + 1)?;
        resolve_from(server, &mut build).await?;
        if let Some(created) = store_build(server, bc, build).await? {
            return Ok(created);
        }
    }
    Err(ApiError::Conflict(object::target(bc_def, name)))
}

/// `builds/<name>/clone`: a new build with the spec of `name`.
pub async fn clone(
    server: &ApiServer,
    namespace: &str,
    name: &str,
    request: &Value,
) -> Result<Value, ApiError> {
    let build_def = def(server, "builds")?;
    let bc_def = def(server, "buildconfigs")?;
    for _ in 0..ATTEMPTS {
        let old = server
            .get_object(build_def, Some(namespace), name)
            .await?
            .ok_or_else(|| not_found("builds", name))?;
        if old["spec"]["source"]["binary"].is_object() {
            return Err(ApiError::BadRequest(format!(
                "cannot clone build {namespace}/{name}: binary builds cannot be re-run without their input"
            )));
        }
        let config = old["status"]["config"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut spec = old["spec"].clone();
        apply_request(&mut spec, request, &format!("{namespace}/{name}"))?;
        let mut annotations: Map<String, Value> = old["metadata"]["annotations"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        annotations.remove(keys::POD_NAME);
        annotations.insert(keys::CLONE_OF.into(), json!(name));
        let mut build = json!({
            "apiVersion": "build.openshift.io/v1", "kind": "Build",
            "metadata": {"namespace": namespace, "labels": old["metadata"]["labels"].clone(),
                "ownerReferences": old["metadata"]["ownerReferences"].clone()},
            "spec": spec,
            "status": {"phase": "New", "config": old["status"]["config"].clone()},
        });
        if config.is_empty() {
            let suffix = jiff::Timestamp::now().as_nanosecond().to_string();
            let base = name.rsplit_once('-').map_or(name, |(b, _)| b);
            build["metadata"]["name"] = json!(format!(
                "{base}-{}",
                &suffix[suffix.len().saturating_sub(10)..]
            ));
            build["metadata"]["annotations"] = json!(annotations);
            if let Some(status) = build["status"].as_object_mut() {
                status.remove("config");
            }
            super::Builds.prepare_created(&mut build);
            return server.create_object(build_def, build).await;
        }
        let bc = server
            .get_object(bc_def, Some(namespace), &config)
            .await?
            .ok_or_else(|| not_found("buildconfigs", &config))?;
        let number = bc["status"]["lastVersion"].as_i64().unwrap_or(0) + 1;
        annotations.insert(keys::BUILD_NUMBER.into(), json!(number.to_string()));
        build["metadata"]["name"] = json!(format!("{config}-{number}"));
        build["metadata"]["annotations"] = json!(annotations);
        if let Some(created) = store_build(server, bc, build).await? {
            return Ok(created);
        }
    }
    Err(ApiError::Conflict(object::target(build_def, name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bc() -> Value {
        json!({"metadata": {"name": "web", "namespace": "p", "uid": "u1", "labels": {"app": "web"}},
            "spec": {"runPolicy": "SerialLatestOnly", "triggers": [{"type": "ConfigChange"}],
                "successfulBuildsHistoryLimit": 5,
                "source": {"type": "Git", "git": {"uri": "file:///r"}},
                "strategy": {"type": "Docker", "dockerStrategy": {"env": [{"name": "A", "value": "1"}]}},
                "output": {"to": {"kind": "ImageStreamTag", "name": "web:latest"}}},
            "status": {"lastVersion": 2}})
    }

    #[test]
    fn a_build_from_a_config_is_named_labelled_and_owned() {
        let request = json!({"env": [{"name": "A", "value": "2"}, {"name": "B", "value": "3"}]});
        let b = from_config(&bc(), &request, 3).unwrap();
        assert_eq!(b["metadata"]["name"], "web-3");
        assert_eq!(b["metadata"]["labels"][keys::BUILD_CONFIG_NAME], "web");
        assert_eq!(
            b["metadata"]["labels"][keys::START_POLICY],
            "SerialLatestOnly"
        );
        assert_eq!(b["metadata"]["labels"]["app"], "web");
        assert_eq!(b["metadata"]["annotations"][keys::BUILD_NUMBER], "3");
        assert_eq!(b["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(b["spec"]["serviceAccount"], "builder");
        assert_eq!(b["spec"]["triggeredBy"][0]["message"], "Manually triggered");
        assert!(b["spec"]["triggers"].is_null());
        assert_eq!(
            b["spec"]["strategy"]["dockerStrategy"]["env"],
            json!([{"name": "A", "value": "2"}, {"name": "B", "value": "3"}])
        );
        assert_eq!(b["status"]["phase"], "New");
    }

    #[test]
    fn source_options_on_a_docker_build_are_refused() {
        let request = json!({"sourceStrategyOptions": {"incremental": true}});
        let err = from_config(&bc(), &request, 3).unwrap_err();
        assert!(
            matches!(err, ApiError::BadRequest(m) if m == "Cannot specify Source build specific options on p/web, not a Source build.")
        );
    }

    #[test]
    fn an_image_fires_a_config_once() {
        let mut config = bc();
        let request = json!({"triggeredByImage": {"name": "reg/base@sha256:1"},
            "from": {"kind": "ImageStreamTag", "name": "base:1"}});
        record_image_trigger(&mut config, &request).unwrap();
        assert_eq!(
            config["status"]["imageChangeTriggers"][0]["lastTriggeredImageID"],
            "reg/base@sha256:1"
        );
        assert!(record_image_trigger(&mut config, &request).is_err());
    }

    #[test]
    fn label_values_are_cut_to_valid_ones() {
        let long = format!("{}-x", "a".repeat(62));
        assert_eq!(label_value(&long), "a".repeat(62));
    }
}
