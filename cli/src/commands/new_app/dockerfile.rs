//! What `oc new-app` and `oc new-build` read of a Dockerfile, as upstream's parser reads it:
//! instructions (case-insensitive, `\` continuing a line, `#` comments), the base image of
//! the last stage (a stage named by an earlier `FROM ... AS name` resolved to that stage's
//! base) and the ports of the last stage's last `EXPOSE`. Pure.

/// The instructions, each as `(INSTRUCTION, arguments)`, continuation lines joined.
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if pending.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        if trimmed.starts_with('#') {
            continue;
        }
        pending.push_str(trimmed);
        let full = std::mem::take(&mut pending);
        let (word, rest) = full.split_once(char::is_whitespace).unwrap_or((&full, ""));
        out.push((word.to_ascii_uppercase(), rest.trim().to_string()));
    }
    if !pending.trim().is_empty() {
        let (word, rest) = pending
            .trim()
            .split_once(char::is_whitespace)
            .unwrap_or((pending.trim(), ""));
        out.push((word.to_ascii_uppercase(), rest.trim().to_string()));
    }
    out
}

/// `FROM [--flag=...] image [AS name]` → (image, stage name).
fn from_args(args: &str) -> Option<(String, Option<String>)> {
    let words: Vec<&str> = args
        .split_whitespace()
        .filter(|w| !w.starts_with("--"))
        .collect();
    let image = words.first()?.to_string();
    let alias = match words.as_slice() {
        [_, as_word, name, ..] if as_word.eq_ignore_ascii_case("as") => {
            Some(name.to_ascii_lowercase())
        }
        _ => None,
    };
    Some((image, alias))
}

/// The image the last stage builds on (`scratch` included), following stage names back to an
/// image; `None` without a `FROM`.
pub fn base_image(text: &str) -> Option<String> {
    let mut stages: Vec<(String, Option<String>)> = Vec::new();
    for (word, args) in instructions(text) {
        if word == "FROM"
            && let Some(stage) = from_args(&args)
        {
            stages.push(stage);
        }
    }
    let (mut image, _) = stages.last()?.clone();
    // Each hop moves to an earlier stage, so this ends.
    for _ in 0..stages.len() {
        let lowered = image.to_ascii_lowercase();
        match stages
            .iter()
            .find(|(_, alias)| alias.as_deref() == Some(lowered.as_str()))
        {
            Some((earlier, _)) if earlier.to_ascii_lowercase() != lowered => {
                image = earlier.clone()
            }
            _ => break,
        }
    }
    Some(image)
}

/// The ports (`8080/tcp`) of the last `EXPOSE` of the last stage.
pub fn exposed_ports(text: &str) -> Vec<String> {
    let mut last: Option<String> = None;
    for (word, args) in instructions(text) {
        match word.as_str() {
            "FROM" => last = None,
            "EXPOSE" => last = Some(args),
            _ => {}
        }
    }
    let mut ports: Vec<String> = last
        .unwrap_or_default()
        .split_whitespace()
        .map(|p| match p.split_once('/') {
            Some((port, proto)) => format!("{port}/{}", proto.to_ascii_lowercase()),
            None => format!("{p}/tcp"),
        })
        .collect();
    ports.dedup();
    ports
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_stage_base_and_ports() {
        let text = "# build\nFROM quay.io/org/go:1 AS build\nRUN make \\\n  all\nEXPOSE 9000\n\
                    from --platform=linux/amd64 127.0.0.1:5000/shop/base:1\nexpose 8080 8443/UDP\n";
        assert_eq!(
            base_image(text).as_deref(),
            Some("127.0.0.1:5000/shop/base:1")
        );
        assert_eq!(exposed_ports(text), ["8080/tcp", "8443/udp"]);
    }

    #[test]
    fn stage_names_lead_back_to_an_image() {
        let text = "FROM busybox:1 AS Base\nFROM base AS second\nFROM second\n";
        assert_eq!(base_image(text).as_deref(), Some("busybox:1"));
        assert!(exposed_ports(text).is_empty());
        assert_eq!(base_image("FROM scratch\n").as_deref(), Some("scratch"));
        assert_eq!(base_image("RUN true\n"), None);
    }
}
