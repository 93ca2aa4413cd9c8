//! The Dockerfile source-to-image generates from a builder image and sources (s2i's
//! `--as-dockerfile`): the sources (and override scripts) copied in as root, handed to the
//! assemble user, assembled by the image's `assemble` script, run by its `run` script.

use super::dockerfile::pairs_line;

/// Where images keep their scripts when their labels say nothing.
pub const DEFAULT_SCRIPTS_DIR: &str = "/usr/libexec/s2i";
const DEFAULT_DESTINATION: &str = "/tmp";
const DEFAULT_USER: &str = "1001";

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
}

/// A scripts URL as the image or the strategy gives it; only `image://` paths are used
/// (the builder downloads nothing).
pub fn scripts_dir(url: &str) -> Option<String> {
    url.strip_prefix("image://")
        .map(|p| p.trim_end_matches('/').to_string())
}

/// The plan's image-derived parts from the builder image's labels and user, and the
/// strategy's `scripts`.
pub fn from_image(
    labels: &serde_json::Map<String, serde_json::Value>,
    image_user: &str,
    strategy_scripts: Option<&str>,
) -> (String, String, String) {
    let label = |k: &str| {
        labels
            .get(k)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let scripts = strategy_scripts
        .and_then(scripts_dir)
        .or_else(|| label("io.openshift.s2i.scripts-url").and_then(scripts_dir))
        .or_else(|| label("io.s2i.scripts-url").and_then(scripts_dir))
        .unwrap_or_else(|| DEFAULT_SCRIPTS_DIR.to_string());
    let destination = label("io.openshift.s2i.destination")
        .unwrap_or(DEFAULT_DESTINATION)
        .trim_end_matches('/')
        .to_string();
    let user = label("io.openshift.s2i.assemble-user")
        .map(str::to_string)
        .or_else(|| Some(image_user.to_string()).filter(|u| !u.is_empty()))
        .unwrap_or_else(|| DEFAULT_USER.to_string());
    (scripts, destination, user)
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

fn is_root(user: &str) -> bool {
    user == "0" || user == "root" || user.starts_with("0:") || user.starts_with("root:")
}

pub fn dockerfile(plan: &Plan) -> String {
    let dest = &plan.destination;
    let script = |name: &str| {
        if plan.override_scripts.iter().any(|s| s == name) {
            format!("{dest}/scripts/{name}")
        } else {
            format!("{}/{name}", plan.scripts_dir)
        }
    };
    let mut labels = vec![(
        "io.openshift.build.image".to_string(),
        plan.builder_image.clone(),
    )];
    labels.extend(plan.labels.iter().cloned());
    labels.push((
        "io.openshift.s2i.scripts-url".into(),
        format!("image://{}", plan.scripts_dir),
    ));
    let mut out = vec![
        format!("FROM {}", plan.builder_image),
        pairs_line("LABEL", &labels),
    ];
    if !plan.env.is_empty() {
        out.push(pairs_line("ENV", &plan.env));
    }
    out.push("USER root".into());
    let mut owned = Vec::new();
    if !plan.override_scripts.is_empty() {
        out.push("# Copying in override assemble/run scripts".into());
        out.push(format!("COPY upload/scripts {dest}/scripts"));
        owned.push(format!("{dest}/scripts"));
    }
    out.push("# Copying in source code".into());
    out.push(format!("COPY upload/src {dest}/src"));
    owned.push(format!("{dest}/src"));
    out.push(
        "# Change file ownership to the assemble user. Builder image must support chown command."
            .into(),
    );
    let owner = plan.user.split(':').next().unwrap_or(&plan.user);
    out.push(format!("RUN chown -R {owner}:0 {}", owned.join(" ")));
    if !is_root(&plan.user) {
        out.push(format!("USER {}", plan.user));
    }
    if !plan.override_scripts.iter().any(|s| s == "assemble") {
        out.push(
            "# Assemble script sourced from builder image based on user input or image metadata."
                .into(),
        );
    }
    out.push(format!("RUN {}", script("assemble")));
    out.push(format!("CMD {}", script("run")));
    let mut text = out.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_image_says_where_its_scripts_are() {
        let labels = json!({"io.openshift.s2i.scripts-url": "image:///opt/s2i/",
            "io.openshift.s2i.destination": "/opt/app/"});
        let labels = labels.as_object().unwrap();
        assert_eq!(
            from_image(labels, "", None),
            ("/opt/s2i".into(), "/opt/app".into(), "1001".into())
        );
        assert_eq!(
            from_image(labels, "1000", Some("image:///usr/local/s2i")).0,
            "/usr/local/s2i"
        );
        assert_eq!(from_image(labels, "1000", None).2, "1000");
        let none = serde_json::Map::new();
        assert_eq!(
            from_image(&none, "", Some("http://127.0.0.1/scripts")),
            (DEFAULT_SCRIPTS_DIR.into(), "/tmp".into(), "1001".into())
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

    #[test]
    fn the_dockerfile_is_s2is() {
        let plan = Plan {
            builder_image: "127.0.0.1:5000/p/s2i@sha256:aa".into(),
            scripts_dir: "/usr/libexec/s2i".into(),
            destination: "/tmp".into(),
            user: "1001".into(),
            override_scripts: vec!["run".into()],
            env: vec![("A".into(), "1".into())],
            labels: vec![("io.openshift.build.name".into(), "b-1".into())],
        };
        assert_eq!(
            dockerfile(&plan),
            concat!(
                "FROM 127.0.0.1:5000/p/s2i@sha256:aa\n",
                "LABEL \"io.openshift.build.image\"=\"127.0.0.1:5000/p/s2i@sha256:aa\" ",
                "\"io.openshift.build.name\"=\"b-1\" \"io.openshift.s2i.scripts-url\"=\"image:///usr/libexec/s2i\"\n",
                "ENV \"A\"=\"1\"\n",
                "USER root\n",
                "# Copying in override assemble/run scripts\n",
                "COPY upload/scripts /tmp/scripts\n",
                "# Copying in source code\n",
                "COPY upload/src /tmp/src\n",
                "# Change file ownership to the assemble user. Builder image must support chown command.\n",
                "RUN chown -R 1001:0 /tmp/scripts /tmp/src\n",
                "USER 1001\n",
                "# Assemble script sourced from builder image based on user input or image metadata.\n",
                "RUN /usr/libexec/s2i/assemble\n",
                "CMD /tmp/scripts/run\n",
            )
        );
        let root = Plan {
            user: "0".into(),
            ..plan
        };
        assert!(!dockerfile(&root).contains("USER 0"));
    }
}
