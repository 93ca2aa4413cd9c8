//! `oc scale (TYPE NAME | TYPE/NAME) --replicas=N`: a merge patch of the objects' `scale`
//! subresource, as kubectl sends it; `<kind>/<name> scaled`.

use http::Method;
use serde_json::json;

use super::Globals;
use crate::client::{send, session};
use crate::error::CliError;
use crate::objects;

#[derive(Debug, Default, clap::Args)]
pub struct ScaleArgs {
    /// TYPE NAME or TYPE/NAME.
    pub words: Vec<String>,
    /// The new desired number of replicas.
    #[arg(long)]
    pub replicas: Option<i64>,
}

pub async fn scale(g: &Globals, a: &ScaleArgs) -> Result<(), CliError> {
    let Some(replicas) = a.replicas.filter(|r| *r >= 0) else {
        return Err(CliError::msg(
            "The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0",
        ));
    };
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let body = serde_json::to_vec(&json!({"spec": {"replicas": replicas}}))
        .map_err(|e| CliError::msg(e.to_string()))?;
    for t in objects::named(&s, &a.words).await? {
        send(
            &s.client,
            Method::PATCH,
            &format!("{}/scale", t.path()),
            &[],
            Some(("application/merge-patch+json", body.clone())),
        )
        .await?;
        println!("{} scaled", t.display());
    }
    Ok(())
}
