//! `oc project [NAME]`, `oc projects`, `oc new-project NAME`: the projects the user may see,
//! and the kubeconfig context that says which one is in use.

use serde_json::{Value, json};

use super::Globals;
use crate::client::{Session, session};
use crate::error::CliError;
use crate::kubeconfig::{self, Kubeconfig};

const PROJECTS: &str = "/apis/project.openshift.io/v1/projects";

/// The names of the projects the session's user may see, sorted.
pub async fn names(session: &Session) -> Result<Vec<String>, CliError> {
    let list = session.get(PROJECTS).await?;
    let mut names: Vec<String> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    names.sort();
    Ok(names)
}

/// What `oc login` and `oc projects` say of the projects (`server` is named after the
/// current project by `oc projects` only).
pub fn overview(names: &[String], current: &str, server: Option<&str>) -> String {
    let using = match server {
        Some(s) => format!("Using project \"{current}\" on server \"{s}\".\n"),
        None => format!("Using project \"{current}\".\n"),
    };
    match names {
        [] => "You don't have any projects. You can try to create a new project, by running\n\n    oc new-project <projectname>\n\n".to_string(),
        [one] => format!("You have one project on this server: \"{one}\".\n\n{using}"),
        many => {
            let lines: String = many
                .iter()
                .map(|n| match n == current {
                    true => format!("  * {n}\n"),
                    false => format!("    {n}\n"),
                })
                .collect();
            format!(
                "You have access to the following projects and can switch between them with 'oc project <projectname>':\n\n{lines}\n{using}"
            )
        }
    }
}

/// Makes `namespace` current: the context `<namespace>/<cluster>/<user>` of the current
/// context's cluster and user.
pub fn switch(config: &mut Kubeconfig, session: &Session, namespace: &str) -> Result<(), CliError> {
    let current = config
        .context(&session.context)
        .cloned()
        .unwrap_or_else(|| json!({}));
    let cluster = current["cluster"].as_str().unwrap_or_default().to_string();
    let user = current["user"].as_str().unwrap_or_default().to_string();
    let user_name = user.split('/').next().unwrap_or_default().to_string();
    let name = kubeconfig::context_nickname(namespace, &session.server, &user_name);
    config.upsert(
        "contexts",
        "context",
        &name,
        json!({"cluster": cluster, "namespace": namespace, "user": user}),
    );
    config.set_current_context(&name);
    config.save()
}

#[derive(Debug, Default, clap::Args)]
pub struct ProjectArgs {
    /// The project to switch to.
    pub name: Option<String>,
    /// If true, display only the project name.
    #[arg(long, short = 'q')]
    pub short: bool,
}

#[derive(Debug, Default, clap::Args)]
pub struct ProjectsArgs {
    /// If true, display only the project names.
    #[arg(long, short = 'q')]
    pub short: bool,
}

#[derive(Debug, Default, clap::Args)]
pub struct NewProjectArgs {
    pub name: String,
    /// Project display name.
    #[arg(long)]
    pub display_name: Option<String>,
    /// Project description.
    #[arg(long)]
    pub description: Option<String>,
    /// If true, the project will not be set as a cluster entry in kubeconfig after being
    /// created.
    #[arg(long)]
    pub skip_config_write: bool,
}

/// `oc project [NAME]`.
pub async fn project(g: &Globals, a: &ProjectArgs) -> Result<(), CliError> {
    let mut config = g.kubeconfig()?;
    let session = session(&config, &g.overrides).await?;
    let Some(name) = a.name.as_deref() else {
        if a.short {
            println!("{}", session.namespace);
        } else {
            println!(
                "Using project \"{}\" on server \"{}\".",
                session.namespace, session.server
            );
        }
        return Ok(());
    };
    match session.get(&format!("{PROJECTS}/{name}")).await {
        Ok(_) => {}
        Err(CliError::Server { reason, .. }) if reason == "NotFound" || reason == "Forbidden" => {
            return Err(CliError::msg(format!(
                "You are not a member of project \"{name}\".\nYou have one or more projects available; run 'oc projects' to see them."
            )));
        }
        Err(e) => return Err(e),
    }
    switch(&mut config, &session, name)?;
    println!(
        "Now using project \"{name}\" on server \"{}\".",
        session.server
    );
    Ok(())
}

/// `oc projects`.
pub async fn projects(g: &Globals, a: &ProjectsArgs) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let session = session(&config, &g.overrides).await?;
    let names = names(&session).await?;
    if a.short {
        for n in &names {
            println!("{n}");
        }
        return Ok(());
    }
    print!(
        "{}",
        overview(&names, &session.namespace, Some(&session.server))
    );
    Ok(())
}

/// `oc new-project NAME [--display-name] [--description] [--skip-config-write]`.
pub async fn new_project(g: &Globals, a: &NewProjectArgs) -> Result<(), CliError> {
    let (name, display_name, description) = (
        a.name.as_str(),
        a.display_name.as_deref(),
        a.description.as_deref(),
    );
    let mut config = g.kubeconfig()?;
    let session = session(&config, &g.overrides).await?;
    let mut request = json!({
        "kind": "ProjectRequest",
        "apiVersion": "project.openshift.io/v1",
        "metadata": {"name": name},
    });
    if let Some(d) = display_name {
        request["displayName"] = Value::String(d.into());
    }
    if let Some(d) = description {
        request["description"] = Value::String(d.into());
    }
    session
        .post("/apis/project.openshift.io/v1/projectrequests", &request)
        .await?;
    if a.skip_config_write {
        println!(
            "Created project \"{name}\" on server \"{}\".",
            session.server
        );
        return Ok(());
    }
    switch(&mut config, &session, name)?;
    println!(
        "Now using project \"{name}\" on server \"{}\".\n\nYou can add applications to this project with the 'new-app' command. For example, try:\n\n    oc new-app rails-postgresql-example\n\nto build a new example application in Ruby. Or use kubectl to deploy a simple Kubernetes application:\n\n    kubectl create deployment hello-node --image=registry.k8s.io/e2e-test-images/agnhost:2.43 -- /agnhost serve-hostname\n",
        session.server
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overviews_as_upstream_words_them() {
        assert!(overview(&[], "default", None).starts_with("You don't have any projects."));
        assert_eq!(
            overview(&["demo".into()], "demo", None),
            "You have one project on this server: \"demo\".\n\nUsing project \"demo\".\n"
        );
        assert_eq!(
            overview(&["a".into(), "b".into()], "b", Some("https://h:1")),
            "You have access to the following projects and can switch between them with 'oc project <projectname>':\n\n    a\n  * b\n\nUsing project \"b\" on server \"https://h:1\".\n"
        );
    }
}
