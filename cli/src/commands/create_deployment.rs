//! `oc create deployment NAME --image=I [--replicas=N] [--port=P]`: the Deployment kubectl's
//! generator builds (label `app=NAME`, one container per image named after it), created
//! with kubectl's field manager.

use http::Method;
use serde_json::{Value, json};

use super::Globals;
use crate::client::session;
use crate::error::CliError;

#[derive(Debug, Default, clap::Args)]
pub struct DeploymentArgs {
    /// The deployment's name.
    pub name: Option<String>,
    /// Image names to run (one container each).
    #[arg(long)]
    pub image: Vec<String>,
    /// Number of replicas to create.
    #[arg(long, default_value_t = 1)]
    pub replicas: i32,
    /// The port that the first container exposes.
    #[arg(long, default_value_t = -1)]
    pub port: i32,
}

/// Five characters of Kubernetes' random-name alphabet.
pub(crate) fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut x = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64
        | 1;
    (0..5)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ALPHABET[(x % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

/// A container name from an image reference: its last path part without tag or digest; one
/// with `_` or `.` has them made `-` and a random suffix added (kubectl's rule).
fn container_name(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    let base = last.split(':').next().unwrap_or(last);
    let base = base.split('@').next().unwrap_or(base);
    match base.contains(['_', '.']) {
        true => format!("{}-{}", base.replace(['_', '.'], "-"), random_suffix()),
        false => base.to_string(),
    }
}

pub fn manifest(a: &DeploymentArgs, name: &str) -> Value {
    let mut containers: Vec<Value> = a
        .image
        .iter()
        .map(|i| json!({"name": container_name(i), "image": i, "resources": {}}))
        .collect();
    if a.port >= 0
        && let Some(first) = containers.first_mut()
    {
        first["ports"] = json!([{"containerPort": a.port}]);
    }
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": a.replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": containers}},
        },
        "status": {},
    })
}

pub async fn create(g: &Globals, a: &DeploymentArgs) -> Result<(), CliError> {
    let Some(name) = a.name.as_deref() else {
        return Err(CliError::msg("exactly one NAME is required, got 0"));
    };
    if a.image.is_empty() {
        return Err(CliError::msg("required flag(s) \"image\" not set"));
    }
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let namespace = s.namespace.clone();
    let path =
        format!("/apis/apps/v1/namespaces/{namespace}/deployments?fieldManager=kubectl-create");
    let created = s.write(Method::POST, &path, &manifest(a, name)).await?;
    println!(
        "deployment.apps/{} created",
        created["metadata"]["name"].as_str().unwrap_or_default()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectls_generator() {
        assert_eq!(container_name("nginx@sha256:x"), "nginx");
        assert_eq!(container_name("quay.io/a/my-app:1"), "my-app");
        let odd = container_name("quay.io/a/my_app:1");
        assert!(odd.starts_with("my-app-") && odd.len() == 12, "{odd}");
        let a = DeploymentArgs {
            name: None,
            image: vec!["x".into()],
            replicas: 3,
            port: 8080,
        };
        let m = manifest(&a, "web");
        assert_eq!(
            m["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"],
            8080
        );
        assert_eq!(m["spec"]["selector"]["matchLabels"]["app"], "web");
    }
}
