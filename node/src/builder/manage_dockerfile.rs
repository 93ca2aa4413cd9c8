//! The `manage-dockerfile` step: an inline Dockerfile written into the sources, and for the
//! Docker strategy the Dockerfile rewritten as upstream's builder does (`dockerfile`).

use std::os::unix::fs::PermissionsExt;

use super::build_spec::{Build, Revision};
use super::context::StepContext;
use super::dockerfile;
use super::failure::StepFailure;
use super::source_info;

/// The build's variables, in upstream's order (`OPENSHIFT_BUILD_*`).
pub fn build_env(build: &Build, revision: Option<&Revision>) -> Vec<(String, String)> {
    let mut env = vec![
        (
            "OPENSHIFT_BUILD_NAME".to_string(),
            build.metadata.name.clone(),
        ),
        (
            "OPENSHIFT_BUILD_NAMESPACE".to_string(),
            build.metadata.namespace.clone(),
        ),
    ];
    if let Some(git) = &build.spec.source.git {
        env.push(("OPENSHIFT_BUILD_SOURCE".into(), git.uri.clone()));
        if let Some(r) = git.reference.as_ref().filter(|r| !r.is_empty()) {
            env.push(("OPENSHIFT_BUILD_REFERENCE".into(), r.clone()));
        }
        if let Some(commit) = revision.map(|r| &r.commit).filter(|c| !c.is_empty()) {
            env.push(("OPENSHIFT_BUILD_COMMIT".into(), commit.clone()));
        }
    }
    env
}

/// The image's labels about its build, sorted, then `output.imageLabels` (which win).
pub fn build_labels(build: &Build, revision: Option<&Revision>) -> Vec<(String, String)> {
    let mut labels: Vec<(String, String)> = Vec::new();
    let mut add = |k: &str, v: &str| {
        if !v.is_empty() {
            labels.push((k.to_string(), v.to_string()));
        }
    };
    if let Some(r) = revision {
        if !r.author_name.is_empty() {
            add(
                "io.openshift.build.commit.author",
                &format!("{} <{}>", r.author_name, r.author_email),
            );
        }
        add("io.openshift.build.commit.date", &r.date);
        add("io.openshift.build.commit.id", &r.commit);
        add("io.openshift.build.commit.message", &r.message);
    }
    if let Some(git) = &build.spec.source.git {
        add(
            "io.openshift.build.commit.ref",
            git.reference.as_deref().unwrap_or(""),
        );
        add("io.openshift.build.source-location", &git.uri);
    }
    add("io.openshift.build.name", &build.metadata.name);
    add("io.openshift.build.namespace", &build.metadata.namespace);
    add("io.openshift.build.source-context-dir", build.context_dir());
    labels.sort();
    for l in &build.spec.output.image_labels {
        let value = l.value.clone().unwrap_or_default();
        match labels.iter_mut().find(|(k, _)| *k == l.name) {
            Some(found) => found.1 = value,
            None => labels.push((l.name.clone(), value)),
        }
    }
    labels
}

/// The Docker strategy's Dockerfile as it is built: `from` replacing the last `FROM`, the
/// strategy's environment after each `FROM`, the build's `ENV` and `LABEL` at the end. The
/// image replaced, if any.
pub fn rewrite(
    text: &str,
    build: &Build,
    revision: Option<&Revision>,
) -> Result<(String, Option<String>), String> {
    let Some(docker) = build.spec.strategy.docker_strategy.as_ref() else {
        return Ok((text.to_string(), None));
    };
    let mut text = text.to_string();
    let mut replaced = None;
    if let Some(from) = docker.from.as_ref().filter(|f| f.kind == "DockerImage") {
        let (out, old) = dockerfile::replace_last_from(&text, &from.name)
            .ok_or_else(|| "no FROM image in Dockerfile".to_string())?;
        text = out;
        replaced = Some(old);
    }
    let env: Vec<(String, String)> = docker
        .env
        .iter()
        .map(|e| (e.name.clone(), e.value.clone().unwrap_or_default()))
        .collect();
    text = dockerfile::env_after_each_from(&text, &env);
    let mut lines = vec![dockerfile::pairs_line("ENV", &build_env(build, revision))];
    let labels = build_labels(build, revision);
    if !labels.is_empty() {
        lines.push(dockerfile::pairs_line("LABEL", &labels));
    }
    Ok((dockerfile::append(&text, &lines), replaced))
}

pub async fn run(ctx: &StepContext) -> Result<(), StepFailure> {
    let context = ctx.context()?;
    let work = ctx.work_dir()?;
    let fail = |e: std::io::Error| StepFailure::manage_dockerfile(e.to_string());
    if let Some(inline) = ctx.build.spec.source.dockerfile.as_deref() {
        std::fs::create_dir_all(&context).map_err(fail)?;
        let path = context.join("Dockerfile");
        std::fs::write(&path, inline).map_err(fail)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o660)).map_err(fail)?;
    }
    let Some(docker) = ctx.build.spec.strategy.docker_strategy.as_ref() else {
        return Ok(());
    };
    let path = context.join(docker.dockerfile_path.as_deref().unwrap_or("Dockerfile"));
    let text = std::fs::read_to_string(&path).map_err(|e| {
        StepFailure::manage_dockerfile(format!("unable to read {}: {e}", path.display()))
    })?;
    let revision = source_info::read(&work);
    let (text, replaced) =
        rewrite(&text, &ctx.build, revision.as_ref()).map_err(StepFailure::manage_dockerfile)?;
    if let Some(old) = replaced {
        ctx.log
            .line(&format!("Replaced Dockerfile FROM image {old}"));
    }
    std::fs::write(&path, text).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build() -> Build {
        let text = r#"{"metadata":{"name":"web-1","namespace":"p"},
            "spec":{"source":{"git":{"uri":"git://127.0.0.1/r","ref":"main"}},
              "strategy":{"dockerStrategy":{"from":{"kind":"DockerImage","name":"127.0.0.1:5000/p/base@sha256:aa"},
                "env":[{"name":"MODE","value":"prod"}]}},
              "output":{"imageLabels":[{"name":"io.openshift.build.name","value":"mine"},{"name":"team","value":"a"}]}}}"#;
        Build::parse(text).unwrap().0
    }

    #[test]
    fn the_dockerfile_is_rewritten_as_upstreams_builder_does() {
        let revision = Revision {
            commit: "c1".into(),
            message: "msg".into(),
            author_name: "Ann".into(),
            author_email: "a@x".into(),
            date: "today".into(),
            ..Default::default()
        };
        let (out, replaced) = rewrite(
            "FROM busybox AS b\nFROM base\nCMD x\n",
            &build(),
            Some(&revision),
        )
        .unwrap();
        assert_eq!(replaced.as_deref(), Some("base"));
        let expected = concat!(
            "FROM busybox AS b\nENV \"MODE\"=\"prod\"\n",
            "FROM 127.0.0.1:5000/p/base@sha256:aa\nENV \"MODE\"=\"prod\"\nCMD x\n",
            "ENV \"OPENSHIFT_BUILD_NAME\"=\"web-1\" \"OPENSHIFT_BUILD_NAMESPACE\"=\"p\" ",
            "\"OPENSHIFT_BUILD_SOURCE\"=\"git://127.0.0.1/r\" \"OPENSHIFT_BUILD_REFERENCE\"=\"main\" ",
            "\"OPENSHIFT_BUILD_COMMIT\"=\"c1\"\n",
            "LABEL \"io.openshift.build.commit.author\"=\"Ann <a@x>\" ",
            "\"io.openshift.build.commit.date\"=\"today\" \"io.openshift.build.commit.id\"=\"c1\" ",
            "\"io.openshift.build.commit.message\"=\"msg\" \"io.openshift.build.commit.ref\"=\"main\" ",
            "\"io.openshift.build.name\"=\"mine\" \"io.openshift.build.namespace\"=\"p\" ",
            "\"io.openshift.build.source-location\"=\"git://127.0.0.1/r\" \"team\"=\"a\"\n",
        );
        assert_eq!(out, expected);
    }

    #[test]
    fn a_from_to_replace_needs_a_from() {
        assert_eq!(
            rewrite("RUN x\n", &build(), None).unwrap_err(),
            "no FROM image in Dockerfile"
        );
    }
}
