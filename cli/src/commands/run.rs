//! `oc run NAME --image=I [--restart] [--image-pull-policy] [--port] [--env] [--labels]
//! [--command] [-- ARGS...]`: the Pod kubectl's run generator builds (label `run=NAME` unless
//! labels are given, one container named NAME), created with kubectl's field manager.

use http::Method;
use serde_json::{Map, Value, json};

use super::Globals;
use crate::client::session;
use crate::error::CliError;

#[derive(Debug, Default, clap::Args)]
pub struct RunArgs {
    /// The pod's name.
    pub name: Option<String>,
    /// The image for the container to run.
    #[arg(long)]
    pub image: Option<String>,
    /// The restart policy for this Pod: Always, OnFailure or Never.
    #[arg(long, default_value = "Always")]
    pub restart: String,
    /// The image pull policy for the container (Always, IfNotPresent, Never).
    #[arg(long, default_value = "")]
    pub image_pull_policy: String,
    /// The port that this container exposes.
    #[arg(long, default_value = "")]
    pub port: String,
    /// Environment variables to set in the container (NAME=VALUE).
    #[arg(long)]
    pub env: Vec<String>,
    /// Comma separated labels to apply to the pod; overrides `run=NAME`.
    #[arg(short = 'l', long, default_value = "")]
    pub labels: String,
    /// The arguments after `--` are the container's command instead of its arguments.
    #[arg(long)]
    pub command: bool,
    /// The container's arguments (or command, with --command).
    #[arg(last = true)]
    pub args: Vec<String>,
}

fn pairs(text: &str, what: &str) -> Result<Map<String, Value>, CliError> {
    let mut map = Map::new();
    for pair in text.split(',').filter(|p| !p.is_empty()) {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(CliError::msg(format!("invalid {what}: {pair:?}")));
        };
        map.insert(k.to_string(), Value::String(v.to_string()));
    }
    Ok(map)
}

pub fn manifest(a: &RunArgs, name: &str, image: &str) -> Result<Value, CliError> {
    if !["Always", "OnFailure", "Never"].contains(&a.restart.as_str()) {
        return Err(CliError::msg(format!(
            "invalid restart policy: {}",
            a.restart
        )));
    }
    let labels = match a.labels.is_empty() {
        true => json!({ "run": name }),
        false => Value::Object(pairs(&a.labels, "label spec")?),
    };
    let mut container = json!({"name": name, "image": image, "resources": {}});
    if !a.args.is_empty() {
        let key = if a.command { "command" } else { "args" };
        container[key] = json!(a.args);
    }
    if !a.env.is_empty() {
        let mut env = Vec::new();
        for e in &a.env {
            let Some((k, v)) = e.split_once('=') else {
                return Err(CliError::msg(format!("invalid env: {e}")));
            };
            env.push(json!({"name": k, "value": v}));
        }
        container["env"] = json!(env);
    }
    if !a.image_pull_policy.is_empty() {
        if !["Always", "IfNotPresent", "Never"].contains(&a.image_pull_policy.as_str()) {
            return Err(CliError::msg(format!(
                "invalid image pull policy: {}",
                a.image_pull_policy
            )));
        }
        container["imagePullPolicy"] = json!(a.image_pull_policy);
    }
    if !a.port.is_empty() {
        let Ok(port) = a.port.parse::<i32>() else {
            return Err(CliError::msg(format!(
                "strconv.Atoi: parsing {:?}: invalid syntax",
                a.port
            )));
        };
        container["ports"] = json!([{ "containerPort": port }]);
    }
    Ok(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "containers": [container],
            "dnsPolicy": "ClusterFirst",
            "restartPolicy": a.restart,
        },
        "status": {},
    }))
}

pub async fn run(g: &Globals, a: &RunArgs) -> Result<(), CliError> {
    let Some(name) = a.name.as_deref() else {
        return Err(CliError::msg("NAME is required for run"));
    };
    let Some(image) = a.image.as_deref().filter(|i| !i.is_empty()) else {
        return Err(CliError::msg("required flag(s) \"image\" not set"));
    };
    let pod = manifest(a, name, image)?;
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let path = format!(
        "/api/v1/namespaces/{}/pods?fieldManager=kubectl-run",
        s.namespace
    );
    let created = s.write(Method::POST, &path, &pod).await?;
    println!(
        "pod/{} created",
        created["metadata"]["name"].as_str().unwrap_or_default()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: impl FnOnce(&mut RunArgs)) -> RunArgs {
        let mut a = RunArgs {
            restart: "Always".into(),
            ..Default::default()
        };
        extra(&mut a);
        a
    }

    #[test]
    fn kubectls_run_generator() {
        let pod = manifest(&args(|_| {}), "web", "busybox").unwrap();
        assert_eq!(pod["metadata"]["labels"], json!({"run": "web"}));
        assert_eq!(
            pod["spec"]["containers"],
            json!([{"name": "web", "image": "busybox", "resources": {}}])
        );
        assert_eq!(pod["spec"]["restartPolicy"], "Always");
        assert_eq!(pod["spec"]["dnsPolicy"], "ClusterFirst");

        let pod = manifest(
            &args(|a| {
                a.restart = "Never".into();
                a.labels = "app=x,tier=y".into();
                a.env = vec!["A=1".into()];
                a.port = "8080".into();
                a.command = true;
                a.args = vec!["sh".into(), "-c".into(), "true".into()];
            }),
            "job",
            "busybox",
        )
        .unwrap();
        let c = &pod["spec"]["containers"][0];
        assert_eq!(pod["metadata"]["labels"], json!({"app": "x", "tier": "y"}));
        assert_eq!(c["command"], json!(["sh", "-c", "true"]));
        assert_eq!(c["env"], json!([{"name": "A", "value": "1"}]));
        assert_eq!(c["ports"], json!([{"containerPort": 8080}]));
        assert_eq!(pod["spec"]["restartPolicy"], "Never");
        assert!(manifest(&args(|a| a.restart = "Sometimes".into()), "x", "i").is_err());
    }
}
