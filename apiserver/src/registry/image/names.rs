//! The names of the virtual resources: `<stream>:<tag>` and `<stream>@<id>`.

use crate::error::ApiError;

/// `<stream>:<tag>`, else upstream's 400 naming the resource (`ImageStreamTags`...).
pub fn stream_and_tag<'a>(name: &'a str, resource: &str) -> Result<(&'a str, &'a str), ApiError> {
    let wrong = || ApiError::BadRequest(format!("{resource} must be retrieved with <name>:<tag>"));
    if name.contains('@') {
        return Err(wrong());
    }
    match name.split(':').collect::<Vec<_>>().as_slice() {
        [stream, tag] if !stream.is_empty() && !tag.is_empty() => Ok((stream, tag)),
        _ => Err(wrong()),
    }
}

/// `<stream>@<id>`, else upstream's 400.
pub fn stream_and_id(name: &str) -> Result<(&str, &str), ApiError> {
    match name.split_once('@') {
        Some((stream, id)) if !stream.is_empty() && !id.is_empty() && !id.contains('@') => {
            Ok((stream, id))
        }
        _ => Err(ApiError::BadRequest(
            "ImageStreamImages must be retrieved with <name>@<id>".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_or_are_refused_in_upstream_words() {
        assert!(matches!(
            stream_and_tag("a:b", "ImageStreamTags"),
            Ok(("a", "b"))
        ));
        for bad in ["a", "a:b:c", ":b", "a@b"] {
            assert_eq!(
                stream_and_tag(bad, "ImageStreamTags")
                    .err()
                    .map(|e| e.status().message),
                Some("ImageStreamTags must be retrieved with <name>:<tag>".into())
            );
        }
        assert!(matches!(stream_and_id("a@sha256:x"), Ok(("a", "sha256:x"))));
        assert!(stream_and_id("a").is_err());
    }
}
