//! What `oc new-app` prints, in upstream's words: a template's description with its parameter
//! values, the objects created (`deployment.apps "web" created`), and how to reach the app.

use serde_json::Value;

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
    if input.stream_namespace.is_none() {
        out.push_str(&format!(
            "    * An image stream tag will be created as \"{}:{}\" that will track this image\n",
            input.stream, input.tag
        ));
    }
    if dc {
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
    }
    out.push('\n');
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
}
