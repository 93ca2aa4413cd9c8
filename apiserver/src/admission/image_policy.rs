//! `image.openshift.io/ImagePolicy`, as OpenShift's default configuration runs it (resolve
//! local names, `AttemptRewrite`): a container image that is a bare `<stream>[:<tag>]` (no
//! registry, no namespace) in a pod or a workload's pod template, created or updated, is
//! rewritten to what the tag of that image stream in the object's namespace points at — its
//! image by digest, or `<stream's repository>:<tag>` while the tag has none — when the stream
//! has `lookupPolicy.local: true`. A pod template annotated
//! `alpha.image.policy.openshift.io/resolve-names: "*"` has every image name resolved so,
//! whatever the stream's lookup policy. Names that do not resolve are left as they are
//! (resolution is attempted, never required).

use api::field::Field;
use images::reference::{DEFAULT_TAG, DockerImageReference};
use images::tags::{latest_tagged_image, resolve_reference_for_tag_event};
use serde_json::Value;

use crate::ApiServer;
use crate::error::ApiError;

pub const NAME: &str = "image.openshift.io/ImagePolicy";
/// Upstream's annotation asking for every image name of a pod template to be resolved.
const RESOLVE_NAMES: &str = "alpha.image.policy.openshift.io/resolve-names";

/// Where a resource keeps the pod (template) whose images are resolved: a JSON pointer to an
/// object with `metadata` and `spec`.
fn template_path(group: &str, plural: &str) -> Option<&'static str> {
    Some(match (group, plural) {
        ("", "pods") => "",
        ("", "podtemplates") => "/template",
        ("", "replicationcontrollers")
        | ("apps.openshift.io", "deploymentconfigs")
        | ("apps", "deployments" | "replicasets" | "statefulsets" | "daemonsets")
        | ("batch", "jobs") => "/spec/template",
        ("batch", "cronjobs") => "/spec/jobTemplate/spec/template",
        _ => return None,
    })
}

pub fn applies(a: &super::Attributes<'_>) -> bool {
    matches!(
        a.operation,
        super::Operation::Create | super::Operation::Update
    ) && a.subresource.is_empty()
        && a.namespace.is_some()
        && template_path(a.def.group, a.def.plural).is_some()
}

/// The image stream and tag an image names locally: a bare `<stream>[:<tag>]`, or any name
/// (its last path component) when `force`d; never an image by digest.
fn local_name(image: &str, force: bool) -> Option<(String, String)> {
    // A name with a path names a registry or a namespace, so it is never bare (most images
    // pods name have one).
    if !force && image.contains('/') {
        return None;
    }
    let r = DockerImageReference::parse(image).ok()?;
    let bare = r.registry.is_empty() && r.namespace.is_empty();
    if !r.id.is_empty() || r.name.is_empty() || !(bare || force) {
        return None;
    }
    let tag = if r.tag.is_empty() {
        DEFAULT_TAG
    } else {
        &r.tag
    };
    Some((r.name, tag.to_string()))
}

/// What `tag` of `stream` resolves a local name to, if the stream allows it (or `force`).
fn resolve(stream: &Value, tag: &str, force: bool) -> Option<String> {
    if !force && stream["spec"]["lookupPolicy"]["local"] != true {
        return None;
    }
    match latest_tagged_image(stream, tag) {
        Some(event) => {
            let reference = resolve_reference_for_tag_event(stream, tag, event);
            let mut r = DockerImageReference::parse(&reference).ok()?;
            let image = event["image"].as_str().unwrap_or_default();
            if !image.is_empty() {
                r.tag.clear();
                r.id = image.to_string();
            }
            Some(r.exact()).filter(|s| !s.is_empty())
        }
        // A tag not pushed yet: the stream's own repository, so that the pull goes there.
        None => {
            let repository = stream["status"]["dockerImageRepository"].as_str()?;
            let mut r = DockerImageReference::parse(repository).ok()?;
            r.tag = tag.to_string();
            Some(r.exact())
        }
    }
}

/// The images of a pod template's containers, each with a way back to it.
fn images_mut(template: &mut Value) -> Vec<&mut Value> {
    let Some(spec) = template.get_mut("spec").and_then(Value::as_object_mut) else {
        return Vec::new();
    };
    spec.iter_mut()
        .filter(|(k, _)| matches!(k.as_str(), "initContainers" | "containers"))
        .flat_map(|(_, list)| list.as_array_mut().into_iter().flatten())
        .filter_map(|c| c.get_mut("image"))
        .collect()
}

/// Whether the template asks for every name to be resolved (`resolve-names: "*"`).
fn forced(template: &Value) -> bool {
    let annotations = template.field("metadata").field("annotations");
    annotations.field(RESOLVE_NAMES).as_str() == Some("*")
}

/// Rewrites the local names of `template`'s containers with `stream` (a stream of the
/// namespace by name); whether anything changed.
fn rewrite(template: &mut Value, stream: impl Fn(&str) -> Option<Value>) -> bool {
    let force = forced(template);
    let mut changed = false;
    for image in images_mut(template) {
        let Some((name, tag)) = image.as_str().and_then(|i| local_name(i, force)) else {
            continue;
        };
        if let Some(resolved) = stream(&name).and_then(|s| resolve(&s, &tag, force)) {
            *image = Value::String(resolved);
            changed = true;
        }
    }
    changed
}

pub async fn admit(
    server: &ApiServer,
    a: &super::Attributes<'_>,
    obj: &mut Value,
) -> Result<(), ApiError> {
    let (Some(namespace), Some(path)) = (a.namespace, template_path(a.def.group, a.def.plural))
    else {
        return Ok(());
    };
    let Some(template) = obj.pointer_mut(path) else {
        return Ok(());
    };
    // Nothing is looked up for objects without a local name (most of them).
    let force = forced(template);
    let wanted = images_mut(template)
        .iter()
        .any(|i| i.as_str().and_then(|i| local_name(i, force)).is_some());
    if !wanted {
        return Ok(());
    }
    let def = server
        .scheme
        .lookup("image.openshift.io", "v1", "imagestreams")
        .ok_or(ApiError::PathNotFound)?;
    let cache = server.watch_caches.of(def).await?;
    rewrite(template, |name| {
        let cached = cache.get(&def.key(Some(namespace), name))?;
        serde_json::from_slice(&cached.json).ok()
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DIGEST: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn pinned(repository: &str) -> String {
        format!("{repository}@{DIGEST}")
    }

    fn stream(local: bool) -> Value {
        json!({"metadata": {"name": "web"}, "spec": {"lookupPolicy": {"local": local}},
            "status": {"dockerImageRepository": "registry.svc:5000/p/web", "tags": [{"tag": "latest",
                "items": [{"dockerImageReference": pinned("quay.io/team/web"), "image": DIGEST}]}]}})
    }

    #[test]
    fn local_names_only() {
        assert_eq!(
            local_name("web", false),
            Some(("web".into(), "latest".into()))
        );
        assert_eq!(
            local_name("web:v2", false),
            Some(("web".into(), "v2".into()))
        );
        assert_eq!(local_name("team/web:v2", false), None);
        assert_eq!(local_name("quay.io/team/web:v2", false), None);
        assert_eq!(
            local_name("quay.io/team/web:v2", true),
            Some(("web".into(), "v2".into()))
        );
        assert_eq!(local_name("web@sha256:abc", false), None);
        assert_eq!(local_name("Not Valid", false), None);
    }

    #[test]
    fn a_tag_resolves_to_its_image_by_digest() {
        assert_eq!(
            resolve(&stream(true), "latest", false),
            Some(pinned("quay.io/team/web"))
        );
        // The stream must allow local lookups, unless the template forces them.
        assert_eq!(resolve(&stream(false), "latest", false), None);
        assert!(resolve(&stream(false), "latest", true).is_some());
        // A tag with nothing yet points at the stream's repository.
        assert_eq!(
            resolve(&stream(true), "v2", false).as_deref(),
            Some("registry.svc:5000/p/web:v2")
        );
        // A Local reference policy pulls from the integrated registry.
        let mut local = stream(true);
        local["spec"]["tags"] = json!([{"name": "latest", "referencePolicy": {"type": "Local"}}]);
        assert_eq!(
            resolve(&local, "latest", false),
            Some(pinned("registry.svc:5000/p/web"))
        );
    }

    #[test]
    fn templates_are_rewritten_in_place() {
        let streams = |name: &str| (name == "web").then(|| stream(true));
        let mut template = json!({"metadata": {}, "spec": {
            "initContainers": [{"name": "i", "image": "web:latest"}],
            "containers": [{"name": "a", "image": "web"}, {"name": "b", "image": "other:1"},
                {"name": "c", "image": "quay.io/x/y:1"}]}});
        assert!(rewrite(&mut template, streams));
        let images: Vec<&str> = ["initContainers", "containers"]
            .iter()
            .flat_map(|l| template["spec"][l].as_array().unwrap())
            .map(|c| c["image"].as_str().unwrap())
            .collect();
        let resolved = pinned("quay.io/team/web");
        assert_eq!(images, [&resolved, &resolved, "other:1", "quay.io/x/y:1"]);
        assert!(!rewrite(&mut template, streams));
        // Forced: the last path component names the stream, whatever its lookup policy.
        let unlocked = |name: &str| (name == "web").then(|| stream(false));
        let mut forced = json!({"metadata": {"annotations": {RESOLVE_NAMES: "*"}},
            "spec": {"containers": [{"name": "a", "image": "quay.io/old/web:latest"}]}});
        assert!(rewrite(&mut forced, unlocked));
        assert_eq!(
            forced["spec"]["containers"][0]["image"],
            pinned("quay.io/team/web")
        );
    }

    #[test]
    fn the_kinds_with_pod_templates() {
        assert_eq!(template_path("", "pods"), Some(""));
        assert_eq!(
            template_path("batch", "cronjobs"),
            Some("/spec/jobTemplate/spec/template")
        );
        assert_eq!(
            template_path("apps.openshift.io", "deploymentconfigs"),
            Some("/spec/template")
        );
        assert_eq!(template_path("", "services"), None);
    }
}
