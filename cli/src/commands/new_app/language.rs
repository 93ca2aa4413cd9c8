//! The language of a repository without a Dockerfile, as upstream's source detectors tell
//! it (the first whose marker files the context directory holds), and how a builder image
//! stream tag's `supports` annotation matches it: exactly (`nodejs`, score 0) or by its base
//! name only (`nodejs:14` for `nodejs`, score 0.5).

use std::path::Path;

/// Upstream's detectors, in their order: the platform and the files (or `*.ext` globs) that
/// mark it.
const DETECTORS: [(&str, &[&str]); 11] = [
    ("ruby", &["Gemfile", "Rakefile", "config.ru"]),
    ("jee", &["pom.xml"]),
    ("nodejs", &["app.json", "package.json"]),
    ("php", &["index.php", "composer.json"]),
    ("python", &["requirements.txt", "setup.py"]),
    ("perl", &["index.pl", "cpanfile"]),
    ("scala", &["build.sbt"]),
    ("dotnet", &["project.json", "*.csproj"]),
    (".net", &["project.json", "*.csproj"]),
    ("golang", &["main.go", "Godeps"]),
    ("rust", &["Cargo.toml"]),
];

fn present(dir: &Path, marker: &str) -> bool {
    match marker.strip_prefix('*') {
        None => dir.join(marker).exists(),
        Some(suffix) => std::fs::read_dir(dir).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(suffix))
        }),
    }
}

/// The platform the sources at `dir` are written for, if a detector knows them.
pub fn detect(dir: &Path) -> Option<&'static str> {
    DETECTORS
        .iter()
        .find(|(_, markers)| markers.iter().any(|m| present(dir, m)))
        .map(|(platform, _)| *platform)
}

/// How well a `supports` annotation (`lang[:version],...`) matches `value`: 0 for an exact
/// entry, 0.5 for an entry of the same base name, `None` for none.
pub fn supports_score(value: &str, annotation: &str) -> Option<f32> {
    let base = |s: &str| s.split(':').next().unwrap_or_default().to_string();
    let parts: Vec<&str> = annotation.split(',').collect();
    if parts.contains(&value) {
        return Some(0.0);
    }
    parts.iter().any(|p| base(p) == base(value)).then_some(0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detectors_go_in_upstreams_order() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(detect(dir.path()), None);
        std::fs::write(dir.path().join("app.csproj"), "").unwrap();
        assert_eq!(detect(dir.path()), Some("dotnet"));
        std::fs::write(dir.path().join("requirements.txt"), "").unwrap();
        assert_eq!(detect(dir.path()), Some("python"));
        std::fs::write(dir.path().join("package.json"), "{}").unwrap();
        assert_eq!(detect(dir.path()), Some("nodejs"));
        std::fs::write(dir.path().join("Gemfile"), "").unwrap();
        assert_eq!(detect(dir.path()), Some("ruby"));
    }

    #[test]
    fn supports_annotations_match_exactly_or_by_base_name() {
        assert_eq!(supports_score("nodejs", "nodejs:14,nodejs"), Some(0.0));
        assert_eq!(supports_score("nodejs", "nodejs:14"), Some(0.5));
        assert_eq!(supports_score("ruby:2.0", "ruby:2.0,ruby"), Some(0.0));
        assert_eq!(supports_score("ruby:2.2", "ruby:2.0"), Some(0.5));
        assert_eq!(supports_score("php", "nodejs,ruby"), None);
        assert_eq!(supports_score("php", ""), None);
    }
}
