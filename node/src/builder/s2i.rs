//! The Dockerfile source-to-image generates from a builder image and sources (s2i's
//! `--as-dockerfile`): for an incremental build a first stage running the previous image's
//! `save-artifacts`, then the sources (and override scripts) copied in as root, handed to the
//! assemble user, the saved artifacts unpacked, assembled by the image's `assemble` script,
//! run by its `run` script.

use super::dockerfile::quote;

/// Where images keep their scripts when their labels say nothing.
pub const DEFAULT_SCRIPTS_DIR: &str = "/usr/libexec/s2i";
const DEFAULT_DESTINATION: &str = "/tmp";
const DEFAULT_USER: &str = "1001";
/// Where the previous image's saved artifacts travel between the stages.
const ARTIFACTS_TAR: &str = "/tmp/artifacts.tar";

/// What the generated Dockerfile is made of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub builder_image: String,
    /// The image's scripts directory (`io.openshift.s2i.scripts-url` without `image://`).
    pub scripts_dir: String,
    pub destination: String,
    pub user: String,
    /// The sources bring their own scripts (`.s2i/bin`), copied to `upload/scripts`.
    pub override_scripts: Vec<String>,
    pub env: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
    /// The previous image whose artifacts an incremental build restores.
    pub incremental_from: Option<String>,
}

/// A scripts URL as the image or the strategy gives it; only `image://` paths are used
/// (the builder downloads nothing).
pub fn scripts_dir(url: &str) -> Option<String> {
    url.strip_prefix("image://")
        .map(|p| p.trim_end_matches('/').to_string())
}

/// What the builder image says of itself, with the strategy's `scripts`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FromImage {
    pub scripts_dir: String,
    pub destination: String,
    pub user: String,
    /// Labels the output image carries about the build's s2i settings (the strategy's
    /// scripts URL, the image's destination), as upstream adds them.
    pub labels: Vec<(String, String)>,
}

/// The plan's image-derived parts from the builder image's labels and user, and the
/// strategy's `scripts`: the assemble user is the image's user unless its
/// `io.openshift.s2i.assemble-user` label says otherwise, `1001` when neither does.
pub fn from_image(
    labels: &serde_json::Map<String, serde_json::Value>,
    image_user: &str,
    strategy_scripts: Option<&str>,
) -> FromImage {
    let label = |k: &str| {
        labels
            .get(k)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let strategy_scripts = strategy_scripts.filter(|s| !s.is_empty());
    let scripts_dir = strategy_scripts
        .and_then(scripts_dir)
        .or_else(|| label("io.openshift.s2i.scripts-url").and_then(scripts_dir))
        .or_else(|| label("io.s2i.scripts-url").and_then(scripts_dir))
        .unwrap_or_else(|| DEFAULT_SCRIPTS_DIR.to_string());
    let destination_label = label("io.openshift.s2i.destination");
    let destination = destination_label
        .unwrap_or(DEFAULT_DESTINATION)
        .trim_end_matches('/')
        .to_string();
    let user = match labels.get("io.openshift.s2i.assemble-user") {
        Some(v) => v.as_str().unwrap_or_default().to_string(),
        None => image_user.to_string(),
    };
    let user = Some(user)
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_USER.to_string());
    let mut out_labels = Vec::new();
    if let Some(url) = strategy_scripts {
        out_labels.push(("io.openshift.s2i.scripts-url".to_string(), url.to_string()));
    }
    if let Some(d) = destination_label {
        out_labels.push(("io.openshift.s2i.destination".to_string(), d.to_string()));
    }
    FromImage {
        scripts_dir,
        destination,
        user,
        labels: out_labels,
    }
}

/// `.s2i/environment`: `KEY=VALUE` lines, comments and blank lines skipped.
pub fn environment_file(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| !k.trim().is_empty())
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .collect()
}

/// s2i's `ENV` instruction: values quoted with `$`, `"` and `\` escaped so they are taken
/// as they are; one variable a line.
fn env_instruction(env: &[(String, String)]) -> String {
    let escape = |v: &str| {
        v.chars().fold(String::new(), |mut out, c| {
            if matches!(c, '$' | '"' | '\\') {
                out.push('\\');
            }
            out.push(c);
            out
        })
    };
    env.iter()
        .enumerate()
        .map(|(i, (k, v))| match i {
            0 => format!("ENV {k}=\"{}\"", escape(v)),
            _ => format!(" \\\n    {k}=\"{}\"", escape(v)),
        })
        .collect()
}

/// Newlines of a path or name kept out of the Dockerfile's syntax.
fn sanitize(s: &str) -> String {
    s.replace('\n', "\\n")
}

pub fn dockerfile(plan: &Plan) -> String {
    let dest = sanitize(&plan.destination);
    let user = sanitize(&plan.user);
    let scripts_dest = format!("{dest}/scripts");
    let provided = |name: &str| plan.override_scripts.iter().any(|s| s == name);
    let image_script = |name: &str| format!("{}/{name}", sanitize(&plan.scripts_dir));
    let mut out = String::new();
    let mut line = |l: &str| {
        out.push_str(l);
        out.push('\n');
    };
    if let Some(previous) = &plan.incremental_from {
        line(&format!("FROM {} as cached", sanitize(previous)));
        let artifacts_script = if provided("save-artifacts") {
            line("# Copying in override save-artifacts script");
            line("USER root");
            let script = format!("{scripts_dest}/save-artifacts");
            line(&format!("COPY upload/scripts/save-artifacts {script}"));
            line(&format!("RUN chown {user}:0 {script}"));
            script
        } else {
            line(
                "# Save-artifacts script sourced from builder image based on user input or image metadata.",
            );
            image_script("save-artifacts")
        };
        if user != "root" {
            line(&format!("USER {user}"));
        }
        line(&format!(
            "RUN if [ -s {artifacts_script} ]; then {artifacts_script} > {ARTIFACTS_TAR}; else touch {ARTIFACTS_TAR}; fi"
        ));
    }
    line(&format!("FROM {}", sanitize(&plan.builder_image)));
    let mut labels = vec![(
        "io.openshift.build.image".to_string(),
        plan.builder_image.clone(),
    )];
    for (k, v) in &plan.labels {
        labels.retain(|(have, _)| have != k);
        labels.push((k.clone(), v.clone()));
    }
    labels.sort();
    let label_pairs: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{}={}", quote(k), quote(v)))
        .collect();
    line(&format!("LABEL {}", label_pairs.join(" \\\n      ")));
    line(&env_instruction(&plan.env));
    line("USER root");
    let mut owned = Vec::new();
    if plan.incremental_from.is_some() {
        line(&format!(
            "COPY --from=cached {ARTIFACTS_TAR} {ARTIFACTS_TAR}"
        ));
        owned.push(ARTIFACTS_TAR.to_string());
    }
    if !plan.override_scripts.is_empty() {
        line("# Copying in override assemble/run scripts");
        line(&format!("COPY upload/scripts {scripts_dest}"));
        owned.push(scripts_dest.clone());
    }
    line("# Copying in source code");
    line(&format!("COPY upload/src {dest}/src"));
    owned.push(format!("{dest}/src"));
    line("# Change file ownership to the assemble user. Builder image must support chown command.");
    line(&format!("RUN chown -R {user}:0 {}", owned.join(" ")));
    if user != "root" {
        line(&format!("USER {user}"));
    }
    if plan.incremental_from.is_some() {
        line("# Extract artifact content");
        line(&format!(
            "RUN if [ -s {ARTIFACTS_TAR} ]; then mkdir -p {dest}/artifacts; tar -xf {ARTIFACTS_TAR} -C {dest}/artifacts; fi && \\"
        ));
        line(&format!("    rm {ARTIFACTS_TAR}"));
    }
    let from_image_comment = |line: &mut dyn FnMut(&str), what: &str| {
        line(&format!(
            "# {what} script sourced from builder image based on user input or image metadata."
        ));
        line("# If this file does not exist in the image, the build will fail.");
    };
    if provided("assemble") {
        line(&format!("RUN {scripts_dest}/assemble"));
    } else {
        from_image_comment(&mut line, "Assemble");
        line(&format!("RUN {}", image_script("assemble")));
    }
    if provided("run") {
        line(&format!("CMD {scripts_dest}/run"));
    } else {
        from_image_comment(&mut line, "Run");
        line(&format!("CMD {}", image_script("run")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_image_says_where_its_scripts_are_and_who_assembles() {
        let labels = json!({"io.openshift.s2i.scripts-url": "image:///opt/s2i/",
            "io.openshift.s2i.destination": "/opt/app/"});
        let labels = labels.as_object().unwrap();
        let found = from_image(labels, "", None);
        assert_eq!(
            (found.scripts_dir.as_str(), found.destination.as_str()),
            ("/opt/s2i", "/opt/app")
        );
        assert_eq!(found.user, "1001");
        assert_eq!(
            found.labels,
            [(
                "io.openshift.s2i.destination".to_string(),
                "/opt/app/".to_string()
            )]
        );
        let overridden = from_image(labels, "1000", Some("image:///usr/local/s2i"));
        assert_eq!(overridden.scripts_dir, "/usr/local/s2i");
        assert_eq!(overridden.user, "1000");
        assert_eq!(
            overridden.labels[0],
            (
                "io.openshift.s2i.scripts-url".to_string(),
                "image:///usr/local/s2i".to_string()
            )
        );
        let none = serde_json::Map::new();
        let plain = from_image(&none, "", Some("http://127.0.0.1/scripts"));
        assert_eq!(
            (plain.scripts_dir.as_str(), plain.destination.as_str()),
            (DEFAULT_SCRIPTS_DIR, "/tmp")
        );
        // The assemble-user label wins over the image's user.
        let labelled = json!({"io.openshift.s2i.assemble-user": "2000"});
        assert_eq!(
            from_image(labelled.as_object().unwrap(), "1000", None).user,
            "2000"
        );
    }

    #[test]
    fn the_environment_file_is_read() {
        assert_eq!(
            environment_file("# c\nA=1\n\nB = x=y\nnovalue\n"),
            [
                ("A".to_string(), "1".to_string()),
                ("B".to_string(), " x=y".to_string())
            ]
        );
    }

    fn plan() -> Plan {
        Plan {
            builder_image: "127.0.0.1:5000/p/s2i@sha256:aa".into(),
            scripts_dir: "/usr/libexec/s2i".into(),
            destination: "/tmp".into(),
            user: "1001".into(),
            override_scripts: vec!["run".into()],
            env: vec![("A".into(), "1 $x".into()), ("B".into(), "2".into())],
            labels: vec![("io.openshift.build.name".into(), "b-1".into())],
            incremental_from: None,
        }
    }

    #[test]
    fn the_dockerfile_is_s2is() {
        assert_eq!(
            dockerfile(&plan()),
            concat!(
                "FROM 127.0.0.1:5000/p/s2i@sha256:aa\n",
                "LABEL \"io.openshift.build.image\"=\"127.0.0.1:5000/p/s2i@sha256:aa\" \\\n",
                "      \"io.openshift.build.name\"=\"b-1\"\n",
                "ENV A=\"1 \\$x\" \\\n    B=\"2\"\n",
                "USER root\n",
                "# Copying in override assemble/run scripts\n",
                "COPY upload/scripts /tmp/scripts\n",
                "# Copying in source code\n",
                "COPY upload/src /tmp/src\n",
                "# Change file ownership to the assemble user. Builder image must support chown command.\n",
                "RUN chown -R 1001:0 /tmp/scripts /tmp/src\n",
                "USER 1001\n",
                "# Assemble script sourced from builder image based on user input or image metadata.\n",
                "# If this file does not exist in the image, the build will fail.\n",
                "RUN /usr/libexec/s2i/assemble\n",
                "CMD /tmp/scripts/run\n",
            )
        );
        let root = Plan {
            user: "root".into(),
            ..plan()
        };
        assert!(!dockerfile(&root).contains("USER root\n# Assemble"));
        assert_eq!(dockerfile(&root).matches("USER ").count(), 1);
    }

    #[test]
    fn an_incremental_build_restores_the_previous_images_artifacts() {
        let incremental = Plan {
            incremental_from: Some("127.0.0.1:5000/p/web:latest".into()),
            override_scripts: vec![],
            env: vec![],
            ..plan()
        };
        assert_eq!(
            dockerfile(&incremental),
            concat!(
                "FROM 127.0.0.1:5000/p/web:latest as cached\n",
                "# Save-artifacts script sourced from builder image based on user input or image metadata.\n",
                "USER 1001\n",
                "RUN if [ -s /usr/libexec/s2i/save-artifacts ]; then /usr/libexec/s2i/save-artifacts > /tmp/artifacts.tar; else touch /tmp/artifacts.tar; fi\n",
                "FROM 127.0.0.1:5000/p/s2i@sha256:aa\n",
                "LABEL \"io.openshift.build.image\"=\"127.0.0.1:5000/p/s2i@sha256:aa\" \\\n",
                "      \"io.openshift.build.name\"=\"b-1\"\n",
                "\n",
                "USER root\n",
                "COPY --from=cached /tmp/artifacts.tar /tmp/artifacts.tar\n",
                "# Copying in source code\n",
                "COPY upload/src /tmp/src\n",
                "# Change file ownership to the assemble user. Builder image must support chown command.\n",
                "RUN chown -R 1001:0 /tmp/artifacts.tar /tmp/src\n",
                "USER 1001\n",
                "# Extract artifact content\n",
                "RUN if [ -s /tmp/artifacts.tar ]; then mkdir -p /tmp/artifacts; tar -xf /tmp/artifacts.tar -C /tmp/artifacts; fi && \\\n",
                "    rm /tmp/artifacts.tar\n",
                "# Assemble script sourced from builder image based on user input or image metadata.\n",
                "# If this file does not exist in the image, the build will fail.\n",
                "RUN /usr/libexec/s2i/assemble\n",
                "# Run script sourced from builder image based on user input or image metadata.\n",
                "# If this file does not exist in the image, the build will fail.\n",
                "CMD /usr/libexec/s2i/run\n",
            )
        );
        let own_script = Plan {
            override_scripts: vec!["save-artifacts".into()],
            ..incremental
        };
        let text = dockerfile(&own_script);
        assert!(text.contains(
            "USER root\nCOPY upload/scripts/save-artifacts /tmp/scripts/save-artifacts\nRUN chown 1001:0 /tmp/scripts/save-artifacts\nUSER 1001\nRUN if [ -s /tmp/scripts/save-artifacts ]"
        ), "{text}");
    }
}
