//! An image stream tag's current image, as triggers resolve it (upstream's
//! ResolveLatestTaggedImage): the newest event of the tag in the stream's status, pulled from
//! the integrated registry by digest when the tag's reference policy is `Local`.

use serde_json::Value;

/// The pull spec `tag` of `stream` points at, if it has one.
pub fn resolve(stream: &Value, tag: &str) -> Option<String> {
    let tag = if tag.is_empty() { "latest" } else { tag };
    let event = stream["status"]["tags"]
        .as_array()?
        .iter()
        .find(|t| t["tag"] == tag)?["items"]
        .as_array()?
        .first()?;
    let reference = event["dockerImageReference"].as_str().unwrap_or_default();
    let spec_tag = stream["spec"]["tags"]
        .as_array()
        .and_then(|tags| tags.iter().find(|t| t["name"] == tag));
    let local = spec_tag.is_some_and(|t| t["referencePolicy"]["type"] == "Local");
    let repository = stream["status"]["dockerImageRepository"]
        .as_str()
        .unwrap_or_default();
    let image = event["image"].as_str().unwrap_or_default();
    let resolved = if local && !repository.is_empty() && !image.is_empty() {
        format!("{repository}@{image}")
    } else {
        reference.to_string()
    };
    Some(resolved).filter(|r| !r.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_newest_event_or_the_local_digest() {
        let mut stream = json!({"status": {"dockerImageRepository": "127.0.0.1:5000/p/web",
            "tags": [{"tag": "latest", "items": [
                {"dockerImageReference": "quay.io/web@sha256:b", "image": "sha256:b"},
                {"dockerImageReference": "quay.io/web@sha256:a", "image": "sha256:a"}]}]}});
        assert_eq!(
            resolve(&stream, "").as_deref(),
            Some("quay.io/web@sha256:b")
        );
        assert_eq!(resolve(&stream, "v1"), None);
        stream["spec"] =
            json!({"tags": [{"name": "latest", "referencePolicy": {"type": "Local"}}]});
        assert_eq!(
            resolve(&stream, "latest").as_deref(),
            Some("127.0.0.1:5000/p/web@sha256:b")
        );
    }
}
