//! Pull secrets for the integrated registry, as openshift-controller-manager's service account
//! pull secret controllers (4.16+, bound tokens) give them: every service account gets a
//! `kubernetes.io/dockercfg` secret `<sa>-dockercfg-<5 chars>` holding a TokenRequest token of
//! that account for the registry's host name, renewed before it expires, and listed in the
//! account's `imagePullSecrets`. Nothing is made while the registry has no host name.
//! Decisions are in `decide.rs`.

mod decide;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::ByteString;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{ApiResource, DynamicObject, ObjectMeta, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use serde_json::json;

use crate::Error;
use crate::backoff::Retries;

/// How soon to look again while the registry has no host name yet.
const NO_REGISTRY_YET: Duration = Duration::from_secs(5);

struct Context {
    client: Client,
    retries: Retries,
}

/// `status.internalRegistryHostname` of `config.openshift.io/v1 Image cluster`, if set.
async fn registry_host(client: &Client) -> Result<Option<String>, Error> {
    let gvk = GroupVersionKind::gvk("config.openshift.io", "v1", "Image");
    let api: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk_with_plural(&gvk, "images"),
    );
    let image = api.get_opt("cluster").await?;
    Ok(image
        .and_then(|i| {
            i.data["status"]["internalRegistryHostname"]
                .as_str()
                .map(str::to_string)
        })
        .filter(|h| !h.is_empty()))
}

async fn reconcile(sa: Arc<ServiceAccount>, ctx: Arc<Context>) -> Result<Action, Error> {
    let key = format!("{}/{}", sa.namespace().unwrap_or_default(), sa.name_any());
    let action = converge(&sa, &ctx).await?;
    ctx.retries.succeeded(&key);
    Ok(action)
}

async fn converge(sa: &ServiceAccount, ctx: &Context) -> Result<Action, Error> {
    if sa.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let (Some(ns), Some(uid)) = (sa.namespace(), sa.uid()) else {
        return Ok(Action::await_change());
    };
    let Some(host) = registry_host(&ctx.client).await? else {
        return Ok(Action::requeue(NO_REGISTRY_YET));
    };
    let account = sa.name_any();
    let name = sa
        .annotations()
        .get(decide::SECRET_REF)
        .cloned()
        .unwrap_or_else(|| decide::secret_name(&account, &uid));
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    let existing = secrets.get_opt(&name).await?;
    let now = jiff::Timestamp::now().as_second();
    let annotation = |key: &str| {
        existing
            .as_ref()
            .and_then(|s| s.annotations().get(key).cloned())
    };
    let mut expires = annotation(decide::EXPIRES).and_then(|e| e.parse::<i64>().ok());
    if decide::needs_token(annotation(decide::HOST).as_deref(), expires, &host, now) {
        let (token, until) = request_token(&ctx.client, &ns, &account).await?;
        write_secret(&secrets, sa, &name, &host, &token, until, existing).await?;
        expires = Some(until);
    }
    link(&ctx.client, sa, &ns, &name).await?;
    let wait = decide::renew_in(expires.unwrap_or(now), now);
    Ok(Action::requeue(Duration::from_secs(wait.unsigned_abs())))
}

/// A token of the account for the API's own audience, which the registry's token server
/// accepts as a password; and when it expires (Unix seconds).
async fn request_token(client: &Client, ns: &str, account: &str) -> Result<(String, i64), Error> {
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    let request = TokenRequest {
        spec: Some(TokenRequestSpec {
            expiration_seconds: Some(decide::TOKEN_SECONDS),
            ..Default::default()
        }),
        ..Default::default()
    };
    let now = jiff::Timestamp::now().as_second();
    let answer = accounts
        .create_token_request(account, &PostParams::default(), &request)
        .await?;
    let status = answer.status.unwrap_or_default();
    let token = status
        .token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::Invalid("a TokenRequest answered without a token".into()))?;
    // Without a readable expiry, the lifetime asked for.
    let until = status
        .expiration_timestamp
        .map(|t| t.0.as_second())
        .unwrap_or(now + decide::TOKEN_SECONDS);
    Ok((token, until.max(now)))
}

/// Creates or replaces the secret, owned by the account so it goes with it.
async fn write_secret(
    secrets: &Api<Secret>,
    sa: &ServiceAccount,
    name: &str,
    host: &str,
    token: &str,
    expires: i64,
    existing: Option<Secret>,
) -> Result<(), Error> {
    let account = sa.name_any();
    let annotations = BTreeMap::from([
        (decide::SERVICE_ACCOUNT.to_string(), account.clone()),
        (decide::BINDING.to_string(), "bound".to_string()),
        (decide::EXPIRES.to_string(), expires.to_string()),
        (decide::HOST.to_string(), host.to_string()),
    ]);
    let cfg = decide::dockercfg(host, token).to_string();
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: sa.namespace(),
            annotations: Some(annotations),
            owner_references: Some(vec![OwnerReference {
                api_version: "v1".into(),
                kind: "ServiceAccount".into(),
                name: account,
                uid: sa.uid().unwrap_or_default(),
                ..Default::default()
            }]),
            resource_version: existing.as_ref().and_then(|s| s.resource_version()),
            ..Default::default()
        },
        type_: Some("kubernetes.io/dockercfg".into()),
        data: Some(BTreeMap::from([(
            ".dockercfg".to_string(),
            ByteString(cfg.into_bytes()),
        )])),
        ..Default::default()
    };
    let pp = PostParams::default();
    match existing {
        Some(_) => secrets.replace(name, &pp, &secret).await.map(drop)?,
        None => match secrets.create(&pp, &secret).await {
            Ok(_) => {}
            // Made meanwhile: the next round renews it if needed.
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => return Err(e.into()),
        },
    }
    Ok(())
}

/// Names the secret in the account's annotation and `imagePullSecrets`, unless it is already.
async fn link(client: &Client, sa: &ServiceAccount, ns: &str, secret: &str) -> Result<(), Error> {
    let current: Vec<String> = sa
        .image_pull_secrets
        .iter()
        .flatten()
        .map(|r| r.name.clone())
        .collect();
    let added = decide::with_pull_secret(&current, secret);
    let annotated = sa.annotations().get(decide::SECRET_REF).map(String::as_str) == Some(secret);
    if added.is_none() && annotated {
        return Ok(());
    }
    let list = added.unwrap_or(current);
    let refs: Vec<_> = list.iter().map(|n| json!({ "name": n })).collect();
    let patch = json!({
        "metadata": {
            "annotations": { decide::SECRET_REF: secret },
            "resourceVersion": sa.resource_version(),
        },
        "imagePullSecrets": refs,
    });
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    accounts
        .patch(
            &sa.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
    Ok(())
}

fn error_policy(sa: Arc<ServiceAccount>, error: &Error, ctx: Arc<Context>) -> Action {
    let key = format!("{}/{}", sa.namespace().unwrap_or_default(), sa.name_any());
    let delay = ctx.retries.failed(&key);
    tracing::warn!(%error, account = %key, ?delay, "image pull secrets: retrying");
    Action::requeue(delay)
}

pub async fn run(client: Client) {
    let accounts: Api<ServiceAccount> = Api::all(client.clone());
    let secrets: Api<Secret> = Api::all(client.clone());
    let ctx = Arc::new(Context {
        client,
        retries: Retries::new(),
    });
    Controller::new(accounts, watcher::Config::default())
        // A deleted or changed pull secret brings its account back.
        .owns(secrets, watcher::Config::default())
        .run(reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}
