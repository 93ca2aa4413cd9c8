//! What `oc new-app` prints, in upstream's words: a template's description with its parameter
//! values, the objects created (`deployment.apps "web" created`), and how to reach the app.

use serde_json::Value;

use super::build_config::{BuildPlan, BuildSource, Output, Strategy, base_stream_tag};
use super::generate::ImageInput;

/// A template about to be deployed: name, description, message and parameter values.
pub fn describe_template(template: &Value, input: &str, namespace: &str) -> String {
    let meta = &template["metadata"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let name = text(&meta["name"]);
    let qualified = match text(&meta["namespace"]) {
        ns if ns.is_empty() => name.clone(),
        ns => format!("{ns}/{name}"),
    };
    let mut out = match !input.is_empty() && input != name {
        true => format!(
            "--> Deploying template \"{qualified}\" for \"{input}\" to project {namespace}\n\n"
        ),
        false => format!("--> Deploying template \"{qualified}\" to project {namespace}\n\n"),
    };
    let display = match text(&meta["annotations"]["openshift.io/display-name"]) {
        d if d.is_empty() => name,
        d => d,
    };
    let description = text(&meta["annotations"]["description"]);
    let message = text(&template["message"]);
    if !message.is_empty() || !description.is_empty() {
        out.push_str(&format!("     {display}\n     ---------\n"));
        for block in [description, message] {
            if block.is_empty() {
                continue;
            }
            for line in block.trim_end_matches('\n').split('\n') {
                out.push_str(&format!("     {line}\n"));
            }
            out.push('\n');
        }
    }
    let params = template["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !params.is_empty() {
        out.push_str("     * With parameters:\n");
        for p in &params {
            let name = match text(&p["displayName"]) {
                d if d.is_empty() => text(&p["name"]),
                d => d,
            };
            let generated = match text(&p["generate"]).is_empty() {
                true => "",
                false => " # generated",
            };
            out.push_str(&format!(
                "        * {name}={}{generated}\n",
                text(&p["value"])
            ));
        }
        out.push('\n');
    }
    out
}

/// An image about to be deployed: where it was found, what its labels say of it, and what
/// will be made for it (`found` is empty when it could not be looked up).
pub fn describe_image(input: &ImageInput, found: &str, term: &str, dc: bool) -> String {
    let mut out = located(input, found);
    if input.stream_namespace.is_none() {
        out.push_str(&format!(
            "    * An image stream tag will be created as \"{}:{}\" that will track this image\n",
            input.stream, input.tag
        ));
    }
    out.push_str(&deployment_lines(input, term, dc));
    out.push('\n');
    out
}

/// A build about to be made: its builder image (where it was found, `found`), whether a new
/// stream tag will track that image (and so fire builds), its source, strategy and output;
/// then what the deployment config (if any) will do with the built image.
pub fn describe_build(
    plan: &BuildPlan,
    found: &str,
    tracks_base: bool,
    deployed: Option<(&ImageInput, &str, bool)>,
) -> String {
    let mut out = match &plan.base {
        Some(base) => located(base, found),
        None => String::new(),
    };
    let tracked = match tracks_base {
        true => base_stream_tag(plan),
        false => None,
    };
    if let Some(tag) = &tracked {
        out.push_str(&format!(
            "    * An image stream tag will be created as \"{tag}\" that will track the source image\n"
        ));
    }
    if let Some(language) = plan.language.filter(|_| plan.strategy == Strategy::Source) {
        out.push_str(&format!(
            "    * The source repository appears to match: {language}\n"
        ));
    }
    let (source, no_source) = match &plan.source {
        BuildSource::Binary => ("binary input".to_string(), true),
        BuildSource::Dockerfile(_) => ("a predefined Dockerfile".to_string(), false),
        BuildSource::Git { uri, git_ref, .. } if has_host(uri) => {
            let shown = match git_ref {
                Some(r) => format!("{uri}#{r}"),
                None => uri.clone(),
            };
            (format!("source code from {shown}"), false)
        }
        BuildSource::Git { .. } => ("uploaded code".to_string(), true),
    };
    out.push_str(&format!(
        "    * A {} build using {source} will be created\n",
        plan.strategy.word()
    ));
    match &plan.output {
        Output::StreamTag { stream, tag } => out.push_str(&format!(
            "      * The resulting image will be pushed to image stream tag \"{stream}:{tag}\"\n"
        )),
        Output::DockerImage(to) => out.push_str(&format!(
            "      * The resulting image will be pushed with Docker to \"{to}\"\n"
        )),
    }
    match (no_source, &tracked) {
        (true, _) => out.push_str("      * A binary build was created, use 'oc start-build --from-dir' to trigger a new build\n"),
        (false, Some(tag)) => out.push_str(&format!(
            "      * Every time \"{tag}\" changes a new build will be triggered\n"
        )),
        (false, None) => out.push_str("      * Use 'oc start-build' to trigger a new build\n"),
    }
    if let Some((input, term, dc)) = deployed {
        out.push_str(&deployment_lines(input, term, dc));
    }
    out.push('\n');
    out
}

/// Whether a URL names a host (`file:///path` names none).
fn has_host(uri: &str) -> bool {
    match uri.split_once("://") {
        Some((_, rest)) => !rest.starts_with('/'),
        None => uri.contains('@'),
    }
}

/// `--> Found ...` and what the image's labels say of it; nothing when it was not looked up.
fn located(input: &ImageInput, found: &str) -> String {
    let mut out = String::new();
    let labels = &input.config["Labels"];
    let label = |k: &str| labels[k].as_str().unwrap_or_default().to_string();
    if !found.is_empty() {
        out.push_str(&format!("--> {found}\n\n"));
        let display = label("io.k8s.display-name");
        if !display.is_empty() {
            out.pop();
            out.push_str(&format!(
                "\n    {display} \n    {} \n",
                "-".repeat(display.len())
            ));
        }
        let description = label("io.k8s.description");
        if !description.is_empty() {
            out.push_str(&format!("    {description}\n\n"));
        }
        let tags = label("io.openshift.tags");
        if !tags.is_empty() {
            out.push_str(&format!(
                "    Tags: {}\n\n",
                tags.split(',').collect::<Vec<_>>().join(", ")
            ));
        }
    }
    out
}

/// What a deployment config will do with the image (nothing is said of a Deployment).
fn deployment_lines(input: &ImageInput, term: &str, dc: bool) -> String {
    let mut out = String::new();
    if !dc {
        return out;
    }
    let name = &input.name;
    out.push_str(&format!(
        "    * This image will be deployed in deployment config \"{name}\"\n"
    ));
    let ports: Vec<String> = input.ports.clone();
    match ports.len() {
            0 => out.push_str(&format!("    * The image does not expose any ports - if you want to load balance or send traffic to this component\n      you will need to create a service with 'oc expose dc/{name} --port=[port]' later\n")),
            1 => out.push_str(&format!("    * Port {} will be load balanced by service \"{name}\"\n", ports[0])),
            _ => out.push_str(&format!("    * Ports {} will be load balanced by service \"{name}\"\n", ports.join(", "))),
        }
    if !ports.is_empty() {
        out.push_str(&format!(
            "      * Other containers can access this service through the hostname \"{name}\"\n"
        ));
    }
    if !input.volumes.is_empty() {
        out.push_str(&format!("    * This image declares volumes and will default to use non-persistent, host-local storage.\n      You can add persistent volumes later by running 'oc set volume dc/{name} --add ...'\n"));
    }
    let user = input.config["User"].as_str().unwrap_or_default();
    if input.config.is_object() && matches!(user, "" | "root" | "0") {
        out.push_str(&format!("    * WARNING: Image \"{term}\" runs as the 'root' user which may not be permitted by your cluster administrator\n"));
    }
    out
}

/// `<kind>[.<group>] "<name>"`, as the created lines name an object.
pub fn qualified(obj: &Value) -> String {
    let kind = obj["kind"].as_str().unwrap_or_default().to_lowercase();
    let group = obj["apiVersion"]
        .as_str()
        .and_then(|v| v.split_once('/'))
        .map(|(g, _)| g)
        .unwrap_or_default();
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    match group {
        "" => format!("{kind} \"{name}\""),
        g => format!("{kind}.{g} \"{name}\""),
    }
}

/// The lines after `--> Success`: routes to visit, services to expose, `oc status`.
pub fn success(created: &[Value]) -> String {
    let mut out = String::new();
    let routes: Vec<&Value> = created.iter().filter(|o| o["kind"] == "Route").collect();
    let services: Vec<&str> = created
        .iter()
        .filter(|o| o["kind"] == "Service")
        .filter_map(|o| o["metadata"]["name"].as_str())
        .collect();
    for bc in created.iter().filter(|o| o["kind"] == "BuildConfig") {
        let name = bc["metadata"]["name"].as_str().unwrap_or_default();
        let triggered = bc["spec"]["triggers"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| t["type"] == "ImageChange" || t["type"] == "ConfigChange");
        match triggered {
            true => out.push_str(&format!(
                "    Build scheduled, use 'oc logs -f buildconfig/{name}' to track its progress.\n"
            )),
            false => out.push_str(&format!(
                "    Use 'oc start-build {name}' to start a build.\n"
            )),
        }
    }
    for r in &routes {
        if let Some(host) = r["spec"]["host"].as_str().filter(|h| !h.is_empty()) {
            out.push_str(&format!(
                "    Access your application via route '{host}' \n"
            ));
        }
    }
    if routes.is_empty() && !services.is_empty() {
        out.push_str("    Application is not exposed. You can expose services to the outside world by executing one or more of the commands below:\n");
        for s in services {
            out.push_str(&format!("     'oc expose service/{s}' \n"));
        }
    }
    out.push_str("    Run 'oc status' to view your app.\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_template_described() {
        let t = json!({
            "metadata": {"name": "db", "namespace": "openshift",
                         "annotations": {"openshift.io/display-name": "Database", "description": "A database."}},
            "message": "Password: x",
            "parameters": [{"name": "USER", "value": "u"},
                           {"name": "PASSWORD", "displayName": "Password", "generate": "expression", "value": "x"}],
        });
        assert_eq!(
            describe_template(&t, "db", "shop"),
            "--> Deploying template \"openshift/db\" to project shop\n\n     Database\n     ---------\n     A database.\n\n     Password: x\n\n     * With parameters:\n        * USER=u\n        * Password=x # generated\n\n"
        );
        let input = ImageInput {
            name: "db".into(),
            stream: "db".into(),
            tag: "1".into(),
            ports: vec!["5432/tcp".into()],
            config: json!({"Labels": {"io.k8s.display-name": "PostgreSQL 12", "io.k8s.description": "A database.", "io.openshift.tags": "database,postgresql"}, "User": "26"}),
            ..Default::default()
        };
        assert_eq!(
            describe_image(
                &input,
                "Found container image 667898a from quay.io for \"q/db:1\"",
                "q/db:1",
                false
            ),
            "--> Found container image 667898a from quay.io for \"q/db:1\"\n\n    PostgreSQL 12 \n    ------------- \n    A database.\n\n    Tags: database, postgresql\n\n    * An image stream tag will be created as \"db:1\" that will track this image\n\n"
        );
        assert!(
            describe_image(&input, "", "q/db:1", true).ends_with("    * Port 5432/tcp will be load balanced by service \"db\"\n      * Other containers can access this service through the hostname \"db\"\n\n")
        );
        let created = [json!({"kind": "Service", "metadata": {"name": "db"}})];
        assert_eq!(
            success(&created),
            "    Application is not exposed. You can expose services to the outside world by executing one or more of the commands below:\n     'oc expose service/db' \n    Run 'oc status' to view your app.\n"
        );
        assert_eq!(
            qualified(
                &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"}})
            ),
            "deployment.apps \"w\""
        );
    }

    #[test]
    fn builds_described() {
        use super::super::build_config::Strategy;
        let base = ImageInput {
            name: "base".into(),
            stream: "base".into(),
            tag: "1".into(),
            ..Default::default()
        };
        let mut plan = BuildPlan {
            name: "web".into(),
            source: BuildSource::Git {
                uri: "git://127.0.0.1:9418/web".into(),
                git_ref: None,
                context_dir: String::new(),
            },
            strategy: Strategy::Docker,
            base: Some(base),
            output: Output::StreamTag {
                stream: "web".into(),
                tag: "latest".into(),
            },
            env: vec![],
            generated_by: "OpenShiftNewApp",
            language: Some("nodejs"),
        };
        assert_eq!(
            describe_build(
                &plan,
                "Found container image 1234567 from 127.0.0.1:5000 for \"b\"",
                true,
                None
            ),
            "--> Found container image 1234567 from 127.0.0.1:5000 for \"b\"\n\n    \
             * An image stream tag will be created as \"base:1\" that will track the source image\n    \
             * A Docker build using source code from git://127.0.0.1:9418/web will be created\n      \
             * The resulting image will be pushed to image stream tag \"web:latest\"\n      \
             * Every time \"base:1\" changes a new build will be triggered\n\n"
        );
        plan.strategy = Strategy::Source;
        let text = describe_build(&plan, "", false, None);
        assert!(
            text.starts_with(
                "    * The source repository appears to match: nodejs\n    * A source build using source code"
            ),
            "{text}"
        );
        plan.strategy = Strategy::Docker;
        plan.source = BuildSource::Binary;
        plan.base = None;
        let text = describe_build(&plan, "", false, None);
        assert_eq!(
            text,
            "    * A Docker build using binary input will be created\n      \
             * The resulting image will be pushed to image stream tag \"web:latest\"\n      \
             * A binary build was created, use 'oc start-build --from-dir' to trigger a new build\n\n"
        );
        let created = [
            serde_json::json!({"kind": "BuildConfig", "metadata": {"name": "web"},
            "spec": {"triggers": [{"type": "ConfigChange"}]}}),
        ];
        assert_eq!(
            success(&created),
            "    Build scheduled, use 'oc logs -f buildconfig/web' to track its progress.\n    Run 'oc status' to view your app.\n"
        );
    }
}
