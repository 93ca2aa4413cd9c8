//! `oc adm certificate approve|deny` (kubectl's `certificate`): each request read, the
//! `Approved` (or `Denied`) condition added unless it is there already (`--force` writes it
//! anyway) and PUT to its `approval` subresource; a request with the opposite decision is
//! refused. kubectl's lines: `certificatesigningrequest.certificates.k8s.io/<name> approved`.

use http::Method;
use serde_json::{Value, json};

use super::Globals;
use crate::client::{Session, encode, session};
use crate::error::CliError;

const PATH: &str = "/apis/certificates.k8s.io/v1/certificatesigningrequests";

#[derive(Debug, clap::Subcommand)]
pub enum CertificateCommand {
    /// Approve a certificate signing request.
    Approve(DecideArgs),
    /// Deny a certificate signing request.
    Deny(DecideArgs),
}

#[derive(Debug, clap::Args)]
pub struct DecideArgs {
    /// The certificate signing requests.
    #[arg(required = true)]
    names: Vec<String>,
    /// Update the CSR even if it is already approved (or denied).
    #[arg(long)]
    force: bool,
}

/// One decision: the condition it adds, the one that forbids it, kubectl's reason, message
/// and verb.
struct Decision {
    condition: &'static str,
    opposite: &'static str,
    reason: &'static str,
    message: &'static str,
    done: &'static str,
}

const APPROVE: Decision = Decision {
    condition: "Approved",
    opposite: "Denied",
    reason: "KubectlApprove",
    message: "This CSR was approved by kubectl certificate approve.",
    done: "approved",
};

const DENY: Decision = Decision {
    condition: "Denied",
    opposite: "Approved",
    reason: "KubectlDeny",
    message: "This CSR was denied by kubectl certificate deny.",
    done: "denied",
};

/// The request with the decision's condition, or `None` when it already has it; an error
/// when it has the opposite one.
fn decided(mut csr: Value, d: &Decision, now: &str) -> Result<Option<Value>, CliError> {
    let name = csr["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let conditions = csr["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if conditions.iter().any(|c| c["type"] == d.opposite) {
        return Err(CliError::msg(format!(
            "certificate signing request {name:?} is already {}",
            d.opposite
        )));
    }
    if conditions.iter().any(|c| c["type"] == d.condition) {
        return Ok(None);
    }
    if !csr["status"].is_object() {
        csr["status"] = json!({});
    }
    let mut conditions = conditions;
    conditions.push(json!({
        "type": d.condition, "status": "True", "reason": d.reason,
        "message": d.message, "lastUpdateTime": now,
    }));
    csr["status"]["conditions"] = Value::Array(conditions);
    Ok(Some(csr))
}

async fn decide_one(s: &Session, name: &str, d: &Decision, force: bool) -> Result<(), CliError> {
    let path = format!("{PATH}/{}", encode(name));
    let csr = s.get(&path).await?;
    let now = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
        .map(|t| t.to_string())
        .unwrap_or_default();
    let update = match decided(csr.clone(), d, &now)? {
        Some(next) => Some(next),
        // kubectl writes an unchanged request again only when forced.
        None if force => Some(csr),
        None => None,
    };
    if let Some(next) = update {
        s.write(Method::PUT, &format!("{path}/approval"), &next)
            .await?;
    }
    println!(
        "certificatesigningrequest.certificates.k8s.io/{name} {}",
        d.done
    );
    Ok(())
}

pub async fn run(g: &Globals, command: CertificateCommand) -> Result<(), CliError> {
    let (a, d) = match &command {
        CertificateCommand::Approve(a) => (a, &APPROVE),
        CertificateCommand::Deny(a) => (a, &DENY),
    };
    let s = session(&g.kubeconfig()?, &g.overrides).await?;
    // As kubectl's builder with ContinueOnError: every name is tried, then the errors told.
    let mut failed = false;
    for name in &a.names {
        if let Err(e) = decide_one(&s, name, d, a.force).await {
            eprintln!("{e}");
            failed = true;
        }
    }
    match failed {
        true => Err(CliError::Silent),
        false => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_add_their_condition_once_and_refuse_the_opposite() {
        let pending = json!({"metadata": {"name": "bob"}, "spec": {}});
        let approved = decided(pending.clone(), &APPROVE, "2026-01-01T00:00:00Z")
            .unwrap()
            .unwrap();
        assert_eq!(
            approved["status"]["conditions"][0],
            json!({"type": "Approved", "status": "True", "reason": "KubectlApprove",
                "message": "This CSR was approved by kubectl certificate approve.",
                "lastUpdateTime": "2026-01-01T00:00:00Z"})
        );
        assert!(decided(approved.clone(), &APPROVE, "x").unwrap().is_none());
        let refused = decided(approved, &DENY, "x").unwrap_err();
        assert_eq!(
            refused.to_string(),
            "error: certificate signing request \"bob\" is already Approved"
        );
    }
}
