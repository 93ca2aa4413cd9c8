//! Which containers the node runs as build steps instead of through the container runtime:
//! containers whose arguments name a step (`openshift-docker-build`, …) in a pod that a
//! `build.openshift.io/v1 Build` of that uid controls and whose build container (the one
//! that builds: `docker-build`, `sti-build`) is privileged — only a pod security admission
//! let run privileged may build, as on OpenShift, where the builder needs it. The pod's
//! other steps (clone, Dockerfile) are unprivileged there and run natively with it.

use k8s_openapi::api::core::v1::{Container, Pod};
use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};

/// One of the builder's steps, named as upstream's builder binary's commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    GitClone,
    ManageDockerfile,
    DockerBuild,
    StiBuild,
}

impl Step {
    /// The step a container's arguments (or command) name, if any.
    pub fn of(container: &Container) -> Option<Step> {
        let first = container
            .args
            .iter()
            .flatten()
            .chain(container.command.iter().flatten())
            .next()?;
        match first.as_str() {
            "openshift-git-clone" => Some(Step::GitClone),
            "openshift-manage-dockerfile" => Some(Step::ManageDockerfile),
            "openshift-docker-build" => Some(Step::DockerBuild),
            "openshift-sti-build" => Some(Step::StiBuild),
            _ => None,
        }
    }
}

/// The Build controlling the pod, as its controller reference names it.
fn controlling_build(pod: &Pod) -> Option<(String, String)> {
    pod.metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
        .filter(|o| o.api_version == "build.openshift.io/v1" && o.kind == "Build")
        .map(|o| (o.name.clone(), o.uid.clone()))
}

fn privileged(container: &Container) -> bool {
    container
        .security_context
        .as_ref()
        .and_then(|s| s.privileged)
        .unwrap_or(false)
}

/// Whether one of the pod's containers builds (`docker-build`, `sti-build`) and is
/// privileged.
fn builds_privileged(pod: &Pod) -> bool {
    pod.spec
        .iter()
        .flat_map(|s| &s.containers)
        .any(|c| matches!(Step::of(c), Some(Step::DockerBuild | Step::StiBuild)) && privileged(c))
}

/// Whether the pod is a build pod: its build container privileged, controlled by a Build
/// that exists with that uid (read with the node's credentials). Errors other than "not
/// found" are errors, so the caller asks again rather than running the build pod's
/// containers as ordinary ones.
pub async fn is_build_pod(client: &kube::Client, pod: &Pod) -> Result<bool, kube::Error> {
    if !builds_privileged(pod) {
        return Ok(false);
    }
    let Some((name, uid)) = controlling_build(pod) else {
        return Ok(false);
    };
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let gvk = GroupVersionKind::gvk("build.openshift.io", "v1", "Build");
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &namespace,
        &ApiResource::from_gvk_with_plural(&gvk, "builds"),
    );
    match api.get_opt(&name).await {
        Ok(found) => Ok(found.is_some_and(|b| b.metadata.uid.as_deref() == Some(uid.as_str()))),
        // The group is not served: no Build can control the pod.
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(false),
        Err(e) => Err(e),
    }
}

/// The step the container runs natively, if the pod is a build pod (`build_pod`) and the
/// container names one.
pub fn native_step(build_pod: bool, container: &Container) -> Option<Step> {
    build_pod.then(|| Step::of(container)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::SecurityContext;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

    fn container(args: &[&str], privileged: Option<bool>) -> Container {
        Container {
            name: "docker-build".into(),
            args: Some(args.iter().map(|a| a.to_string()).collect()),
            security_context: Some(SecurityContext {
                privileged,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn steps_are_named_by_the_arguments() {
        let step = |args: &[&str]| Step::of(&container(args, None));
        assert_eq!(step(&["openshift-git-clone"]), Some(Step::GitClone));
        assert_eq!(
            step(&["openshift-manage-dockerfile"]),
            Some(Step::ManageDockerfile)
        );
        assert_eq!(step(&["openshift-docker-build"]), Some(Step::DockerBuild));
        assert_eq!(step(&["openshift-sti-build"]), Some(Step::StiBuild));
        assert_eq!(step(&["openshift-custom-build"]), None);
        assert_eq!(step(&["sh", "openshift-docker-build"]), None);
        assert_eq!(step(&[]), None);
    }

    #[test]
    fn only_pods_whose_build_container_is_privileged_run_natively() {
        let pod = |main: Container| Pod {
            spec: Some(k8s_openapi::api::core::v1::PodSpec {
                init_containers: Some(vec![container(&["openshift-git-clone"], Some(false))]),
                containers: vec![main],
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(builds_privileged(&pod(container(
            &["openshift-docker-build"],
            Some(true)
        ))));
        assert!(builds_privileged(&pod(container(
            &["openshift-sti-build"],
            Some(true)
        ))));
        assert!(!builds_privileged(&pod(container(
            &["openshift-docker-build"],
            None
        ))));
        assert!(!builds_privileged(&pod(container(
            &["openshift-docker-build"],
            Some(false)
        ))));
        assert!(!builds_privileged(&pod(container(&["sh"], Some(true)))));
        let clone = container(&["openshift-git-clone"], Some(false));
        assert_eq!(native_step(true, &clone), Some(Step::GitClone));
        assert_eq!(native_step(false, &clone), None);
        assert_eq!(native_step(true, &container(&["sh"], Some(true))), None);
    }

    #[test]
    fn the_controller_reference_must_be_a_build() {
        let owner = |kind: &str, controller: bool| Pod {
            metadata: kube::api::ObjectMeta {
                owner_references: Some(vec![OwnerReference {
                    api_version: "build.openshift.io/v1".into(),
                    kind: kind.into(),
                    name: "web-1".into(),
                    uid: "u1".into(),
                    controller: Some(controller),
                    ..Default::default()
                }]),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            controlling_build(&owner("Build", true)),
            Some(("web-1".into(), "u1".into()))
        );
        assert_eq!(controlling_build(&owner("Build", false)), None);
        assert_eq!(controlling_build(&owner("BuildConfig", true)), None);
        assert_eq!(controlling_build(&Pod::default()), None);
    }
}
