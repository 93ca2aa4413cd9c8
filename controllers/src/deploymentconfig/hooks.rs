//! The deployer's lifecycle hooks (upstream's hook executor), one look per reconcile:
//! `tagImages` tags the deployment's container images into image stream tags at once;
//! `execNewPod` creates the hook pod (`hook_pod.rs`), then, once it has ended, copies its
//! log into the deployer's and says how it went. Events on the config as upstream's
//! (`Started`, `Completed`, `Failed`).

use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use kube::api::{Api, DeleteParams, ListParams, LogParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use super::hook_pod::{self, Outcome, Point};
use crate::Error;
use crate::events::{self, Involved};
use crate::lenient::Object;

const COMPONENT: &str = "deployer";

/// Where a hook stands after a look.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// Still running; lines for the deployer's log now.
    Waiting(Vec<String>),
    /// Over (succeeded, or failed and ignored), with its lines.
    Done(Vec<String>),
    /// Failed: its lines and the error the rollout ends with.
    Failed(Vec<String>, String),
}

/// The hook `hook` at `point` of deployment `rc`, made from `config`; `elapsed` is how long
/// the rollout has run; `on` is the config events are recorded on.
pub struct Hook<'a> {
    pub client: &'a Client,
    pub rc: &'a ReplicationController,
    pub config: &'a Value,
    pub hook: &'a Value,
    pub point: Point,
    pub elapsed: i64,
    pub on: &'a Involved<'a>,
}

impl Hook<'_> {
    fn namespace(&self) -> String {
        self.rc.namespace().unwrap_or_default()
    }

    async fn event(&self, type_: &str, reason: &str, message: &str) {
        events::record(self.client, COMPONENT, self.on, type_, reason, message).await;
    }

    /// Looks at the hook once: starts it, or reads how it ended.
    pub async fn look(&self) -> Result<Progress, Error> {
        let rc = serde_json::to_value(self.rc).unwrap_or_default();
        if self.hook["execNewPod"].is_object() {
            return self.exec_new_pod(&rc).await;
        }
        if self.hook["tagImages"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
        {
            let (lines, result) = self.tag_images(&rc).await;
            return Ok(self.ended(lines, result).await);
        }
        Ok(Progress::Done(Vec::new()))
    }

    /// The hook's end: its events, and its failure handled by its failure policy (Retry ends
    /// as Abort once the hook pod has given up).
    async fn ended(&self, lines: Vec<String>, result: Result<(), String>) -> Progress {
        let (label, namespace, name) = (self.point.label(), self.namespace(), self.rc.name_any());
        match result {
            Ok(()) => {
                let message =
                    format!("The {label}-hook for rc {namespace}/{name} completed successfully");
                self.event("Normal", "Completed", &message).await;
                Progress::Done(lines)
            }
            Err(why) if hook_pod::ignores_failure(self.hook) => {
                let message = format!(
                    "The {label}-hook failed: {why} (ignore), rollout of {namespace}/{name} will continue"
                );
                self.event("Warning", "Failed", &message).await;
                Progress::Done(lines)
            }
            Err(why) => {
                let message = format!(
                    "The {label}-hook failed: {why}, aborting rollout of {namespace}/{name}"
                );
                self.event("Warning", "Failed", &message).await;
                let error = hook_pod::failure(self.point, &why, &namespace, &name);
                Progress::Failed(lines, error)
            }
        }
    }

    async fn tag_images(&self, rc: &Value) -> (Vec<String>, Result<(), String>) {
        let (label, namespace, name) = (self.point.label(), self.namespace(), self.rc.name_any());
        let actions = self.hook["tagImages"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let tagged: Vec<String> = actions
            .iter()
            .filter_map(|t| {
                let image = hook_pod::container_image(rc, t["containerName"].as_str()?)?;
                Some(format!(
                    "image {image:?} as {:?}",
                    t["to"]["name"].as_str()?
                ))
            })
            .collect();
        let message = format!(
            "Running {label}-hook (TagImages) {} for rc {namespace}/{name}",
            tagged.join(",")
        );
        self.event("Normal", "Started", &message).await;
        let mut lines = Vec::new();
        let mut errors = Vec::new();
        for action in &actions {
            let container = action["containerName"].as_str().unwrap_or_default();
            let Some(image) = hook_pod::container_image(rc, container) else {
                errors.push(format!(
                    "unable to find image for container {container:?}, container could not be found"
                ));
                continue;
            };
            let to_namespace = action["to"]["namespace"].as_str().unwrap_or_default();
            let to_name = action["to"]["name"].as_str().unwrap_or_default();
            let target = if to_namespace.is_empty() {
                namespace.as_str()
            } else {
                to_namespace
            };
            match self.tag(target, to_name, image).await {
                Ok(()) => lines.push(format!(
                    "--> {label}: Tagged {image:?} into {to_namespace}/{to_name}"
                )),
                Err(e) => errors.push(e),
            }
        }
        let result = match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(format!("[{}]", errors.join(", "))),
        };
        (lines, result)
    }

    /// Points image stream tag `name` (`<stream>:<tag>`) of `namespace` at `image`, creating
    /// the stream when it does not exist (what a PUT of an ImageStreamTag does).
    async fn tag(&self, namespace: &str, name: &str, image: &str) -> Result<(), String> {
        let body = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStreamTag",
            "metadata": {"name": name, "namespace": namespace},
            "tag": {"from": {"kind": "DockerImage", "name": image}}});
        let url =
            format!("/apis/image.openshift.io/v1/namespaces/{namespace}/imagestreamtags/{name}");
        let request = http::Request::put(url)
            .header("content-type", "application/json")
            .body(body.to_string().into_bytes())
            .map_err(|e| e.to_string())?;
        match self.client.request::<Value>(request).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) => Err(e.message),
            Err(e) => Err(crate::logs::describe(&e)),
        }
    }

    async fn exec_new_pod(&self, rc: &Value) -> Result<Progress, Error> {
        let label = self.point.label();
        let namespace = self.namespace();
        let name = self.point.pod_name(&self.rc.name_any());
        let pods: Api<Object<Pod>> = Api::namespaced(self.client.clone(), &namespace);
        let Some(pod) = pods.get_opt(&name).await? else {
            let manifest = match hook_pod::pod(self.hook, rc, self.config, self.point, self.elapsed)
            {
                Ok(manifest) => manifest,
                Err(why) => return Ok(self.ended(Vec::new(), Err(why)).await),
            };
            let command: Vec<&str> = self.hook["execNewPod"]["command"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let pod: Pod = serde_json::from_value(manifest)
                .map_err(|e| Error::Invalid(format!("hook pod {name}: {e}")))?;
            return match pods.create(&PostParams::default(), &Object::new(pod)).await {
                Ok(_) => {
                    let message = format!(
                        "Running {label}-hook ({:?}) for rc {namespace}/{}",
                        command.join(" "),
                        self.rc.name_any()
                    );
                    self.event("Normal", "Started", &message).await;
                    Ok(Progress::Waiting(vec![format!(
                        "--> {label}: Running hook pod ..."
                    )]))
                }
                // Made meanwhile: looked at next time.
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(Progress::Waiting(Vec::new())),
                Err(kube::Error::Api(e)) => {
                    let why = format!(
                        "couldn't create lifecycle pod for {}: {}",
                        self.rc.name_any(),
                        e.message
                    );
                    Ok(self.ended(Vec::new(), Err(why)).await)
                }
                Err(e) => Err(e.into()),
            };
        };
        let status = serde_json::to_value(pod.object.as_ref().and_then(|p| p.status.as_ref()))
            .unwrap_or_default();
        let outcome = hook_pod::outcome(&json!({ "status": status }));
        if outcome == Outcome::Running {
            return Ok(Progress::Waiting(Vec::new()));
        }
        let mut lines = self.pod_log(&name).await;
        let result = match outcome {
            Outcome::Failed(why) => {
                lines.push(format!("--> {label}: Failed"));
                Err(why)
            }
            _ => {
                lines.push(format!("--> {label}: Success"));
                Ok(())
            }
        };
        Ok(self.ended(lines, result).await)
    }

    /// The hook container's log, as lines of the deployer's.
    async fn pod_log(&self, pod: &str) -> Vec<String> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace());
        let params = LogParams {
            container: Some(hook_pod::CONTAINER.into()),
            ..LogParams::default()
        };
        match pods.logs(pod, &params).await {
            Ok(text) => text.lines().map(str::to_string).collect(),
            Err(e) => vec![format!(
                "warning: Unable to retrieve hook logs from {pod}: {}",
                crate::logs::describe(&e)
            )],
        }
    }
}

/// Deletes the hook pods of deployment `rc` (before it starts again, and once complete, as
/// upstream removes a deployment's deployer and hook pods).
pub async fn delete_pods(client: &Client, namespace: &str, rc: &str) -> Result<(), Error> {
    let pods: Api<Object<Pod>> = Api::namespaced(client.clone(), namespace);
    let selector = format!("{}={rc}", hook_pod::POD_FOR_LABEL);
    for pod in pods
        .list_metadata(&ListParams::default().labels(&selector))
        .await?
        .items
    {
        match pods.delete(&pod.name_any(), &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
