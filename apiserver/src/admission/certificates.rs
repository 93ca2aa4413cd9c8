//! kube-apiserver's certificate plugins, with their names and messages:
//! - `CertificateApproval`: writing a request's `approval` needs `approve` on the
//!   `signers` resource named by its signer (or `<domain>/*`);
//! - `CertificateSigning`: changing a request's `status.certificate` needs `sign` likewise;
//! - `CertificateSubjectRestriction`: no request for `kubernetes.io/kube-apiserver-client`
//!   may ask for the `system:masters` group.

use auth::rbac::Attributes as RbacAttributes;
use serde_json::Value;

use super::{Attributes, Operation};
use crate::ApiServer;
use crate::authz::authorizer::user_info;
use crate::error::ApiError;
use crate::http::serve::User;

pub const APPROVAL: &str = "CertificateApproval";
pub const SIGNING: &str = "CertificateSigning";
pub const SUBJECT_RESTRICTION: &str = "CertificateSubjectRestriction";

const GROUP: &str = "certificates.k8s.io";
const API_SERVER_CLIENT: &str = "kubernetes.io/kube-apiserver-client";

fn is_csr(a: &Attributes<'_>) -> bool {
    a.def.group == GROUP && a.def.plural == "certificatesigningrequests"
}

pub fn approval_applies(a: &Attributes<'_>) -> bool {
    is_csr(a) && a.subresource == "approval" && a.operation == Operation::Update
}

pub fn signing_applies(a: &Attributes<'_>) -> bool {
    is_csr(a) && a.subresource == "status" && a.operation == Operation::Update
}

pub fn subject_restriction_applies(a: &Attributes<'_>) -> bool {
    is_csr(a) && a.subresource.is_empty() && a.operation == Operation::Create
}

fn signer(obj: &Value) -> &str {
    obj["spec"]["signerName"].as_str().unwrap_or_default()
}

/// Upstream's `IsAuthorizedForSignerName`: `verb` on the signer by name, else on every
/// signer of its domain.
async fn may(server: &ApiServer, user: &User, verb: &str, signer: &str) -> bool {
    let policy = server.authorizer.policy().await;
    let domain = signer.split('/').next().unwrap_or_default();
    [signer.to_string(), format!("{domain}/*")]
        .into_iter()
        .any(|name| {
            policy
                .authorize(
                    &user_info(user),
                    &RbacAttributes {
                        verb: verb.into(),
                        api_group: GROUP.into(),
                        resource: "signers".into(),
                        name,
                        resource_request: true,
                        ..Default::default()
                    },
                )
                .allowed()
        })
}

pub async fn check_approval(
    server: &ApiServer,
    a: &Attributes<'_>,
    obj: &Value,
) -> Result<(), ApiError> {
    let Some(user) = a.user else {
        return Ok(());
    };
    match may(server, user, "approve", signer(obj)).await {
        true => Ok(()),
        false => Err(a.forbidden(
            obj,
            format!(
                "user not permitted to approve requests with signerName {:?}",
                signer(obj)
            ),
        )),
    }
}

pub async fn check_signing(
    server: &ApiServer,
    a: &Attributes<'_>,
    obj: &Value,
) -> Result<(), ApiError> {
    let (Some(user), Some(old)) = (a.user, a.old) else {
        return Ok(());
    };
    if old["status"]["certificate"] == obj["status"]["certificate"] {
        return Ok(());
    }
    match may(server, user, "sign", signer(obj)).await {
        true => Ok(()),
        false => Err(a.forbidden(
            obj,
            format!(
                "user not permitted to sign requests with signerName {:?}",
                signer(obj)
            ),
        )),
    }
}

pub fn check_subject(a: &Attributes<'_>, obj: &Value) -> Result<(), ApiError> {
    if signer(obj) != API_SERVER_CLIENT {
        return Ok(());
    }
    let request = crate::registry::certificates::validation::bytes(&obj["spec"]["request"]);
    // A request that does not parse is refused by validation, which runs first.
    let Ok(parsed) = auth::csr::parse(&request) else {
        return Ok(());
    };
    match parsed
        .organizations
        .iter()
        .any(|o| o == auth::rbac::MASTERS)
    {
        false => Ok(()),
        true => Err(a.forbidden(
            obj,
            format!("use of {API_SERVER_CLIENT} signer with system:masters group is not allowed"),
        )),
    }
}
