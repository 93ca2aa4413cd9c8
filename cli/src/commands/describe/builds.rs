//! `oc describe bc` and `oc describe build`, laid out as upstream's describers: the spec both
//! share (strategy, source, builder image, output), then the config's run policy, triggers
//! (webhooks shown as URLs with `<secret>` standing for the secret, as upstream prints them),
//! history limits and its ten newest builds; a build's status, timing, pod and causes.

use serde_json::Value;

use super::openshift::{field, items, meta};
use super::text::{str_of, timestamp};
use crate::client::{Session, encode};

/// `ImageStreamTag ns/ruby:2.7`, `DockerImage quay.io/x/y:1`: upstream's `Kind [ns/]name`.
fn image_ref(r: &Value) -> String {
    let name = match str_of(&r["namespace"]) {
        "" => str_of(&r["name"]).to_string(),
        ns => format!("{ns}/{}", str_of(&r["name"])),
    };
    format!("{} {name}", str_of(&r["kind"]))
}

/// A duration in nanoseconds as Go prints a `time.Duration` (`1m2s`, `1.5s`, `0s`).
pub fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    if n < 1_000_000_000 {
        let (unit, div) = match n {
            n if n < 1_000 => return format!("{sign}{n}ns"),
            n if n < 1_000_000 => ("µs", 1_000),
            _ => ("ms", 1_000_000),
        };
        return format!("{sign}{}{unit}", fraction(n, div));
    }
    let (h, rest) = (n / 3_600_000_000_000, n % 3_600_000_000_000);
    let (m, rest) = (rest / 60_000_000_000, rest % 60_000_000_000);
    let seconds = format!("{}s", fraction(rest, 1_000_000_000));
    match (h, m) {
        (0, 0) => format!("{sign}{seconds}"),
        (0, m) => format!("{sign}{m}m{seconds}"),
        (h, m) => format!("{sign}{h}h{m}m{seconds}"),
    }
}

/// `n / div` with its fraction's trailing zeros cut (`1.5`, `2`).
fn fraction(n: u64, div: u64) -> String {
    let whole = n / div;
    let rest = n % div;
    if rest == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{rest:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// A revision's commit and who made it (upstream's `squashGitInfo`).
fn git_info(out: &mut String, revision: &Value) {
    let git = &revision["git"];
    if !git.is_object() {
        return;
    }
    let commit = str_of(&git["commit"]);
    let short: String = commit.chars().take(7).collect();
    field(
        out,
        "Commit",
        &format!("{short} ({})", str_of(&git["message"])),
    );
    let author = str_of(&git["author"]["name"]);
    let committer = str_of(&git["committer"]["name"]);
    match (author, committer) {
        ("", "") => {}
        (a, "") => field(out, "Author", a),
        ("", c) => field(out, "Committer", c),
        (a, c) if a == c => field(out, "Author/Committer", a),
        (a, c) => field(out, "Author/Committer", &format!("{a} / {c}")),
    }
}

/// What a config and its builds share (upstream's `describeCommonSpec`).
fn common_spec(out: &mut String, spec: &Value) {
    let source = &spec["source"];
    let strategy = &spec["strategy"];
    out.push('\n');
    field(out, "Strategy", str_of(&strategy["type"]));
    let mut no_source = true;
    if source["git"].is_object() {
        no_source = false;
        field(out, "URL", str_of(&source["git"]["uri"]));
        if let Some(r) = source["git"]["ref"].as_str().filter(|r| !r.is_empty()) {
            field(out, "Ref", r);
        }
        if let Some(dir) = source["contextDir"].as_str().filter(|d| !d.is_empty()) {
            field(out, "ContextDir", dir);
        }
        if let Some(secret) = source["sourceSecret"]["name"].as_str() {
            field(out, "Source Secret", secret);
        }
        git_info(out, &spec["revision"]);
    }
    if let Some(text) = source["dockerfile"].as_str() {
        no_source = false;
        match text.trim().is_empty() {
            true => field(out, "Dockerfile", ""),
            false => {
                out.push_str("Dockerfile:\n");
                for line in text.split('\n') {
                    out.push_str(&format!("  {line}\n"));
                }
            }
        }
    }
    for key in ["dockerStrategy", "sourceStrategy", "customStrategy"] {
        let params = &strategy[key];
        if !params.is_object() {
            continue;
        }
        let from = &params["from"];
        if !str_of(&from["name"]).is_empty() {
            let label = match key {
                "customStrategy" => "Image Reference",
                _ => "From Image",
            };
            field(out, label, &image_ref(from));
        }
        if let Some(path) = params["dockerfilePath"].as_str().filter(|p| !p.is_empty()) {
            field(out, "Dockerfile Path", path);
        }
        if let Some(secret) = params["pullSecret"]["name"].as_str() {
            field(out, "Pull Secret Name", secret);
        }
        if params["incremental"] == true {
            field(out, "Incremental Build", "yes");
        }
        if params["noCache"] == true {
            field(out, "No Cache", "true");
        }
        if params["forcePull"] == true {
            field(out, "Force Pull", "true");
        }
    }
    if spec["output"]["to"].is_object() {
        field(out, "Output to", &image_ref(&spec["output"]["to"]));
    }
    if source["binary"].is_object() {
        no_source = false;
        match source["binary"]["asFile"]
            .as_str()
            .filter(|f| !f.is_empty())
        {
            Some(file) => field(
                out,
                "Binary",
                &format!("provided as file {file:?} on build"),
            ),
            None => field(out, "Binary", "provided on build"),
        }
    }
    if no_source {
        field(out, "Empty Source", "no input source provided");
    }
    if let Some(secret) = spec["output"]["pushSecret"]["name"].as_str() {
        field(out, "Push Secret", secret);
    }
}

/// The webhook URL upstream shows: the secret left as `<secret>`.
fn webhook_url(server: &str, namespace: &str, name: &str, hook: &str) -> String {
    format!(
        "{}/apis/build.openshift.io/v1/namespaces/{}/buildconfigs/{}/webhooks/<secret>/{hook}",
        server.trim_end_matches('/'),
        encode(namespace),
        encode(name)
    )
}

const WEBHOOKS: [(&str, &str, &str); 4] = [
    ("GitHub", "github", "GitHub"),
    ("Generic", "generic", "Generic"),
    ("GitLab", "gitlab", "GitLab"),
    ("Bitbucket", "bitbucket", "Bitbucket"),
];

/// `Triggered by` (webhooks left out) and one `Webhook <Type>:` block per webhook type.
fn triggers(out: &mut String, server: &str, bc: &Value) {
    let list: Vec<&Value> = bc["spec"]["triggers"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    if list.is_empty() {
        field(out, "Triggered by", "");
        return;
    }
    let mut labels = Vec::new();
    for t in &list {
        let kind = str_of(&t["type"]);
        match kind {
            "GitHub" | "Generic" | "GitLab" | "Bitbucket" => {}
            "ConfigChange" => labels.push("Config".to_string()),
            "ImageChange" if !str_of(&t["imageChange"]["from"]["name"]).is_empty() => {
                labels.push(format!("Image({})", image_ref(&t["imageChange"]["from"])))
            }
            "" => labels.push("<unknown>".into()),
            other => labels.push(other.to_string()),
        }
    }
    field(out, "Triggered by", &labels.join(", "));
    let namespace = str_of(&bc["metadata"]["namespace"]);
    let name = str_of(&bc["metadata"]["name"]);
    for (kind, path, title) in WEBHOOKS {
        let hooks: Vec<&&Value> = list.iter().filter(|t| t["type"] == kind).collect();
        if hooks.is_empty() {
            continue;
        }
        out.push_str(&format!("Webhook {title}:\n"));
        for t in hooks {
            out.push_str(&format!(
                "\tURL:\t{}\n",
                webhook_url(server, namespace, name, path)
            ));
            if kind == "Generic" {
                let allow = t["generic"]["allowEnv"].as_bool().unwrap_or(false);
                out.push_str(&format!("\tAllowEnv:\t{allow}\n"));
            }
        }
    }
}

/// How long a build took or has been waiting or running (upstream's `describeBuildDuration`).
fn build_duration(b: &Value) -> String {
    let status = &b["status"];
    let phase = str_of(&status["phase"]);
    let seconds_between = |from: &str, to: &str| -> i64 {
        match (
            from.parse::<jiff::Timestamp>(),
            to.parse::<jiff::Timestamp>(),
        ) {
            (Ok(a), Ok(z)) => z.as_second() - a.as_second(),
            _ => 0,
        }
    };
    let created = str_of(&b["metadata"]["creationTimestamp"]);
    let started = status["startTimestamp"].as_str();
    let completed = status["completionTimestamp"].as_str();
    let now = jiff::Timestamp::now().to_string();
    let secs = |s: i64| go_duration(s * 1_000_000_000);
    match (started, completed) {
        (None, Some(done)) if matches!(phase, "Cancelled" | "Failed" | "Error") => {
            format!("waited for {}", secs(seconds_between(created, done)))
        }
        (None, _) if phase != "Cancelled" => {
            format!("waiting for {}", secs(seconds_between(created, &now)))
        }
        (Some(start), None) => format!("running for {}", secs(seconds_between(start, &now))),
        _ => go_duration(status["duration"].as_i64().unwrap_or(0)),
    }
}

/// `oc describe bc`.
pub async fn build_config(out: &mut String, s: &Session, bc: &Value) {
    meta(out, bc);
    let (spec, status) = (&bc["spec"], &bc["status"]);
    let latest = match status["lastVersion"].as_i64().unwrap_or(0) {
        0 => "Never built".to_string(),
        n => n.to_string(),
    };
    field(out, "Latest Version", &latest);
    common_spec(out, spec);
    out.push('\n');
    let policy = match str_of(&spec["runPolicy"]) {
        "" => "Serial",
        p => p,
    };
    field(out, "Build Run Policy", policy);
    triggers(out, &s.server, bc);
    let limits = [
        ("Successful", &spec["successfulBuildsHistoryLimit"]),
        ("Failed", &spec["failedBuildsHistoryLimit"]),
    ];
    if limits.iter().any(|(_, v)| v.is_i64()) {
        out.push_str("Builds History Limit:\n");
        for (label, value) in limits {
            if let Some(n) = value.as_i64() {
                out.push_str(&format!("\t{label}:\t{n}\n"));
            }
        }
    }
    let namespace = str_of(&bc["metadata"]["namespace"]);
    let name = str_of(&bc["metadata"]["name"]);
    let mut builds = items(
        s,
        &format!(
            "/apis/build.openshift.io/v1/namespaces/{}/builds?labelSelector={}",
            encode(namespace),
            encode(&format!("openshift.io/build-config.name={name}"))
        ),
    )
    .await;
    if builds.is_empty() {
        return;
    }
    builds.sort_by(|a, b| {
        str_of(&b["metadata"]["creationTimestamp"]).cmp(str_of(&a["metadata"]["creationTimestamp"]))
    });
    out.push_str("\nBuild\tStatus\tDuration\tCreation Time\n");
    for b in builds.iter().take(10) {
        let created = str_of(&b["metadata"]["creationTimestamp"]);
        let created = match created.parse::<jiff::Timestamp>() {
            Ok(t) => t
                .to_zoned(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M:%S %z %Z")
                .to_string(),
            Err(_) => created.to_string(),
        };
        out.push_str(&format!(
            "{} \t{} \t{} \t{created}\n",
            str_of(&b["metadata"]["name"]),
            str_of(&b["status"]["phase"]).to_lowercase(),
            build_duration(b),
        ));
    }
}

/// `oc describe build`.
pub fn build(out: &mut String, b: &Value) {
    meta(out, b);
    out.push('\n');
    let status = &b["status"];
    let mut phase = str_of(&status["phase"]).to_string();
    if let Some(m) = status["message"].as_str().filter(|m| !m.is_empty()) {
        phase = format!("{phase} ({m})");
    }
    field(out, "Status", &phase);
    if let Some(started) = status["startTimestamp"].as_str() {
        field(out, "Started", &timestamp(started));
    }
    field(out, "Duration", &build_duration(b));
    if let Some(config) = status["config"]["name"].as_str() {
        field(out, "Build Config", config);
    }
    let pod = match b["metadata"]["annotations"]["openshift.io/build.pod-name"].as_str() {
        Some(p) => p.to_string(),
        None => format!("{}-build", str_of(&b["metadata"]["name"])),
    };
    field(out, "Build Pod", &pod);
    common_spec(out, &b["spec"]);
    causes(out, &b["spec"]["triggeredBy"]);
}

/// Why the build was made (upstream's `describeBuildTriggerCauses`).
fn causes(out: &mut String, list: &Value) {
    let Some(list) = list.as_array() else {
        out.push('\n');
        field(out, "Build trigger cause", "<unknown>");
        return;
    };
    for c in list {
        out.push('\n');
        field(out, "Build trigger cause", str_of(&c["message"]));
        for key in [
            "githubWebHook",
            "genericWebHook",
            "gitlabWebHook",
            "bitbucketWebHook",
        ] {
            let hook = &c[key];
            if hook.is_object() {
                git_info(out, &hook["revision"]);
                field(out, "Secret", str_of(&hook["secret"]));
            }
        }
        let image = &c["imageChangeBuild"];
        if image.is_object() {
            field(out, "Image ID", str_of(&image["imageID"]));
            field(
                out,
                "Image Name/Kind",
                &format!(
                    "{} / {}",
                    str_of(&image["fromRef"]["name"]),
                    str_of(&image["fromRef"]["kind"])
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(12_000_000_000), "12s");
        assert_eq!(go_duration(62_500_000_000), "1m2.5s");
        assert_eq!(go_duration(3_723_000_000_000), "1h2m3s");
        assert_eq!(go_duration(1_500_000), "1.5ms");
    }

    #[test]
    fn triggers_and_webhook_urls() {
        let bc = json!({"metadata": {"name": "web", "namespace": "shop"},
            "spec": {"triggers": [
                {"type": "GitHub", "github": {"secret": "a"}},
                {"type": "Generic", "generic": {"secret": "b", "allowEnv": true}},
                {"type": "ConfigChange"},
                {"type": "ImageChange", "imageChange": {}},
                {"type": "ImageChange", "imageChange": {"from": {"kind": "ImageStreamTag", "name": "base:1", "namespace": "lib"}}}]}});
        let mut out = String::new();
        triggers(&mut out, "https://127.0.0.1:6443", &bc);
        assert_eq!(
            out,
            "Triggered by:\tConfig, ImageChange, Image(ImageStreamTag lib/base:1)\n\
             Webhook GitHub:\n\tURL:\thttps://127.0.0.1:6443/apis/build.openshift.io/v1/namespaces/shop/buildconfigs/web/webhooks/<secret>/github\n\
             Webhook Generic:\n\tURL:\thttps://127.0.0.1:6443/apis/build.openshift.io/v1/namespaces/shop/buildconfigs/web/webhooks/<secret>/generic\n\tAllowEnv:\ttrue\n"
        );
    }

    #[test]
    fn a_git_docker_spec() {
        let spec = json!({"source": {"type": "Git", "git": {"uri": "git://h/r", "ref": "main"}, "contextDir": "app"},
            "strategy": {"type": "Docker", "dockerStrategy": {"from": {"kind": "ImageStreamTag", "name": "base:1"}}},
            "output": {"to": {"kind": "ImageStreamTag", "name": "web:latest"}}});
        let mut out = String::new();
        common_spec(&mut out, &spec);
        assert_eq!(
            out,
            "\nStrategy:\tDocker\nURL:\tgit://h/r\nRef:\tmain\nContextDir:\tapp\nFrom Image:\tImageStreamTag base:1\nOutput to:\tImageStreamTag web:latest\n"
        );
    }
}
