//! The node's buildah: its storage under the agent's directory (apart from the pods'
//! podman storage), and the commands the build steps run with it. Builds run as root with
//! `--isolation chroot`, as OpenShift 4's builder runs buildah inside its privileged pod.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use tokio::process::Command;

use super::command::{self, Failed};
use super::log::StepLog;
use crate::pods::image_config::ImageConfig;

pub struct Buildah {
    root: PathBuf,
    runroot: PathBuf,
}

/// What `buildah bud` is asked to build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bud {
    pub dockerfile: PathBuf,
    pub context: PathBuf,
    pub tag: String,
    pub build_args: Vec<(String, String)>,
    pub no_cache: bool,
    /// Intermediate layers kept (imageOptimizationPolicy `None`).
    pub layers: bool,
    /// Plain HTTP or unverified TLS for the images it reads (loopback registries).
    pub tls_verify: bool,
}

/// The arguments of `buildah bud` after the storage options. Images are pulled before (so
/// the step logs each pull and refuses registries off this machine); bud never pulls.
pub fn bud_args(bud: &Bud) -> Vec<String> {
    let mut args: Vec<String> = [
        "bud",
        "--isolation",
        "chroot",
        "--format",
        "docker",
        "--pull-never",
        "--force-rm",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(format!("--layers={}", bud.layers));
    if bud.no_cache {
        args.push("--no-cache".into());
    }
    if !bud.tls_verify {
        args.push("--tls-verify=false".into());
    }
    for (k, v) in &bud.build_args {
        args.push("--build-arg".into());
        args.push(format!("{k}={v}"));
    }
    args.push("-f".into());
    args.push(bud.dockerfile.display().to_string());
    args.push("-t".into());
    args.push(bud.tag.clone());
    args.push(bud.context.display().to_string());
    args
}

impl Buildah {
    /// Buildah with its storage under `dir`.
    pub fn new(dir: &Path) -> Buildah {
        Buildah {
            root: dir.join("root"),
            runroot: dir.join("runroot"),
        }
    }

    /// A directory of its own for temporary files (auth files, digests), made if missing
    /// and readable by root only.
    pub fn scratch(&self) -> PathBuf {
        let dir = self.root.with_file_name("scratch");
        let made = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir);
        if let Err(e) = made {
            tracing::warn!(error = %e, "buildah's scratch directory not made");
        }
        dir
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new("buildah");
        c.arg("--root")
            .arg(&self.root)
            .arg("--runroot")
            .arg(&self.runroot);
        c
    }

    /// Whether the image is in the node's buildah storage.
    pub async fn has_image(&self, image: &str) -> bool {
        let mut c = self.command();
        c.args([
            "inspect",
            "--type",
            "image",
            "--format",
            "{{.FromImageID}}",
            image,
        ]);
        command::run(c, None).await.is_ok()
    }

    /// Pulls `image` through the cluster's image configuration, as the node's pulls go: its
    /// registries.conf (mirrors), its policy.json (the trust policy: an image it refuses
    /// fails with containers/image's reason), and the registries.d naming the lookaside
    /// stores and the certs.d holding the registries' CAs under `home` (read from the home,
    /// as buildah has no flag for registries.d).
    pub async fn pull(
        &self,
        image: &str,
        auth_file: Option<&Path>,
        tls_verify: bool,
        config: &ImageConfig,
        home: Option<&Path>,
        log: &Arc<StepLog>,
    ) -> Result<(), Failed> {
        let mut c = self.command();
        if let Some(conf) = &config.registries_conf {
            c.arg("--registries-conf").arg(conf);
        }
        c.arg("pull");
        if let Some(policy) = &config.policy_json {
            c.arg("--signature-policy").arg(policy);
        }
        if let Some(home) = home {
            c.env("HOME", home);
        }
        c.arg(format!("--tls-verify={tls_verify}"));
        if let Some(auth) = auth_file {
            c.arg("--authfile").arg(auth);
        }
        c.arg(image);
        command::run(c, Some(log)).await.map(|_| ())
    }

    pub async fn bud(&self, bud: &Bud, log: &Arc<StepLog>) -> Result<(), Failed> {
        let mut c = self.command();
        c.args(bud_args(bud));
        command::run(c, Some(log)).await.map(|_| ())
    }

    pub async fn tag(&self, image: &str, name: &str) -> Result<(), Failed> {
        let mut c = self.command();
        c.args(["tag", image, name]);
        command::run(c, None).await.map(|_| ())
    }

    /// Pushes `image` to its registry; the pushed manifest's digest.
    pub async fn push(
        &self,
        image: &str,
        auth_file: Option<&Path>,
        tls_verify: bool,
        digest_file: &Path,
        log: &Arc<StepLog>,
    ) -> Result<String, Failed> {
        let mut c = self.command();
        c.args(["push", "--format", "docker"]);
        c.arg(format!("--tls-verify={tls_verify}"));
        c.arg("--digestfile").arg(digest_file);
        if let Some(auth) = auth_file {
            c.arg("--authfile").arg(auth);
        }
        c.arg(image).arg(format!("docker://{image}"));
        command::run(c, Some(log)).await?;
        let digest = std::fs::read_to_string(digest_file)
            .map_err(|e| Failed(format!("reading the pushed digest: {e}")))?;
        let _ = std::fs::remove_file(digest_file);
        Ok(digest.trim().to_string())
    }

    /// The image's labels (its config's `Labels`).
    pub async fn labels(&self, image: &str) -> Result<serde_json::Map<String, Value>, Failed> {
        let mut c = self.command();
        c.args(["inspect", "--type", "image", image]);
        let ran = command::run(c, None).await?;
        let inspected: Value = serde_json::from_str(&ran.stdout)
            .map_err(|e| Failed(format!("reading the image's configuration: {e}")))?;
        let labels = &inspected["OCIv1"]["config"]["Labels"];
        Ok(labels.as_object().cloned().unwrap_or_default())
    }

    /// The image's user (its config's `User`).
    pub async fn user(&self, image: &str) -> Result<String, Failed> {
        let mut c = self.command();
        c.args([
            "inspect",
            "--type",
            "image",
            "--format",
            "{{.OCIv1.Config.User}}",
            image,
        ]);
        let ran = command::run(c, None).await?;
        Ok(ran.stdout.trim().to_string())
    }

    /// Removes the named images (what a build made); failures are only logged.
    pub async fn remove_images(&self, names: &[String]) {
        if names.is_empty() {
            return;
        }
        let mut unique: Vec<&String> = Vec::new();
        for n in names {
            if !unique.contains(&n) {
                unique.push(n);
            }
        }
        let mut c = self.command();
        c.args(["rmi", "--force"]).args(unique);
        // (No `--prune`: another build's untagged layers may be in use.)
        if let Err(e) = command::run(c, None).await {
            tracing::debug!(error = %e, "build images not removed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bud_is_asked_as_upstreams_builder_builds() {
        let args = bud_args(&Bud {
            dockerfile: "/w/inputs/app/Dockerfile".into(),
            context: "/w/inputs/app".into(),
            tag: "temp.builder.openshift.io/p/web-1:0a1b2c3d".into(),
            build_args: vec![("A".into(), "1 2".into())],
            no_cache: true,
            layers: false,
            tls_verify: false,
        });
        assert_eq!(
            args.join(" "),
            "bud --isolation chroot --format docker --pull-never --force-rm --layers=false \
             --no-cache --tls-verify=false --build-arg A=1 2 -f /w/inputs/app/Dockerfile \
             -t temp.builder.openshift.io/p/web-1:0a1b2c3d /w/inputs/app"
        );
    }
}
