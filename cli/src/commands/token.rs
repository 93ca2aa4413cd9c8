//! `oc create token SA`: a token of the service account from its `token` subresource
//! (TokenRequest), printed alone.

use http::Method;
use serde_json::json;

use super::Globals;
use crate::client::session;
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// The service account.
    name: String,
    /// Requested lifetime of the token (`10m`, `1h`); the server may return another.
    #[arg(long, value_parser = crate::duration)]
    duration: Option<std::time::Duration>,
    /// Audiences of the token (repeatable); the server's default when none.
    #[arg(long)]
    audience: Vec<String>,
    /// Kind of an object to bind the token to (Pod, Secret or Node).
    #[arg(long)]
    bound_object_kind: Option<String>,
    /// Name of the object to bind the token to.
    #[arg(long)]
    bound_object_name: Option<String>,
    /// UID of the object to bind the token to.
    #[arg(long)]
    bound_object_uid: Option<String>,
}

pub async fn create_token(g: &Globals, a: &TokenArgs) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let mut spec = json!({"audiences": a.audience});
    if let Some(d) = a.duration {
        if d.as_secs() == 0 {
            return Err(CliError::msg("--duration must be greater than 0"));
        }
        spec["expirationSeconds"] = json!(d.as_secs());
    }
    match (&a.bound_object_kind, &a.bound_object_name) {
        (Some(kind), Some(name)) => {
            let api_version = match kind.as_str() {
                "Pod" | "Secret" | "Node" => "v1",
                other => {
                    return Err(CliError::msg(format!(
                        "supported --bound-object-kind values are Node, Pod, Secret, not {other}"
                    )));
                }
            };
            spec["boundObjectRef"] = json!({"kind": kind, "apiVersion": api_version, "name": name});
            if let Some(uid) = &a.bound_object_uid {
                spec["boundObjectRef"]["uid"] = json!(uid);
            }
        }
        (None, None) if a.bound_object_uid.is_none() => {}
        (Some(_), None) => {
            return Err(CliError::msg(
                "--bound-object-name is required if --bound-object-kind is provided",
            ));
        }
        _ => {
            return Err(CliError::msg(
                "--bound-object-name and --bound-object-uid can only be set if --bound-object-kind is provided",
            ));
        }
    }
    let request =
        json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec});
    let path = format!(
        "/api/v1/namespaces/{}/serviceaccounts/{}/token",
        s.namespace, a.name
    );
    let answer = s
        .write(Method::POST, &path, &request)
        .await
        .map_err(|e| match e {
            CliError::Server { message, .. } => {
                CliError::msg(format!("failed to create token: {message}"))
            }
            other => other,
        })?;
    // As upstream: a line break only for a terminal, so the token can be captured as is.
    use std::io::IsTerminal;
    let token = answer["status"]["token"].as_str().unwrap_or_default();
    match std::io::stdout().is_terminal() {
        true => println!("{token}"),
        false => print!("{token}"),
    }
    Ok(())
}
