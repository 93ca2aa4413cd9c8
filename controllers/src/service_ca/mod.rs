//! The service CA, as upstream's service-ca operator: a signer kept in the Secret
//! `openshift-service-ca/signing-key` (made at first run, rotated before it expires: the new
//! signer cross-signed by the old one, both trusted until the old one expires), a
//! `kubernetes.io/tls` Secret for every Service annotated
//! `service.beta.openshift.io/serving-cert-secret-name` (its certificate for
//! `<svc>.<ns>.svc` and `<svc>.<ns>.svc.cluster.local`, owned by the Service so it goes with
//! it; made again when deleted, broken, left by an earlier Service of the same name, signed
//! by an earlier signer, or about to expire), the Service then annotated
//! `serving-cert-signed-by`; and the bundle of trusted signers injected as `service-ca.crt`
//! into ConfigMaps annotated `service.beta.openshift.io/inject-cabundle: "true"`, and
//! published as `ca-bundle.crt` in `openshift-config-managed/service-ca`. Certificates are in
//! `certs.rs`; what a service's secret needs is decided in `judge`, pure. Services and
//! ConfigMaps are watched leniently: one that cannot be read is skipped, never stalls the
//! watch.

pub mod certs;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use futures::channel::mpsc;
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
use crate::lenient::{Meta, Object};
use crate::skipped::Skipped;
use certs::{CertKey, Lifetimes, Signer};

/// Where the signer is kept.
pub const NAMESPACE: &str = "openshift-service-ca";
pub const SIGNING_SECRET: &str = "signing-key";
/// The ConfigMap every namespace's clients (the router among them) may read the bundle from.
pub const BUNDLE_NAMESPACE: &str = "openshift-config-managed";
pub const BUNDLE_CONFIGMAP: &str = "service-ca";
pub const BUNDLE_CONFIGMAP_KEY: &str = "ca-bundle.crt";
/// The signing secret's bundle and cross-signed certificate, as upstream's.
const SIGNING_BUNDLE_KEY: &str = "ca-bundle.crt";
const SIGNING_INTERMEDIATE_KEY: &str = "intermediate-ca.crt";

pub const SERVING_CERT_SECRET: &str = "service.beta.openshift.io/serving-cert-secret-name";
const SERVING_CERT_SECRET_ALPHA: &str = "service.alpha.openshift.io/serving-cert-secret-name";
pub const SIGNED_BY: &str = "service.beta.openshift.io/serving-cert-signed-by";
const GENERATION_ERROR: &str = "service.beta.openshift.io/serving-cert-generation-error";
const ORIGINATING_NAME: &str = "service.beta.openshift.io/originating-service-name";
const ORIGINATING_UID: &str = "service.beta.openshift.io/originating-service-uid";
const ORIGINATING_UID_ALPHA: &str = "service.alpha.openshift.io/originating-service-uid";
const EXPIRY: &str = "service.beta.openshift.io/expiry";
const EXPIRY_ALPHA: &str = "service.alpha.openshift.io/expiry";
pub const INJECT_CABUNDLE: &str = "service.beta.openshift.io/inject-cabundle";
pub const INJECTED_KEY: &str = "service-ca.crt";

/// How soon to try again to make or read the signer.
const SIGNER_RETRY: Duration = Duration::from_secs(5);
/// The longest wait between two looks at the signer, and at a current serving certificate.
const LONGEST_WAIT: Duration = Duration::from_secs(3600);

struct Context {
    client: Client,
    signer: RwLock<Arc<Signer>>,
    lifetimes: Lifetimes,
    retries: Retries,
    skipped: Skipped,
}

impl Context {
    fn signer(&self) -> Arc<Signer> {
        self.signer
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// The secret name a service asks for, if any.
fn wanted_secret(meta: &ObjectMeta) -> Option<&str> {
    let annotations = meta.annotations.as_ref()?;
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

/// What a service's serving-cert secret needs.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Create,
    /// Made again in place, for the reason given.
    Replace(&'static str),
    /// It belongs to another service: upstream's generation error.
    Foreign(String),
    /// Current until `renew_at` (unix seconds).
    Current {
        renew_at: i64,
    },
}

/// Upstream's message when the secret named belongs to another service.
fn uid_mismatch(secret: &str, theirs: &str, ours: &str) -> String {
    format!("secret/{secret} references serviceUID {theirs}, which does not match {ours}")
}

/// What the secret `name` (`None`: absent) of the service `service` (uid `uid`) needs, with
/// `signer_name` signing now.
fn judge(
    secret: Option<&Secret>,
    name: &str,
    (service, uid): (&str, &str),
    signer_name: &str,
    now_unix: i64,
    lifetimes: &Lifetimes,
) -> Verdict {
    let Some(secret) = secret else {
        return Verdict::Create;
    };
    let annotations = secret.metadata.annotations.clone().unwrap_or_default();
    let theirs = annotations
        .get(ORIGINATING_UID)
        .or_else(|| annotations.get(ORIGINATING_UID_ALPHA))
        .map(String::as_str)
        .unwrap_or_default();
    if theirs != uid {
        // Left by an earlier service of the same name (deleted and made again): this one's.
        if annotations.get(ORIGINATING_NAME).map(String::as_str) == Some(service) {
            return Verdict::Replace("the service was made again");
        }
        return Verdict::Foreign(uid_mismatch(name, theirs, uid));
    }
    let (Some(cert), Some(_)) = (pem_of(secret, "tls.crt"), pem_of(secret, "tls.key")) else {
        return Verdict::Replace("its certificate or key is missing");
    };
    match certs::issuer_of(&cert) {
        None => return Verdict::Replace("its certificate does not parse"),
        Some(issuer) if issuer != signer_name => {
            return Verdict::Replace("an earlier signer signed it");
        }
        Some(_) => {}
    }
    let expiry = annotations
        .get(EXPIRY)
        .or_else(|| annotations.get(EXPIRY_ALPHA))
        .and_then(|e| e.parse::<jiff::Timestamp>().ok());
    let Some(expiry) = expiry else {
        return Verdict::Replace("its expiry is not known");
    };
    let renew_at = expiry.as_second() - secs(lifetimes.serving_minimum_left);
    if now_unix >= renew_at {
        return Verdict::Replace("it expires soon");
    }
    Verdict::Current { renew_at }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The signer in its secret.
fn signer_from(secret: &Secret) -> Result<Signer, Error> {
    let (Some(cert_pem), Some(key_pem)) = (pem_of(secret, "tls.crt"), pem_of(secret, "tls.key"))
    else {
        return Err(Error::Invalid(format!(
            "secret {NAMESPACE}/{SIGNING_SECRET} holds no tls.crt and tls.key"
        )));
    };
    let previous = certs::certificates(&pem_of(secret, SIGNING_BUNDLE_KEY).unwrap_or_default())
        .into_iter()
        .filter(|c| *c != cert_pem)
        .collect();
    Ok(Signer {
        ca: CertKey { cert_pem, key_pem },
        previous,
        intermediate: pem_of(secret, SIGNING_INTERMEDIATE_KEY),
    })
}

/// The signing secret of `signer`.
fn signer_secret(signer: &Signer, now_unix: i64) -> Secret {
    let mut secret = tls_secret(SIGNING_SECRET, NAMESPACE, &signer.ca, BTreeMap::new(), None);
    let data = secret.data.get_or_insert_default();
    data.insert(
        SIGNING_BUNDLE_KEY.into(),
        ByteString(signer.bundle(now_unix).into_bytes()),
    );
    if let Some(intermediate) = &signer.intermediate {
        data.insert(
            SIGNING_INTERMEDIATE_KEY.into(),
            ByteString(intermediate.clone().into_bytes()),
        );
    }
    secret
}

fn ignore_conflict<T>(result: Result<T, kube::Error>) -> Result<(), Error> {
    match result {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The signer from its secret, made (with its namespace) when missing, and rotated when due
/// (the secret replaced at the revision read, so that of two managers one rotates).
async fn current_signer(client: &Client, lifetimes: &Lifetimes) -> Result<Signer, Error> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NAMESPACE);
    let now = now();
    let Some(secret) = secrets.get_opt(SIGNING_SECRET).await? else {
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(NAMESPACE.into()),
                ..Default::default()
            },
            ..Default::default()
        };
        ignore_conflict(namespaces.create(&PostParams::default(), &ns).await)?;
        let signer = Signer {
            ca: certs::new_signer(now, lifetimes)
                .map_err(|e| Error::Invalid(format!("service CA: {e}")))?,
            previous: Vec::new(),
            intermediate: None,
        };
        return match secrets
            .create(&PostParams::default(), &signer_secret(&signer, now))
            .await
        {
            Ok(_) => {
                tracing::info!("service CA: created signer {NAMESPACE}/{SIGNING_SECRET}");
                Ok(signer)
            }
            // Made meanwhile by another manager: read it next time.
            Err(kube::Error::Api(e)) if e.code == 409 => {
                Err(Error::Invalid("signer made meanwhile".into()))
            }
            Err(e) => Err(e.into()),
        };
    };
    let signer = signer_from(&secret)?;
    if now < signer.rotation_due_at(lifetimes) {
        return Ok(signer);
    }
    let rotated = signer
        .rotated(now, lifetimes)
        .map_err(|e| Error::Invalid(format!("service CA rotation: {e}")))?;
    let mut replacement = signer_secret(&rotated, now);
    replacement.metadata.resource_version = secret.metadata.resource_version.clone();
    secrets
        .replace(SIGNING_SECRET, &PostParams::default(), &replacement)
        .await?;
    tracing::info!(
        signer = rotated.name().unwrap_or_default(),
        "service CA: rotated the signer"
    );
    Ok(rotated)
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

/// A new serving-cert secret `name` for the service.
fn serving_secret(
    signer: &Signer,
    name: &str,
    (ns, service, uid): (&str, &str, &str),
    now_unix: i64,
    lifetimes: &Lifetimes,
) -> Result<Secret, Error> {
    let names = certs::service_names(service, ns);
    let chain = certs::issue_serving(signer, &names, now_unix, lifetimes)
        .map_err(|e| Error::Invalid(format!("serving certificate: {e}")))?;
    let expiry = certs::not_after(&chain.cert_pem)
        .and_then(|end| jiff::Timestamp::from_second(end).ok())
        .map(|t| t.to_string())
        .unwrap_or_default();
    let annotations = BTreeMap::from([
        (ORIGINATING_NAME.to_string(), service.to_string()),
        (ORIGINATING_UID.to_string(), uid.to_string()),
        (EXPIRY.to_string(), expiry),
    ]);
    let owner = OwnerReference {
        api_version: "v1".into(),
        kind: "Service".into(),
        name: service.into(),
        uid: uid.into(),
        controller: Some(true),
        ..Default::default()
    };
    Ok(tls_secret(name, ns, &chain, annotations, Some(owner)))
}

async fn reconcile_service(svc: Arc<Meta<Service>>, ctx: Arc<Context>) -> Result<Action, Error> {
    let key = key_of(&svc.metadata.meta);
    ctx.retries.track(&key, sync_service(&svc, &ctx)).await
}

async fn sync_service(svc: &Meta<Service>, ctx: &Context) -> Result<Action, Error> {
    // Only the service's name, uid, annotations and deletion mark are read.
    let fields = [
        "name",
        "namespace",
        "uid",
        "annotations",
        "deletionTimestamp",
    ];
    if svc.metadata.lacks(&fields) {
        ctx.skipped
            .skip("Service", &svc.metadata.meta, &svc.metadata.broken);
        return Ok(Action::await_change());
    }
    let meta = &svc.metadata.meta;
    let Some(name) = wanted_secret(meta) else {
        return Ok(Action::await_change());
    };
    let (Some(ns), Some(service), Some(uid)) = (&meta.namespace, &meta.name, &meta.uid) else {
        return Ok(Action::await_change());
    };
    if meta.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let signer = ctx.signer();
    let signer_name = signer.name().unwrap_or_default();
    let secrets: Api<Object<Secret>> = Api::namespaced(ctx.client.clone(), ns);
    let existing = secrets.get_opt(name).await?;
    let now = now();
    let verdict = match &existing {
        // A secret of that name whose fields cannot be read: made again.
        Some(Object { object: None, .. }) => Verdict::Replace("it cannot be read"),
        found => judge(
            found.as_ref().and_then(|o| o.object.as_ref()),
            name,
            (service, uid),
            &signer_name,
            now,
            &ctx.lifetimes,
        ),
    };
    let next = match verdict {
        Verdict::Foreign(error) => {
            annotate(ctx, meta, ns, json!({ GENERATION_ERROR: error })).await?;
            return Ok(Action::await_change());
        }
        Verdict::Current { renew_at } => {
            let wait = u64::try_from(renew_at - now).unwrap_or(0).max(1);
            Duration::from_secs(wait).min(LONGEST_WAIT)
        }
        Verdict::Create => {
            let secret = serving_secret(&signer, name, (ns, service, uid), now, &ctx.lifetimes)?;
            ignore_conflict(
                secrets
                    .create(&PostParams::default(), &Object::new(secret))
                    .await,
            )?;
            LONGEST_WAIT
        }
        Verdict::Replace(why) => {
            let mut secret =
                serving_secret(&signer, name, (ns, service, uid), now, &ctx.lifetimes)?;
            secret.metadata.resource_version = existing
                .as_ref()
                .and_then(|o| o.metadata.meta.resource_version.clone());
            secrets
                .replace(name, &PostParams::default(), &Object::new(secret))
                .await?;
            tracing::info!(namespace = %ns, secret = %name, reason = why, "service CA: serving certificate made again");
            LONGEST_WAIT
        }
    };
    let annotations = meta.annotations.clone().unwrap_or_default();
    if annotations.get(SIGNED_BY) != Some(&signer_name)
        || annotations.contains_key(GENERATION_ERROR)
    {
        let patch = json!({ SIGNED_BY: signer_name, GENERATION_ERROR: null });
        annotate(ctx, meta, ns, patch).await?;
    }
    Ok(Action::requeue(next))
}

/// Merge-patches the service's annotations, guarded by its resourceVersion.
async fn annotate(
    ctx: &Context,
    meta: &ObjectMeta,
    ns: &str,
    annotations: serde_json::Value,
) -> Result<(), Error> {
    let services: Api<Meta<Service>> = Api::namespaced(ctx.client.clone(), ns);
    let patch = json!({
        "metadata": { "annotations": annotations, "resourceVersion": meta.resource_version }
    });
    services
        .patch(
            meta.name.as_deref().unwrap_or_default(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
    Ok(())
}

async fn reconcile_configmap(
    cm: Arc<Object<ConfigMap>>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let key = key_of(&cm.metadata.meta);
    let Some(map) = cm.object.as_ref() else {
        ctx.skipped
            .skip("ConfigMap", &cm.metadata.meta, &cm.metadata.broken);
        return Ok(Action::await_change());
    };
    ctx.retries.track(&key, sync_configmap(map, &ctx)).await
}

async fn sync_configmap(cm: &ConfigMap, ctx: &Context) -> Result<Action, Error> {
    let wanted = cm.annotations().get(INJECT_CABUNDLE).map(String::as_str) == Some("true");
    let bundle = ctx.signer().bundle(now());
    let current = cm.data.as_ref().and_then(|d| d.get(INJECTED_KEY));
    if !wanted || current == Some(&bundle) || cm.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let Some(ns) = cm.namespace() else {
        return Ok(Action::await_change());
    };
    let maps: Api<Meta<ConfigMap>> = Api::namespaced(ctx.client.clone(), &ns);
    let patch = json!({
        "metadata": { "resourceVersion": cm.resource_version() },
        "data": { INJECTED_KEY: bundle },
    });
    maps.patch(
        &cm.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(Action::await_change())
}

/// `openshift-config-managed/service-ca` with the bundle.
async fn publish_bundle(client: &Client, bundle: &str) -> Result<(), Error> {
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), BUNDLE_NAMESPACE);
    let wanted = BTreeMap::from([(BUNDLE_CONFIGMAP_KEY.to_string(), bundle.to_string())]);
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

/// The current signer, its bundle published.
async fn keep_current(client: &Client, lifetimes: &Lifetimes) -> Result<Signer, Error> {
    let signer = current_signer(client, lifetimes).await?;
    publish_bundle(client, &signer.bundle(now())).await?;
    Ok(signer)
}

/// The signer, then its bundle published, retried until both are done.
async fn start(client: &Client, lifetimes: &Lifetimes) -> Signer {
    loop {
        match keep_current(client, lifetimes).await {
            Ok(signer) => return signer,
            Err(error) => tracing::warn!(%error, "service CA: retrying"),
        }
        tokio::time::sleep(SIGNER_RETRY).await;
    }
}

/// Looks at the signer when it is due for rotation or its bundle loses an expired signer
/// (at least hourly, in case another manager rotated it); when either changed, every service
/// and ConfigMap is looked at again (serving certificates of an earlier signer made again,
/// bundles injected anew).
async fn rotate(ctx: Arc<Context>, triggers: [mpsc::UnboundedSender<()>; 2]) {
    let mut bundle = ctx.signer().bundle(now());
    loop {
        let signer = ctx.signer();
        let now_unix = now();
        let due = signer
            .next_expiry_of_previous(now_unix)
            .map_or(signer.rotation_due_at(&ctx.lifetimes), |e| {
                e.min(signer.rotation_due_at(&ctx.lifetimes))
            });
        let wait = Duration::from_secs(u64::try_from(due - now_unix).unwrap_or(0).max(1));
        tokio::time::sleep(wait.min(LONGEST_WAIT)).await;
        let current = match keep_current(&ctx.client, &ctx.lifetimes).await {
            Ok(current) => current,
            Err(error) => {
                tracing::warn!(%error, "service CA: retrying");
                tokio::time::sleep(SIGNER_RETRY).await;
                continue;
            }
        };
        let current_bundle = current.bundle(now());
        if current != *signer || current_bundle != bundle {
            *ctx.signer.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(current);
            bundle = current_bundle;
            for trigger in &triggers {
                let _ = trigger.unbounded_send(());
            }
        }
    }
}

/// The controller with `lifetimes` (upstream's by default).
pub async fn run_with(client: Client, lifetimes: Lifetimes) {
    let signer = start(&client, &lifetimes).await;
    let ctx = Arc::new(Context {
        client: client.clone(),
        signer: RwLock::new(Arc::new(signer)),
        lifetimes,
        retries: Retries::new(),
        skipped: Skipped::new("service CA"),
    });
    let (services_tx, services_rx) = mpsc::unbounded();
    let (maps_tx, maps_rx) = mpsc::unbounded();
    tokio::spawn(rotate(ctx.clone(), [services_tx, maps_tx]));
    // Every watch decodes leniently: an object of wrong types is skipped, not a stalled list.
    let services = Controller::new(
        Api::<Meta<Service>>::all(client.clone()),
        watcher::Config::default(),
    )
    // A deleted serving-cert secret brings its service back.
    .owns(
        Api::<Meta<Secret>>::all(client.clone()),
        watcher::Config::default(),
    )
    .reconcile_all_on(services_rx)
    .run(reconcile_service, error_policy, ctx.clone())
    .for_each(|_| futures::future::ready(()));
    let maps = Controller::new(
        Api::<Object<ConfigMap>>::all(client),
        watcher::Config::default(),
    )
    .reconcile_all_on(maps_rx)
    .run(reconcile_configmap, error_policy, ctx)
    .for_each(|_| futures::future::ready(()));
    tokio::join!(services, maps);
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000;

    fn short() -> Lifetimes {
        Lifetimes {
            ca: Duration::from_secs(100),
            ca_minimum_trust: Duration::from_secs(40),
            serving: Duration::from_secs(50),
            serving_minimum_left: Duration::from_secs(10),
        }
    }

    fn signer(now: i64) -> Signer {
        Signer {
            ca: certs::new_signer(now, &short()).unwrap(),
            previous: Vec::new(),
            intermediate: None,
        }
    }

    fn made(signer: &Signer, now: i64) -> Secret {
        serving_secret(signer, "web-tls", ("shop", "web", "uid-1"), now, &short()).unwrap()
    }

    fn verdict(secret: Option<&Secret>, uid: &str, signer: &Signer, now: i64) -> Verdict {
        let name = signer.name().unwrap();
        judge(secret, "web-tls", ("web", uid), &name, now, &short())
    }

    #[test]
    fn a_serving_secret_is_made_again_before_it_expires_and_kept_until_then() {
        let signer = signer(T0);
        assert_eq!(verdict(None, "uid-1", &signer, T0), Verdict::Create);
        let secret = made(&signer, T0);
        let annotations = secret.metadata.annotations.clone().unwrap();
        assert_eq!(annotations[ORIGINATING_NAME], "web");
        assert_eq!(annotations[ORIGINATING_UID], "uid-1");
        // Upstream's expiry annotation: RFC 3339, the certificate's end.
        let expiry = jiff::Timestamp::from_second(T0 + 50).unwrap().to_string();
        assert_eq!(annotations[EXPIRY], expiry);
        assert_eq!(
            verdict(Some(&secret), "uid-1", &signer, T0 + 1),
            Verdict::Current { renew_at: T0 + 40 }
        );
        assert_eq!(
            verdict(Some(&secret), "uid-1", &signer, T0 + 40),
            Verdict::Replace("it expires soon")
        );
    }

    #[test]
    fn a_serving_secret_of_an_earlier_service_signer_or_shape_is_made_again() {
        let old = signer(T0);
        let secret = made(&old, T0);
        // The service deleted and made again: same name, another uid.
        assert_eq!(
            verdict(Some(&secret), "uid-2", &old, T0),
            Verdict::Replace("the service was made again")
        );
        // Another service naming the same secret: upstream's error.
        let other = judge(
            Some(&secret),
            "web-tls",
            ("thief", "uid-9"),
            &old.name().unwrap(),
            T0,
            &short(),
        );
        assert_eq!(
            other,
            Verdict::Foreign(
                "secret/web-tls references serviceUID uid-1, which does not match uid-9".into()
            )
        );
        // The signer rotated.
        let new = old.rotated(T0 + 61, &short()).unwrap();
        assert_eq!(
            verdict(Some(&secret), "uid-1", &new, T0 + 1),
            Verdict::Replace("an earlier signer signed it")
        );
        // Broken data or annotations.
        let mut broken = secret.clone();
        broken.data.as_mut().unwrap().remove("tls.key");
        assert_eq!(
            verdict(Some(&broken), "uid-1", &old, T0),
            Verdict::Replace("its certificate or key is missing")
        );
        let mut junk = secret.clone();
        junk.data
            .as_mut()
            .unwrap()
            .insert("tls.crt".into(), ByteString(b"junk".to_vec()));
        assert_eq!(
            verdict(Some(&junk), "uid-1", &old, T0),
            Verdict::Replace("its certificate does not parse")
        );
        let mut undated = secret;
        undated
            .metadata
            .annotations
            .as_mut()
            .unwrap()
            .insert(EXPIRY.into(), "soon".into());
        assert_eq!(
            verdict(Some(&undated), "uid-1", &old, T0),
            Verdict::Replace("its expiry is not known")
        );
    }

    #[test]
    fn the_signing_secret_keeps_a_rotated_signer_with_its_predecessor() {
        let old = signer(T0);
        let new = old.rotated(T0 + 61, &short()).unwrap();
        let secret = signer_secret(&new, T0 + 61);
        let read = signer_from(&secret).unwrap();
        assert_eq!(read, new);
        // Once the old one expired, the secret written then no longer carries it.
        let later = signer_from(&signer_secret(&new, T0 + 100)).unwrap();
        assert!(later.previous.is_empty());
        assert_eq!(later.intermediate, new.intermediate);
        assert!(signer_from(&Secret::default()).is_err());
    }
}
