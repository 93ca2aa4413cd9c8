//! The host of a route, as upstream's host assignment: a route without a host (and without a
//! subdomain or the Subdomain wildcard policy) gets `<name with "." as "-">-<namespace>.<apps
//! domain>` and the annotation `openshift.io/host.generated: "true"`; setting a host or
//! certificates yourself needs `create routes/custom-host` in the namespace, and changing them
//! later `update routes/custom-host` (certificates alone: `create`). An update without a host
//! keeps the one the route has, so re-applying the manifest that created it works.

use api::scheme::ResourceDef;
use auth::rbac::Attributes;
use serde_json::{Value, json};

use crate::ApiServer;
use crate::authz::authorizer::user_info;
use crate::error::ApiError;
use crate::http::serve::User;
use crate::registry::object;
use crate::registry::validation::{Bad, FieldErrors};

/// The annotation marking a host the server chose.
const HOST_GENERATED: &str = "openshift.io/host.generated";

const CERTIFICATE_FIELDS: [&str; 4] = [
    "caCertificate",
    "certificate",
    "destinationCACertificate",
    "key",
];

pub async fn assign(
    server: &ApiServer,
    def: &ResourceDef,
    user: Option<&User>,
    obj: &mut Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    let mut errors = FieldErrors::default();
    match old {
        None => create(server, user, obj, &mut errors).await,
        Some(old) => {
            if text(&obj["spec"]["host"]).is_empty() && !text(&old["spec"]["host"]).is_empty() {
                obj["spec"]["host"] = old["spec"]["host"].clone();
            }
            update(server, user, obj, old, &mut errors).await;
        }
    }
    errors.into_result(def, obj)
}

async fn create(
    server: &ApiServer,
    user: Option<&User>,
    obj: &mut Value,
    errors: &mut FieldErrors,
) {
    let host_set = !text(&obj["spec"]["host"]).is_empty();
    if (host_set || has_certificates(&obj["spec"]["tls"]))
        && !may(server, user, obj, "create").await
    {
        match host_set {
            true => errors.forbidden(
                "spec.host",
                "you do not have permission to set the host field of the route",
            ),
            false => errors.forbidden(
                "spec.tls",
                "you do not have permission to set certificate fields on the route",
            ),
        }
        return;
    }
    let spec = &obj["spec"];
    if spec["wildcardPolicy"] == "Subdomain"
        || !text(&spec["subdomain"]).is_empty()
        || !text(&spec["host"]).is_empty()
    {
        return;
    }
    let host = generated(
        object::meta_str(obj, "name"),
        object::meta_str(obj, "namespace"),
        &server.apps_domain,
    );
    obj["spec"]["host"] = json!(host);
    if let Some(meta) = obj["metadata"].as_object_mut() {
        let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
        if !annotations.is_object() {
            *annotations = json!({});
        }
        annotations[HOST_GENERATED] = json!("true");
    }
}

async fn update(
    server: &ApiServer,
    user: Option<&User>,
    obj: &Value,
    old: &Value,
    errors: &mut FieldErrors,
) {
    let (spec, old_spec) = (&obj["spec"], &old["spec"]);
    let host_changed = text(&spec["host"]) != text(&old_spec["host"]);
    let subdomain_changed = text(&spec["subdomain"]) != text(&old_spec["subdomain"]);
    let certificates_changed = certificates_need_permission(&spec["tls"], &old_spec["tls"]);
    if !(host_changed || subdomain_changed || certificates_changed)
        || may(server, user, obj, "update").await
    {
        return;
    }
    if host_changed || subdomain_changed {
        let field = if host_changed { "host" } else { "subdomain" };
        errors.invalid(
            &format!("spec.{field}"),
            Bad::Str(text(&spec[field])),
            "field is immutable",
        );
        return;
    }
    if may(server, user, obj, "create").await {
        return;
    }
    let (tls, old_tls) = (&spec["tls"], &old_spec["tls"]);
    if tls.is_null() || old_tls.is_null() {
        errors.invalid("spec.tls", Bad::Go(go_tls(tls)), "field is immutable");
        return;
    }
    for field in CERTIFICATE_FIELDS {
        if text(&tls[field]) != text(&old_tls[field]) {
            errors.invalid(
                &format!("spec.tls.{field}"),
                Bad::Str(text(&tls[field])),
                "field is immutable",
            );
        }
    }
}

/// Whether the writer of `obj` may `verb` `routes/custom-host` in its namespace.
async fn may(server: &ApiServer, user: Option<&User>, obj: &Value, verb: &str) -> bool {
    let Some(user) = user else {
        // Writes of the server's own: no user to check.
        return true;
    };
    let policy = server.authorizer.policy().await;
    policy
        .authorize(
            &user_info(user),
            &Attributes {
                verb: verb.into(),
                namespace: object::meta_str(obj, "namespace").into(),
                api_group: "route.openshift.io".into(),
                resource: "routes".into(),
                subresource: "custom-host".into(),
                resource_request: true,
                ..Default::default()
            },
        )
        .allowed()
}

/// The host the server gives a route: `<name with "." as "-">-<namespace>.<domain>`.
pub fn generated(name: &str, namespace: &str, domain: &str) -> String {
    format!("{}-{namespace}.{domain}", name.replace('.', "-"))
}

fn has_certificates(tls: &Value) -> bool {
    CERTIFICATE_FIELDS
        .iter()
        .any(|field| !text(&tls[*field]).is_empty())
}

/// Adding or changing certificates needs the permission; removing them, or using the
/// router's default certificate, does not.
fn certificates_need_permission(tls: &Value, old: &Value) -> bool {
    match (tls.is_object(), old.is_object()) {
        (true, true) => {
            has_certificates(tls)
                && CERTIFICATE_FIELDS
                    .iter()
                    .any(|field| text(&tls[*field]) != text(&old[*field]))
        }
        (true, false) => has_certificates(tls),
        _ => false,
    }
}

/// A TLS configuration as Go prints a nil or set pointer in an immutability error.
fn go_tls(tls: &Value) -> String {
    match tls.is_null() {
        true => "null".into(),
        false => "{}".into(),
    }
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}
