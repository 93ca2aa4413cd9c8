//! Template instances are instantiated once, with their requester's permissions: each
//! object of the template (its parameters taken from the instance's secret, if it names one)
//! is processed by the server, labelled with the instance's owner label, checked by a
//! SubjectAccessReview for the requester and created; the instance's status then lists the
//! objects and says `Ready` (reason `Created`), or `InstantiateFailure` (reason `Failed`, the
//! error as message) when the requester may not or the server refuses. An instance already
//! Ready or failed is left alone, as upstream leaves it; a deleted one takes the objects it
//! made with it (its finalizer holds it until they are deleted).

use std::sync::Arc;

use base64::Engine;
use futures::StreamExt;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{Scope, pinned_kind};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use crate::Error;
use crate::backoff::Retries;

mod readiness;

pub const OWNER_LABEL: &str = "template.openshift.io/template-instance-owner";
/// Held by an instance until the objects it made are deleted with it.
pub const FINALIZER: &str = "template.openshift.io/finalizer";

fn instances() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("template.openshift.io", "v1", "TemplateInstance"),
        "templateinstances",
    )
}

fn processed_templates() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("template.openshift.io", "v1", "Template"),
        "processedtemplates",
    )
}

/// Why an instantiation stopped: for good (reported on the instance) or for now (retried).
enum Stop {
    Failed(String),
    Retry(Error),
}

impl From<kube::Error> for Stop {
    fn from(e: kube::Error) -> Stop {
        match e {
            // The server's refusals are the requester's to fix: reported, not retried.
            kube::Error::Api(s) if (400..500).contains(&s.code) && s.code != 429 => {
                Stop::Failed(s.message)
            }
            other => Stop::Retry(other.into()),
        }
    }
}

fn condition_true(status: &Value, kind: &str) -> bool {
    status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == kind && c["status"] == "True")
}

/// Whether the requester may `verb` the resource, as a SubjectAccessReview answers.
async fn allowed(
    client: &Client,
    requester: &Value,
    attributes: ResourceAttributes,
) -> Result<bool, Stop> {
    let strings = |v: &Value| -> Option<Vec<String>> {
        v.as_array().map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
    };
    let extra = requester["extra"].as_object().map(|m| {
        m.iter()
            .map(|(k, v)| (k.clone(), strings(v).unwrap_or_default()))
            .collect()
    });
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: requester["username"].as_str().map(str::to_string),
            uid: requester["uid"].as_str().map(str::to_string),
            groups: strings(&requester["groups"]),
            extra,
            resource_attributes: Some(attributes),
            ..Default::default()
        },
        ..Default::default()
    };
    let api: Api<SubjectAccessReview> = Api::all(client.clone());
    let answer = api.create(&PostParams::default(), &review).await?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

fn forbidden(user: &str, verb: &str, resource: &ApiResource, name: &str, ns: &str) -> Stop {
    let qualified = match resource.group.as_str() {
        "" => resource.plural.clone(),
        g => format!("{}.{g}", resource.plural),
    };
    Stop::Failed(format!(
        "{qualified} {name:?} is forbidden: User {user:?} cannot {verb} resource {:?} in API group {:?} in the namespace {ns:?}",
        resource.plural, resource.group
    ))
}

/// The template with the values of the instance's secret on its parameters.
async fn template_with_secret(
    client: &Client,
    ti: &DynamicObject,
    ns: &str,
) -> Result<Value, Stop> {
    let spec = &ti.data["spec"];
    let mut template = spec["template"].clone();
    let Some(secret) = spec["secret"]["name"].as_str().filter(|s| !s.is_empty()) else {
        return Ok(template);
    };
    let requester = &spec["requester"];
    let secrets =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", "Secret"), "secrets");
    let attributes = ResourceAttributes {
        namespace: Some(ns.into()),
        verb: Some("get".into()),
        resource: Some("secrets".into()),
        name: Some(secret.into()),
        ..Default::default()
    };
    if !allowed(client, requester, attributes).await? {
        let user = requester["username"].as_str().unwrap_or_default();
        return Err(forbidden(user, "get", &secrets, secret, ns));
    }
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &secrets);
    let found = api.get(secret).await?;
    let data = found.data["data"].as_object().cloned().unwrap_or_default();
    for p in template["parameters"].as_array_mut().into_iter().flatten() {
        let name = p["name"].as_str().unwrap_or_default().to_string();
        if let Some(encoded) = data.get(&name).and_then(Value::as_str) {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| Stop::Failed(format!("secret {secret:?}: {name}: {e}")))?;
            p["value"] = json!(String::from_utf8_lossy(&bytes));
            if let Some(p) = p.as_object_mut() {
                p.remove("generate");
            }
        }
    }
    Ok(template)
}

/// Instantiates the template; the references of the objects made, and whether any of them
/// asks to be waited for.
async fn instantiate(client: &Client, ti: &DynamicObject) -> Result<(Vec<Value>, bool), Stop> {
    let ns = ti.namespace().unwrap_or_default();
    let uid = ti.uid().unwrap_or_default();
    let requester = &ti.data["spec"]["requester"];
    let user = requester["username"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let template = template_with_secret(client, ti, &ns).await?;

    let mut input: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "template.openshift.io/v1", "kind": "Template", "metadata": {},
    }))
    .map_err(|e| Stop::Failed(e.to_string()))?;
    input.metadata.name = template["metadata"]["name"].as_str().map(str::to_string);
    for key in ["objects", "parameters", "labels", "message"] {
        if let Some(v) = template.get(key) {
            input.data[key] = v.clone();
        }
    }
    let processor: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, &processed_templates());
    let processed = processor.create(&PostParams::default(), &input).await?;

    let mut refs = Vec::new();
    let mut waits = false;
    for obj in processed.data["objects"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = obj["kind"].as_str().unwrap_or_default().to_string();
        let (group, version) = api_version
            .split_once('/')
            .unwrap_or(("", api_version.as_str()));
        let gvk = GroupVersionKind::gvk(group, version, &kind);
        let (resource, caps) = pinned_kind(client, &gvk).await.map_err(|e| match e {
            kube::Error::Api(_) | kube::Error::Discovery(_) => Stop::Failed(format!(
                "no matches for kind {kind:?} in version {api_version:?}"
            )),
            other => Stop::Retry(other.into()),
        })?;
        let mut obj: DynamicObject =
            serde_json::from_value(obj).map_err(|e| Stop::Failed(e.to_string()))?;
        let name = obj.name_any();
        let target_ns = match caps.scope {
            Scope::Namespaced => Some(obj.namespace().unwrap_or_else(|| ns.clone())),
            Scope::Cluster => None,
        };
        obj.metadata.namespace = target_ns.clone();
        obj.labels_mut().insert(OWNER_LABEL.into(), uid.clone());
        let attributes = ResourceAttributes {
            namespace: target_ns.clone(),
            verb: Some("create".into()),
            group: Some(resource.group.clone()),
            resource: Some(resource.plural.clone()),
            name: Some(name.clone()),
            ..Default::default()
        };
        if !allowed(client, requester, attributes).await? {
            return Err(forbidden(
                &user,
                "create",
                &resource,
                &name,
                target_ns.as_deref().unwrap_or(""),
            ));
        }
        let api: Api<DynamicObject> = match &target_ns {
            Some(n) => Api::namespaced_with(client.clone(), n, &resource),
            None => Api::all_with(client.clone(), &resource),
        };
        let made = match api.create(&PostParams::default(), &obj).await {
            Ok(made) => made,
            // Made by an earlier attempt of this instance that stopped before its status.
            Err(kube::Error::Api(s)) if s.code == 409 => {
                let found = api.get(&name).await?;
                if found.labels().get(OWNER_LABEL) != Some(&uid) {
                    return Err(Stop::Failed(s.message));
                }
                found
            }
            Err(e) => return Err(e.into()),
        };
        waits |= serde_json::to_value(&made).is_ok_and(|v| readiness::waits(&v));
        refs.push(json!({"ref": {
            "kind": kind, "apiVersion": api_version, "name": name,
            "namespace": target_ns, "uid": made.uid(),
        }}));
    }
    Ok((refs, waits))
}

fn condition(kind: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({
        "type": kind, "status": status, "reason": reason, "message": message,
        "lastTransitionTime": jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    })
}

struct Context {
    client: Client,
    retries: Retries,
}

/// Sets the instance's finalizers to `finalizers`.
async fn set_finalizers(
    client: &Client,
    ti: &DynamicObject,
    finalizers: Vec<String>,
) -> Result<(), Error> {
    let ns = ti.namespace().unwrap_or_default();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &instances());
    let patch =
        json!({"metadata": {"finalizers": finalizers, "resourceVersion": ti.resource_version()}});
    api.patch(
        &ti.name_any(),
        &PatchParams::default(),
        &Patch::Merge(patch),
    )
    .await?;
    Ok(())
}

/// Deletes the objects the instance made (those still there), then lets it go.
async fn finalize(client: &Client, ti: &DynamicObject) -> Result<(), Error> {
    for object in ti.data["status"]["objects"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let r = &object["ref"];
        let text = |k: &str| r[k].as_str().unwrap_or_default().to_string();
        let api_version = text("apiVersion");
        let (group, version) = api_version
            .split_once('/')
            .unwrap_or(("", api_version.as_str()));
        let gvk = GroupVersionKind::gvk(group, version, &text("kind"));
        let Ok((resource, caps)) = pinned_kind(client, &gvk).await else {
            continue;
        };
        let api: Api<DynamicObject> = match caps.scope {
            Scope::Namespaced => {
                Api::namespaced_with(client.clone(), &text("namespace"), &resource)
            }
            Scope::Cluster => Api::all_with(client.clone(), &resource),
        };
        match api.delete(&text("name"), &Default::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    let rest: Vec<String> = ti
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    set_finalizers(client, ti, rest).await
}

async fn reconcile(ti: Arc<DynamicObject>, ctx: Arc<Context>) -> Result<Action, Error> {
    let status = &ti.data["status"];
    let held = ti.finalizers().iter().any(|f| f == FINALIZER);
    if ti.metadata.deletion_timestamp.is_some() {
        if held {
            finalize(&ctx.client, &ti).await?;
        }
        return Ok(Action::await_change());
    }
    if condition_true(status, "Ready") || condition_true(status, "InstantiateFailure") {
        return Ok(Action::await_change());
    }
    // The finalizer first, so that nothing is made that a deletion could leave behind.
    if !held {
        let mut all = ti.finalizers().to_vec();
        all.push(FINALIZER.into());
        set_finalizers(&ctx.client, &ti, all).await?;
        return Ok(Action::await_change());
    }
    let name = ti.name_any();
    let ns = ti.namespace().unwrap_or_default();
    let instantiated = status["objects"].is_array();
    let outcome = match instantiated {
        true => readiness_of(&ctx.client, &ti).await,
        false => instantiate(&ctx.client, &ti)
            .await
            .map(|(objects, waits)| status_of(objects, !waits)),
    };
    let (new_status, action) = match outcome {
        Ok((s, true)) => (s, Action::await_change()),
        Ok((s, false)) => (s, Action::requeue(READINESS_POLL)),
        Err(Stop::Failed(message)) => (failed(&message), Action::await_change()),
        Err(Stop::Retry(e)) => return Err(e),
    };
    if same_conditions(status, &new_status) {
        // Still waiting: nothing to write (a write would only wake this instance again).
        return Ok(action);
    }
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &ns, &instances());
    api.patch_status(
        &name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": new_status})),
    )
    .await?;
    ctx.retries.succeeded(&format!("{ns}/{name}"));
    Ok(action)
}

/// Whether two statuses say the same of the instance (times aside).
fn same_conditions(a: &Value, b: &Value) -> bool {
    let said = |s: &Value| -> Vec<[String; 4]> {
        s["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| ["type", "status", "reason", "message"].map(|k| c[k].to_string()))
            .collect()
    };
    said(a) == said(b)
}

/// How often objects waited for are looked at, and for how long.
const READINESS_POLL: std::time::Duration = std::time::Duration::from_secs(2);
const READINESS_TIMEOUT: i64 = 3600;

/// The status of an instantiated instance: Ready, or waiting for its objects.
fn status_of(objects: Vec<Value>, ready: bool) -> (Value, bool) {
    let condition = match ready {
        true => condition("Ready", "True", "Created", ""),
        false => condition(
            "Ready",
            "False",
            "Waiting",
            "Waiting for instantiated objects to report ready",
        ),
    };
    (
        json!({"conditions": [condition], "objects": objects}),
        ready,
    )
}

fn failed(message: &str) -> Value {
    json!({"conditions": [
        condition("InstantiateFailure", "True", "Failed", message),
        condition("Ready", "False", "Failed", "See InstantiateFailure condition for error message"),
    ]})
}

/// Looks at the objects that ask to be waited for: all ready, one failed, or still waiting
/// (until the instance is an hour old).
async fn readiness_of(client: &Client, ti: &DynamicObject) -> Result<(Value, bool), Stop> {
    let objects = ti.data["status"]["objects"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut ready = true;
    for object in &objects {
        let r = &object["ref"];
        let text = |k: &str| r[k].as_str().unwrap_or_default().to_string();
        let api_version = text("apiVersion");
        let (group, version) = api_version
            .split_once('/')
            .unwrap_or(("", api_version.as_str()));
        let gvk = GroupVersionKind::gvk(group, version, &text("kind"));
        let (resource, caps) = pinned_kind(client, &gvk)
            .await
            .map_err(|e| Stop::Retry(e.into()))?;
        let api: Api<DynamicObject> = match caps.scope {
            Scope::Namespaced => {
                Api::namespaced_with(client.clone(), &text("namespace"), &resource)
            }
            Scope::Cluster => Api::all_with(client.clone(), &resource),
        };
        let live = serde_json::to_value(api.get(&text("name")).await?)
            .map_err(|e| Stop::Failed(e.to_string()))?;
        if !readiness::waits(&live) {
            continue;
        }
        let (is_ready, is_failed) = readiness::check(&live);
        if is_failed {
            return Err(Stop::Failed(format!(
                "Readiness failed on {} {}/{}",
                text("kind"),
                text("namespace"),
                text("name")
            )));
        }
        ready &= is_ready;
    }
    let age = ti
        .metadata
        .creation_timestamp
        .as_ref()
        .map_or(0, |t| jiff::Timestamp::now().as_second() - t.0.as_second());
    if !ready && age > READINESS_TIMEOUT {
        return Err(Stop::Failed("Timeout".into()));
    }
    Ok(status_of(objects, ready))
}

fn error_policy(ti: Arc<DynamicObject>, error: &Error, ctx: Arc<Context>) -> Action {
    let key = format!("{}/{}", ti.namespace().unwrap_or_default(), ti.name_any());
    let delay = ctx.retries.failed(&key);
    tracing::warn!(%error, instance = %key, ?delay, "template instances: retrying");
    Action::requeue(delay)
}

pub async fn run(client: Client) {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &instances());
    let ctx = Arc::new(Context {
        client,
        retries: Retries::new(),
    });
    Controller::new_with(api, watcher::Config::default(), instances())
        .run(reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_decide_what_is_left_alone() {
        let status = json!({"conditions": [condition("Ready", "True", "Created", "")]});
        assert!(condition_true(&status, "Ready"));
        assert!(!condition_true(&status, "InstantiateFailure"));
        let Stop::Failed(message) = forbidden(
            "alice",
            "create",
            &ApiResource::from_gvk_with_plural(
                &GroupVersionKind::gvk("apps", "v1", "Deployment"),
                "deployments",
            ),
            "web",
            "shop",
        ) else {
            unreachable!()
        };
        assert_eq!(
            message,
            "deployments.apps \"web\" is forbidden: User \"alice\" cannot create resource \"deployments\" in API group \"apps\" in the namespace \"shop\""
        );
    }
}
