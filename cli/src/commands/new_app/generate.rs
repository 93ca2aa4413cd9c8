//! The objects `oc new-app` generates for an image, as upstream's generator writes them: an
//! ImageStream tracking the image (unless the input already is a stream), a Deployment (or,
//! with `--as-deployment-config`, a DeploymentConfig) whose image follows the stream's tag,
//! and a Service for the ports the image exposes. Pure: no requests.

use serde_json::{Map, Value, json};

/// What was found for one image input.
#[derive(Clone, Debug, Default)]
pub struct ImageInput {
    /// The name the objects get (`--name`, else the image's or stream's name).
    pub name: String,
    /// The pull spec (for an image), or `<stream>:<tag>` (for a stream).
    pub reference: String,
    /// `Some(namespace)` when the input is an existing image stream tag.
    pub stream_namespace: Option<String>,
    /// The stream and tag the deployment follows.
    pub stream: String,
    pub tag: String,
    /// The image's exposed ports (`8080/tcp`), sorted.
    pub ports: Vec<String>,
    /// The image's declared volumes.
    pub volumes: Vec<String>,
    /// The image's configuration (`Config` of its Docker metadata; null when unknown).
    pub config: Value,
}

/// The options that shape every generated object.
#[derive(Clone, Debug, Default)]
pub struct Shape {
    pub env: Vec<(String, String)>,
    /// `-l` labels: on every object, and in selectors and pod templates.
    pub labels: Map<String, Value>,
    pub as_deployment_config: bool,
    pub insecure: bool,
}

pub const GENERATED_BY: &str = "openshift.io/generated-by";

fn annotations() -> Value {
    json!({ GENERATED_BY: "OpenShiftNewApp" })
}

/// The last path segment of a reference, without tag or digest: the name upstream derives.
pub fn image_name(reference: &str) -> String {
    let without_digest = reference.split('@').next().unwrap_or(reference);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split(':').next().unwrap_or(last).to_string()
}

/// The tag of a reference (`latest` when it has none).
pub fn image_tag(reference: &str) -> String {
    let without_digest = reference.split('@').next().unwrap_or(reference);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    match last.split_once(':') {
        Some((_, tag)) if !tag.is_empty() => tag.to_string(),
        _ => "latest".to_string(),
    }
}

/// The objects for one image input, in upstream's order.
pub fn objects(input: &ImageInput, shape: &Shape) -> Vec<Value> {
    let mut out = Vec::new();
    if input.stream_namespace.is_none() {
        out.push(image_stream(input, shape));
    }
    out.extend(workload(input, shape));
    out
}

/// The Deployment (or DeploymentConfig) following the input's stream tag, and its Service.
pub fn workload(input: &ImageInput, shape: &Shape) -> Vec<Value> {
    let mut out = Vec::new();
    let selector_key = match shape.as_deployment_config {
        true => "deploymentconfig",
        false => "deployment",
    };
    let mut selector = Map::new();
    selector.insert(selector_key.into(), Value::String(input.name.clone()));
    selector.extend(shape.labels.clone());
    out.push(match shape.as_deployment_config {
        true => deployment_config(input, shape, &selector),
        false => deployment(input, shape, &selector),
    });
    if let Some(service) = service(input, &selector) {
        out.push(service);
    }
    out
}

pub fn image_stream(input: &ImageInput, shape: &Shape) -> Value {
    let import_policy = match shape.insecure {
        true => json!({"insecure": true}),
        false => json!({}),
    };
    json!({
        "kind": "ImageStream", "apiVersion": "image.openshift.io/v1",
        "metadata": {"name": input.stream, "creationTimestamp": null, "annotations": annotations()},
        "spec": {
            "lookupPolicy": {"local": false},
            "tags": [{
                "name": input.tag,
                "annotations": {"openshift.io/imported-from": input.reference},
                "from": {"kind": "DockerImage", "name": input.reference},
                "generation": null,
                "importPolicy": import_policy,
                "referencePolicy": {"type": ""},
            }],
        },
        "status": {"dockerImageRepository": ""},
    })
}

/// The stream tag the workload follows, with the stream's namespace when it is another's.
pub fn trigger_from(input: &ImageInput) -> Value {
    let mut from =
        json!({"kind": "ImageStreamTag", "name": format!("{}:{}", input.stream, input.tag)});
    if let Some(ns) = &input.stream_namespace {
        from["namespace"] = json!(ns);
    }
    from
}

fn container(input: &ImageInput, shape: &Shape, image: &str) -> Value {
    let mut c = json!({"name": input.name, "image": image, "resources": {}});
    let ports: Vec<Value> = input
        .ports
        .iter()
        .filter_map(|p| {
            let (port, proto) = p.split_once('/').unwrap_or((p.as_str(), "tcp"));
            let port: i64 = port.parse().ok()?;
            Some(json!({"containerPort": port, "protocol": proto.to_uppercase()}))
        })
        .collect();
    if !ports.is_empty() {
        c["ports"] = json!(ports);
    }
    if !shape.env.is_empty() {
        let env: Vec<Value> = shape
            .env
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect();
        c["env"] = json!(env);
    }
    if !input.volumes.is_empty() {
        let mounts: Vec<Value> = input
            .volumes
            .iter()
            .enumerate()
            .map(|(i, path)| json!({"name": format!("{}-volume-{}", input.name, i + 1), "mountPath": path}))
            .collect();
        c["volumeMounts"] = json!(mounts);
    }
    c
}

fn volumes(input: &ImageInput) -> Option<Value> {
    (!input.volumes.is_empty()).then(|| {
        let v: Vec<Value> = (1..=input.volumes.len())
            .map(|i| json!({"name": format!("{}-volume-{i}", input.name), "emptyDir": {}}))
            .collect();
        json!(v)
    })
}

fn deployment(input: &ImageInput, shape: &Shape, selector: &Map<String, Value>) -> Value {
    let field_path = format!(
        "spec.template.spec.containers[?(@.name==\"{}\")].image",
        input.name
    );
    let triggers = json!([{"from": trigger_from(input), "fieldPath": field_path}]);
    let mut meta_annotations = annotations();
    meta_annotations["image.openshift.io/triggers"] = json!(triggers.to_string());
    // The image trigger fills the image in from the stream tag.
    let mut pod_spec = json!({"containers": [container(input, shape, " ")]});
    if let Some(v) = volumes(input) {
        pod_spec["volumes"] = v;
    }
    json!({
        "kind": "Deployment", "apiVersion": "apps/v1",
        "metadata": {"name": input.name, "creationTimestamp": null, "annotations": meta_annotations},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"creationTimestamp": null, "labels": selector},
                "spec": pod_spec,
            },
            "strategy": {},
        },
        "status": {},
    })
}

fn deployment_config(input: &ImageInput, shape: &Shape, selector: &Map<String, Value>) -> Value {
    let mut pod_spec = json!({"containers": [container(input, shape, &input.reference)]});
    if let Some(v) = volumes(input) {
        pod_spec["volumes"] = v;
    }
    json!({
        "kind": "DeploymentConfig", "apiVersion": "apps.openshift.io/v1",
        "metadata": {"name": input.name, "creationTimestamp": null, "annotations": annotations()},
        "spec": {
            "replicas": 1,
            "selector": selector,
            "strategy": {"resources": {}},
            "template": {
                "metadata": {"creationTimestamp": null, "labels": selector, "annotations": annotations()},
                "spec": pod_spec,
            },
            "test": false,
            "triggers": [
                {"type": "ConfigChange"},
                {"type": "ImageChange", "imageChangeParams": {
                    "automatic": true, "containerNames": [input.name], "from": trigger_from(input),
                }},
            ],
        },
        "status": {"availableReplicas": 0, "latestVersion": 0, "observedGeneration": 0,
                   "replicas": 0, "unavailableReplicas": 0, "updatedReplicas": 0},
    })
}

/// A Service for the image's ports (one per port and protocol, named `<port>-<proto>`); none
/// when it exposes none.
fn service(input: &ImageInput, selector: &Map<String, Value>) -> Option<Value> {
    let mut ports = Vec::new();
    for p in &input.ports {
        let (port, proto) = p.split_once('/').unwrap_or((p.as_str(), "tcp"));
        let Ok(number) = port.parse::<i64>() else {
            continue;
        };
        ports.push(json!({
            "name": format!("{number}-{}", proto.to_lowercase()),
            "port": number, "protocol": proto.to_uppercase(), "targetPort": number,
        }));
    }
    if ports.is_empty() {
        return None;
    }
    let name: String = input
        .name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(63)
        .collect();
    Some(json!({
        "kind": "Service", "apiVersion": "v1",
        "metadata": {"name": name, "creationTimestamp": null, "annotations": annotations()},
        "spec": {"ports": ports, "selector": selector},
        "status": {"loadBalancer": {}},
    }))
}

/// Adds the implicit labels (`app`, `app.kubernetes.io/component`, `app.kubernetes.io/instance`
/// = `name`) to every object's metadata, unless some object already has one of them; and the
/// user's labels to every object.
pub fn label(objects: &mut [Value], name: &str, user: &Map<String, Value>) {
    const IMPLICIT: [&str; 3] = [
        "app",
        "app.kubernetes.io/component",
        "app.kubernetes.io/instance",
    ];
    let taken = objects.iter().any(|o| {
        IMPLICIT
            .iter()
            .any(|k| o["metadata"]["labels"].get(*k).is_some())
    });
    for obj in objects.iter_mut() {
        let labels = &mut obj["metadata"]["labels"];
        if !labels.is_object() {
            *labels = json!({});
        }
        if let Some(labels) = labels.as_object_mut() {
            if !taken && !name.is_empty() {
                for k in IMPLICIT {
                    labels.insert(k.into(), Value::String(name.to_string()));
                }
            }
            labels.extend(user.clone());
        }
        let annotations = &mut obj["metadata"]["annotations"];
        if !annotations.is_object() {
            *annotations = json!({});
        }
        annotations[GENERATED_BY] = json!("OpenShiftNewApp");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web() -> ImageInput {
        ImageInput {
            name: "web".into(),
            reference: "quay.io/org/web:v1".into(),
            stream: "web".into(),
            tag: "v1".into(),
            ports: vec!["8080/tcp".into()],
            ..Default::default()
        }
    }

    #[test]
    fn names_and_tags_of_references() {
        assert_eq!(image_name("quay.io/org/web:v1"), "web");
        assert_eq!(image_name("127.0.0.1:5000/web@sha256:abc"), "web");
        assert_eq!(image_tag("127.0.0.1:5000/web"), "latest");
        assert_eq!(image_tag("127.0.0.1:5000/web:2"), "2");
    }

    #[test]
    fn an_image_makes_a_stream_a_deployment_and_a_service() {
        let mut objs = objects(&web(), &Shape::default());
        label(&mut objs, "web", &Map::new());
        let kinds: Vec<&str> = objs.iter().map(|o| o["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["ImageStream", "Deployment", "Service"]);
        let d = &objs[1];
        assert_eq!(
            d["metadata"]["annotations"]["image.openshift.io/triggers"],
            r#"[{"from":{"kind":"ImageStreamTag","name":"web:v1"},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image"}]"#
        );
        assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["image"], " ");
        assert_eq!(
            d["spec"]["selector"]["matchLabels"],
            json!({"deployment": "web"})
        );
        assert_eq!(d["metadata"]["labels"]["app"], "web");
        let s = &objs[2];
        assert_eq!(
            s["spec"]["ports"],
            json!([{"name": "8080-tcp", "port": 8080, "protocol": "TCP", "targetPort": 8080}])
        );
        assert_eq!(
            s["metadata"]["annotations"][GENERATED_BY],
            "OpenShiftNewApp"
        );
    }

    #[test]
    fn a_deployment_config_for_an_existing_stream() {
        let mut input = web();
        input.stream_namespace = Some("shared".into());
        input.reference = "127.0.0.1:5000/shared/web@sha256:abc".into();
        let shape = Shape {
            as_deployment_config: true,
            ..Default::default()
        };
        let objs = objects(&input, &shape);
        assert_eq!(objs[0]["kind"], "DeploymentConfig");
        assert_eq!(
            objs[0]["spec"]["triggers"][1]["imageChangeParams"]["from"],
            json!({"kind": "ImageStreamTag", "name": "web:v1", "namespace": "shared"})
        );
        assert_eq!(
            objs[0]["spec"]["selector"],
            json!({"deploymentconfig": "web"})
        );
    }
}
