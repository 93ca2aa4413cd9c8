//! The image import controller: every stream event is checked for tags waiting for an
//! import, and one ImageStreamImport asks for all of them. Failures back off per stream.

use std::sync::Arc;

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};

use super::{decide, post, streams};
use crate::Error;
use crate::backoff::Retries;

struct Context {
    client: Client,
    retries: Retries,
}

fn key(stream: &DynamicObject) -> String {
    format!(
        "{}/{}",
        stream.namespace().unwrap_or_default(),
        stream.name_any()
    )
}

async fn reconcile(stream: Arc<DynamicObject>, ctx: Arc<Context>) -> Result<Action, Error> {
    let value = serde_json::to_value(stream.as_ref())
        .map_err(|_| Error::Invalid("an image stream that does not encode".into()))?;
    if stream.metadata.deletion_timestamp.is_none()
        && let Some(isi) = decide::import_for(&value, None)
    {
        post(&ctx.client, isi).await?;
    }
    ctx.retries.succeeded(&key(&stream));
    Ok(Action::await_change())
}

fn error_policy(stream: Arc<DynamicObject>, error: &Error, ctx: Arc<Context>) -> Action {
    let key = key(&stream);
    let delay = ctx.retries.failed(&key);
    tracing::warn!(%error, stream = %key, ?delay, "image import: retrying");
    Action::requeue(delay)
}

pub async fn run(client: Client) {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &streams());
    let ctx = Arc::new(Context {
        client,
        retries: Retries::new(),
    });
    Controller::new_with(api, watcher::Config::default(), streams())
        .run(reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}
