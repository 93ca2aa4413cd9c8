//! `oc adm policy scc-subject-review` and `scc-review`: which SCC would admit the pods of the
//! objects in `-f` files — for the current user (a self review), a user and groups, or the
//! namespace's service accounts — printed as upstream's tab-aligned rows.

use serde_json::{Value, json};

use super::Globals;
use crate::client::session;
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub struct SubjectReviewArgs {
    /// Review will be performed on behalf of this user.
    #[arg(long, short = 'u', default_value = "")]
    user: String,
    /// Comma separated, list of groups. Review will be performed on behalf of these groups.
    #[arg(long, short = 'g', value_delimiter = ',')]
    groups: Vec<String>,
    /// Service account in the current namespace to use as a user.
    #[arg(long = "serviceaccount", short = 'z', default_value = "")]
    service_account: String,
    /// Filename, directory, or URL to a file identifying the resource.
    #[arg(long = "filename", short = 'f')]
    filenames: Vec<String>,
    /// Don't print headers.
    #[arg(long)]
    no_headers: bool,
}

#[derive(Debug, clap::Args)]
pub struct ReviewArgs {
    /// Service accounts in the current namespace to check (comma separated).
    #[arg(long = "serviceaccount", short = 'z', value_delimiter = ',')]
    service_accounts: Vec<String>,
    /// Filename, directory, or URL to a file identifying the resource.
    #[arg(long = "filename", short = 'f')]
    filenames: Vec<String>,
    /// Don't print headers.
    #[arg(long)]
    no_headers: bool,
}

const SECURITY: &str = "/apis/security.openshift.io/v1/namespaces";

/// The pod template of an object: a pod itself, a workload's template, a CronJob's job's.
fn template(object: &Value) -> Option<Value> {
    match object["kind"].as_str()? {
        "Pod" => Some(json!({"metadata": object["metadata"], "spec": object["spec"]})),
        "CronJob" => object["spec"]["jobTemplate"]["spec"]
            .get("template")
            .cloned(),
        _ => object["spec"].get("template").cloned(),
    }
}

fn resource(object: &Value) -> String {
    format!(
        "{}/{}",
        object["kind"].as_str().unwrap_or_default(),
        object["metadata"]["name"].as_str().unwrap_or_default()
    )
}

/// Rows aligned as Go's tabwriter with three spaces of padding, cells tab-terminated.
fn aligned(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let mut line: String = row
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<width$}", width = w + 3))
                .collect();
            line.push('\n');
            line
        })
        .collect()
}

fn objects(filenames: &[String]) -> Result<Vec<Value>, CliError> {
    if filenames.is_empty() {
        return Err(CliError::msg("one or more resources must be specified"));
    }
    Ok(crate::manifests::read(filenames, false)?
        .into_iter()
        .map(|m| m.object)
        .collect())
}

pub async fn subject_review(g: &Globals, a: &SubjectReviewArgs) -> Result<(), CliError> {
    if !a.user.is_empty() && !a.service_account.is_empty() {
        return Err(CliError::msg(
            "--user and --serviceaccount are mutually exclusive",
        ));
    }
    let objects = objects(&a.filenames)?;
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let user = match a.service_account.as_str() {
        "" => a.user.clone(),
        sa => sa.rsplit(':').next().unwrap_or(sa).to_string(),
    };
    let mut rows = Vec::new();
    if !a.no_headers {
        rows.push(vec!["RESOURCE".to_string(), "ALLOWED BY".to_string()]);
    }
    for object in &objects {
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let template = template(object).ok_or_else(|| {
            CliError::msg(format!(" {name:?} cannot create pod: no pod template"))
        })?;
        let (plural, kind, spec) = match (user.is_empty(), a.groups.is_empty()) {
            (true, true) => (
                "podsecuritypolicyselfsubjectreviews",
                "PodSecurityPolicySelfSubjectReview",
                json!({"template": template}),
            ),
            _ => (
                "podsecuritypolicysubjectreviews",
                "PodSecurityPolicySubjectReview",
                json!({"template": template, "user": user, "groups": a.groups}),
            ),
        };
        let review = json!({"apiVersion": "security.openshift.io/v1", "kind": kind, "spec": spec});
        let answer = s
            .write(
                http::Method::POST,
                &format!("{SECURITY}/{}/{plural}", s.namespace),
                &review,
            )
            .await?;
        let allowed = answer["status"]["allowedBy"]["name"]
            .as_str()
            .unwrap_or("<none>");
        rows.push(vec![resource(object), allowed.to_string()]);
    }
    print!("{}", aligned(&rows));
    Ok(())
}

pub async fn review(g: &Globals, a: &ReviewArgs) -> Result<(), CliError> {
    let objects = objects(&a.filenames)?;
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let mut rows = Vec::new();
    if !a.no_headers {
        rows.push(vec![
            "RESOURCE".into(),
            "SERVICE ACCOUNT".into(),
            "ALLOWED BY".into(),
        ]);
    }
    for object in &objects {
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let template = template(object).ok_or_else(|| {
            CliError::msg(format!(" {name:?} cannot create pod: no pod template"))
        })?;
        let review = json!({"apiVersion": "security.openshift.io/v1", "kind": "PodSecurityPolicyReview",
            "spec": {"template": template, "serviceAccountNames": a.service_accounts}});
        let answer = s
            .write(
                http::Method::POST,
                &format!("{SECURITY}/{}/podsecuritypolicyreviews", s.namespace),
                &review,
            )
            .await?;
        for allowed in answer["status"]["allowedServiceAccounts"]
            .as_array()
            .into_iter()
            .flatten()
        {
            rows.push(vec![
                resource(object),
                allowed["name"].as_str().unwrap_or_default().to_string(),
                allowed["allowedBy"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            ]);
        }
    }
    print!("{}", aligned(&rows));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_padded_by_three_spaces_past_the_widest_cell() {
        let rows = vec![
            vec!["RESOURCE".to_string(), "ALLOWED BY".to_string()],
            vec!["Pod/root".to_string(), "restricted-v2".to_string()],
        ];
        assert_eq!(
            aligned(&rows),
            "RESOURCE   ALLOWED BY      \nPod/root   restricted-v2   \n"
        );
    }

    #[test]
    fn templates_of_pods_workloads_and_cron_jobs() {
        let pod = json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}});
        assert_eq!(template(&pod).unwrap()["spec"], json!({"containers": []}));
        let cron = json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {}}}}}});
        assert_eq!(template(&cron), Some(json!({"spec": {}})));
        assert_eq!(template(&json!({"kind": "Service", "spec": {}})), None);
    }
}
