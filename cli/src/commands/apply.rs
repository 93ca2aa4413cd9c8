//! `oc apply -f`: client-side apply (the default) keeps the applied configuration in the
//! `kubectl.kubernetes.io/last-applied-configuration` annotation and sends a three-way merge
//! patch (fields of the new configuration, plus removals of fields the previous one had);
//! `--server-side` sends the configuration as an apply patch and lets the server merge
//! (`--force-conflicts` takes fields other managers own).

use http::Method;
use serde_json::{Map, Value, json};

use super::Globals;
use super::write::{namespace_of, resource_of, when};
use crate::client::{Session, send, session};
use crate::error::CliError;
use crate::manifests;

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

#[derive(Debug, Default, clap::Args)]
pub struct ApplyArgs {
    /// Files, directories or `-` (stdin) with the configuration to apply.
    #[arg(long = "filename", short = 'f', required = true)]
    pub filenames: Vec<String>,
    /// Process the directories of -f recursively.
    #[arg(long, short = 'R')]
    pub recursive: bool,
    /// Apply on the server (server-side apply) instead of in the client.
    #[arg(long)]
    pub server_side: bool,
    /// With --server-side: take over fields other managers own.
    #[arg(long)]
    pub force_conflicts: bool,
    /// The field manager of a server-side apply (default `kubectl`).
    #[arg(long)]
    pub field_manager: Option<String>,
}

/// The merge patch from `live` to `new`, removing what `last` had and `new` has not.
pub(super) fn three_way(last: &Value, new: &Value, live: &Value) -> Value {
    let mut patch = Map::new();
    if let (Some(new_map), live_map) = (new.as_object(), live.as_object()) {
        for (k, v) in new_map {
            let current = live_map.and_then(|m| m.get(k));
            match (v, current) {
                (Value::Object(_), Some(Value::Object(_))) => {
                    let sub = three_way(&last[k], v, &live[k]);
                    if sub.as_object().is_some_and(|m| !m.is_empty()) {
                        patch.insert(k.clone(), sub);
                    }
                }
                (v, Some(c)) if v == c => {}
                (v, _) => drop(patch.insert(k.clone(), v.clone())),
            }
        }
    }
    if let Some(last_map) = last.as_object() {
        for k in last_map.keys() {
            if new.get(k).is_none() && live.get(k).is_some() {
                patch.insert(k.clone(), Value::Null);
            }
        }
    }
    Value::Object(patch)
}

/// The configuration as kubectl records it in the annotation: with its namespace, and an
/// annotations map without the record itself.
fn recorded(obj: &Value) -> String {
    let mut copy = obj.clone();
    if let Some(meta) = copy.get_mut("metadata").and_then(Value::as_object_mut) {
        let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
        if let Some(map) = annotations.as_object_mut() {
            map.remove(LAST_APPLIED);
        }
    }
    crate::printers::sorted(copy).to_string() + "\n"
}

/// Merges FieldsV1 trees.
fn union(into: &mut Value, other: &Value) {
    if let (Some(a), Some(b)) = (into.as_object_mut(), other.as_object()) {
        for (k, v) in b {
            union(a.entry(k.clone()).or_insert_with(|| json!({})), v);
        }
    }
}

/// Before the first server-side apply of an object applied client-side, kubectl hands the
/// client-side manager's fields to the server-side manager, so that they do not conflict.
async fn upgrade_client_side(s: &Session, path: &str, manager: &str) -> Result<(), CliError> {
    let live = send(&s.client, Method::GET, path, &[], None).await?;
    if !live.status.is_success() {
        return Ok(());
    }
    let live = live.json()?;
    let entries = live["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let is_csa =
        |e: &Value| e["manager"] == "kubectl-client-side-apply" && e["operation"] == "Update";
    // The entries whose fields the server-side manager takes.
    let merged = |e: &Value| is_csa(e) || (e["manager"] == manager && e["operation"] == "Apply");
    if !entries.iter().any(is_csa) {
        return Ok(());
    }
    let mut fields = json!({});
    for e in entries.iter().filter(|e| merged(e)) {
        union(&mut fields, &e["fieldsV1"]);
    }
    let mut upgraded: Vec<Value> = entries.iter().filter(|e| !merged(e)).cloned().collect();
    // The record of client-side apply stays with its own manager, as kubectl leaves it.
    let record_key = format!("f:{LAST_APPLIED}");
    let had_record = fields
        .pointer_mut("/f:metadata/f:annotations")
        .and_then(Value::as_object_mut)
        .and_then(|a| a.remove(&record_key))
        .is_some();
    for parent in ["/f:metadata/f:annotations", "/f:metadata"] {
        let (up, key) = parent.rsplit_once('/').unwrap_or(("", parent));
        let empty = fields
            .pointer(parent)
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty);
        if empty && let Some(map) = fields.pointer_mut(up).and_then(Value::as_object_mut) {
            map.remove(key);
        }
    }
    let time = entries
        .iter()
        .find(|e| is_csa(e))
        .map(|e| e["time"].clone());
    upgraded.push(json!({"manager": manager, "operation": "Apply",
        "apiVersion": live["apiVersion"], "time": time,
        "fieldsType": "FieldsV1", "fieldsV1": fields}));
    if had_record {
        upgraded.push(
            json!({"manager": "kubectl-last-applied", "operation": "Apply",
            "apiVersion": live["apiVersion"], "time": time, "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {"f:annotations": {record_key: {}}}}}),
        );
    }

    let patch = json!([
        {"op": "test", "path": "/metadata/resourceVersion", "value": live["metadata"]["resourceVersion"]},
        {"op": "replace", "path": "/metadata/managedFields", "value": upgraded},
    ]);
    let body = serde_json::to_vec(&patch).map_err(|e| CliError::msg(e.to_string()))?;
    send(
        &s.client,
        Method::PATCH,
        path,
        &[],
        Some(("application/json-patch+json", body)),
    )
    .await?
    .json()?;
    Ok(())
}

async fn client_side(s: &Session, source: &str, obj: &Value) -> Result<String, CliError> {
    let r = resource_of(s, obj).await?;
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let base = r.path(namespace_of(s, &r, obj));
    let path = format!("{base}/{name}");
    let mut obj = obj.clone();
    if let Some(ns) = namespace_of(s, &r, &obj).map(str::to_string) {
        obj["metadata"]["namespace"] = json!(ns);
    }
    let mut with_record = obj.clone();
    with_record["metadata"]["annotations"][LAST_APPLIED] = json!(recorded(&obj));
    let live = send(&s.client, Method::GET, &path, &[], None).await?;
    if live.status == http::StatusCode::NOT_FOUND {
        let body = serde_json::to_vec(&with_record).map_err(|e| CliError::msg(e.to_string()))?;
        send(
            &s.client,
            Method::POST,
            &format!("{base}?fieldManager=kubectl-client-side-apply"),
            &[],
            Some(("application/json", body)),
        )
        .await?
        .json()
        .map_err(|e| when("creating", source, e))?;
        return Ok(format!("{}/{name} created", r.qualified_kind()));
    }
    let live = live.json()?;
    let last: Value = live["metadata"]["annotations"][LAST_APPLIED]
        .as_str()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null);
    let patch = three_way(&last, &with_record, &live);
    if patch.as_object().is_none_or(Map::is_empty) {
        return Ok(format!("{}/{name} unchanged", r.qualified_kind()));
    }
    let body = serde_json::to_vec(&patch).map_err(|e| CliError::msg(e.to_string()))?;
    send(
        &s.client,
        Method::PATCH,
        &format!("{path}?fieldManager=kubectl-client-side-apply"),
        &[],
        Some(("application/merge-patch+json", body)),
    )
    .await?
    .json()
    .map_err(|e| when("patching", source, e))?;
    Ok(format!("{}/{name} configured", r.qualified_kind()))
}

async fn server_side(s: &Session, a: &ApplyArgs, obj: &Value) -> Result<String, CliError> {
    let r = resource_of(s, obj).await?;
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let manager = a.field_manager.as_deref().unwrap_or("kubectl");
    let path = format!(
        "{}/{name}?fieldManager={manager}{}",
        r.path(namespace_of(s, &r, obj)),
        if a.force_conflicts { "&force=true" } else { "" }
    );
    upgrade_client_side(
        s,
        &format!("{}/{name}", r.path(namespace_of(s, &r, obj))),
        manager,
    )
    .await?;
    let body = serde_json::to_vec(obj).map_err(|e| CliError::msg(e.to_string()))?;
    let answer = send(
        &s.client,
        Method::PATCH,
        &path,
        &[],
        Some(("application/apply-patch+yaml", body)),
    )
    .await?;
    if answer.status == http::StatusCode::CONFLICT {
        let status: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
        return Err(CliError::msg(format!(
            "{}\nPlease review the fields above--they currently have other managers. Here\nare the ways you can resolve this warning:\n* If you intend to manage all of these fields, please re-run the apply\n  command with the `--force-conflicts` flag.\n* If you do not intend to manage all of the fields, please edit your\n  manifest to remove references to the fields that should keep their\n  current managers.\n* You may co-own fields by updating your manifest to match the existing\n  value; in this case, you'll become the manager if the other manager(s)\n  stop managing the field (remove it from their configuration).\nSee https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts",
            status["message"].as_str().unwrap_or_default()
        )));
    }
    answer.json()?;
    Ok(format!("{}/{name} serverside-applied", r.qualified_kind()))
}

pub async fn apply(g: &Globals, a: &ApplyArgs) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let mut errors = Vec::new();
    for m in manifests::read(&a.filenames, a.recursive)? {
        let outcome = match a.server_side {
            true => server_side(&s, a, &m.object).await,
            false => client_side(&s, &m.source, &m.object).await,
        };
        match outcome {
            Ok(line) => println!("{line}"),
            Err(e) => errors.push(e),
        }
    }
    for e in &errors {
        eprintln!("{e}");
    }
    match errors.is_empty() {
        true => Ok(()),
        false => Err(CliError::Silent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_way_patches() {
        let last = json!({"data": {"a": "1", "b": "2"}});
        let new = json!({"data": {"a": "1", "c": "3"}});
        let live = json!({"data": {"a": "1", "b": "2", "z": "0"}, "metadata": {"uid": "u"}});
        assert_eq!(
            three_way(&last, &new, &live),
            json!({"data": {"c": "3", "b": null}})
        );
        assert_eq!(
            three_way(&new, &new, &json!({"data": {"a": "1", "c": "3"}})),
            json!({})
        );
    }
}
