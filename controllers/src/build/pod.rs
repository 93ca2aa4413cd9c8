//! The build pod, as upstream's build controller makes it (its observable shape: name,
//! labels, annotations, owner, containers and their order, environment, volumes): the node
//! recognises a build pod by its containers' arguments and runs each step natively.

use serde_json::{Value, json};

use super::types::{BUILD_NAME, Build};

/// The image every build container names. Upstream's is the cluster's builder image
/// (`quay.io/openshift/origin-builder`); the node never pulls this one: it runs the steps a
/// build container's arguments name itself.
pub const BUILDER_IMAGE: &str = "oxshift/builder:latest";
/// Upstream's default deadline of a build pod (a week).
const DEFAULT_DEADLINE_SECONDS: i64 = 604_800;
const PUSH_MOUNT: &str = "/var/run/secrets/openshift.io/push";
const PULL_MOUNT: &str = "/var/run/secrets/openshift.io/pull";
const SOURCE_MOUNT: &str = "/var/run/secrets/openshift.io/source";
/// Where an uploaded binary source is found (file `source`).
pub const BINARY_MOUNT: &str = "/var/run/openshift.io/binary";
/// Strategy env passed to every build container (upstream's whitelist).
const TRUSTED_ENV: [&str; 9] = [
    "BUILD_LOGLEVEL",
    "GIT_SSL_NO_VERIFY",
    "LANG",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
];

/// What the pod needs beyond the build: the secrets resolved for it.
pub struct Secrets<'a> {
    pub push: Option<&'a str>,
    pub pull: Option<&'a str>,
}

/// A label value cut from the end until valid.
pub fn label_value(value: &str) -> String {
    let mut v: String = value.chars().take(63).collect();
    while v.ends_with(|c: char| !c.is_ascii_alphanumeric()) {
        v.pop();
    }
    v
}

fn strategy_params(spec: &Value) -> (&'static str, &Value) {
    for (field, container) in [
        ("dockerStrategy", "docker-build"),
        ("sourceStrategy", "sti-build"),
        ("customStrategy", "custom-build"),
    ] {
        if spec["strategy"][field].is_object() {
            return (container, &spec["strategy"][field]);
        }
    }
    ("docker-build", &Value::Null)
}

fn env(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

fn mount(name: &str, path: &str) -> Value {
    json!({"name": name, "mountPath": path})
}

/// The build as the builder reads it from `BUILD`: without server-managed metadata.
fn build_env(build: &Value) -> String {
    let mut copy = build.clone();
    if let Some(meta) = copy["metadata"].as_object_mut() {
        meta.remove("managedFields");
    }
    copy["apiVersion"] = json!("build.openshift.io/v1");
    copy["kind"] = json!("Build");
    copy.to_string()
}

/// The pod of `build`, whose output and `from` are already resolved (`resolved`).
pub fn build_pod(build: &Build, resolved: &Value, secrets: &Secrets<'_>) -> Value {
    let spec = &resolved["spec"];
    let source = &spec["source"];
    let (main, params) = strategy_params(spec);
    let mut common_env = vec![env("BUILD", &build_env(resolved)), env("LANG", "C.utf8")];
    if let Some(uri) = source["git"]["uri"].as_str() {
        common_env.push(env("SOURCE_REPOSITORY", uri));
        common_env.push(env("SOURCE_URI", uri));
    }
    if let Some(dir) = source["contextDir"].as_str().filter(|d| !d.is_empty()) {
        common_env.push(env("SOURCE_CONTEXT_DIR", dir));
    }
    if let Some(reference) = source["git"]["ref"].as_str().filter(|r| !r.is_empty()) {
        common_env.push(env("SOURCE_REF", reference));
    }
    for e in params["env"].as_array().into_iter().flatten() {
        if TRUSTED_ENV.contains(&e["name"].as_str().unwrap_or_default())
            && !common_env.iter().any(|c| c["name"] == e["name"])
        {
            common_env.push(e.clone());
        }
    }
    let work = mount("buildworkdir", "/tmp/build");
    let mut volumes = vec![
        json!({"name": "buildworkdir", "emptyDir": {}}),
        json!({"name": "container-storage-root", "emptyDir": {}}),
        json!({"name": "build-blob-cache", "emptyDir": {}}),
    ];
    let init_security = json!({"runAsUser": 0, "privileged": false,
        "capabilities": {"drop": ["ALL"], "add": ["CHOWN", "DAC_OVERRIDE"]}});
    let container =
        |name: &str, args: &str, env: Vec<Value>, mounts: Vec<Value>, security: Value| {
            json!({"name": name, "image": BUILDER_IMAGE, "args": [args], "env": env,
            "volumeMounts": mounts, "imagePullPolicy": "IfNotPresent",
            "terminationMessagePolicy": "FallbackToLogsOnError",
            "terminationMessagePath": "/dev/termination-log",
            "resources": spec["resources"].as_object().map_or(json!({}), |r| json!(r)),
            "securityContext": security})
        };
    let mut init = Vec::new();
    let binary = source["binary"].is_object();
    if source["git"].is_object() || binary {
        let mut mounts = vec![work.clone()];
        if let Some(secret) = source["sourceSecret"]["name"].as_str() {
            volumes.push(json!({"name": format!("{secret}-source"),
                "secret": {"secretName": secret, "defaultMode": 384}}));
            mounts.push(mount(&format!("{secret}-source"), SOURCE_MOUNT));
        }
        let mut clone_env = common_env.clone();
        if source["sourceSecret"].is_object() {
            clone_env.push(env("SOURCE_SECRET_PATH", SOURCE_MOUNT));
        }
        if binary {
            volumes.push(json!({"name": "binary-source",
                "configMap": {"name": format!("{}-binary", build.name())}}));
            mounts.push(mount("binary-source", BINARY_MOUNT));
        }
        let mut clone = container(
            "git-clone",
            "openshift-git-clone",
            clone_env,
            mounts,
            init_security.clone(),
        );
        if binary {
            clone["stdin"] = json!(true);
            clone["stdinOnce"] = json!(true);
        }
        init.push(clone);
    }
    init.push(container(
        "manage-dockerfile",
        "openshift-manage-dockerfile",
        common_env.clone(),
        vec![work.clone()],
        init_security,
    ));
    let mut main_env = common_env;
    let mut main_mounts = vec![
        work,
        mount("container-storage-root", "/var/lib/containers"),
        mount("build-blob-cache", "/var/cache/blobs"),
    ];
    if let Some(push) = secrets.push {
        main_env.push(env("PUSH_DOCKERCFG_PATH", PUSH_MOUNT));
        volumes.push(json!({"name": format!("{push}-push"),
            "secret": {"secretName": push, "defaultMode": 384}}));
        main_mounts.push(mount(&format!("{push}-push"), PUSH_MOUNT));
    }
    if let Some(pull) = secrets.pull {
        main_env.push(env("PULL_DOCKERCFG_PATH", PULL_MOUNT));
        volumes.push(json!({"name": format!("{pull}-pull"),
            "secret": {"secretName": pull, "defaultMode": 384}}));
        main_mounts.push(mount(&format!("{pull}-pull"), PULL_MOUNT));
    }
    let args = format!("openshift-{main}");
    let main_container = container(
        main,
        &args,
        main_env,
        main_mounts,
        json!({"privileged": true, "runAsUser": 0}),
    );
    let mut node_selector = spec["nodeSelector"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    node_selector.insert("kubernetes.io/os".into(), json!("linux"));
    let name = build.name();
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": build.pod_name(),
            "namespace": build.namespace(),
            "labels": {BUILD_NAME: label_value(name)},
            "annotations": {BUILD_NAME: name},
            "ownerReferences": [{"apiVersion": "build.openshift.io/v1", "kind": "Build",
                "name": name, "uid": build.metadata.uid.clone().unwrap_or_default(),
                "controller": true}],
        },
        "spec": {
            "serviceAccountName": spec["serviceAccount"].as_str().filter(|s| !s.is_empty()).unwrap_or("builder"),
            "restartPolicy": "Never",
            "nodeSelector": node_selector,
            "activeDeadlineSeconds": spec["completionDeadlineSeconds"].as_i64().unwrap_or(DEFAULT_DEADLINE_SECONDS),
            "initContainers": init,
            "containers": [main_container],
            "volumes": volumes,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(spec: Value) -> Build {
        serde_json::from_value(
            json!({"metadata": {"name": "web-1", "namespace": "p", "uid": "u"},
            "spec": spec}),
        )
        .unwrap()
    }

    #[test]
    fn a_git_docker_build_has_upstreams_shape() {
        let b = build(
            json!({"source": {"git": {"uri": "file:///r", "ref": "main"}},
            "strategy": {"dockerStrategy": {"env": [{"name": "HTTP_PROXY", "value": "x"}, {"name": "SECRET", "value": "y"}]}}}),
        );
        let resolved = serde_json::to_value(&b).unwrap();
        let pod = build_pod(
            &b,
            &resolved,
            &Secrets {
                push: Some("builder-dockercfg-abcde"),
                pull: None,
            },
        );
        assert_eq!(pod["metadata"]["name"], "web-1-build");
        assert_eq!(
            pod["metadata"]["labels"]["openshift.io/build.name"],
            "web-1"
        );
        assert_eq!(pod["metadata"]["ownerReferences"][0]["kind"], "Build");
        assert_eq!(pod["spec"]["serviceAccountName"], "builder");
        assert_eq!(pod["spec"]["restartPolicy"], "Never");
        let init: Vec<&str> = pod["spec"]["initContainers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(init, vec!["git-clone", "manage-dockerfile"]);
        let main = &pod["spec"]["containers"][0];
        assert_eq!(main["name"], "docker-build");
        assert_eq!(main["args"], json!(["openshift-docker-build"]));
        assert_eq!(main["securityContext"]["privileged"], true);
        let names: Vec<&str> = main["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"BUILD")
                && names.contains(&"PUSH_DOCKERCFG_PATH")
                && names.contains(&"HTTP_PROXY")
        );
        assert!(!names.contains(&"SECRET"));
        assert!(
            main["volumeMounts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["mountPath"] == PUSH_MOUNT)
        );
    }

    #[test]
    fn a_dockerfile_source_build_has_no_clone_step() {
        let b =
            build(json!({"source": {"dockerfile": "FROM x"}, "strategy": {"sourceStrategy": {}}}));
        let resolved = serde_json::to_value(&b).unwrap();
        let pod = build_pod(
            &b,
            &resolved,
            &Secrets {
                push: None,
                pull: None,
            },
        );
        assert_eq!(
            pod["spec"]["initContainers"][0]["name"],
            "manage-dockerfile"
        );
        assert_eq!(pod["spec"]["containers"][0]["name"], "sti-build");
    }
}
