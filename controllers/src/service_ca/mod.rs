//! The service CA, as upstream's service-ca operator: a signer kept in the Secret
//! `openshift-service-ca/signing-key` (made at first run), a `kubernetes.io/tls` Secret for
//! every Service annotated `service.beta.openshift.io/serving-cert-secret-name` (its
//! certificate for `<svc>.<ns>.svc` and `<svc>.<ns>.svc.cluster.local`, owned by the Service
//! so it goes with it, and made again when deleted), the Service then annotated
//! `serving-cert-signed-by`; and the signer's certificate injected as `service-ca.crt` into
//! ConfigMaps annotated `service.beta.openshift.io/inject-cabundle: "true"`, and published as
//! `ca-bundle.crt` in `openshift-config-managed/service-ca`. Certificates are in `certs.rs`.

pub mod certs;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use serde_json::json;

use crate::Error;
use crate::backoff::{Retries, key_of};
use certs::CertKey;

/// Where the signer is kept.
pub const NAMESPACE: &str = "openshift-service-ca";
pub const SIGNING_SECRET: &str = "signing-key";
/// The ConfigMap every namespace's clients (the router among them) may read the bundle from.
pub const BUNDLE_NAMESPACE: &str = "openshift-config-managed";
pub const BUNDLE_CONFIGMAP: &str = "service-ca";
pub const BUNDLE_CONFIGMAP_KEY: &str = "ca-bundle.crt";

pub const SERVING_CERT_SECRET: &str = "service.beta.openshift.io/serving-cert-secret-name";
const SERVING_CERT_SECRET_ALPHA: &str = "service.alpha.openshift.io/serving-cert-secret-name";
pub const SIGNED_BY: &str = "service.beta.openshift.io/serving-cert-signed-by";
const GENERATION_ERROR: &str = "service.beta.openshift.io/serving-cert-generation-error";
const ORIGINATING_NAME: &str = "service.beta.openshift.io/originating-service-name";
const ORIGINATING_UID: &str = "service.beta.openshift.io/originating-service-uid";
const EXPIRY: &str = "service.beta.openshift.io/expiry";
pub const INJECT_CABUNDLE: &str = "service.beta.openshift.io/inject-cabundle";
pub const INJECTED_KEY: &str = "service-ca.crt";

/// How soon to try again to make or read the signer.
const SIGNER_RETRY: Duration = Duration::from_secs(5);

struct Context {
    client: Client,
    signer: CertKey,
    signer_name: String,
    retries: Retries,
}

/// The secret name a service asks for, if any.
fn wanted_secret(svc: &Service) -> Option<&str> {
    let annotations = svc.metadata.annotations.as_ref()?;
    annotations
        .get(SERVING_CERT_SECRET)
        .or_else(|| annotations.get(SERVING_CERT_SECRET_ALPHA))
        .map(String::as_str)
        .filter(|n| !n.is_empty())
}

fn pem_of(secret: &Secret, key: &str) -> Option<String> {
    let bytes = secret.data.as_ref()?.get(key)?;
    String::from_utf8(bytes.0.clone())
        .ok()
        .filter(|s| !s.is_empty())
}

/// The signer from its secret, made (with its namespace) when missing.
async fn ensure_signer(client: &Client) -> Result<CertKey, Error> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NAMESPACE);
    if let Some(secret) = secrets.get_opt(SIGNING_SECRET).await? {
        return match (pem_of(&secret, "tls.crt"), pem_of(&secret, "tls.key")) {
            (Some(cert_pem), Some(key_pem)) => Ok(CertKey { cert_pem, key_pem }),
            _ => Err(Error::Invalid(format!(
                "secret {NAMESPACE}/{SIGNING_SECRET} holds no tls.crt and tls.key"
            ))),
        };
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(NAMESPACE.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    ignore_conflict(namespaces.create(&PostParams::default(), &ns).await)?;
    let signer = certs::new_signer(jiff::Timestamp::now().as_second())
        .map_err(|e| Error::Invalid(format!("service CA: {e}")))?;
    let secret = tls_secret(SIGNING_SECRET, NAMESPACE, &signer, BTreeMap::new(), None);
    match secrets.create(&PostParams::default(), &secret).await {
        Ok(_) => {
            tracing::info!("service CA: created signer {NAMESPACE}/{SIGNING_SECRET}");
            Ok(signer)
        }
        // Made meanwhile by another manager: read it next time.
        Err(kube::Error::Api(e)) if e.code == 409 => {
            Err(Error::Invalid("signer made meanwhile".into()))
        }
        Err(e) => Err(e.into()),
    }
}

fn ignore_conflict<T>(result: Result<T, kube::Error>) -> Result<(), Error> {
    match result {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn tls_secret(
    name: &str,
    namespace: &str,
    pair: &CertKey,
    annotations: BTreeMap<String, String>,
    owner: Option<OwnerReference>,
) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            annotations: Some(annotations).filter(|a| !a.is_empty()),
            owner_references: owner.map(|o| vec![o]),
            ..Default::default()
        },
        type_: Some("kubernetes.io/tls".into()),
        data: Some(BTreeMap::from([
            (
                "tls.crt".into(),
                ByteString(pair.cert_pem.clone().into_bytes()),
            ),
            (
                "tls.key".into(),
                ByteString(pair.key_pem.clone().into_bytes()),
            ),
        ])),
        ..Default::default()
    }
}

/// Upstream's message when the secret named belongs to another service.
fn uid_mismatch(secret: &str, theirs: &str, ours: &str) -> String {
    format!("secret/{secret} references serviceUID {theirs}, which does not match {ours}")
}

async fn reconcile_service(svc: Arc<Service>, ctx: Arc<Context>) -> Result<Action, Error> {
    let key = key_of(&svc.metadata);
    ctx.retries.track(&key, sync_service(&svc, &ctx)).await
}

async fn sync_service(svc: &Service, ctx: &Context) -> Result<Action, Error> {
    let Some(name) = wanted_secret(svc) else {
        return Ok(Action::await_change());
    };
    if svc.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let (Some(ns), Some(uid)) = (svc.namespace(), svc.uid()) else {
        return Ok(Action::await_change());
    };
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    if let Some(existing) = secrets.get_opt(name).await? {
        let theirs = existing
            .annotations()
            .get(ORIGINATING_UID)
            .cloned()
            .unwrap_or_default();
        if theirs != uid {
            let error = uid_mismatch(name, &theirs, &uid);
            annotate(ctx, svc, &ns, json!({ GENERATION_ERROR: error })).await?;
            return Ok(Action::await_change());
        }
    } else {
        let now = jiff::Timestamp::now();
        let names = certs::service_names(&svc.name_any(), &ns);
        let serving = certs::issue_serving(&ctx.signer, &names, now.as_second())
            .map_err(|e| Error::Invalid(format!("serving certificate: {e}")))?;
        // The chain ends with the signer, as upstream's.
        let chain = CertKey {
            cert_pem: format!("{}{}", serving.cert_pem, ctx.signer.cert_pem),
            key_pem: serving.key_pem,
        };
        let expiry = now
            .checked_add(jiff::SignedDuration::from_hours(
                certs::SERVING_DAYS as i64 * 24,
            ))
            .unwrap_or(now);
        let annotations = BTreeMap::from([
            (ORIGINATING_NAME.to_string(), svc.name_any()),
            (ORIGINATING_UID.to_string(), uid.clone()),
            (EXPIRY.to_string(), expiry.to_string()),
        ]);
        let owner = OwnerReference {
            api_version: "v1".into(),
            kind: "Service".into(),
            name: svc.name_any(),
            uid: uid.clone(),
            controller: Some(true),
            ..Default::default()
        };
        let secret = tls_secret(name, &ns, &chain, annotations, Some(owner));
        ignore_conflict(secrets.create(&PostParams::default(), &secret).await)?;
    }
    let annotations = svc.annotations();
    if annotations.get(SIGNED_BY) != Some(&ctx.signer_name)
        || annotations.contains_key(GENERATION_ERROR)
    {
        let patch = json!({ SIGNED_BY: ctx.signer_name, GENERATION_ERROR: null });
        annotate(ctx, svc, &ns, patch).await?;
    }
    Ok(Action::await_change())
}

/// Merge-patches the service's annotations, guarded by its resourceVersion.
async fn annotate(
    ctx: &Context,
    svc: &Service,
    ns: &str,
    annotations: serde_json::Value,
) -> Result<(), Error> {
    let services: Api<Service> = Api::namespaced(ctx.client.clone(), ns);
    let patch = json!({
        "metadata": { "annotations": annotations, "resourceVersion": svc.resource_version() }
    });
    services
        .patch(
            &svc.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
    Ok(())
}

async fn reconcile_configmap(cm: Arc<ConfigMap>, ctx: Arc<Context>) -> Result<Action, Error> {
    let key = key_of(&cm.metadata);
    ctx.retries.track(&key, sync_configmap(&cm, &ctx)).await
}

async fn sync_configmap(cm: &ConfigMap, ctx: &Context) -> Result<Action, Error> {
    let wanted = cm.annotations().get(INJECT_CABUNDLE).map(String::as_str) == Some("true");
    let current = cm.data.as_ref().and_then(|d| d.get(INJECTED_KEY));
    if !wanted || current == Some(&ctx.signer.cert_pem) || cm.metadata.deletion_timestamp.is_some()
    {
        return Ok(Action::await_change());
    }
    let Some(ns) = cm.namespace() else {
        return Ok(Action::await_change());
    };
    let maps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ns);
    let patch = json!({
        "metadata": { "resourceVersion": cm.resource_version() },
        "data": { INJECTED_KEY: ctx.signer.cert_pem },
    });
    maps.patch(
        &cm.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(Action::await_change())
}

/// `openshift-config-managed/service-ca` with the signer's certificate.
async fn publish_bundle(client: &Client, signer: &CertKey) -> Result<(), Error> {
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), BUNDLE_NAMESPACE);
    let wanted = BTreeMap::from([(BUNDLE_CONFIGMAP_KEY.to_string(), signer.cert_pem.clone())]);
    match maps.get_opt(BUNDLE_CONFIGMAP).await? {
        Some(cm) if cm.data.as_ref() == Some(&wanted) => Ok(()),
        Some(_) => {
            let patch = json!({ "data": wanted });
            maps.patch(
                BUNDLE_CONFIGMAP,
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await?;
            Ok(())
        }
        None => {
            let cm = ConfigMap {
                metadata: ObjectMeta {
                    name: Some(BUNDLE_CONFIGMAP.into()),
                    namespace: Some(BUNDLE_NAMESPACE.into()),
                    ..Default::default()
                },
                data: Some(wanted),
                ..Default::default()
            };
            ignore_conflict(maps.create(&PostParams::default(), &cm).await)
        }
    }
}

fn error_policy<K: kube::Resource>(obj: Arc<K>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.retries.retry("service CA", &key_of(obj.meta()), error)
}

/// The signer, then its bundle published, retried until both are done.
async fn start(client: &Client) -> CertKey {
    loop {
        let result = match ensure_signer(client).await {
            Ok(signer) => publish_bundle(client, &signer).await.map(|_| signer),
            Err(e) => Err(e),
        };
        match result {
            Ok(signer) => return signer,
            Err(error) => tracing::warn!(%error, "service CA: retrying"),
        }
        tokio::time::sleep(SIGNER_RETRY).await;
    }
}

pub async fn run(client: Client) {
    let signer = start(&client).await;
    let signer_name = certs::common_name_of(&signer.cert_pem)
        .unwrap_or_else(|| certs::signer_name(jiff::Timestamp::now().as_second()));
    let ctx = Arc::new(Context {
        client: client.clone(),
        signer,
        signer_name,
        retries: Retries::new(),
    });
    let services = Controller::new(
        Api::<Service>::all(client.clone()),
        watcher::Config::default(),
    )
    // A deleted serving-cert secret brings its service back.
    .owns(
        Api::<Secret>::all(client.clone()),
        watcher::Config::default(),
    )
    .run(reconcile_service, error_policy, ctx.clone())
    .for_each(|_| futures::future::ready(()));
    let maps = Controller::new(Api::<ConfigMap>::all(client), watcher::Config::default())
        .run(reconcile_configmap, error_policy, ctx)
        .for_each(|_| futures::future::ready(()));
    tokio::join!(services, maps);
}
