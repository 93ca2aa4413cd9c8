//! `oc set triggers (TYPE NAME | TYPE/NAME) [--from-config] [--from-image=STREAM:TAG -c NAMES]
//! [--auto | --manual] [--remove | --remove-all]`: what starts a new deployment of an object.
//! DeploymentConfigs keep their triggers in `spec.triggers`; Deployments, StatefulSets,
//! DaemonSets, CronJobs and Jobs in the `image.openshift.io/triggers` annotation (and a
//! Deployment's config trigger is its not being paused). Without a change, the triggers
//! are listed.

use http::Method;
use serde_json::{Value, json};

use super::Globals;
use crate::client::{Session, send, session};
use crate::error::CliError;
use crate::objects::{self, Target};

const ANNOTATION: &str = "image.openshift.io/triggers";

#[derive(Debug, Default, clap::Args)]
pub struct TriggersArgs {
    /// TYPE NAME or TYPE/NAME.
    pub words: Vec<String>,
    /// If set, configuration changes will result in a change.
    #[arg(long)]
    pub from_config: bool,
    /// An image stream tag to trigger off of.
    #[arg(long)]
    pub from_image: Option<String>,
    /// Comma delimited list of container names this trigger applies to.
    #[arg(long, short = 'c')]
    pub containers: Option<String>,
    /// If set, all triggers will be updated automatically.
    #[arg(long)]
    pub auto: bool,
    /// If set, all triggers will be updated manually.
    #[arg(long)]
    pub manual: bool,
    /// If set, remove the specified triggers.
    #[arg(long)]
    pub remove: bool,
    /// If set, all triggers will be removed.
    #[arg(long)]
    pub remove_all: bool,
}

impl TriggersArgs {
    fn changes(&self) -> bool {
        self.from_config
            || self.from_image.is_some()
            || self.auto
            || self.manual
            || self.remove
            || self.remove_all
    }
}

fn container_names(template_spec: &Value) -> Vec<String> {
    template_spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(String::from))
        .collect()
}

/// The containers `-c` names, checked against the template's.
fn chosen(
    a: &TriggersArgs,
    template_spec: &Value,
    required: bool,
) -> Result<Vec<String>, CliError> {
    let all = container_names(template_spec);
    let Some(list) = a.containers.as_deref().filter(|l| !l.is_empty()) else {
        if required {
            return Err(CliError::msg(
                "you must specify --containers when setting --from-image",
            ));
        }
        return Ok(all);
    };
    let names: Vec<String> = list.split(',').map(str::to_string).collect();
    if names.iter().any(|n| !all.contains(n)) {
        return Err(CliError::msg(format!(
            "not all container names exist: {list} (accepts: {})",
            all.join(", ")
        )));
    }
    Ok(names)
}

/// A config's triggers with the arguments' changes.
pub fn config_triggers(a: &TriggersArgs, dc: &Value) -> Result<Value, CliError> {
    let mut triggers: Vec<Value> = dc["spec"]["triggers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if a.remove_all {
        return Ok(json!([]));
    }
    if a.from_config {
        triggers.retain(|t| t["type"] != "ConfigChange");
        if !a.remove && !a.manual {
            triggers.insert(0, json!({"type": "ConfigChange"}));
        }
    }
    if let Some(from) = &a.from_image {
        triggers.retain(|t| t["imageChangeParams"]["from"]["name"] != from.as_str());
        if !a.remove {
            let names = chosen(a, &dc["spec"]["template"]["spec"], false)?;
            triggers.push(json!({"type": "ImageChange", "imageChangeParams": {
                "automatic": !a.manual, "containerNames": names,
                "from": {"kind": "ImageStreamTag", "name": from}}}));
        }
    } else if a.auto || a.manual {
        for t in triggers.iter_mut().filter(|t| t["type"] == "ImageChange") {
            t["imageChangeParams"]["automatic"] = json!(a.auto);
        }
        if a.manual {
            triggers.retain(|t| t["type"] != "ConfigChange");
        }
    } else if a.remove && !a.from_config {
        return Err(CliError::msg(
            "--remove requires --from-config or --from-image",
        ));
    }
    Ok(Value::Array(triggers))
}

fn pod_spec_path(kind: &str) -> &'static str {
    match kind {
        "CronJob" => "spec.jobTemplate.spec.template.spec",
        _ => "spec.template.spec",
    }
}

/// A workload's trigger annotation with the arguments' changes.
pub fn annotation_triggers(
    a: &TriggersArgs,
    kind: &str,
    obj: &Value,
) -> Result<Vec<Value>, CliError> {
    let current = obj["metadata"]["annotations"][ANNOTATION]
        .as_str()
        .unwrap_or("[]");
    let mut triggers: Vec<Value> = serde_json::from_str(current).unwrap_or_default();
    if a.remove_all {
        return Ok(Vec::new());
    }
    let prefix = pod_spec_path(kind);
    if let Some(from) = &a.from_image {
        let spec = prefix.split('.').fold(obj, |v, k| &v[k]);
        let names = chosen(a, spec, true)?;
        let path = |n: &str| format!("{prefix}.containers[?(@.name==\"{n}\")].image");
        triggers.retain(|t| !names.iter().any(|n| t["fieldPath"] == path(n).as_str()));
        if !a.remove {
            for n in &names {
                let mut trigger =
                    json!({"from": {"kind": "ImageStreamTag", "name": from}, "fieldPath": path(n)});
                if a.manual {
                    trigger["paused"] = json!(true);
                }
                triggers.push(trigger);
            }
        }
    } else if a.auto || a.manual {
        for t in triggers.iter_mut() {
            match a.manual {
                true => t["paused"] = json!(true),
                false => drop(t.as_object_mut().map(|m| m.remove("paused"))),
            }
        }
    }
    Ok(triggers)
}

/// The annotation's JSON as upstream writes it: each trigger's fields in its order (`from`
/// with kind, name and a namespace only when set; `fieldPath`; `paused` only when true).
pub fn encode(triggers: &[Value]) -> String {
    let text = |v: &Value| serde_json::to_string(v).unwrap_or_default();
    let items: Vec<String> = triggers
        .iter()
        .map(|t| {
            let from = &t["from"];
            let mut f = format!(
                "\"kind\":{},\"name\":{}",
                text(&from["kind"]),
                text(&from["name"])
            );
            if from["namespace"].as_str().is_some_and(|n| !n.is_empty()) {
                f.push_str(&format!(",\"namespace\":{}", text(&from["namespace"])));
            }
            let mut item = format!("{{\"from\":{{{f}}},\"fieldPath\":{}", text(&t["fieldPath"]));
            if t["paused"] == true {
                item.push_str(",\"paused\":true");
            }
            item.push('}');
            item
        })
        .collect();
    format!("[{}]", items.join(","))
}

async fn merge_patch(s: &Session, t: &Target, patch: &Value) -> Result<(), CliError> {
    let body = serde_json::to_vec(patch).map_err(|e| CliError::msg(e.to_string()))?;
    send(
        &s.client,
        Method::PATCH,
        &t.path(),
        &[],
        Some(("application/merge-patch+json", body)),
    )
    .await?
    .json()?;
    Ok(())
}

/// The rows of the listing: type, value, automatic.
fn rows(kind: &str, obj: &Value) -> Vec<(String, String, bool)> {
    if kind == "DeploymentConfig" {
        return obj["spec"]["triggers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| match t["type"].as_str() {
                Some("ImageChange") => {
                    let p = &t["imageChangeParams"];
                    let names: Vec<&str> = p["containerNames"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    let value = format!(
                        "{} ({})",
                        p["from"]["name"].as_str().unwrap_or_default(),
                        names.join(", ")
                    );
                    ("image".to_string(), value, p["automatic"] == true)
                }
                Some("ConfigChange") => ("config".to_string(), String::new(), true),
                other => (
                    other.unwrap_or_default().to_lowercase(),
                    String::new(),
                    true,
                ),
            })
            .collect();
    }
    let mut out = Vec::new();
    if kind == "Deployment" {
        out.push((
            "config".to_string(),
            String::new(),
            obj["spec"]["paused"] != true,
        ));
    }
    let current = obj["metadata"]["annotations"][ANNOTATION]
        .as_str()
        .unwrap_or("[]");
    let list: Vec<Value> = serde_json::from_str(current).unwrap_or_default();
    for t in list {
        let value = format!(
            "{} ({})",
            t["from"]["name"].as_str().unwrap_or_default(),
            t["fieldPath"].as_str().unwrap_or_default()
        );
        out.push(("image".to_string(), value, t["paused"] != true));
    }
    out
}

pub async fn triggers(g: &Globals, a: &TriggersArgs) -> Result<(), CliError> {
    if a.auto && a.manual {
        return Err(CliError::msg(
            "you must specify at most one of --auto or --manual",
        ));
    }
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let targets = objects::named(&s, &a.words).await?;
    if !a.changes() {
        let mut table = String::from("NAME\tTYPE\tVALUE\tAUTO\n");
        for t in &targets {
            let obj = s.get(&t.path()).await?;
            let name = format!("{}/{}", t.resource.plural, t.name);
            for (kind, value, auto) in rows(&t.resource.kind, &obj) {
                table.push_str(&format!("{name}\t{kind}\t{value}\t{auto}\n"));
            }
        }
        print!("{}", crate::printers::tabwriter::format(&table));
        return Ok(());
    }
    for t in &targets {
        let obj = s.get(&t.path()).await?;
        let kind = t.resource.kind.as_str();
        match kind {
            "DeploymentConfig" => {
                let triggers = config_triggers(a, &obj)?;
                merge_patch(&s, t, &json!({"spec": {"triggers": triggers}})).await?;
            }
            "Deployment" | "StatefulSet" | "DaemonSet" | "CronJob" | "Job" => {
                let triggers = annotation_triggers(a, kind, &obj)?;
                let annotation = match triggers.is_empty() {
                    true => Value::Null,
                    false => json!(encode(&triggers)),
                };
                let mut patch = json!({"metadata": {"annotations": {ANNOTATION: annotation}}});
                if kind == "Deployment" && a.from_config {
                    patch["spec"] = json!({"paused": a.remove || a.manual});
                }
                merge_patch(&s, t, &patch).await?;
            }
            other => {
                return Err(CliError::msg(format!(
                    "the object does not support triggers: {other}"
                )));
            }
        }
        println!("{} triggers updated", t.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(f: impl FnOnce(&mut TriggersArgs)) -> TriggersArgs {
        let mut a = TriggersArgs::default();
        f(&mut a);
        a
    }

    #[test]
    fn a_configs_triggers() {
        let dc = json!({"spec": {"triggers": [{"type": "ConfigChange"}],
            "template": {"spec": {"containers": [{"name": "web"}]}}}});
        let added =
            config_triggers(&args(|a| a.from_image = Some("web:latest".into())), &dc).unwrap();
        assert_eq!(
            added,
            json!([{"type": "ConfigChange"}, {"type": "ImageChange", "imageChangeParams": {"automatic": true,
                "containerNames": ["web"], "from": {"kind": "ImageStreamTag", "name": "web:latest"}}}])
        );
        let with = json!({"spec": {"triggers": added, "template": dc["spec"]["template"]}});
        let manual = config_triggers(&args(|a| a.manual = true), &with).unwrap();
        assert_eq!(
            manual,
            json!([{"type": "ImageChange", "imageChangeParams": {"automatic": false,
            "containerNames": ["web"], "from": {"kind": "ImageStreamTag", "name": "web:latest"}}}])
        );
        let bad = args(|a| {
            a.from_image = Some("x:1".into());
            a.containers = Some("db".into());
        });
        assert_eq!(
            config_triggers(&bad, &dc).unwrap_err().to_string(),
            "error: not all container names exist: db (accepts: web)"
        );
    }

    #[test]
    fn a_deployments_annotation() {
        let d = json!({"spec": {"template": {"spec": {"containers": [{"name": "web"}]}}}});
        let from = args(|a| a.from_image = Some("web:latest".into()));
        assert_eq!(
            annotation_triggers(&from, "Deployment", &d)
                .unwrap_err()
                .to_string(),
            "error: you must specify --containers when setting --from-image"
        );
        let a = args(|a| {
            a.from_image = Some("web:latest".into());
            a.containers = Some("web".into());
        });
        let list = annotation_triggers(&a, "Deployment", &d).unwrap();
        assert_eq!(
            encode(&list),
            r#"[{"from":{"kind":"ImageStreamTag","name":"web:latest"},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image"}]"#
        );
    }
}
