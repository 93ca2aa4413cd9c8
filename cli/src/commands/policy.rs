//! `oc policy add-role-to-user|remove-role-from-user|add-role-to-group|remove-role-from-group|
//! who-can` and `oc adm policy` (the same, plus the `*-cluster-role-*` forms): role bindings
//! edited as upstream edits them — nothing to do when a binding of the role already has all
//! the subjects, else a new binding named after the role (`edit`, then `edit-0`, `edit-1`...)
//! or `--rolebinding-name` extended; removal takes the subjects out of every binding of the
//! role and deletes the bindings left without subjects. `oc adm cordon|uncordon|drain` are in
//! `drain/`.

use serde_json::{Value, json};

use super::Globals;
use crate::client::{Session, session};
use crate::discovery;
use crate::error::CliError;

const RBAC: &str = "rbac.authorization.k8s.io";

#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// Add a role to users or service accounts for the current project.
    AddRoleToUser(BindArgs),
    /// Remove a role from users for the current project.
    RemoveRoleFromUser(BindArgs),
    /// Add a role to groups for the current project.
    AddRoleToGroup(BindArgs),
    /// Remove a role from groups for the current project.
    RemoveRoleFromGroup(BindArgs),
    /// List who can perform the specified action on a resource.
    WhoCan(WhoCanArgs),
    /// Check whether a user or a service account can create a pod.
    SccSubjectReview(super::scc_review::SubjectReviewArgs),
    /// Check which service account can create a pod.
    SccReview(super::scc_review::ReviewArgs),
}

#[derive(Debug, clap::Subcommand)]
pub enum AdmCommand {
    /// Manage cluster authorization and security policy.
    #[command(subcommand)]
    Policy(AdmPolicyCommand),
    /// Mark node as unschedulable.
    Cordon(super::drain::CordonArgs),
    /// Mark node as schedulable.
    Uncordon(super::drain::CordonArgs),
    /// Drain node in preparation for maintenance.
    Drain(super::drain::DrainArgs),
    /// Manage deploy-by-digest attestations (attestors, payloads, signed attestations).
    #[command(subcommand)]
    ImageAttestation(super::image_attestation::ImageAttestationCommand),
    /// Approve or reject certificate requests.
    #[command(subcommand)]
    Certificate(super::certificate::CertificateCommand),
}

#[derive(Debug, clap::Subcommand)]
pub enum AdmPolicyCommand {
    AddRoleToUser(BindArgs),
    RemoveRoleFromUser(BindArgs),
    AddRoleToGroup(BindArgs),
    RemoveRoleFromGroup(BindArgs),
    WhoCan(WhoCanArgs),
    /// Add a role to users for all projects in the cluster.
    AddClusterRoleToUser(BindArgs),
    /// Remove a role from users for all projects in the cluster.
    RemoveClusterRoleFromUser(BindArgs),
    /// Add a role to groups for all projects in the cluster.
    AddClusterRoleToGroup(BindArgs),
    /// Remove a role from groups for all projects in the cluster.
    RemoveClusterRoleFromGroup(BindArgs),
    /// Add security context constraint to users or a service account.
    AddSccToUser(SccArgs),
    /// Add security context constraint to groups.
    AddSccToGroup(SccArgs),
    /// Remove user from scc.
    RemoveSccFromUser(SccArgs),
    /// Remove group from scc.
    RemoveSccFromGroup(SccArgs),
    /// Check whether a user or a service account can create a pod.
    SccSubjectReview(super::scc_review::SubjectReviewArgs),
    /// Check which service account can create a pod.
    SccReview(super::scc_review::ReviewArgs),
}

#[derive(Debug, clap::Args)]
pub struct SccArgs {
    /// The security context constraint.
    scc: String,
    /// The users or groups.
    subjects: Vec<String>,
    /// Service accounts in the current namespace (repeatable).
    #[arg(long = "serviceaccount", short = 'z', value_delimiter = ',')]
    service_accounts: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct BindArgs {
    /// The role.
    role: String,
    /// The users or groups.
    subjects: Vec<String>,
    /// The namespace of a namespaced role (default: the role is a cluster role).
    #[arg(long)]
    role_namespace: Option<String>,
    /// Name of the role binding to modify or create.
    #[arg(long)]
    rolebinding_name: Option<String>,
    /// Service accounts in the current namespace (repeatable).
    #[arg(long = "serviceaccount", short = 'z')]
    service_accounts: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct WhoCanArgs {
    /// VERB RESOURCE [NAME].
    #[arg(required = true)]
    words: Vec<String>,
    /// If true, list who can perform the specified action in all namespaces.
    #[arg(long, short = 'A')]
    all_namespaces: bool,
}

/// Which bindings a command edits and whom it binds.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Scope {
    Project,
    Cluster,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Whom {
    User,
    Group,
}

pub async fn run(g: &Globals, command: PolicyCommand) -> Result<(), CliError> {
    match command {
        PolicyCommand::AddRoleToUser(a) => bind(g, &a, Scope::Project, Whom::User, true).await,
        PolicyCommand::RemoveRoleFromUser(a) => {
            bind(g, &a, Scope::Project, Whom::User, false).await
        }
        PolicyCommand::AddRoleToGroup(a) => bind(g, &a, Scope::Project, Whom::Group, true).await,
        PolicyCommand::RemoveRoleFromGroup(a) => {
            bind(g, &a, Scope::Project, Whom::Group, false).await
        }
        PolicyCommand::WhoCan(a) => who_can(g, &a).await,
        PolicyCommand::SccSubjectReview(a) => super::scc_review::subject_review(g, &a).await,
        PolicyCommand::SccReview(a) => super::scc_review::review(g, &a).await,
    }
}

pub async fn adm(g: &Globals, command: AdmCommand) -> Result<(), CliError> {
    let command = match command {
        AdmCommand::Policy(c) => c,
        AdmCommand::Cordon(a) => return super::drain::cordon(g, &a, true).await,
        AdmCommand::Uncordon(a) => return super::drain::cordon(g, &a, false).await,
        AdmCommand::Drain(a) => return super::drain::drain(g, &a).await,
        AdmCommand::ImageAttestation(c) => return super::image_attestation::run(g, c).await,
        AdmCommand::Certificate(c) => return super::certificate::run(g, c).await,
    };
    use AdmPolicyCommand as C;
    match command {
        C::AddRoleToUser(a) => bind(g, &a, Scope::Project, Whom::User, true).await,
        C::RemoveRoleFromUser(a) => bind(g, &a, Scope::Project, Whom::User, false).await,
        C::AddRoleToGroup(a) => bind(g, &a, Scope::Project, Whom::Group, true).await,
        C::RemoveRoleFromGroup(a) => bind(g, &a, Scope::Project, Whom::Group, false).await,
        C::WhoCan(a) => who_can(g, &a).await,
        C::AddClusterRoleToUser(a) => bind(g, &a, Scope::Cluster, Whom::User, true).await,
        C::RemoveClusterRoleFromUser(a) => bind(g, &a, Scope::Cluster, Whom::User, false).await,
        C::AddClusterRoleToGroup(a) => bind(g, &a, Scope::Cluster, Whom::Group, true).await,
        C::RemoveClusterRoleFromGroup(a) => bind(g, &a, Scope::Cluster, Whom::Group, false).await,
        C::AddSccToUser(a) => scc(g, a, Whom::User, true).await,
        C::AddSccToGroup(a) => scc(g, a, Whom::Group, true).await,
        C::RemoveSccFromUser(a) => scc(g, a, Whom::User, false).await,
        C::RemoveSccFromGroup(a) => scc(g, a, Whom::Group, false).await,
        C::SccSubjectReview(a) => super::scc_review::subject_review(g, &a).await,
        C::SccReview(a) => super::scc_review::review(g, &a).await,
    }
}

/// `add-scc-to-*` / `remove-scc-from-*`, as 4.19's `oc`: the use of an SCC is the ClusterRole
/// `system:openshift:scc:<scc>` (created when missing), bound by a binding of the same name —
/// cluster-wide, or in the namespace given with `-n`.
async fn scc(g: &Globals, a: SccArgs, whom: Whom, add: bool) -> Result<(), CliError> {
    if whom == Whom::Group && a.subjects.is_empty() {
        return Err(CliError::msg(
            "you must specify at least two arguments: <scc> <group> [group]...",
        ));
    }
    if a.subjects.is_empty() && a.service_accounts.is_empty() {
        return Err(CliError::msg(
            "you must specify at least one user or service account",
        ));
    }
    let role = format!("system:openshift:scc:{}", a.scc);
    if add {
        let config = g.kubeconfig()?;
        let s = session(&config, &g.overrides).await?;
        let path = format!("/apis/{RBAC}/v1/clusterroles");
        if let Err(CliError::Server { reason, .. }) = s.get(&format!("{path}/{role}")).await
            && reason == "NotFound"
        {
            let cluster_role = json!({"apiVersion": format!("{RBAC}/v1"), "kind": "ClusterRole",
                "metadata": {"name": role},
                "rules": [{"apiGroups": ["security.openshift.io"], "resources": ["securitycontextconstraints"],
                    "resourceNames": [a.scc], "verbs": ["use"]}]});
            s.write(http::Method::POST, &path, &cluster_role).await?;
        }
    }
    let scope = match g.overrides.namespace {
        Some(_) => Scope::Project,
        None => Scope::Cluster,
    };
    let args = BindArgs {
        role: role.clone(),
        subjects: a.subjects,
        role_namespace: None,
        rolebinding_name: Some(role),
        service_accounts: a.service_accounts,
    };
    bind(g, &args, scope, whom, add).await
}

/// The RBAC subject of a name (`system:serviceaccount:NS:NAME` users are service accounts).
fn subject(whom: Whom, name: &str) -> Value {
    match (whom, name.strip_prefix("system:serviceaccount:")) {
        (Whom::User, Some(rest)) if rest.contains(':') => {
            let (ns, sa) = rest.split_once(':').unwrap_or_default();
            json!({"kind": "ServiceAccount", "name": sa, "namespace": ns})
        }
        (Whom::User, _) => json!({"kind": "User", "apiGroup": RBAC, "name": name}),
        (Whom::Group, _) => json!({"kind": "Group", "apiGroup": RBAC, "name": name}),
    }
}

fn same_subject(a: &Value, b: &Value) -> bool {
    a["kind"] == b["kind"]
        && a["name"] == b["name"]
        && a["namespace"].as_str().unwrap_or_default()
            == b["namespace"].as_str().unwrap_or_default()
}

/// `["a" "b"]` or `"a"`, as upstream lists subjects in its result line.
fn quoted(names: &[String]) -> String {
    match names {
        [one] => format!("{one:?}"),
        many => format!(
            "[{}]",
            many.iter()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

async fn bind(
    g: &Globals,
    a: &BindArgs,
    scope: Scope,
    whom: Whom,
    add: bool,
) -> Result<(), CliError> {
    if a.subjects.is_empty() && a.service_accounts.is_empty() {
        return Err(CliError::msg(format!(
            "you must specify at least two arguments: <role> <{}> [{0}]...",
            match whom {
                Whom::User => "user",
                Whom::Group => "group",
            }
        )));
    }
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let mut subjects: Vec<Value> = a.subjects.iter().map(|n| subject(whom, n)).collect();
    let mut names = a.subjects.clone();
    for sa in &a.service_accounts {
        subjects.push(json!({"kind": "ServiceAccount", "name": sa, "namespace": s.namespace}));
        names.push(sa.clone());
    }
    if add {
        warn_missing(&s, whom, &a.subjects).await;
    }
    let (role_kind, role_namespace) = match (&a.role_namespace, scope) {
        (Some(ns), Scope::Project) => ("Role", Some(ns.clone())),
        _ => ("ClusterRole", None),
    };
    let collection = match scope {
        Scope::Project => format!("/apis/{RBAC}/v1/namespaces/{}/rolebindings", s.namespace),
        Scope::Cluster => format!("/apis/{RBAC}/v1/clusterrolebindings"),
    };
    let list = s.get(&collection).await?;
    let mut bindings: Vec<Value> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["roleRef"]["kind"] == role_kind && b["roleRef"]["name"] == a.role.as_str())
        .filter(|b| {
            a.rolebinding_name
                .as_ref()
                .is_none_or(|n| b["metadata"]["name"] == n.as_str())
        })
        .cloned()
        .collect();
    if let Some(name) = &a.rolebinding_name
        && bindings.is_empty()
        && let Some(other) = list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|b| b["metadata"]["name"] == name.as_str())
    {
        return Err(CliError::msg(format!(
            "rolebinding {name} found for role {}, not {}",
            other["roleRef"]["name"].as_str().unwrap_or_default(),
            a.role
        )));
    }
    let role_word = format!("{}.{RBAC}/{}", role_kind.to_lowercase(), a.role);
    if add {
        let covered = |b: &Value| {
            let have = b["subjects"].as_array().cloned().unwrap_or_default();
            subjects
                .iter()
                .all(|sub| have.iter().any(|h| same_subject(h, sub)))
        };
        let already = bindings.iter().any(covered);
        let target = match &a.rolebinding_name {
            Some(_) => bindings.first_mut(),
            None => None,
        };
        match target {
            _ if already => {}
            Some(binding) => {
                let list = binding["subjects"].as_array().cloned().unwrap_or_default();
                let mut merged = list.clone();
                for sub in &subjects {
                    if !merged.iter().any(|m| same_subject(m, sub)) {
                        merged.push(sub.clone());
                    }
                }
                if merged.len() != list.len() {
                    binding["subjects"] = json!(merged);
                    let name = binding["metadata"]["name"].as_str().unwrap_or_default();
                    s.write(http::Method::PUT, &format!("{collection}/{name}"), binding)
                        .await?;
                }
            }
            None => {
                let name = match &a.rolebinding_name {
                    Some(n) => n.clone(),
                    None => unique_name(&list, &a.role),
                };
                let mut role_ref = json!({"apiGroup": RBAC, "kind": role_kind, "name": a.role});
                if role_namespace.is_some() {
                    role_ref["kind"] = json!("Role");
                }
                let kind = match scope {
                    Scope::Project => "RoleBinding",
                    Scope::Cluster => "ClusterRoleBinding",
                };
                let binding = json!({"apiVersion": format!("{RBAC}/v1"), "kind": kind,
                    "metadata": {"name": name}, "roleRef": role_ref, "subjects": subjects});
                s.write(http::Method::POST, &collection, &binding).await?;
            }
        }
        println!("{role_word} added: {}", quoted(&names));
        return Ok(());
    }
    let mut removed_any = false;
    for binding in &mut bindings {
        let list = binding["subjects"].as_array().cloned().unwrap_or_default();
        let kept: Vec<Value> = list
            .iter()
            .filter(|m| !subjects.iter().any(|sub| same_subject(m, sub)))
            .cloned()
            .collect();
        if kept.len() != list.len() {
            removed_any = true;
            let name = binding["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let path = format!("{collection}/{name}");
            match kept.is_empty() {
                true => drop(s.delete(&path).await?),
                false => {
                    binding["subjects"] = json!(kept);
                    s.write(http::Method::PUT, &path, binding).await?;
                }
            }
        }
    }
    if !removed_any {
        return Err(CliError::msg(format!(
            "unable to find target {}",
            quoted(&names)
        )));
    }
    println!("{role_word} removed: {}", quoted(&names));
    Ok(())
}

/// `role`, else `role-0`, `role-1`... (the first name no binding has).
fn unique_name(list: &Value, role: &str) -> String {
    let taken = |name: &str| {
        list["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|b| b["metadata"]["name"] == name))
    };
    if !taken(role) {
        return role.to_string();
    }
    (0..)
        .map(|i| format!("{role}-{i}"))
        .find(|n| !taken(n))
        .unwrap_or_default()
}

/// Upstream warns when a user or group to bind does not exist (yet).
async fn warn_missing(s: &Session, whom: Whom, names: &[String]) {
    let (path, word) = match whom {
        Whom::User => ("users", "User"),
        Whom::Group => ("groups", "Group"),
    };
    for name in names {
        if name.starts_with("system:") {
            continue;
        }
        let answer = s
            .get(&format!("/apis/user.openshift.io/v1/{path}/{name}"))
            .await;
        if let Err(CliError::Server { reason, .. }) = answer
            && reason == "NotFound"
        {
            eprintln!("Warning: {word} '{name}' not found");
        }
    }
}

async fn who_can(g: &Globals, a: &WhoCanArgs) -> Result<(), CliError> {
    let [verb, resource, rest @ ..] = a.words.as_slice() else {
        return Err(CliError::msg(
            "you must specify two or three arguments: verb, resource, and optional resourceName",
        ));
    };
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let (group, plural) = match discovery::resolve(&s, resource).await {
        Ok(r) => (r.group, r.plural),
        Err(_) => {
            eprintln!("Warning: the server doesn't have a resource type '{resource}'");
            (String::new(), resource.clone())
        }
    };
    let name = rest.first().cloned().unwrap_or_default();
    let mut review = json!({"apiVersion": "authorization.openshift.io/v1", "verb": verb,
        "resourceAPIGroup": group, "resource": plural, "resourceName": name});
    let answer = match a.all_namespaces {
        true => {
            review["kind"] = json!("ResourceAccessReview");
            s.post(
                "/apis/authorization.openshift.io/v1/resourceaccessreviews",
                &review,
            )
            .await?
        }
        false => {
            review["kind"] = json!("LocalResourceAccessReview");
            review["namespace"] = json!(s.namespace);
            s.post(
                &format!(
                    "/apis/authorization.openshift.io/v1/namespaces/{}/localresourceaccessreviews",
                    s.namespace
                ),
                &review,
            )
            .await?
        }
    };
    let resource_word = match group.as_str() {
        "" => plural.clone(),
        g => format!("{plural}.{g}"),
    };
    let namespace = match a.all_namespaces {
        true => "<all>".to_string(),
        false => s.namespace.clone(),
    };
    let mut out = String::new();
    if !name.is_empty() {
        out.push_str(&format!("ResourceName: {name}\n"));
    }
    out.push_str(&format!(
        "Namespace: {namespace}\nVerb:      {verb}\nResource:  {resource_word}\n\n"
    ));
    for (label, field) in [("Users: ", "users"), ("Groups:", "groups")] {
        let mut names: Vec<&str> = answer[field]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        names.sort();
        match names.is_empty() {
            true => out.push_str(&format!("{label} none\n\n")),
            false => out.push_str(&format!("{label} {}\n\n", names.join("\n        "))),
        }
    }
    print!("{out}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_and_names() {
        assert_eq!(
            subject(Whom::User, "system:serviceaccount:dev:builder"),
            json!({"kind": "ServiceAccount", "name": "builder", "namespace": "dev"})
        );
        assert_eq!(subject(Whom::Group, "g")["kind"], "Group");
        assert_eq!(quoted(&["a".into()]), "\"a\"");
        assert_eq!(quoted(&["a".into(), "b".into()]), "[\"a\" \"b\"]");
        let list =
            json!({"items": [{"metadata": {"name": "edit"}}, {"metadata": {"name": "edit-0"}}]});
        assert_eq!(unique_name(&list, "edit"), "edit-1");
        assert_eq!(unique_name(&list, "view"), "view");
    }
}
