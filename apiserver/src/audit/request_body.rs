//! What a request body tells the audit log: creates and updates name their object (their
//! body completes the event's object reference at any level), and at `Request` and above the
//! body of a write is the request object, as sent (patches included), read as JSON whatever
//! its encoding.

use axum::extract::Request;
use axum::http::header;
use serde::Deserialize;
use serde_json::Value;

use super::policy::Level;
use crate::http::request_info::RequestInfo;

/// What to do with a request's body.
pub(super) struct RequestBody {
    /// Whether the body is kept as the handler reads it.
    pub capture: bool,
    /// Names its object (creates and updates).
    pub names_object: bool,
    is_patch: bool,
    /// The media type, without parameters.
    media_type: String,
}

impl RequestBody {
    pub fn of(info: &RequestInfo, level: Level, request: &Request) -> RequestBody {
        let verb = info.verb.as_str();
        let names_object = info.is_resource && matches!(verb, "create" | "update");
        let logged = info.is_resource
            && level >= Level::Request
            && matches!(
                verb,
                "create" | "update" | "patch" | "delete" | "deletecollection"
            );
        RequestBody {
            capture: names_object || logged,
            names_object,
            is_patch: verb == "patch",
            media_type: request
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase(),
        }
    }

    /// The body as a JSON value: patches as sent (apply patches read from YAML), objects in
    /// any accepted encoding.
    pub fn decode(&self, body: &[u8]) -> Option<Value> {
        let media = self.media_type.as_str();
        if self.is_patch {
            return match media {
                "application/apply-patch+yaml" => std::str::from_utf8(body)
                    .ok()
                    .and_then(|text| serde_saphyr::from_str(text).ok()),
                _ => serde_json::from_slice(body).ok(),
            };
        }
        let content_type = Some(media).filter(|m| !m.is_empty());
        let json = match content_type {
            None | Some("application/json") => return serde_json::from_slice(body).ok(),
            _ => crate::http::negotiation::request_body(content_type, body).ok()?,
        };
        serde_json::from_slice(&json).ok()
    }

    /// The metadata of the object in a JSON body, without reading the rest into memory.
    pub fn metadata(&self, body: &[u8]) -> Option<Metadata> {
        if matches!(self.media_type.as_str(), "" | "application/json") {
            return serde_json::from_slice::<Partial>(body)
                .ok()
                .map(|p| p.metadata);
        }
        serde_json::from_value::<Partial>(self.decode(body)?)
            .ok()
            .map(|p| p.metadata)
    }
}

#[derive(Deserialize)]
struct Partial {
    #[serde(default)]
    metadata: Metadata,
}

/// What an object's metadata says about which object it is.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct Metadata {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub resource_version: String,
}

impl Metadata {
    /// The metadata of an object already read.
    pub fn of(object: &Value) -> Metadata {
        let text = |field: &str| {
            object["metadata"][field]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        Metadata {
            name: text("name"),
            namespace: text("namespace"),
            uid: text("uid"),
            resource_version: text("resourceVersion"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use serde_json::json;

    fn body(method: &str, path: &str, content_type: &str, level: Level) -> RequestBody {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", content_type)
            .body(Body::empty())
            .unwrap();
        let info = crate::http::request_info::of(&request);
        RequestBody::of(&info, level, &request)
    }

    #[test]
    fn which_bodies_are_kept() {
        let create = body(
            "POST",
            "/api/v1/namespaces/a/pods",
            "application/json",
            Level::Metadata,
        );
        assert!(create.capture && create.names_object);
        let patch = "application/merge-patch+json";
        let at = |level| body("PATCH", "/api/v1/namespaces/a/pods/p", patch, level).capture;
        assert!(!at(Level::Metadata));
        assert!(at(Level::Request));
        let delete = body("DELETE", "/api/v1/namespaces/a/pods/p", "", Level::Request);
        assert!(delete.capture && !delete.names_object);
        let oauth = body(
            "POST",
            "/oauth/token",
            "application/x-www-form-urlencoded",
            Level::RequestResponse,
        );
        assert!(
            !oauth.capture,
            "non-resource bodies (passwords, codes) are never kept"
        );
    }

    #[test]
    fn bodies_read_as_json_whatever_their_encoding() {
        let yaml = body(
            "POST",
            "/api/v1/namespaces/a/configmaps",
            "application/yaml",
            Level::Request,
        );
        let object = yaml
            .decode(b"kind: ConfigMap\nmetadata: {name: c}\n")
            .unwrap();
        assert_eq!(
            object,
            json!({"kind": "ConfigMap", "metadata": {"name": "c"}})
        );
        assert_eq!(
            yaml.metadata(b"metadata: {name: c, namespace: a}")
                .unwrap()
                .namespace,
            "a"
        );
        let apply = body(
            "PATCH",
            "/api/v1/namespaces/a/configmaps/c",
            "application/apply-patch+yaml",
            Level::Request,
        );
        assert_eq!(
            apply.decode(b"data: {k: v}").unwrap(),
            json!({"data": {"k": "v"}})
        );
        let json_patch = body(
            "PATCH",
            "/api/v1/namespaces/a/configmaps/c",
            "application/json-patch+json",
            Level::Request,
        );
        let ops = br#"[{"op": "remove", "path": "/data/k"}]"#;
        assert_eq!(json_patch.decode(ops).unwrap()[0]["op"], "remove");
        let json = body(
            "PUT",
            "/api/v1/namespaces/a/configmaps/c",
            "application/json; charset=utf-8",
            Level::Metadata,
        );
        let meta = json
            .metadata(
                br#"{"metadata": {"name": "c", "uid": "u", "resourceVersion": "7"}, "data": {}}"#,
            )
            .unwrap();
        assert_eq!(
            (
                meta.name.as_str(),
                meta.uid.as_str(),
                meta.resource_version.as_str()
            ),
            ("c", "u", "7")
        );
    }
}
