//! The DeploymentConfig controller's decisions, without I/O: whether a trigger starts a new
//! deployment, the replication controller a deployment is made of, which deployment runs
//! at full scale, which old ones go, and the config's status and conditions.

use serde_json::{Map, Value, json};

use super::keys;
use super::types::DeploymentConfig;

/// What the controller reads of one of a config's replication controllers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Deployment {
    pub name: String,
    pub version: i64,
    pub phase: String,
    pub cancelled: bool,
    pub spec_replicas: i32,
    pub replicas: i32,
    pub ready: i32,
    pub available: i32,
    /// The container images of its template.
    pub images: Vec<String>,
    /// The config it was made from, as encoded in its annotation: parsed only when read
    /// (a sync reads the newest deployment's, not every one's).
    pub encoded_config: Option<String>,
}

impl Deployment {
    pub fn terminal(&self) -> bool {
        keys::terminal(&self.phase)
    }

    /// The config it was made from.
    pub fn config(&self) -> Option<Value> {
        self.encoded_config
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok())
    }
}

fn containers(template_spec: &Value) -> impl Iterator<Item = &Value> {
    ["initContainers", "containers"]
        .into_iter()
        .flat_map(move |l| template_spec[l].as_array().into_iter().flatten())
}

fn image_triggers(spec: &Value) -> impl Iterator<Item = &Value> {
    spec["triggers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["type"] == "ImageChange")
        .map(|t| &t["imageChangeParams"])
}

fn has_trigger(spec: &Value, kind: &str) -> bool {
    spec["triggers"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t["type"] == kind))
}

/// Whether a container still waits for a trigger to fill its image in.
pub fn waits_for_image(dc: &DeploymentConfig) -> bool {
    containers(&dc.spec["template"]["spec"])
        .any(|c| c["image"].as_str().unwrap_or_default().trim().is_empty())
}

/// The `status.details` of a new deployment, if a trigger starts one (upstream's
/// triggerActivated): the first deployment once every image trigger has its image, then an
/// image no deployment runs yet, or (with the config trigger) a changed template.
pub fn triggered(dc: &DeploymentConfig, latest: Option<&Deployment>) -> Option<Value> {
    let spec = &dc.spec;
    let config_change = json!({"message": "config change", "causes": [{"type": "ConfigChange"}]});
    let images: Vec<&Value> = image_triggers(spec).collect();
    if dc.latest_version() == 0 {
        if !images.is_empty() {
            let resolved = images.iter().all(|p| {
                !p["lastTriggeredImage"]
                    .as_str()
                    .unwrap_or_default()
                    .is_empty()
            });
            return resolved.then_some(config_change);
        }
        return has_trigger(spec, "ConfigChange").then_some(config_change);
    }
    let latest = latest?;
    if !images.is_empty() {
        let causes: Vec<Value> = containers(&spec["template"]["spec"])
            .filter_map(|c| c["image"].as_str())
            .filter(|image| !latest.images.iter().any(|i| i == image))
            .map(|image| {
                json!({"type": "ImageChange", "imageTrigger": {"from": {"kind": "DockerImage", "name": image}}})
            })
            .collect();
        if !causes.is_empty() {
            return Some(json!({"message": "image change", "causes": causes}));
        }
    }
    if has_trigger(spec, "ConfigChange")
        && latest
            .config()
            .is_some_and(|c| c["spec"]["template"] != spec["template"])
    {
        return Some(config_change);
    }
    None
}

fn labels_with(base: &Value, extra: &[(&str, &str)]) -> Value {
    let mut map = base.as_object().cloned().unwrap_or_default();
    for (k, v) in extra {
        map.insert((*k).into(), json!(v));
    }
    Value::Object(map)
}

/// The replication controller of deployment `version` (upstream's MakeDeployment).
pub fn replication_controller(dc: &DeploymentConfig, version: i64) -> Value {
    let name = dc.name();
    let rc = keys::rc_name(name, version);
    let version_text = version.to_string();
    let mut annotations = Map::new();
    let mut annotate = |k: &str, v: String| drop(annotations.insert(k.into(), json!(v)));
    annotate(keys::CONFIG_NAME, name.into());
    annotate(keys::ENCODED_CONFIG, dc.to_json().to_string());
    annotate(keys::PHASE, keys::NEW.into());
    annotate(keys::LATEST_VERSION, version_text.clone());
    annotate(keys::DESIRED_REPLICAS, dc.replicas().to_string());
    annotate(keys::REPLICAS, "0".into());
    if let Some(reason) = dc.status["details"]["message"]
        .as_str()
        .filter(|m| !m.is_empty())
    {
        annotate(keys::STATUS_REASON, reason.into());
    }
    if let Some(ignore) = dc
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(keys::IGNORE_DEPLOYER))
    {
        annotate(keys::IGNORE_DEPLOYER, ignore.clone());
    }
    let config_labels = serde_json::to_value(&dc.metadata.labels).unwrap_or_default();
    let mut template = dc.spec["template"].clone();
    template["metadata"]["labels"] = labels_with(
        &template["metadata"]["labels"],
        &[(keys::LABEL_CONFIG, name), (keys::LABEL_DEPLOYMENT, &rc)],
    );
    template["metadata"]["annotations"] = labels_with(
        &template["metadata"]["annotations"],
        &[
            (keys::DEPLOYMENT_NAME, &rc),
            (keys::CONFIG_NAME, name),
            (keys::LATEST_VERSION, &version_text),
        ],
    );
    for list in ["initContainers", "containers"] {
        for c in template["spec"][list].as_array_mut().into_iter().flatten() {
            let image = c["image"].as_str().unwrap_or_default().trim().to_string();
            c["image"] = json!(image);
        }
    }
    json!({
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {
            "name": rc,
            "namespace": dc.namespace(),
            "labels": labels_with(&config_labels, &[(keys::CONFIG_NAME, name)]),
            "annotations": annotations,
            "ownerReferences": [{"apiVersion": "apps.openshift.io/v1", "kind": "DeploymentConfig",
                "name": name, "uid": dc.metadata.uid, "controller": true, "blockOwnerDeletion": true}],
        },
        "spec": {
            "replicas": 0,
            "minReadySeconds": dc.spec["minReadySeconds"].as_i64().unwrap_or(0),
            "selector": labels_with(&dc.spec["selector"], &[(keys::LABEL_CONFIG, name), (keys::LABEL_DEPLOYMENT, &rc)]),
            "template": template,
        }
    })
}

/// The replica counts every deployment should have once the latest is final: the newest
/// complete one runs the config's replicas (none for a test config), every other none.
/// This is how a failed deployment rolls back: its predecessor is scaled back up.
pub fn scales(dc: &DeploymentConfig, deployments: &[Deployment]) -> Vec<(String, i32, i32)> {
    let active = deployments
        .iter()
        .filter(|d| d.phase == keys::COMPLETE)
        .max_by_key(|d| d.version)
        .map(|d| d.version);
    let wanted = if dc.spec["test"] == true {
        0
    } else {
        dc.replicas()
    };
    deployments
        .iter()
        .filter_map(|d| {
            let to = if Some(d.version) == active { wanted } else { 0 };
            (d.spec_replicas != to).then(|| (d.name.clone(), d.spec_replicas, to))
        })
        .collect()
}

/// The old deployments to delete beyond `revisionHistoryLimit`, oldest first: those older
/// than the active one (or all but the latest when none is active) that are scaled to zero.
pub fn pruned(dc: &DeploymentConfig, deployments: &[Deployment]) -> Vec<String> {
    let Some(limit) = dc.spec["revisionHistoryLimit"].as_i64() else {
        return Vec::new();
    };
    let active = deployments
        .iter()
        .filter(|d| d.phase == keys::COMPLETE)
        .map(|d| d.version)
        .max();
    let latest = dc.latest_version();
    let mut candidates: Vec<&Deployment> = deployments
        .iter()
        .filter(|d| match active {
            Some(a) => d.version < a,
            None => d.version != latest,
        })
        .collect();
    candidates.sort_by_key(|d| d.version);
    let excess = candidates.len().saturating_sub(limit.max(0) as usize);
    candidates
        .into_iter()
        .filter(|d| d.spec_replicas == 0)
        .take(excess)
        .map(|d| d.name.clone())
        .collect()
}

/// An int-or-percent of `total`, rounded up or down.
pub fn resolve(value: &Value, total: i32, round_up: bool) -> i32 {
    match value {
        Value::Number(n) => n.as_i64().unwrap_or(0) as i32,
        Value::String(s) => {
            let percent: i64 = s.trim_end_matches('%').parse().unwrap_or(0);
            let scaled = percent * total as i64;
            (if round_up {
                (scaled + 99) / 100
            } else {
                scaled / 100
            }) as i32
        }
        _ => 0,
    }
}

/// How many pods may be unavailable during a rolling deployment (upstream's fenceposts:
/// surge rounds up, unavailable down, both zero makes unavailable one).
pub fn max_unavailable(dc: &DeploymentConfig) -> i32 {
    let strategy = &dc.spec["strategy"];
    if strategy["type"] != "Rolling" {
        return 0;
    }
    let params = &strategy["rollingParams"];
    let desired = dc.replicas();
    let surge = resolve(&params["maxSurge"], desired, true);
    let unavailable = resolve(&params["maxUnavailable"], desired, false);
    if surge == 0 && unavailable == 0 {
        1
    } else {
        unavailable
    }
}

fn condition(type_: &str, status: &str, reason: &str, message: String) -> Value {
    json!({"type": type_, "status": status, "reason": reason, "message": message})
}

/// Sets `wanted` among `conditions`, keeping the transition time when the status holds and
/// leaving a condition with the same status and reason as it is.
fn set_condition(conditions: &mut Vec<Value>, mut wanted: Value, now: &str) {
    let existing = conditions.iter().position(|c| c["type"] == wanted["type"]);
    if let Some(i) = existing {
        let c = &conditions[i];
        if c["status"] == wanted["status"]
            && c["reason"] == wanted["reason"]
            && c["message"] == wanted["message"]
        {
            return;
        }
        wanted["lastTransitionTime"] = if c["status"] == wanted["status"] {
            c["lastTransitionTime"].clone()
        } else {
            json!(now)
        };
        wanted["lastUpdateTime"] = json!(now);
        conditions[i] = wanted;
    } else {
        wanted["lastTransitionTime"] = json!(now);
        wanted["lastUpdateTime"] = json!(now);
        conditions.push(wanted);
    }
}

/// The Progressing condition the latest deployment's state calls for, if any.
fn progressing(latest: Option<&Deployment>, created: bool) -> Option<Value> {
    let d = latest?;
    let rc = &d.name;
    Some(match d.phase.as_str() {
        _ if created => condition(
            "Progressing",
            "True",
            "NewReplicationControllerCreated",
            format!(
                "Created new replication controller \"{rc}\" for version {}",
                d.version
            ),
        ),
        keys::PENDING => condition(
            "Progressing",
            "Unknown",
            "",
            format!("replication controller \"{rc}\" is waiting for pod \"{rc}-deploy\" to run"),
        ),
        keys::RUNNING => condition(
            "Progressing",
            "True",
            "ReplicationControllerUpdated",
            format!("replication controller \"{rc}\" is progressing"),
        ),
        keys::FAILED if d.cancelled => condition(
            "Progressing",
            "False",
            "RolloutCancelled",
            format!("rollout of replication controller \"{rc}\" was cancelled"),
        ),
        keys::FAILED => condition(
            "Progressing",
            "False",
            "ProgressDeadlineExceeded",
            format!("replication controller \"{rc}\" has failed progressing"),
        ),
        keys::COMPLETE => condition(
            "Progressing",
            "True",
            "NewReplicationControllerAvailable",
            format!("replication controller \"{rc}\" successfully rolled out"),
        ),
        _ => return None,
    })
}

/// The config's status (upstream's calculateStatus and updateConditions).
pub fn status(
    dc: &DeploymentConfig,
    deployments: &[Deployment],
    created: bool,
    observe: bool,
    now: &str,
) -> Value {
    let latest = deployments
        .iter()
        .find(|d| d.version == dc.latest_version());
    let sum = |f: fn(&Deployment) -> i32| deployments.iter().map(f).sum::<i32>();
    let available = sum(|d| d.available);
    let unavailable = (sum(|d| d.spec_replicas) - available).max(0);
    let observed = if observe {
        dc.metadata.generation.unwrap_or(0)
    } else {
        dc.status["observedGeneration"].as_i64().unwrap_or(0)
    };
    let mut conditions: Vec<Value> = dc.status["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let minimum = available >= dc.replicas() - max_unavailable(dc) && available > 0;
    let availability = if minimum {
        condition(
            "Available",
            "True",
            "",
            "Deployment config has minimum availability.".into(),
        )
    } else {
        condition(
            "Available",
            "False",
            "",
            "Deployment config does not have minimum availability.".into(),
        )
    };
    set_condition(&mut conditions, availability, now);
    if let Some(p) = progressing(latest, created) {
        set_condition(&mut conditions, p, now);
    }
    let mut status = json!({
        "latestVersion": dc.latest_version(),
        "observedGeneration": observed,
        "replicas": sum(|d| d.replicas),
        "updatedReplicas": latest.map(|d| d.replicas).unwrap_or(0),
        "availableReplicas": available,
        "unavailableReplicas": unavailable,
        "readyReplicas": sum(|d| d.ready),
        "conditions": conditions,
    });
    if !dc.status["details"].is_null() {
        status["details"] = dc.status["details"].clone();
    }
    status
}

/// Whether two statuses differ in anything but the conditions' times.
pub fn same_status(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        for c in v["conditions"].as_array_mut().into_iter().flatten() {
            if let Some(c) = c.as_object_mut() {
                c.remove("lastUpdateTime");
                c.remove("lastTransitionTime");
            }
        }
        v
    };
    strip(a) == strip(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dc(spec: Value, version: i64) -> DeploymentConfig {
        let mut dc: DeploymentConfig = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "p", "uid": "u", "generation": 2, "labels": {"app": "web"}},
            "spec": spec, "status": {"latestVersion": version}})).unwrap();
        dc.status["details"] = json!({"message": "config change"});
        dc
    }

    fn spec(image: &str) -> Value {
        json!({"replicas": 2, "selector": {"app": "web"}, "revisionHistoryLimit": 1,
            "strategy": {"type": "Rolling", "rollingParams": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "triggers": [{"type": "ConfigChange"}],
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]}}})
    }

    fn deployment(version: i64, phase: &str, replicas: i32) -> Deployment {
        Deployment {
            name: format!("web-{version}"),
            version,
            phase: phase.into(),
            spec_replicas: replicas,
            replicas,
            available: replicas,
            ready: replicas,
            ..Default::default()
        }
    }

    #[test]
    fn the_first_deployment_waits_for_every_image() {
        let mut s = spec("");
        s["triggers"] =
            json!([{"type": "ImageChange", "imageChangeParams": {"lastTriggeredImage": ""}}]);
        assert!(triggered(&dc(s.clone(), 0), None).is_none());
        s["triggers"][0]["imageChangeParams"]["lastTriggeredImage"] = json!("quay.io/web@sha256:a");
        assert_eq!(
            triggered(&dc(s, 0), None).unwrap()["message"],
            "config change"
        );
    }

    #[test]
    fn a_new_image_or_template_starts_a_deployment() {
        let config = dc(spec("web:1"), 1);
        let mut latest = deployment(1, keys::COMPLETE, 2);
        latest.images = vec!["web:1".into()];
        latest.encoded_config = Some(config.to_json().to_string());
        assert!(triggered(&config, Some(&latest)).is_none());
        let changed = dc(spec("web:2"), 1);
        assert_eq!(
            triggered(&changed, Some(&latest)).unwrap()["message"],
            "config change"
        );
        let mut with_image = spec("web:2");
        with_image["triggers"] = json!([{"type": "ImageChange", "imageChangeParams": {}}]);
        let image = triggered(&dc(with_image, 1), Some(&latest)).unwrap();
        assert_eq!(image["message"], "image change");
        assert_eq!(
            image["causes"][0]["imageTrigger"]["from"],
            json!({"kind": "DockerImage", "name": "web:2"})
        );
    }

    #[test]
    fn the_replication_controller_of_a_deployment() {
        let rc = replication_controller(&dc(spec(" web:1 "), 3), 3);
        let meta = &rc["metadata"];
        assert_eq!(meta["name"], "web-3");
        assert_eq!(
            meta["labels"],
            json!({"app": "web", "openshift.io/deployment-config.name": "web"})
        );
        assert_eq!(meta["annotations"]["openshift.io/deployment.phase"], "New");
        assert_eq!(
            meta["annotations"]["kubectl.kubernetes.io/desired-replicas"],
            "2"
        );
        assert_eq!(
            meta["annotations"]["openshift.io/deployment.status-reason"],
            "config change"
        );
        assert_eq!(rc["spec"]["replicas"], 0);
        assert_eq!(
            rc["spec"]["selector"],
            json!({"app": "web", "deploymentconfig": "web", "deployment": "web-3"})
        );
        let template = &rc["spec"]["template"];
        assert_eq!(
            template["metadata"]["annotations"]["openshift.io/deployment-config.latest-version"],
            "3"
        );
        assert_eq!(template["spec"]["containers"][0]["image"], "web:1");
    }

    #[test]
    fn a_failed_deployment_hands_back_to_the_last_complete_one() {
        let config = dc(spec("web"), 3);
        let list = vec![
            deployment(1, keys::COMPLETE, 0),
            deployment(2, keys::COMPLETE, 0),
            deployment(3, keys::FAILED, 1),
        ];
        assert_eq!(
            scales(&config, &list),
            vec![("web-2".into(), 0, 2), ("web-3".into(), 1, 0)]
        );
        assert!(pruned(&config, &list).is_empty());
        let mut none_kept = config.clone();
        none_kept.spec["revisionHistoryLimit"] = json!(0);
        assert_eq!(pruned(&none_kept, &list), vec!["web-1".to_string()]);
    }

    #[test]
    fn conditions_follow_the_latest_deployment() {
        let config = dc(spec("web"), 2);
        let list = vec![
            deployment(1, keys::COMPLETE, 0),
            deployment(2, keys::COMPLETE, 2),
        ];
        let status = status(&config, &list, false, true, "T");
        assert_eq!(status["observedGeneration"], 2);
        assert_eq!(status["updatedReplicas"], 2);
        let conditions = status["conditions"].as_array().unwrap();
        assert_eq!(
            conditions[0]["message"],
            "Deployment config has minimum availability."
        );
        assert_eq!(conditions[1]["reason"], "NewReplicationControllerAvailable");
        assert_eq!(
            conditions[1]["message"],
            "replication controller \"web-2\" successfully rolled out"
        );
        assert_eq!(max_unavailable(&config), 0);
        assert_eq!(resolve(&json!("25%"), 2, true), 1);
    }
}
