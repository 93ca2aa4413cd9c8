//! What admission knows of a request: upstream's `admission.Attributes`.

use api::scheme::ResourceDef;
use serde_json::Value;

use crate::error::{ApiError, Target};
use crate::http::serve::User;

/// The operation admitted, as admission webhooks and policies name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
    Connect,
}

impl Operation {
    /// Upstream's name (`CREATE`, `UPDATE`, `DELETE`, `CONNECT`).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Connect => "CONNECT",
        }
    }
}

/// One admission request.
#[derive(Clone, Debug)]
pub struct Attributes<'a> {
    pub operation: Operation,
    /// The resource written (for a subresource, its parent's definition).
    pub def: &'a ResourceDef,
    /// `""` for the resource itself, else the subresource (`status`, `scale`, `exec`...).
    pub subresource: &'a str,
    pub namespace: Option<&'a str>,
    /// The object's name (on a create, the name it is created with).
    pub name: &'a str,
    /// None: a request of the server itself.
    pub user: Option<&'a User>,
    /// The stored object on updates and deletions.
    pub old: Option<&'a Value>,
    /// `dryRun=All`: nothing is stored, so plugins must not have side effects.
    pub dry_run: bool,
    /// The request's namespace as the plugins read it (`Default::default()` to start).
    pub namespace_object: super::request_namespace::RequestNamespace,
}

impl Attributes<'_> {
    /// The namespace `name` (the request's), read once for every plugin of the request.
    pub async fn namespace_object(
        &self,
        server: &crate::ApiServer,
        name: &str,
    ) -> Result<Option<std::sync::Arc<Value>>, crate::error::ApiError> {
        self.namespace_object.get(server, name).await
    }

    /// A request on an object of `group`'s `plural` itself, not on a subresource.
    pub fn is_object_of(&self, group: &str, plural: &str) -> bool {
        self.def.group == group && self.def.plural == plural && self.subresource.is_empty()
    }

    /// A new pod, not a subresource's write: what most of the pods' plugins admit.
    pub fn creates_pod(&self) -> bool {
        self.is_object_of("", "pods") && self.operation == Operation::Create
    }

    /// A plugin's refusal of `obj` (403), named as upstream's admission errors name it: the
    /// object's name, else the request's, else the `generateName` a new object has before
    /// its name is generated.
    pub fn forbidden(&self, obj: &Value, message: impl Into<String>) -> ApiError {
        let named = |field: &str| {
            obj.get("metadata")
                .and_then(|m| m.get(field))
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
        };
        let name = named("name")
            .or(Some(self.name).filter(|n| !n.is_empty()))
            .or_else(|| named("generateName"))
            .unwrap_or_default();
        ApiError::Forbidden {
            target: Target {
                group: self.def.group.to_string(),
                resource: self.def.plural.to_string(),
                name: name.to_string(),
            },
            message: message.into(),
        }
    }
}
