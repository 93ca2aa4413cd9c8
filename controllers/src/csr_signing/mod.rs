//! kube-controller-manager's CSR signing and cleaning for the built-in signers:
//! approved requests of `kubernetes.io/kube-apiserver-client`,
//! `kubernetes.io/kube-apiserver-client-kubelet` and `kubernetes.io/kubelet-serving` are
//! signed with the cluster CA (the files the manager is handed, as upstream's
//! `--cluster-signing-cert-file`/`--cluster-signing-key-file`), for the duration asked within
//! the signer's maximum; a request that does not fit its signer gets a `Failed` condition.
//! The cleaner removes decided requests after an hour and pending ones after a day
//! (`decide.rs`, pure). The CA's key is never logged: `SigningCa` prints redacted.

pub mod decide;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::ByteString;
use k8s_openapi::api::certificates::v1::{
    CertificateSigningRequest, CertificateSigningRequestCondition,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};

use crate::Error;
use crate::backoff::Retries;
use crate::lenient::Object;
use crate::skipped::Skipped;
use decide::Decision;

/// The cluster CA the signer signs with, and the longest certificate it issues.
#[derive(Clone)]
pub struct SigningCa {
    pub ca: auth::pki::CertKey,
    pub max_duration: Duration,
}

impl std::fmt::Debug for SigningCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningCa")
            .field("key", &"<redacted>")
            .field("max_duration", &self.max_duration)
            .finish()
    }
}

impl SigningCa {
    /// The CA from its certificate and key files (PEM).
    pub fn from_files(
        cert: &std::path::Path,
        key: &std::path::Path,
        max_duration: Duration,
    ) -> Result<SigningCa, Error> {
        let read = |p: &std::path::Path| {
            std::fs::read_to_string(p).map_err(|e| Error::Invalid(format!("{}: {e}", p.display())))
        };
        Ok(SigningCa {
            ca: auth::pki::CertKey {
                cert_pem: read(cert)?,
                key_pem: read(key)?,
            },
            max_duration,
        })
    }
}

struct Context {
    client: Client,
    signing: SigningCa,
    skipped: Skipped,
    retries: Retries,
}

fn now_unix() -> i64 {
    jiff::Timestamp::now().as_second()
}

async fn reconcile(
    csr: Arc<Object<CertificateSigningRequest>>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let name = csr.name_any();
    let Some(current) = &csr.object else {
        ctx.skipped
            .skip("CertificateSigningRequest", &csr.metadata.meta, &["spec"]);
        return Ok(Action::await_change());
    };
    let value = serde_json::to_value(current).map_err(|e| Error::Invalid(e.to_string()))?;
    let request = auth::csr::parse(&current.spec.request.0);
    let mut next = current.clone();
    let status = next.status.get_or_insert_with(Default::default);
    match decide::decide(&value, &request, ctx.signing.max_duration) {
        Decision::Ignore => return Ok(Action::await_change()),
        Decision::Sign(ttl) => {
            let request = request.map_err(Error::Invalid)?;
            let cert = auth::csr::sign(
                &ctx.signing.ca,
                &request,
                &current.spec.usages.clone().unwrap_or_default(),
                ttl,
                now_unix(),
            )
            .map_err(|e| Error::Invalid(format!("error auto signing csr: {e}")))?;
            status.certificate = Some(ByteString(cert.into_bytes()));
            tracing::info!(csr = %name, seconds = ttl.as_secs(), "certificate signing request signed");
        }
        Decision::Fail(message) => {
            status.conditions.get_or_insert_with(Vec::new).push(
                CertificateSigningRequestCondition {
                    type_: "Failed".into(),
                    status: "True".into(),
                    reason: Some("SignerValidationFailure".into()),
                    message: Some(message),
                    last_update_time: Some(Time(jiff::Timestamp::now())),
                    ..Default::default()
                },
            );
        }
    }
    let api: Api<Object<CertificateSigningRequest>> = Api::all(ctx.client.clone());
    match api
        .replace_status(&name, &PostParams::default(), &Object::new(next))
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 404 => {}
        Err(e) => return Err(e.into()),
    }
    ctx.retries.succeeded(&name);
    Ok(Action::await_change())
}

fn error_policy(
    csr: Arc<Object<CertificateSigningRequest>>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    ctx.retries.retry("csr signer", &csr.name_any(), error)
}

/// Signs approved requests of the built-in signers until the process ends.
pub async fn run(client: Client, signing: SigningCa) {
    let api: Api<Object<CertificateSigningRequest>> = Api::all(client.clone());
    let ctx = Arc::new(Context {
        client,
        signing,
        skipped: Skipped::new("csr signer"),
        retries: Retries::new(),
    });
    Controller::new(api, watcher::Config::default())
        .run(reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}

/// How often the cleaner looks (upstream's polling interval).
const CLEANER_INTERVAL: Duration = Duration::from_secs(3600);

/// Removes requests past their time, every hour, until the process ends.
pub async fn run_cleaner(client: Client) {
    let api: Api<Object<CertificateSigningRequest>> = Api::all(client);
    loop {
        match api.list(&ListParams::default()).await {
            Ok(list) => {
                for csr in list.items {
                    let Some(current) = &csr.object else { continue };
                    let Ok(value) = serde_json::to_value(current) else {
                        continue;
                    };
                    let end = current
                        .status
                        .as_ref()
                        .and_then(|s| s.certificate.as_ref())
                        .and_then(|c| std::str::from_utf8(&c.0).ok())
                        .and_then(auth::csr::ca_not_after);
                    if decide::expired(&value, end, now_unix()) {
                        let name = csr.name_any();
                        if let Err(e) = api.delete(&name, &DeleteParams::default()).await {
                            tracing::warn!(csr = %name, error = %crate::logs::describe(&e), "unable to delete CSR");
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %crate::logs::describe(&e), "unable to list CSRs"),
        }
        tokio::time::sleep(CLEANER_INTERVAL).await;
    }
}
