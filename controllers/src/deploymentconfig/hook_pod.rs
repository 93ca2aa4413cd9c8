//! Lifecycle hooks without I/O: the hooks a config's strategy sets (`pre`, `mid` for
//! Recreate, `post`), the hook pod an `execNewPod` hook runs (upstream's
//! createHookPodManifest: its name, labels, annotations, environment, volumes and container
//! from the deployment's template), what its phase says, and the deployer's words.

use serde_json::{Map, Value, json};

/// Upstream's label naming the deployment a deployer or hook pod works for.
pub const POD_FOR_LABEL: &str = "openshift.io/deployer-pod-for.name";
/// Upstream's label saying which kind of deployment pod it is (`hook-pre`...).
pub const POD_TYPE_LABEL: &str = "openshift.io/deployer-pod.type";
const DEPLOYMENT_ANNOTATION: &str = "openshift.io/deployment.name";
/// The hook pod's only container.
pub const CONTAINER: &str = "lifecycle";
/// Upstream's default `activeDeadlineSeconds` of a rollout (six hours).
pub const MAX_DEPLOYMENT_SECONDS: i64 = 21600;

/// Where in a rollout a hook runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Point {
    Pre,
    Mid,
    Post,
}

impl Point {
    /// The hook's name in the deployer's lines and in the strategy's parameters.
    pub fn label(self) -> &'static str {
        match self {
            Point::Pre => "pre",
            Point::Mid => "mid",
            Point::Post => "post",
        }
    }

    /// The hook pod's name for deployment `rc` (`<rc>-hook-pre`).
    pub fn pod_name(self, rc: &str) -> String {
        format!("{rc}-hook-{}", self.label())
    }
}

/// The hook a config's strategy sets at `point`, if any (Rolling has no `mid`).
pub fn hook(config: &Value, point: Point) -> Option<&Value> {
    let strategy = &config["spec"]["strategy"];
    let params = match strategy["type"].as_str() {
        Some("Recreate") => &strategy["recreateParams"],
        Some("Rolling") | None if point != Point::Mid => &strategy["rollingParams"],
        _ => return None,
    };
    Some(&params[point.label()]).filter(|h| h.is_object())
}

/// How a hook's failure is handled (`Abort`, `Retry`, `Ignore`).
pub fn ignores_failure(hook: &Value) -> bool {
    hook["failurePolicy"] == "Ignore"
}

/// The template's container named `name`.
fn container<'a>(rc: &'a Value, name: &str) -> Option<&'a Value> {
    rc["spec"]["template"]["spec"]["containers"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == name)
}

/// The image of the template's container `name` (what `tagImages` tags).
pub fn container_image<'a>(rc: &'a Value, name: &str) -> Option<&'a str> {
    container(rc, name)?["image"].as_str()
}

/// The base container's environment with the hook's over it (same names replaced in place,
/// new ones after), then the deployment's name and namespace.
fn environment(base: &Value, hook: &Value, rc: &str, namespace: &str) -> Vec<Value> {
    let mut env: Vec<Value> = base.as_array().cloned().unwrap_or_default();
    for var in hook.as_array().into_iter().flatten() {
        match env.iter_mut().find(|e| e["name"] == var["name"]) {
            Some(existing) => *existing = var.clone(),
            None => env.push(var.clone()),
        }
    }
    env.push(json!({"name": "OPENSHIFT_DEPLOYMENT_NAME", "value": rc}));
    env.push(json!({"name": "OPENSHIFT_DEPLOYMENT_NAMESPACE", "value": namespace}));
    env
}

/// Copies `from[key]` into `to` when it is set.
fn copy(to: &mut Map<String, Value>, from: &Value, key: &str) {
    if let Some(v) = from.get(key).filter(|v| !v.is_null()) {
        to.insert(key.into(), v.clone());
    }
}

/// The pod an `execNewPod` hook runs for deployment `rc` (a ReplicationController as JSON),
/// made from the config the deployment was made from; `elapsed` is how long the rollout has
/// run (the pod's deadline is what remains of the rollout's). Errs when the hook names no
/// container of the template, in upstream's words.
pub fn pod(
    hook: &Value,
    rc: &Value,
    config: &Value,
    point: Point,
    elapsed: i64,
) -> Result<Value, String> {
    let exec = &hook["execNewPod"];
    let container_name = exec["containerName"].as_str().unwrap_or_default();
    let Some(base) = container(rc, container_name) else {
        return Err(format!(
            "no container named '{container_name}' found in rc template"
        ));
    };
    let name = rc["metadata"]["name"].as_str().unwrap_or_default();
    let namespace = rc["metadata"]["namespace"].as_str().unwrap_or_default();
    let template = &rc["spec"]["template"]["spec"];
    let strategy = &config["spec"]["strategy"];
    let wanted: Vec<&str> = exec["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let volumes: Vec<Value> = template["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| wanted.contains(&v["name"].as_str().unwrap_or_default()))
        .cloned()
        .collect();
    let mounts: Vec<Value> = base["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| volumes.iter().any(|v| v["name"] == m["name"]))
        .map(|m| {
            let mut mount = Map::new();
            for key in ["name", "readOnly", "mountPath", "subPath"] {
                copy(&mut mount, m, key);
            }
            Value::Object(mount)
        })
        .collect();
    let mut lifecycle = Map::new();
    lifecycle.insert("name".into(), json!(CONTAINER));
    copy(&mut lifecycle, base, "image");
    copy(&mut lifecycle, base, "imagePullPolicy");
    copy(&mut lifecycle, exec, "command");
    copy(&mut lifecycle, base, "workingDir");
    lifecycle.insert(
        "env".into(),
        json!(environment(&base["env"], &exec["env"], name, namespace)),
    );
    copy(&mut lifecycle, base, "resources");
    if !mounts.is_empty() {
        lifecycle.insert("volumeMounts".into(), json!(mounts));
    }
    copy(&mut lifecycle, base, "securityContext");
    let deadline = strategy["activeDeadlineSeconds"]
        .as_i64()
        .unwrap_or(MAX_DEPLOYMENT_SECONDS)
        .saturating_sub(elapsed)
        .max(1);
    // The kubelet retries the hook when asked to.
    let restart = match hook["failurePolicy"].as_str() {
        Some("Retry") => "OnFailure",
        _ => "Never",
    };
    let mut spec = Map::new();
    spec.insert("containers".into(), json!([Value::Object(lifecycle)]));
    copy(&mut spec, template, "securityContext");
    if !volumes.is_empty() {
        spec.insert("volumes".into(), json!(volumes));
    }
    spec.insert("activeDeadlineSeconds".into(), json!(deadline));
    copy(&mut spec, template, "nodeSelector");
    spec.insert("restartPolicy".into(), json!(restart));
    let secrets: Vec<Value> = template["imagePullSecrets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| json!({"name": s["name"]}))
        .collect();
    if !secrets.is_empty() {
        spec.insert("imagePullSecrets".into(), json!(secrets));
    }
    spec.insert("terminationGracePeriodSeconds".into(), json!(10));
    let hook_type = format!("hook-{}", point.label());
    let mut labels = json!({POD_FOR_LABEL: name, POD_TYPE_LABEL: hook_type});
    let mut annotations = json!({DEPLOYMENT_ANNOTATION: name});
    // The strategy's labels and annotations, without replacing the hook's own.
    for (to, from) in [
        (&mut labels, &strategy["labels"]),
        (&mut annotations, &strategy["annotations"]),
    ] {
        for (k, v) in from.as_object().into_iter().flatten() {
            if let Some(map) = to.as_object_mut() {
                map.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    let mut metadata = json!({"name": point.pod_name(name), "namespace": namespace,
        "labels": labels, "annotations": annotations});
    // Owned by its deployment, so that the deployment's deletion takes its hook pods along.
    if let Some(uid) = rc["metadata"]["uid"].as_str() {
        metadata["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "ReplicationController",
            "name": name, "uid": uid}]);
    }
    Ok(json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}))
}

/// What a hook pod's phase says of its hook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Running,
    Succeeded,
    /// Failed, with the pod's status message (often empty, as upstream reports it).
    Failed(String),
}

pub fn outcome(pod: &Value) -> Outcome {
    match pod["status"]["phase"].as_str() {
        Some("Succeeded") => Outcome::Succeeded,
        Some("Failed") => Outcome::Failed(
            pod["status"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ),
        _ => Outcome::Running,
    }
}

/// The error a failed hook ends the rollout with (upstream's executor's, wrapped by its
/// strategy's).
pub fn failure(point: Point, why: &str, namespace: &str, rc: &str) -> String {
    let label = point.label();
    format!(
        "{label} hook failed: the {label} hook failed: {why}, aborting rollout of {namespace}/{rc}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rc() -> Value {
        json!({"metadata": {"name": "web-2", "namespace": "p", "uid": "u2"},
            "spec": {"template": {"spec": {
                "containers": [{"name": "web", "image": "img:1", "imagePullPolicy": "IfNotPresent",
                    "workingDir": "/srv", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                    "resources": {"limits": {"cpu": "1"}},
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}, {"name": "other", "mountPath": "/o"}],
                    "securityContext": {"runAsNonRoot": true}}],
                "volumes": [{"name": "data", "emptyDir": {}}, {"name": "other", "emptyDir": {}}],
                "nodeSelector": {"zone": "a"},
                "imagePullSecrets": [{"name": "pull"}]}}}})
    }

    #[test]
    fn the_hook_pod_is_upstreams() {
        let config = json!({"spec": {"strategy": {"type": "Recreate", "activeDeadlineSeconds": 100,
            "labels": {"team": "x", POD_TYPE_LABEL: "no"}, "annotations": {"note": "y"},
            "recreateParams": {"pre": {"failurePolicy": "Retry", "execNewPod": {"containerName": "web",
                "command": ["/bin/false"], "env": [{"name": "B", "value": "hook"}, {"name": "C", "value": "3"}],
                "volumes": ["data", "absent"]}}}}}});
        let hook = hook(&config, Point::Pre).unwrap();
        let pod = pod(hook, &rc(), &config, Point::Pre, 30).unwrap();
        assert_eq!(pod["metadata"]["name"], "web-2-hook-pre");
        assert_eq!(
            pod["metadata"]["labels"],
            json!({POD_FOR_LABEL: "web-2", POD_TYPE_LABEL: "hook-pre", "team": "x"})
        );
        assert_eq!(
            pod["metadata"]["annotations"],
            json!({"openshift.io/deployment.name": "web-2", "note": "y"})
        );
        let spec = &pod["spec"];
        assert_eq!(spec["restartPolicy"], "OnFailure");
        assert_eq!(spec["activeDeadlineSeconds"], 70);
        assert_eq!(spec["terminationGracePeriodSeconds"], 10);
        assert_eq!(spec["volumes"], json!([{"name": "data", "emptyDir": {}}]));
        assert_eq!(spec["nodeSelector"], json!({"zone": "a"}));
        assert_eq!(spec["imagePullSecrets"], json!([{"name": "pull"}]));
        let c = &spec["containers"][0];
        assert_eq!(c["name"], "lifecycle");
        assert_eq!(c["image"], "img:1");
        assert_eq!(c["command"], json!(["/bin/false"]));
        assert_eq!(c["workingDir"], "/srv");
        assert_eq!(
            c["volumeMounts"],
            json!([{"name": "data", "mountPath": "/data"}])
        );
        let env: Vec<(&str, &str)> = c["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["name"].as_str().unwrap(), e["value"].as_str().unwrap()))
            .collect();
        assert_eq!(
            env,
            [
                ("A", "1"),
                ("B", "hook"),
                ("C", "3"),
                ("OPENSHIFT_DEPLOYMENT_NAME", "web-2"),
                ("OPENSHIFT_DEPLOYMENT_NAMESPACE", "p")
            ]
        );
        assert_eq!(pod["metadata"]["ownerReferences"][0]["uid"], "u2");
    }

    #[test]
    fn hooks_by_strategy_and_missing_containers() {
        let rolling = json!({"spec": {"strategy": {"type": "Rolling", "rollingParams": {
            "pre": {"failurePolicy": "Abort", "tagImages": []}, "mid": {"failurePolicy": "Abort"}}}}});
        assert!(hook(&rolling, Point::Pre).is_some());
        assert!(hook(&rolling, Point::Mid).is_none());
        assert!(hook(&rolling, Point::Post).is_none());
        let config = json!({"spec": {"strategy": {"type": "Recreate", "recreateParams": {
            "mid": {"failurePolicy": "Ignore", "execNewPod": {"containerName": "nope", "command": ["x"]}}}}}});
        let mid = hook(&config, Point::Mid).unwrap();
        assert!(ignores_failure(mid));
        assert_eq!(
            pod(mid, &rc(), &config, Point::Mid, 0).unwrap_err(),
            "no container named 'nope' found in rc template"
        );
        let pod = pod(
            &json!({"execNewPod": {"containerName": "web", "command": ["x"]}}),
            &rc(),
            &config,
            Point::Mid,
            0,
        )
        .unwrap();
        assert_eq!(pod["spec"]["restartPolicy"], "Never");
        assert_eq!(pod["spec"]["activeDeadlineSeconds"], MAX_DEPLOYMENT_SECONDS);
        assert!(pod["spec"].get("volumes").is_none());
    }

    #[test]
    fn outcomes_and_failures() {
        assert_eq!(
            outcome(&json!({"status": {"phase": "Pending"}})),
            Outcome::Running
        );
        assert_eq!(
            outcome(&json!({"status": {"phase": "Succeeded"}})),
            Outcome::Succeeded
        );
        assert_eq!(
            outcome(&json!({"status": {"phase": "Failed"}})),
            Outcome::Failed(String::new())
        );
        assert_eq!(
            failure(Point::Pre, "", "p", "web-2"),
            "pre hook failed: the pre hook failed: , aborting rollout of p/web-2"
        );
    }
}
