//! A kind's behaviour in the generic store: its defaults, its validation beyond what every
//! object gets, and what its writes reserve elsewhere (a service's cluster IP and node ports).
//! The generic store calls these hooks in one fixed order — defaults, validation, reservation,
//! admission, store — so every kind gets each step. A kind without behaviour of its own uses
//! `Plain`.

use api::scheme::ResourceDef;
use async_trait::async_trait;
use serde_json::Value;

use crate::ApiServer;
use crate::error::ApiError;
use crate::http::serve::User;
use crate::registry::validation::FieldErrors;

/// Who makes a write, for strategies whose rules read other objects or ask what the writer
/// may do.
pub struct Writer<'a> {
    pub server: &'a ApiServer,
    pub user: Option<&'a User>,
}

/// Something a write took that is given back unless the write is stored.
#[async_trait]
pub trait Reservation: Send {
    /// The write was stored: what it took stays taken (and what it stopped holding goes back).
    async fn keep(self: Box<Self>);
}

/// What a write reserved, if anything.
pub type Reserved = Option<Box<dyn Reservation>>;

#[async_trait]
pub trait Strategy: Send + Sync {
    /// Upstream's defaults, applied on every write (as upstream defaults on every decode).
    fn prepare(&self, _obj: &mut Value) {}

    /// Defaults of a new object only (after its system fields are set).
    fn prepare_create(&self, obj: &mut Value) {
        self.prepare(obj);
    }

    /// A new object as mutating admission left it, before validation (where upstream's
    /// `PrepareForCreate` runs): what the server derives from it, e.g. a pod's status.
    fn complete_create(&self, _obj: &mut Value) {}

    /// Whether the kind checks its pod template itself, instead of the rules every PodSpec
    /// gets (DeploymentConfigs: an image a trigger fills in may be empty).
    fn checks_pod_spec(&self) -> bool {
        false
    }

    /// An update of the object itself carried `requested` as its status: what of it the kind
    /// takes (by default nothing: the status stays as stored).
    fn accept_status(&self, _next: &mut Value, _requested: &Value) {}

    /// What the server fills in, or refuses, by who writes (upstream's strategies read the user
    /// from the request): e.g. a route's generated host and the permission to choose one.
    /// Runs after the defaults and before validation; `user` is `None` for the server's own writes.
    async fn assign(
        &self,
        _server: &ApiServer,
        _def: &ResourceDef,
        _user: Option<&User>,
        _obj: &mut Value,
        _old: Option<&Value>,
    ) -> Result<(), ApiError> {
        Ok(())
    }

    /// What the kind refuses beyond every object's rules (`old` is the object being updated).
    fn validate(
        &self,
        _def: &ResourceDef,
        _obj: &Value,
        _old: Option<&Value>,
        _errors: &mut FieldErrors,
    ) {
    }

    /// The kind's rules that need the server or the writer (other objects read, access
    /// checked), after validation: may complete `obj` or refuse the write.
    async fn resolve(
        &self,
        _writer: &Writer<'_>,
        _obj: &mut Value,
        _old: Option<&Value>,
    ) -> Result<(), ApiError> {
        Ok(())
    }

    /// A write of the status subresource, before it is validated (`old`: the object before).
    fn prepare_status(&self, _obj: &mut Value, _old: &Value) {}

    /// A write of the status subresource, after `prepare_status`: what the kind fills in or
    /// refuses with the server at hand (custom kinds: their schema and rules).
    async fn assign_status(
        &self,
        _server: &ApiServer,
        _def: &ResourceDef,
        _obj: &mut Value,
        _old: &Value,
    ) -> Result<(), ApiError> {
        Ok(())
    }

    /// A write of a certificate signing request's `approval` subresource (its conditions
    /// set on the stored object): what the kind fills in or refuses.
    fn assign_approval(
        &self,
        _def: &ResourceDef,
        _obj: &mut Value,
        _old: &Value,
    ) -> Result<(), ApiError> {
        Ok(())
    }

    /// Takes what the write needs outside the object (allocations), writing it into `obj`.
    /// A dry run takes nothing.
    async fn reserve(
        &self,
        _server: &ApiServer,
        _obj: &mut Value,
        _old: Option<&Value>,
        _dry_run: bool,
    ) -> Result<Reserved, ApiError> {
        Ok(None)
    }

    /// The object is gone: gives back what it held.
    async fn released(&self, _server: &ApiServer, _obj: &Value) {}

    /// For kinds deleted gracefully (upstream's `CheckGracefulDelete`): the grace period a
    /// DELETE of `obj` asking for `requested` seconds gets. `None`: deleted without one.
    fn grace_period(&self, _obj: &Value, _requested: Option<i64>) -> Option<i64> {
        None
    }
}

/// The strategy of kinds with no behaviour of their own.
pub struct Plain;

impl Strategy for Plain {}

/// Keeps what a write reserved, once it is stored.
pub async fn keep(reserved: Reserved) {
    if let Some(reservation) = reserved {
        reservation.keep().await;
    }
}
