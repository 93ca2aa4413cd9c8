//! What a push's payload asks of a build config, for each kind of webhook (upstream's
//! webhook plugins): the revision to build, or a reason to build nothing, or a refusal.
//! Pure: headers and body in, `Outcome` out.

use axum::http::HeaderMap;
use serde_json::{Value, json};

/// What a webhook call comes to.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// Build, with this revision (if the payload named one), env (generic, when allowed),
    /// docker options, and a warning to answer with.
    Build {
        revision: Option<Value>,
        env: Vec<Value>,
        docker_options: Option<Value>,
        warning: Option<String>,
    },
    /// Nothing to build (a ping, another branch); the message, if any, is answered.
    Skip(Option<String>),
    /// 400 with this message.
    Refuse(String),
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn media_type(headers: &HeaderMap) -> Option<String> {
    header(headers, "content-type").map(|v| {
        v.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    })
}

/// `refs/heads/x` → `x`.
fn branch(reference: &str) -> &str {
    reference.strip_prefix("refs/heads/").unwrap_or(reference)
}

/// Whether a pushed ref is the one the config builds (`master` when it names none).
fn matches_ref(pushed: &str, configured: &str) -> bool {
    let configured = if configured.is_empty() {
        "master"
    } else {
        configured
    };
    branch(pushed) == branch(configured)
}

fn person(p: &Value) -> Value {
    json!({"name": p["name"].as_str().unwrap_or_default(), "email": p["email"].as_str().unwrap_or_default()})
}

fn git_revision(commit: &str, message: &str, author: Value, committer: Value) -> Value {
    json!({"type": "Git", "git": {"commit": commit, "message": message,
        "author": author, "committer": committer}})
}

fn build(revision: Option<Value>) -> Outcome {
    Outcome::Build {
        revision,
        env: Vec::new(),
        docker_options: None,
        warning: None,
    }
}

fn json_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, Outcome> {
    match media_type(headers).as_deref() {
        Some("application/json") => {}
        Some(other) => return Err(Outcome::Refuse(format!("unsupported Content-Type {other}"))),
        None => return Err(Outcome::Refuse("unsupported Content-Type ".into())),
    }
    serde_json::from_slice(body).map_err(|e| Outcome::Refuse(e.to_string()))
}

/// GitHub (and Gogs) push events.
pub fn github(headers: &HeaderMap, body: &[u8], configured_ref: &str) -> Outcome {
    let payload = match json_body(headers, body) {
        Ok(p) => p,
        Err(outcome) => return outcome,
    };
    let Some(event) = header(headers, "x-github-event").or(header(headers, "x-gogs-event")) else {
        return Outcome::Refuse("missing X-GitHub-Event or X-Gogs-Event".into());
    };
    match event {
        "ping" => return Outcome::Skip(None),
        "push" => {}
        other => return Outcome::Refuse(format!("Unknown X-GitHub-Event or X-Gogs-Event {other}")),
    }
    if !matches_ref(payload["ref"].as_str().unwrap_or_default(), configured_ref) {
        return Outcome::Skip(None);
    }
    let head = &payload["head_commit"];
    let commit = head["id"]
        .as_str()
        .or(payload["after"].as_str())
        .unwrap_or_default();
    build(Some(git_revision(
        commit,
        head["message"].as_str().unwrap_or_default(),
        person(&head["author"]),
        person(&head["committer"]),
    )))
}

/// GitLab push hooks: the revision is the first commit's.
pub fn gitlab(headers: &HeaderMap, body: &[u8], configured_ref: &str) -> Outcome {
    let payload = match json_body(headers, body) {
        Ok(p) => p,
        Err(outcome) => return outcome,
    };
    match header(headers, "x-gitlab-event") {
        None => return Outcome::Refuse("missing X-Gitlab-Event".into()),
        Some("Push Hook") => {}
        Some(other) => return Outcome::Refuse(format!("Unknown X-Gitlab-Event {other}")),
    }
    if !matches_ref(payload["ref"].as_str().unwrap_or_default(), configured_ref) {
        return Outcome::Skip(None);
    }
    let first = &payload["commits"][0];
    let author = person(&first["author"]);
    build(Some(git_revision(
        first["id"].as_str().unwrap_or_default(),
        first["message"].as_str().unwrap_or_default(),
        author.clone(),
        author,
    )))
}

/// Bitbucket Cloud (`repo:push`) and Server (`repo:refs_changed`) pushes.
pub fn bitbucket(headers: &HeaderMap, body: &[u8], configured_ref: &str) -> Outcome {
    let payload = match json_body(headers, body) {
        Ok(p) => p,
        Err(outcome) => return outcome,
    };
    let (changes, cloud) = match header(headers, "x-event-key") {
        Some("repo:push") => (&payload["push"]["changes"], true),
        Some("repo:refs_changed") => (&payload["changes"], false),
        other => {
            return Outcome::Refuse(format!(
                "Unknown Bitbucket X-Event-Key {}",
                other.unwrap_or_default()
            ));
        }
    };
    let Some(change) = changes.as_array().and_then(|c| c.first()) else {
        return Outcome::Refuse(format!(
            "Unable to extract valid event from payload: {}",
            String::from_utf8_lossy(body)
        ));
    };
    let (name, commit) = if cloud {
        (
            change["new"]["name"]
                .as_str()
                .or(change["old"]["name"].as_str()),
            change["commits"][0]["hash"].as_str(),
        )
    } else {
        (
            change["ref"]["displayId"].as_str(),
            change["toHash"].as_str(),
        )
    };
    if !matches_ref(name.unwrap_or_default(), configured_ref) {
        return Outcome::Skip(None);
    }
    let author = json!({"name": payload["actor"]["username"].as_str()
        .or(payload["actor"]["name"].as_str()).unwrap_or_default()});
    build(Some(git_revision(
        commit.unwrap_or_default(),
        "",
        author.clone(),
        author,
    )))
}

/// The generic webhook: any body (or none); its `git` names the revision, its `env` is taken
/// only when the trigger allows it.
pub fn generic(
    headers: &HeaderMap,
    body: &[u8],
    configured_ref: &str,
    git_source: bool,
    allow_env: bool,
) -> Outcome {
    if body.is_empty() {
        return build(None);
    }
    let parsed = match media_type(headers).as_deref() {
        Some("application/json") => {
            serde_json::from_slice::<Value>(body).map_err(|e| e.to_string())
        }
        Some("application/yaml" | "application/x-yaml" | "text/yaml") => std::str::from_utf8(body)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_saphyr::from_str::<Value>(t).map_err(|e| e.to_string())),
        _ => {
            return Outcome::Build {
                revision: None,
                env: Vec::new(),
                docker_options: None,
                warning: Some(
                    "invalid Content-Type on payload, ignoring payload and continuing with build"
                        .into(),
                ),
            };
        }
    };
    let payload = match parsed {
        Ok(p) => p,
        Err(e) => {
            return Outcome::Build {
                revision: None,
                env: Vec::new(),
                docker_options: None,
                warning: Some(format!(
                    "error unmarshalling payload: {e}, ignoring payload and continuing with build"
                )),
            };
        }
    };
    let env = if allow_env {
        payload["env"].as_array().cloned().unwrap_or_default()
    } else {
        Vec::new()
    };
    let docker_options = Some(payload["dockerStrategyOptions"].clone()).filter(Value::is_object);
    let git = &payload["git"];
    if !git.is_object() {
        return Outcome::Build {
            revision: None,
            env,
            docker_options,
            warning: git_source.then(|| {
                "no git information found in payload, ignoring and continuing with build"
                    .to_string()
            }),
        };
    }
    if git_source {
        if let Some(refs) = git["refs"].as_array().filter(|r| !r.is_empty()) {
            let Some(found) = refs
                .iter()
                .find(|r| matches_ref(r["ref"].as_str().unwrap_or_default(), configured_ref))
            else {
                return Outcome::Skip(Some(format!(
                    "skipping build. None of the supplied refs matched {configured_ref:?}"
                )));
            };
            let revision = git_revision(
                found["commit"].as_str().unwrap_or_default(),
                found["message"].as_str().unwrap_or_default(),
                person(&found["author"]),
                person(&found["committer"]),
            );
            return Outcome::Build {
                revision: Some(revision),
                env,
                docker_options,
                warning: None,
            };
        }
        let pushed = git["ref"].as_str().unwrap_or_default();
        if !pushed.is_empty() && !matches_ref(pushed, configured_ref) {
            return Outcome::Skip(Some(format!(
                "skipping build. Branch reference from {pushed:?} does not match configuration"
            )));
        }
    }
    let revision = git_revision(
        git["commit"].as_str().unwrap_or_default(),
        git["message"].as_str().unwrap_or_default(),
        person(&git["author"]),
        person(&git["committer"]),
    );
    Outcome::Build {
        revision: Some(revision),
        env,
        docker_options,
        warning: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn github_pushes_of_the_configured_branch_build() {
        let h = headers(&[
            ("content-type", "application/json"),
            ("x-github-event", "push"),
        ]);
        let body = br#"{"ref":"refs/heads/main","head_commit":{"id":"abc","message":"m","author":{"name":"a","email":"e"}}}"#;
        match github(&h, body, "main") {
            Outcome::Build {
                revision: Some(r), ..
            } => assert_eq!(r["git"]["commit"], "abc"),
            other => panic!("{other:?}"),
        }
        assert_eq!(github(&h, body, ""), Outcome::Skip(None));
        let ping = headers(&[
            ("content-type", "application/json"),
            ("x-github-event", "ping"),
        ]);
        assert_eq!(github(&ping, b"{}", ""), Outcome::Skip(None));
        let bad = headers(&[("content-type", "application/json")]);
        assert_eq!(
            github(&bad, b"{}", ""),
            Outcome::Refuse("missing X-GitHub-Event or X-Gogs-Event".into())
        );
    }

    #[test]
    fn generic_payloads_are_optional_and_filtered_by_branch() {
        let h = headers(&[("content-type", "application/json")]);
        assert!(matches!(
            generic(&h, b"", "", true, false),
            Outcome::Build { revision: None, .. }
        ));
        let other = br#"{"git":{"ref":"refs/heads/dev","commit":"1"}}"#;
        assert_eq!(
            generic(&h, other, "main", true, false),
            Outcome::Skip(Some("skipping build. Branch reference from \"refs/heads/dev\" does not match configuration".into()))
        );
        let env = br#"{"git":{"ref":"main","commit":"1"},"env":[{"name":"A","value":"1"}]}"#;
        match generic(&h, env, "main", true, true) {
            Outcome::Build {
                env,
                revision: Some(r),
                ..
            } => {
                assert_eq!(env.len(), 1);
                assert_eq!(r["git"]["commit"], "1");
            }
            other => panic!("{other:?}"),
        }
        let text = headers(&[("content-type", "text/plain")]);
        assert!(matches!(
            generic(&text, b"x", "", true, false),
            Outcome::Build {
                warning: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn gitlab_and_bitbucket_events() {
        let h = headers(&[
            ("content-type", "application/json"),
            ("x-gitlab-event", "Tag Push Hook"),
        ]);
        assert_eq!(
            gitlab(&h, b"{}", ""),
            Outcome::Refuse("Unknown X-Gitlab-Event Tag Push Hook".into())
        );
        let b = headers(&[
            ("content-type", "application/json"),
            ("x-event-key", "repo:push"),
        ]);
        assert!(matches!(
            bitbucket(&b, br#"{"push":{"changes":[]}}"#, ""),
            Outcome::Refuse(_)
        ));
        let body = br#"{"push":{"changes":[{"new":{"name":"master"},"commits":[{"hash":"h"}]}]},"actor":{"username":"u"}}"#;
        assert!(matches!(
            bitbucket(&b, body, ""),
            Outcome::Build {
                revision: Some(_),
                ..
            }
        ));
    }
}
