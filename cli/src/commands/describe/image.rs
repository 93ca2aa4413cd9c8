//! `oc describe istag|isimage|image`: an Image as `oc` describes one (upstream's
//! `DescribeImage`): its names, size and layers, signatures, and the configuration the image
//! runs with.

use serde_json::Value;

use super::openshift::{field, pairs};
use super::text::{relative, str_of};

/// Go's `units.HumanSize`: decimal units, four significant digits, no space (`1.187MB`).
pub fn human_size(bytes: f64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let (mut value, mut unit) = (bytes, 0);
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    // `%.4g`: four significant digits, trailing zeros dropped.
    let before = if value < 1.0 {
        1
    } else {
        value.log10().floor() as i32 + 1
    };
    let decimals = usize::try_from(4 - before).unwrap_or(0);
    let text = format!("{value:.decimals$}");
    let text = match text.contains('.') {
        true => text.trim_end_matches('0').trim_end_matches('.').to_string(),
        false => text,
    };
    format!("{text}{}", UNITS[unit])
}

fn joined(list: &Value, separator: &str) -> String {
    list.as_array()
        .into_iter()
        .flatten()
        .map(str_of)
        .collect::<Vec<_>>()
        .join(separator)
}

/// Lines of one label: the first after it, the rest indented, nothing when empty.
fn lines(out: &mut String, label: &str, items: &[String]) {
    for (i, item) in items.iter().enumerate() {
        match i {
            0 => field(out, label, item),
            _ => out.push_str(&format!("\t{item}\n")),
        }
    }
}

/// The image `image`, named `name` when described through a stream (an ImageStreamTag's or
/// ImageStreamImage's image).
pub fn image(out: &mut String, image: &Value, name: &str) {
    if !name.is_empty() {
        field(out, "Image Name", name);
    }
    let meta = &image["metadata"];
    field(out, "Docker Image", str_of(&image["dockerImageReference"]));
    field(out, "Name", str_of(&meta["name"]));
    if let Some(created) = meta["creationTimestamp"].as_str() {
        field(out, "Created", &relative(created));
    }
    if meta["labels"].as_object().is_some_and(|m| !m.is_empty()) {
        pairs(out, "Labels", &meta["labels"]);
    }
    if meta["annotations"]
        .as_object()
        .is_some_and(|m| !m.is_empty())
    {
        pairs(out, "Annotations", &meta["annotations"]);
    }
    let docker = &image["dockerImageMetadata"];
    let size = human_size(docker["Size"].as_f64().unwrap_or(0.0));
    let layers = image["dockerImageLayers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    match layers.len() {
        0 => field(out, "Layer Size", &size),
        1 => field(out, "Image Size", &size),
        n => {
            field(out, "Image Size", &format!("{size} in {n} layers"));
            let rows: Vec<String> = layers
                .iter()
                .map(|l| {
                    format!(
                        "{}\t{}",
                        human_size(l["size"].as_f64().unwrap_or(0.0)),
                        str_of(&l["name"])
                    )
                })
                .collect();
            lines(out, "Layers", &rows);
        }
    }
    for manifest in image["dockerImageManifests"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let platform = [
            &manifest["os"],
            &manifest["architecture"],
            &manifest["variant"],
        ]
        .into_iter()
        .map(str_of)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("/");
        out.push_str(&format!(
            "Manifests:\t{platform}\t{}\n",
            str_of(&manifest["digest"])
        ));
    }
    for signature in image["signatures"].as_array().into_iter().flatten() {
        field(out, "Image Signatures", " ");
        field(out, "\tName", str_of(&signature["metadata"]["name"]));
        field(out, "\tType", str_of(&signature["type"]));
        match signature["issuedBy"].is_object() {
            false => field(out, "\tStatus", "Unverified"),
            true => {
                field(out, "\tStatus", "Verified");
                field(
                    out,
                    "\tIssued By",
                    str_of(&signature["issuedBy"]["commonName"]),
                );
            }
        }
    }
    let created = str_of(&docker["Created"]);
    field(
        out,
        "Image Created",
        &if created.is_empty() {
            String::new()
        } else {
            relative(created)
        },
    );
    field(out, "Author", str_of(&docker["Author"]));
    field(out, "Arch", str_of(&docker["Architecture"]));
    runs_with(out, &docker["Config"]);
}

/// What the image runs with: upstream's `describeDockerImage`.
fn runs_with(out: &mut String, config: &Value) {
    if !config.is_object() {
        return;
    }
    let (entrypoint, command) = (
        joined(&config["Entrypoint"], " "),
        joined(&config["Cmd"], " "),
    );
    if !entrypoint.is_empty() {
        field(out, "Entrypoint", &entrypoint);
    }
    if !command.is_empty() || entrypoint.is_empty() {
        field(out, "Command", &command);
    }
    field(out, "Working Dir", str_of(&config["WorkingDir"]));
    field(out, "User", str_of(&config["User"]));
    let sorted_keys = |v: &Value| {
        let mut keys: Vec<String> = v
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k.clone())
            .collect();
        keys.sort();
        keys
    };
    field(
        out,
        "Exposes Ports",
        &sorted_keys(&config["ExposedPorts"]).join(", "),
    );
    pairs(out, "Docker Labels", &config["Labels"]);
    let env: Vec<String> = config["Env"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| str_of(e).to_string())
        .collect();
    lines(out, "Environment", &env);
    lines(out, "Volumes", &sorted_keys(&config["Volumes"]));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_go_units_human_sizes() {
        assert_eq!(human_size(0.0), "0B");
        assert_eq!(human_size(999.0), "999B");
        assert_eq!(human_size(1187000.0), "1.187MB");
        assert_eq!(human_size(251_200_000.0), "251.2MB");
        assert_eq!(human_size(1_000_000.0), "1MB");
        assert_eq!(human_size(2_501.0), "2.501kB");
    }

    #[test]
    fn an_image_is_described_field_by_field() {
        let image = serde_json::json!({
            "metadata": {"name": "sha256:abc"},
            "dockerImageReference": "127.0.0.1:5000/p/web@sha256:abc",
            "dockerImageMetadata": {"Size": 1187000, "Architecture": "amd64",
                "Config": {"Cmd": ["/bin/busybox", "httpd"], "Env": ["A=1", "B=2"],
                           "ExposedPorts": {"8080/tcp": {}}}},
            "dockerImageLayers": [{"name": "sha256:l1", "size": 1000}, {"name": "sha256:l2", "size": 1186000}],
        });
        let mut out = String::new();
        super::image(&mut out, &image, "sha256:abc");
        assert_eq!(
            out,
            "Image Name:\tsha256:abc\nDocker Image:\t127.0.0.1:5000/p/web@sha256:abc\nName:\tsha256:abc\n\
             Image Size:\t1.187MB in 2 layers\nLayers:\t1kB\tsha256:l1\n\t1.186MB\tsha256:l2\n\
             Image Created:\t<none>\nAuthor:\t<none>\nArch:\tamd64\nCommand:\t/bin/busybox httpd\n\
             Working Dir:\t<none>\nUser:\t<none>\nExposes Ports:\t8080/tcp\nDocker Labels:\t<none>\n\
             Environment:\tA=1\n\tB=2\n"
        );
    }
}
