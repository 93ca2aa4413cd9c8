//! Kubernetes' authorizer library, as admission policies see it: `authorizer.group('apps')
//! .resource('deployments').namespace('p').name('web').check('update').allowed()`,
//! `authorizer.path('/healthz').check('get')`, `authorizer.serviceAccount(ns, name)` and
//! `authorizer.requestResource` (the request's own resource). Checks are decided by the
//! server's RBAC policy as it was when the request's admission began.

use std::any::Any;
use std::sync::Arc;

use auth::rbac::{Attributes, Policy, UserInfo};
use cel::common::traits::Indexer;
use cel::common::types::{CelBool, CelString, Type};
use cel::common::value::{CowVal, StaticVal, Val};
use cel::{DeclarationError, Env, ExecutionError};

static AUTHORIZER: Type = Type::new_unspecified_type("kubernetes.authorization.Authorizer");
static PATH_CHECK: Type = Type::new_unspecified_type("kubernetes.authorization.PathCheck");
static GROUP_CHECK: Type = Type::new_unspecified_type("kubernetes.authorization.GroupCheck");
static RESOURCE_CHECK: Type = Type::new_unspecified_type("kubernetes.authorization.ResourceCheck");
static DECISION: Type = Type::new_unspecified_type("kubernetes.authorization.Decision");

/// Who is checked, against which policy.
#[derive(Debug)]
struct Subject {
    policy: Arc<Policy>,
    user: UserInfo,
}

/// The `authorizer` variable.
#[derive(Clone, Debug)]
pub struct Authorizer {
    subject: Arc<Subject>,
    /// The request's resource, as `authorizer.requestResource` checks it.
    request: Option<Resource>,
}

/// What a resource check names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resource {
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
}

impl Authorizer {
    pub fn new(policy: Arc<Policy>, user: UserInfo, request: Option<Resource>) -> Authorizer {
        Authorizer {
            subject: Arc::new(Subject { policy, user }),
            request,
        }
    }
}

#[derive(Clone, Debug)]
struct PathCheck {
    subject: Arc<Subject>,
    path: String,
}

#[derive(Clone, Debug)]
struct GroupCheck {
    subject: Arc<Subject>,
    group: String,
}

#[derive(Clone, Debug)]
struct ResourceCheck {
    subject: Arc<Subject>,
    resource: Resource,
}

#[derive(Clone, Debug)]
struct Decision {
    allowed: bool,
    reason: String,
}

super::library_val!(PathCheck, PATH_CHECK);
super::library_val!(GroupCheck, GROUP_CHECK);
super::library_val!(ResourceCheck, RESOURCE_CHECK);
super::library_val!(Decision, DECISION);

impl Val for Authorizer {
    fn get_type(&self) -> &Type {
        <Self as Val>::cel_type()
    }
    fn cel_type() -> &'static Type {
        &AUTHORIZER
    }
    fn clone_as_boxed<'v>(&self) -> Box<dyn Val + 'v> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
    fn as_indexer<'b, 'v>(&'b self) -> Option<&'b (dyn Indexer + 'v)>
    where
        Self: 'v,
    {
        Some(self)
    }
}
impl StaticVal for Authorizer {}

impl Indexer for Authorizer {
    fn get<'b, 'v>(&'b self, idx: &dyn Val) -> Result<CowVal<'b, 'v>, ExecutionError>
    where
        Self: 'v,
    {
        let field = idx
            .downcast_ref::<CelString>()
            .map(|s| s.inner().to_string());
        match (field.as_deref(), &self.request) {
            (Some("requestResource"), Some(resource)) => Ok(CowVal::owned(ResourceCheck {
                subject: self.subject.clone(),
                resource: resource.clone(),
            })),
            (name, _) => Err(ExecutionError::no_such_key(name.unwrap_or_default())),
        }
    }

    fn steal<'v>(self: Box<Self>, idx: &dyn Val) -> Result<Box<dyn Val + 'v>, ExecutionError>
    where
        Self: 'v,
    {
        self.get(idx).map(|v| v.as_ref().clone_as_boxed())
    }
}

fn decide(subject: &Subject, attrs: &Attributes) -> Decision {
    match subject.policy.authorize(&subject.user, attrs) {
        auth::rbac::Decision::Allow(reason) => Decision {
            allowed: true,
            reason,
        },
        auth::rbac::Decision::NoOpinion => Decision {
            allowed: false,
            reason: String::new(),
        },
    }
}

fn path(a: &Authorizer, path: &CelString<'_>) -> PathCheck {
    PathCheck {
        subject: a.subject.clone(),
        path: path.inner().to_string(),
    }
}

fn group(a: &Authorizer, group: &CelString<'_>) -> GroupCheck {
    GroupCheck {
        subject: a.subject.clone(),
        group: group.inner().to_string(),
    }
}

/// `authorizer.serviceAccount(namespace, name)`: the same checks for that service account.
fn service_account(a: &Authorizer, namespace: &CelString<'_>, name: &CelString<'_>) -> Authorizer {
    let (namespace, name) = (namespace.inner(), name.inner());
    let user = UserInfo {
        name: format!("system:serviceaccount:{namespace}:{name}"),
        groups: vec![
            "system:serviceaccounts".to_string(),
            format!("system:serviceaccounts:{namespace}"),
            auth::rbac::AUTHENTICATED.to_string(),
        ],
        ..Default::default()
    };
    Authorizer::new(a.subject.policy.clone(), user, None)
}

fn resource(g: &GroupCheck, resource: &CelString<'_>) -> ResourceCheck {
    ResourceCheck {
        subject: g.subject.clone(),
        resource: Resource {
            group: g.group.clone(),
            resource: resource.inner().to_string(),
            ..Default::default()
        },
    }
}

fn with(r: &ResourceCheck, set: impl FnOnce(&mut Resource)) -> ResourceCheck {
    let mut r = r.clone();
    set(&mut r.resource);
    r
}

fn subresource(r: &ResourceCheck, s: &CelString<'_>) -> ResourceCheck {
    with(r, |r| r.subresource = s.inner().to_string())
}

fn namespace(r: &ResourceCheck, s: &CelString<'_>) -> ResourceCheck {
    with(r, |r| r.namespace = s.inner().to_string())
}

fn name(r: &ResourceCheck, s: &CelString<'_>) -> ResourceCheck {
    with(r, |r| r.name = s.inner().to_string())
}

fn check_resource(r: &ResourceCheck, verb: &CelString<'_>) -> Decision {
    let res = &r.resource;
    decide(
        &r.subject,
        &Attributes {
            verb: verb.inner().to_string(),
            namespace: res.namespace.clone(),
            api_group: res.group.clone(),
            resource: res.resource.clone(),
            subresource: res.subresource.clone(),
            name: res.name.clone(),
            path: String::new(),
            resource_request: true,
        },
    )
}

fn check_path(p: &PathCheck, verb: &CelString<'_>) -> Decision {
    decide(
        &p.subject,
        &Attributes {
            verb: verb.inner().to_string(),
            path: p.path.clone(),
            resource_request: false,
            ..Default::default()
        },
    )
}

fn allowed(d: &Decision) -> CelBool {
    CelBool::from(d.allowed)
}

fn reason(d: &Decision) -> CelString<'static> {
    CelString::from(d.reason.clone())
}

/// RBAC decides without errors.
fn errored(_: &Decision) -> CelBool {
    CelBool::from(false)
}

fn error(_: &Decision) -> CelString<'static> {
    CelString::from(String::new())
}

/// Registers the library on `env`.
pub fn extension(env: &mut Env) -> Result<(), DeclarationError> {
    cel::add_member_overload!(env, fn path: (Authorizer, CelString) -> PathCheck)?;
    cel::add_member_overload!(env, fn group: (Authorizer, CelString) -> GroupCheck)?;
    cel::add_member_overload!(env,
        fn service_account: (Authorizer, CelString, CelString) -> Authorizer)?;
    cel::add_member_overload!(env, fn resource: (GroupCheck, CelString) -> ResourceCheck)?;
    cel::add_member_overload!(env, fn subresource: (ResourceCheck, CelString) -> ResourceCheck)?;
    cel::add_member_overload!(env, fn namespace: (ResourceCheck, CelString) -> ResourceCheck)?;
    cel::add_member_overload!(env, fn name: (ResourceCheck, CelString) -> ResourceCheck)?;
    cel::add_member_overload!(env,
        fn check_resource: (ResourceCheck, CelString) -> Decision, name = "check")?;
    cel::add_member_overload!(env,
        fn check_path: (PathCheck, CelString) -> Decision, name = "check")?;
    cel::add_member_overload!(env, fn allowed: (Decision) -> CelBool)?;
    cel::add_member_overload!(env, fn reason: (Decision) -> CelString)?;
    cel::add_member_overload!(env, fn errored: (Decision) -> CelBool)?;
    cel::add_member_overload!(env, fn error: (Decision) -> CelString)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::cel::{Activation, compile};
    use cel::Value;
    use serde_json::json;

    fn policy() -> Arc<Policy> {
        let role = json!({"metadata": {"name": "deployer", "namespace": "p"},
            "rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["update"]}]});
        let binding = json!({"metadata": {"name": "alice-deploys", "namespace": "p"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"},
            "subjects": [{"kind": "User", "name": "alice"},
                         {"kind": "ServiceAccount", "name": "robot", "namespace": "p"}]});
        use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
        let role: Role = serde_json::from_value(role).expect("role");
        let binding: RoleBinding = serde_json::from_value(binding).expect("binding");
        Arc::new(Policy::new(
            Vec::<ClusterRole>::new(),
            [role],
            Vec::<ClusterRoleBinding>::new(),
            [binding],
        ))
    }

    fn eval(user: &str, src: &str) -> Result<Value, String> {
        let mut vars = Activation::default();
        let request = Resource {
            group: "apps".into(),
            resource: "deployments".into(),
            namespace: "p".into(),
            name: "web".into(),
            ..Default::default()
        };
        let user = UserInfo {
            name: user.into(),
            ..Default::default()
        };
        vars.set_authorizer(Authorizer::new(policy(), user, Some(request)));
        compile(src)?.eval(&vars)
    }

    #[test]
    fn checks_are_decided_by_rbac() {
        let check = "authorizer.group('apps').resource('deployments').namespace('p').name('x').check('update')";
        assert_eq!(
            eval("alice", &format!("{check}.allowed()")),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            eval("bob", &format!("{check}.allowed()")),
            Ok(Value::Bool(false))
        );
        assert_eq!(
            eval(
                "alice",
                "authorizer.requestResource.check('update').allowed()"
            ),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            eval(
                "alice",
                "authorizer.requestResource.check('delete').allowed()"
            ),
            Ok(Value::Bool(false))
        );
        assert_eq!(
            eval(
                "bob",
                "authorizer.serviceAccount('p', 'robot').group('apps').resource('deployments').namespace('p').check('update').allowed()"
            ),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            eval(
                "alice",
                "authorizer.path('/healthz').check('get').allowed()"
            ),
            Ok(Value::Bool(false))
        );
        let reason = eval("alice", &format!("{check}.reason()"));
        assert!(
            matches!(&reason, Ok(Value::String(s)) if s.contains("deployer")),
            "{reason:?}"
        );
        assert_eq!(
            eval("bob", &format!("{check}.errored()")),
            Ok(Value::Bool(false))
        );
    }
}
