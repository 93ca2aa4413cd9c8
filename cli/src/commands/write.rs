//! `oc create -f` and `oc delete`: objects from manifests created through the API, and
//! objects deleted by name, by manifest, by label or all of a type, with kubectl's lines
//! (`configmap/a created`, `configmap "a" deleted`).

use http::Method;
use serde_json::{Value, json};

use super::Globals;
use crate::client::{Session, send, session};
use crate::discovery::{self, Resource};
use crate::error::CliError;
use crate::manifests;

/// The resource of an object's `apiVersion` and `kind`.
pub(super) async fn resource_of(s: &Session, obj: &Value) -> Result<Resource, CliError> {
    let api_version = obj["apiVersion"].as_str().unwrap_or_default();
    let kind = obj["kind"].as_str().unwrap_or_default();
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    for refresh in [false, true] {
        let all = discovery::resources(s, refresh).await?;
        if let Some(r) = all
            .iter()
            .find(|r| r.group == group && r.kind == kind && !r.plural.contains('/'))
        {
            let mut r = r.clone();
            r.version = version.to_string();
            return Ok(r);
        }
    }
    Err(CliError::msg(format!(
        "resource mapping not found for name: {:?} namespace: {:?} from {:?}: no matches for kind {kind:?} in version {api_version:?}\nensure CRDs are installed first",
        obj["metadata"]["name"].as_str().unwrap_or_default(),
        obj["metadata"]["namespace"].as_str().unwrap_or_default(),
        api_version
    )))
}

/// The namespace an object goes to: its own, else the session's.
pub(super) fn namespace_of<'a>(s: &'a Session, r: &Resource, obj: &'a Value) -> Option<&'a str> {
    r.namespaced.then(|| {
        obj["metadata"]["namespace"]
            .as_str()
            .filter(|n| !n.is_empty())
            .unwrap_or(&s.namespace)
    })
}

/// An error of one object of a file, as kubectl words it.
pub(super) fn when(verb: &str, source: &str, e: CliError) -> CliError {
    match e {
        CliError::Server { reason, message } => CliError::Server {
            reason,
            message: format!("error when {verb} \"{source}\": {message}"),
        },
        other => other,
    }
}

pub async fn create(g: &Globals, filenames: &[String], recursive: bool) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    // As kubectl, the errors come after what was created.
    let mut errors = Vec::new();
    for m in manifests::read(filenames, recursive)? {
        let outcome = async {
            let r = resource_of(&s, &m.object).await?;
            let body = serde_json::to_vec(&m.object).map_err(|e| CliError::msg(e.to_string()))?;
            let path = format!(
                "{}?fieldManager=kubectl-create",
                r.path(namespace_of(&s, &r, &m.object))
            );
            let created = send(
                &s.client,
                Method::POST,
                &path,
                &[],
                Some(("application/json", body)),
            )
            .await?
            .json()?;
            println!(
                "{}/{} created",
                r.qualified_kind(),
                created["metadata"]["name"].as_str().unwrap_or_default()
            );
            Ok::<_, CliError>(())
        }
        .await;
        if let Err(e) = outcome {
            errors.push(when("creating", &m.source, e));
        }
    }
    for e in &errors {
        eprintln!("{e}");
    }
    match errors.is_empty() {
        true => Ok(()),
        // Each failure was printed; the exit code says there were some.
        false => Err(CliError::Silent),
    }
}

#[derive(Debug, Default)]
pub struct DeleteArgs {
    pub words: Vec<String>,
    pub filenames: Vec<String>,
    pub recursive: bool,
    pub selector: Option<String>,
    pub all: bool,
    pub cascade: Option<String>,
    pub wait: bool,
}

async fn delete_one(
    s: &Session,
    r: &Resource,
    namespace: Option<&str>,
    name: &str,
    a: &DeleteArgs,
) -> Result<(), CliError> {
    let policy = match a.cascade.as_deref() {
        None | Some("background") | Some("true") => "Background",
        Some("foreground") => "Foreground",
        Some("orphan") | Some("false") => "Orphan",
        Some(other) => {
            return Err(CliError::msg(format!(
                "invalid cascade value ({other}). Must be \"background\", \"foreground\", or \"orphan\""
            )));
        }
    };
    let path = format!("{}/{name}", r.path(namespace));
    let body = json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": policy});
    let body = serde_json::to_vec(&body).map_err(|e| CliError::msg(e.to_string()))?;
    send(
        &s.client,
        Method::DELETE,
        &path,
        &[],
        Some(("application/json", body)),
    )
    .await?
    .json()?;
    println!("{} \"{name}\" deleted", r.qualified_kind());
    if a.wait {
        // As kubectl, until the object is gone (finalizers may hold it).
        loop {
            let answer = send(&s.client, Method::GET, &path, &[], None).await?;
            if answer.status == http::StatusCode::NOT_FOUND {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

pub async fn delete(g: &Globals, a: &DeleteArgs) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    // (resource, namespace, name, the file it came from)
    let mut targets: Vec<(Resource, Option<String>, String, Option<String>)> = Vec::new();
    if !a.filenames.is_empty() {
        for m in manifests::read(&a.filenames, a.recursive)? {
            let r = resource_of(&s, &m.object).await?;
            let namespace = namespace_of(&s, &r, &m.object).map(str::to_string);
            let name = m.object["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            targets.push((r, namespace, name, Some(m.source)));
        }
    } else {
        let Some(first) = a.words.first() else {
            return Err(CliError::msg(
                "You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'",
            ));
        };
        if first.contains('/') {
            for word in &a.words {
                let (kind, name) = word.split_once('/').unwrap_or((word, ""));
                let r = discovery::resolve(&s, kind).await?;
                let ns = r.namespaced.then(|| s.namespace.clone());
                targets.push((r, ns, name.to_string(), None));
            }
        } else {
            for kind in first.split(',') {
                let r = discovery::resolve(&s, kind).await?;
                let ns = r.namespaced.then(|| s.namespace.clone());
                if a.words.len() > 1 {
                    for name in &a.words[1..] {
                        targets.push((r.clone(), ns.clone(), name.clone(), None));
                    }
                    continue;
                }
                if !a.all && a.selector.is_none() {
                    return Err(CliError::msg(
                        "resource(s) were provided, but no name was specified",
                    ));
                }
                let query = match &a.selector {
                    Some(sel) => format!("?labelSelector={}", crate::client::encode(sel)),
                    None => String::new(),
                };
                let list = s.get(&format!("{}{query}", r.path(ns.as_deref()))).await?;
                for item in list["items"].as_array().into_iter().flatten() {
                    let name = item["metadata"]["name"].as_str().unwrap_or_default();
                    targets.push((r.clone(), ns.clone(), name.to_string(), None));
                }
            }
            if targets.is_empty() {
                println!("No resources found");
                return Ok(());
            }
        }
    }
    // As kubectl, the errors come after what was deleted.
    let mut errors = Vec::new();
    for (r, namespace, name, source) in &targets {
        if let Err(e) = delete_one(&s, r, namespace.as_deref(), name, a).await {
            errors.push(match source {
                Some(source) => when("deleting", source, e),
                None => e,
            });
        }
    }
    for e in &errors {
        eprintln!("{e}");
    }
    match errors.is_empty() {
        true => Ok(()),
        false => Err(CliError::Silent),
    }
}
