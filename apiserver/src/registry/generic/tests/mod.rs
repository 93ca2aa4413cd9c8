//! The generic registry's verbs driven in-process, each answer compared with what
//! kube-apiserver answers: status code, Status reason and message, resourceVersions.

use std::time::Duration;

use axum::http::{StatusCode, header};
use serde_json::{Value, json};
use storage::Store;

use crate::testing::{Cluster, name, names, resource_version};

const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";
const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/default/deployments";

const JSON_PATCH: &str = "application/json-patch+json";
const MERGE_PATCH: &str = "application/merge-patch+json";
const STRATEGIC_PATCH: &str = "application/strategic-merge-patch+json";
const APPLY_PATCH: &str = "application/apply-patch+yaml";

fn config_map(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels}, "data": {"k": "v"}})
}

fn deployment(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": name},
    "spec": {
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}
        }
    }})
}

fn at(collection: &str, name: &str) -> String {
    format!("{collection}/{name}")
}

/// Creates a config map in `default` and returns it as stored.
async fn create_config_map(cluster: &Cluster, name: &str, labels: Value) -> Value {
    cluster
        .post(CONFIGMAPS, config_map(name, labels))
        .await
        .created()
}

async fn create_deployment(cluster: &Cluster, name: &str) -> Value {
    cluster.post(DEPLOYMENTS, deployment(name)).await.created()
}

mod create;
mod delete;
mod patch;
mod read;
mod update;
mod watch;
