//! Dockerfile rewriting as upstream's builder does it before a Docker strategy build: the
//! last `FROM` replaced by `dockerStrategy.from`, the strategy's environment right after each
//! `FROM`, and the build's `ENV` and `LABEL` lines appended. Instructions are found as
//! Docker parses them (continuation lines, comments), the rest of the text is kept as it is.

/// One instruction: the lines it spans (inclusive), its keyword in capitals, its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub first: usize,
    pub last: usize,
    pub keyword: String,
    pub args: String,
}

pub fn instructions(text: &str) -> Vec<Instruction> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let trimmed = lines[i].trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            i += 1;
            continue;
        }
        let first = i;
        let mut joined = String::new();
        loop {
            let line = lines[i].trim();
            // Comment lines inside a continued instruction are dropped, as Docker does.
            if i != first && line.starts_with('#') {
                i += 1;
                if i >= lines.len() {
                    break;
                }
                continue;
            }
            match line.strip_suffix('\\') {
                Some(body) if i + 1 < lines.len() => {
                    joined.push_str(body);
                    joined.push(' ');
                    i += 1;
                }
                _ => {
                    joined.push_str(line.strip_suffix('\\').unwrap_or(line));
                    break;
                }
            }
        }
        let joined = joined.trim();
        let (keyword, args) = joined
            .split_once(char::is_whitespace)
            .unwrap_or((joined, ""));
        out.push(Instruction {
            first,
            last: i.min(lines.len() - 1),
            keyword: keyword.to_ascii_uppercase(),
            args: args.trim().to_string(),
        });
        i += 1;
    }
    out
}

/// A `FROM`'s flags, image and stage name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct From {
    pub flags: Vec<String>,
    pub image: String,
    pub alias: Option<String>,
}

pub fn parse_from(args: &str) -> From {
    let words: Vec<&str> = args.split_whitespace().collect();
    let flags: Vec<String> = words
        .iter()
        .take_while(|w| w.starts_with("--"))
        .map(|w| w.to_string())
        .collect();
    let rest = &words[flags.len()..];
    let image = rest.first().map(|s| s.to_string()).unwrap_or_default();
    let alias = match rest {
        [_, as_word, alias, ..] if as_word.eq_ignore_ascii_case("as") => Some(alias.to_string()),
        _ => None,
    };
    From {
        flags,
        image,
        alias,
    }
}

/// The images the Dockerfile builds from: not `scratch`, not an earlier stage.
pub fn base_images(text: &str) -> Vec<String> {
    let mut stages: Vec<String> = Vec::new();
    let mut images = Vec::new();
    for ins in instructions(text)
        .into_iter()
        .filter(|i| i.keyword == "FROM")
    {
        let from = parse_from(&ins.args);
        let lower = from.image.to_ascii_lowercase();
        if lower != "scratch" && !stages.contains(&lower) && !images.contains(&from.image) {
            images.push(from.image.clone());
        }
        if let Some(alias) = from.alias {
            stages.push(alias.to_ascii_lowercase());
        }
    }
    images
}

fn replace_lines(text: &str, first: usize, last: usize, with: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = lines[..first].iter().map(|s| s.to_string()).collect();
    out.push(with.to_string());
    out.extend(lines[last + 1..].iter().map(|s| s.to_string()));
    let mut joined = out.join("\n");
    joined.push('\n');
    joined
}

/// The text with its last `FROM` building from `image`, and the image it named; `None`
/// without a `FROM`.
pub fn replace_last_from(text: &str, image: &str) -> Option<(String, String)> {
    let ins = instructions(text)
        .into_iter()
        .rfind(|i| i.keyword == "FROM")?;
    let from = parse_from(&ins.args);
    let mut words = vec!["FROM".to_string()];
    words.extend(from.flags);
    words.push(image.to_string());
    if let Some(alias) = from.alias {
        words.push("AS".into());
        words.push(alias);
    }
    Some((
        replace_lines(text, ins.first, ins.last, &words.join(" ")),
        from.image,
    ))
}

/// Go's `strconv.Quote` for the text the builder writes (quotes, backslashes, controls).
pub fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `KEYWORD "k"="v" "k2"="v2"`.
pub fn pairs_line(keyword: &str, pairs: &[(String, String)]) -> String {
    let mut line = keyword.to_string();
    for (k, v) in pairs {
        line.push(' ');
        line.push_str(&quote(k));
        line.push('=');
        line.push_str(&quote(v));
    }
    line
}

/// The text with `ENV` of `env` right after each `FROM`.
pub fn env_after_each_from(text: &str, env: &[(String, String)]) -> String {
    if env.is_empty() {
        return text.to_string();
    }
    let line = pairs_line("ENV", env);
    let froms: Vec<usize> = instructions(text)
        .into_iter()
        .filter(|i| i.keyword == "FROM")
        .map(|i| i.last)
        .collect();
    let mut out = String::new();
    for (n, l) in text.lines().enumerate() {
        out.push_str(l);
        out.push('\n');
        if froms.contains(&n) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// The text with `lines` appended, each on a line of its own.
pub fn append(text: &str, lines: &[String]) -> String {
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MULTI: &str = "# syntax\nFROM 127.0.0.1:5000/p/base:1 AS build\nRUN make \\\n  # a comment\n  all\n\nfrom --platform=linux/amd64 build as second\nFROM scratch\nCOPY --from=build /a /a\n";

    #[test]
    fn instructions_follow_continuations_and_skip_comments() {
        let ins = instructions(MULTI);
        let kw: Vec<_> = ins.iter().map(|i| i.keyword.as_str()).collect();
        assert_eq!(kw, ["FROM", "RUN", "FROM", "FROM", "COPY"]);
        assert_eq!((ins[1].first, ins[1].last), (2, 4));
        assert_eq!(ins[1].args, "make  all");
    }

    #[test]
    fn base_images_leave_out_stages_and_scratch() {
        assert_eq!(base_images(MULTI), ["127.0.0.1:5000/p/base:1"]);
        let f = parse_from("--platform=linux/amd64 build as second");
        assert_eq!(f.image, "build");
        assert_eq!(f.alias.as_deref(), Some("second"));
        assert_eq!(f.flags, ["--platform=linux/amd64"]);
    }

    #[test]
    fn the_last_from_is_replaced_keeping_flags_and_stage_name() {
        let text = "FROM a:1 AS x\nRUN true\nFROM --platform=p b:2 \\\n  AS y\nCMD [\"x\"]\n";
        let (out, old) = replace_last_from(text, "127.0.0.1:5000/p/c@sha256:00").unwrap();
        assert_eq!(old, "b:2");
        assert_eq!(
            out,
            "FROM a:1 AS x\nRUN true\nFROM --platform=p 127.0.0.1:5000/p/c@sha256:00 AS y\nCMD [\"x\"]\n"
        );
        assert_eq!(replace_last_from("RUN x\n", "i"), None);
    }

    #[test]
    fn env_goes_after_each_from_and_build_lines_at_the_end() {
        let env = vec![("A".to_string(), "1 \"2\"".to_string())];
        let out = env_after_each_from("FROM a\nRUN x\nFROM \\\n b\n", &env);
        assert_eq!(
            out,
            "FROM a\nENV \"A\"=\"1 \\\"2\\\"\"\nRUN x\nFROM \\\n b\nENV \"A\"=\"1 \\\"2\\\"\"\n"
        );
        let out = append(
            "FROM a",
            &[pairs_line("LABEL", &[("k".into(), "v\n".into())])],
        );
        assert_eq!(out, "FROM a\nLABEL \"k\"=\"v\\n\"\n");
    }
}
