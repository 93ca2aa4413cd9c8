//! What admission knows of a request: upstream's `admission.Attributes`.

use api::scheme::ResourceDef;
use serde_json::Value;

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
}
