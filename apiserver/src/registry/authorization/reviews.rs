//! The review kinds: created, answered from the authenticated user and the RBAC policy, never
//! stored. TokenReview asks whether a bearer token is valid and whose it is. `kubectl auth whoami` (SelfSubjectReview), `kubectl auth can-i`
//! (SelfSubjectAccessReview, SelfSubjectRulesReview with `--list`), and the reviews about
//! other users (SubjectAccessReview, LocalSubjectAccessReview).

use api::scheme::ResourceDef;
use auth::rbac::{Attributes, Decision, UserInfo};
use k8s_openapi::api::rbac::v1::PolicyRule;
use serde_json::{Value, json};

use crate::ApiServer;
use crate::authz::authorizer::user_info;
use crate::error::ApiError;
use crate::http::serve::User;

/// The answered review: the request with its `status` (and a creation timestamp, as
/// upstream echoes).
pub async fn answer(
    server: &ApiServer,
    def: &ResourceDef,
    namespace: Option<&str>,
    mut review: Value,
    user: &User,
) -> Result<Value, ApiError> {
    let caller = user_info(user);
    if def.group == "authorization.openshift.io"
        && matches!(def.kind, "SubjectAccessReview" | "LocalSubjectAccessReview")
    {
        return openshift_access(server, namespace, &review, &caller).await;
    }
    let status = match def.kind {
        "SelfSubjectReview" => json!({"userInfo": user_json(&caller)}),
        "TokenReview" => {
            let token = review["spec"]["token"].as_str().unwrap_or_default();
            match crate::authn::authentication::user_of(server, token).await {
                Some(user) => json!({"authenticated": true, "user": user_json(&user_info(&user)),
                    "audiences": review["spec"]["audiences"]}),
                None => json!({"authenticated": false, "error": "invalid bearer token"}),
            }
        }
        "SelfSubjectAccessReview" => access(server, &caller, &review["spec"], None).await?,
        "SubjectAccessReview" => {
            access(server, &subject(&review["spec"]), &review["spec"], None).await?
        }
        "LocalSubjectAccessReview" => {
            let namespace = namespace.unwrap_or_default();
            let asked = review["spec"]["resourceAttributes"]["namespace"]
                .as_str()
                .unwrap_or_default();
            if !asked.is_empty() && asked != namespace {
                return Err(ApiError::BadRequest(format!(
                    "spec.resourceAttributes.namespace must match namespace: {namespace}"
                )));
            }
            access(
                server,
                &subject(&review["spec"]),
                &review["spec"],
                Some(namespace),
            )
            .await?
        }
        "ResourceAccessReview" | "LocalResourceAccessReview" => {
            return who_can(server, namespace, &review).await;
        }
        "SelfSubjectRulesReview" => {
            let namespace = review["spec"]["namespace"].as_str().unwrap_or_default();
            rules(server, &caller, namespace).await
        }
        _ => return Err(ApiError::MethodNotAllowed),
    };
    if let Some(meta) = review.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("creationTimestamp".into(), Value::Null);
    } else {
        review["metadata"] = json!({"creationTimestamp": null});
    }
    review["status"] = status;
    Ok(review)
}

fn user_json(user: &UserInfo) -> Value {
    let mut out = json!({"username": user.name, "groups": user.groups});
    if !user.uid.is_empty() {
        out["uid"] = json!(user.uid);
    }
    if !user.extra.is_empty() {
        out["extra"] = json!(user.extra);
    }
    out
}

/// The user a SubjectAccessReview asks about.
fn subject(spec: &Value) -> UserInfo {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    UserInfo {
        name: spec["user"].as_str().unwrap_or_default().to_string(),
        uid: spec["uid"].as_str().unwrap_or_default().to_string(),
        groups: strings(&spec["groups"]),
        extra: spec["extra"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), strings(v)))
            .collect(),
    }
}

/// `{allowed, reason}` for the access a review's spec describes.
async fn access(
    server: &ApiServer,
    user: &UserInfo,
    spec: &Value,
    namespace: Option<&str>,
) -> Result<Value, ApiError> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let attrs = if let Some(r) = spec.get("resourceAttributes").filter(|r| r.is_object()) {
        Attributes {
            verb: text(&r["verb"]),
            namespace: namespace.map_or_else(|| text(&r["namespace"]), str::to_string),
            api_group: text(&r["group"]),
            resource: text(&r["resource"]),
            subresource: text(&r["subresource"]),
            name: text(&r["name"]),
            path: String::new(),
            resource_request: true,
        }
    } else if let Some(n) = spec.get("nonResourceAttributes").filter(|n| n.is_object()) {
        Attributes {
            verb: text(&n["verb"]),
            path: text(&n["path"]),
            ..Default::default()
        }
    } else {
        return Err(ApiError::BadRequest(
            "exactly one of nonResourceAttributes or resourceAttributes must be specified".into(),
        ));
    };
    let policy = server.authorizer.policy().await;
    Ok(match policy.authorize(user, &attrs) {
        // A scoped token may do no more than its scopes allow, whatever RBAC allows.
        Decision::Allow(_)
            if scopes(user).is_some_and(|s| !auth::scopes::allows(&policy, s, &attrs)) =>
        {
            let scopes = scopes(user).unwrap_or_default();
            json!({"allowed": false, "denied": true,
                "reason": format!("scopes [{}] prevent this action", scopes.join(" "))})
        }
        Decision::Allow(reason) => json!({"allowed": true, "reason": reason}),
        Decision::NoOpinion => json!({"allowed": false}),
    })
}

/// The scopes of the token a user came with (none for other credentials).
fn scopes(user: &UserInfo) -> Option<&[String]> {
    user.extra
        .get(auth::scopes::EXTRA_KEY)
        .map(Vec::as_slice)
        .filter(|s| !s.is_empty())
}

/// OpenShift's access reviews (`authorization.openshift.io`): the action inline (or under
/// `action`), about `user` and `groups` — or, when both are empty, about the caller (a personal
/// review, which every user may make: `oc login` asks one). A SubjectAccessReviewResponse.
async fn openshift_access(
    server: &ApiServer,
    namespace: Option<&str>,
    review: &Value,
    caller: &UserInfo,
) -> Result<Value, ApiError> {
    let action = match review.get("action").filter(|a| a.is_object()) {
        Some(action) => action,
        None => review,
    };
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    let namespace = namespace.map_or_else(|| text(action, "namespace"), str::to_string);
    let asked = subject(review);
    let personal = asked.name.is_empty() && asked.groups.is_empty();
    let who = if personal { caller.clone() } else { asked };
    let non_resource = action["isNonResourceURL"] == true;
    let attrs = Attributes {
        verb: text(action, "verb"),
        namespace: if non_resource {
            String::new()
        } else {
            namespace.clone()
        },
        api_group: text(action, "resourceAPIGroup"),
        resource: text(action, "resource"),
        name: text(action, "resourceName"),
        path: text(action, "path"),
        resource_request: !non_resource,
        ..Default::default()
    };
    let policy = server.authorizer.policy().await;
    let (allowed, reason) = match policy.authorize(&who, &attrs) {
        Decision::Allow(reason) => (true, reason),
        Decision::NoOpinion => (false, String::new()),
    };
    Ok(json!({
        "kind": "SubjectAccessReviewResponse",
        "apiVersion": "authorization.openshift.io/v1",
        "namespace": namespace,
        "allowed": allowed,
        "reason": reason,
    }))
}

/// Whether a request body is a personal access review (no user, no groups): upstream
/// authorizes it as a SelfSubjectAccessReview, which every user may create.
pub fn is_personal(body: &[u8]) -> bool {
    let Ok(review) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    let empty = |v: &Value| match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    };
    // Kubernetes' reviews carry the subject in `spec`, OpenShift's at the top.
    let subject = review
        .get("spec")
        .filter(|s| s.is_object())
        .unwrap_or(&review);
    empty(&subject["user"]) && empty(&subject["groups"])
}

/// `oc policy who-can`: the users and groups that may do what the review describes
/// (a ResourceAccessReviewResponse).
async fn who_can(
    server: &ApiServer,
    namespace: Option<&str>,
    review: &Value,
) -> Result<Value, ApiError> {
    let text = |k: &str| review[k].as_str().unwrap_or_default().to_string();
    let namespace = namespace.map_or_else(|| text("namespace"), str::to_string);
    let attrs = Attributes {
        verb: text("verb"),
        namespace: namespace.clone(),
        api_group: text("resourceAPIGroup"),
        resource: text("resource"),
        name: text("resourceName"),
        resource_request: true,
        ..Default::default()
    };
    if attrs.verb.is_empty() || attrs.resource.is_empty() {
        return Err(ApiError::BadRequest(
            "verb and resource are required".into(),
        ));
    }
    let (users, groups) = server.authorizer.policy().await.subjects_allowed(&attrs);
    Ok(json!({
        "kind": "ResourceAccessReviewResponse",
        "apiVersion": "authorization.openshift.io/v1",
        "namespace": namespace,
        "users": users,
        "groups": groups,
        "evaluationError": "",
    }))
}

/// Every rule that applies to `user` in `namespace`, split as upstream reports them.
async fn rules(server: &ApiServer, user: &UserInfo, namespace: &str) -> Value {
    let policy = server.authorizer.policy().await;
    let (mut resource_rules, mut non_resource_rules) = (Vec::new(), Vec::new());
    // A scoped token's rules are those its scopes cover.
    let granted = policy
        .rules_for(user, namespace)
        .into_iter()
        .filter(|rule| {
            scopes(user).is_none_or(|s| auth::scopes::covers(&policy, s, namespace, rule))
        });
    for rule in granted {
        let PolicyRule {
            api_groups,
            non_resource_urls,
            resource_names,
            resources,
            verbs,
        } = rule;
        if let Some(urls) = non_resource_urls.filter(|u| !u.is_empty()) {
            non_resource_rules.push(json!({"verbs": verbs, "nonResourceURLs": urls}));
        }
        if let Some(resources) = resources.filter(|r| !r.is_empty()) {
            let mut out = json!({"verbs": verbs, "apiGroups": api_groups.unwrap_or_default(), "resources": resources});
            if let Some(names) = resource_names.filter(|n| !n.is_empty()) {
                out["resourceNames"] = json!(names);
            }
            resource_rules.push(out);
        }
    }
    json!({"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": false})
}
