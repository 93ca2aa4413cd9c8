//! The entries of the kinds that name mirrors (ImageContentSourcePolicy's
//! `repositoryDigestMirrors`, ImageDigestMirrorSet's `imageDigestMirrors`, ImageTagMirrorSet's
//! `imageTagMirrors`): a source, its mirrors in order, and whether the source may still be
//! contacted. The node configuration's rendering and the import both read them.

use serde_json::Value;

/// One source repository (or namespace of repositories) and its mirrors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub source: String,
    pub mirrors: Vec<String>,
    /// `mirrorSourcePolicy: NeverContactSource`.
    pub never_contact_source: bool,
}

/// The entries of `obj`'s spec list `list`; entries without a source are left out, as are
/// empty mirror names.
pub fn entries(obj: &Value, list: &str) -> Vec<Entry> {
    obj["spec"][list]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| {
            let source = m["source"].as_str().filter(|s| !s.is_empty())?;
            Some(Entry {
                source: source.to_string(),
                mirrors: m["mirrors"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_string))
                    .collect(),
                never_contact_source: m["mirrorSourcePolicy"] == "NeverContactSource",
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_name_their_source_mirrors_and_policy() {
        let idms = serde_json::json!({"spec": {"imageDigestMirrors": [
            {"source": "quay.io/x", "mirrors": ["m1/x", ""], "mirrorSourcePolicy": "NeverContactSource"},
            {"mirrors": ["m2/x"]}]}});
        assert_eq!(
            entries(&idms, "imageDigestMirrors"),
            [Entry {
                source: "quay.io/x".into(),
                mirrors: vec!["m1/x".into()],
                never_contact_source: true
            }]
        );
        assert!(entries(&idms, "imageTagMirrors").is_empty());
    }
}
