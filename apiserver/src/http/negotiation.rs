//! Content negotiation: which representation a client accepts (JSON, YAML, or a Table), and
//! the formats request bodies may come in.

use serde_json::Value;

use crate::error::ApiError;

/// A response representation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
    Table,
    /// Objects reduced to their metadata (`PartialObjectMetadata[List]`).
    Metadata,
}

/// The first representation in `accept` this server can produce; 406 when there is none.
/// No header means JSON.
pub fn response_format(accept: Option<&str>) -> Result<Format, ApiError> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(Format::Json);
    };
    for media in accept.split(',') {
        let params: Vec<&str> = media.split(';').map(str::trim).collect();
        let format = match params.first().copied().unwrap_or_default() {
            "application/json" if params.contains(&"as=Table") => {
                let table_v1 = params.contains(&"g=meta.k8s.io")
                    && (params.contains(&"v=v1") || params.contains(&"v=v1beta1"));
                table_v1.then_some(Format::Table)
            }
            "application/json"
                if params.contains(&"as=PartialObjectMetadata")
                    || params.contains(&"as=PartialObjectMetadataList") =>
            {
                let meta_v1 = params.contains(&"g=meta.k8s.io")
                    && (params.contains(&"v=v1") || params.contains(&"v=v1beta1"));
                meta_v1.then_some(Format::Metadata)
            }
            // Other `as=` conversions are not served.
            "application/json" if params.iter().any(|p| p.starts_with("as=")) => None,
            "application/json" | "application/*" | "*/*" => Some(Format::Json),
            "application/yaml" => Some(Format::Yaml),
            _ => None,
        };
        if let Some(format) = format {
            return Ok(format);
        }
    }
    Err(ApiError::NotAcceptable)
}

/// Media types accepted for the built-in kinds.
const ACCEPTED: &str = "application/json, application/yaml, application/vnd.kubernetes.protobuf";

/// The body of a create or update as JSON bytes: JSON as is, YAML and protobuf converted. No
/// content type means JSON (the Python client sends none).
pub fn request_body(content_type: Option<&str>, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let media_type = content_type.map(|c| c.split(';').next().unwrap_or_default().trim());
    match media_type {
        None | Some("application/json") => Ok(body.to_vec()),
        Some("application/yaml") => {
            let text = std::str::from_utf8(body)
                .map_err(|_| ApiError::BadRequest("the YAML body is not UTF-8".into()))?;
            let value: Value = serde_saphyr::from_str(text).map_err(|e| {
                ApiError::BadRequest(format!("the object provided is unrecognized: {e}"))
            })?;
            serde_json::to_vec(&value).map_err(|e| ApiError::Internal(e.to_string()))
        }
        Some("application/vnd.kubernetes.protobuf") => {
            let value = api::protobuf::decode(body).map_err(|e| {
                if e.unknown_kind {
                    // As upstream for kinds without protobuf definitions (custom resources).
                    ApiError::UnsupportedMediaType("application/json, application/yaml")
                } else {
                    ApiError::BadRequest(format!("the object provided is unrecognized: {e}"))
                }
            })?;
            serde_json::to_vec(&value).map_err(|e| ApiError::Internal(e.to_string()))
        }
        Some(_) => Err(ApiError::UnsupportedMediaType(ACCEPTED)),
    }
}

/// `value` rendered as YAML.
pub fn to_yaml(value: &Value) -> Result<String, ApiError> {
    serde_saphyr::to_string(value)
        .map_err(|e| ApiError::Internal(format!("YAML encoding failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers() {
        assert_eq!(response_format(None), Ok(Format::Json));
        assert_eq!(
            response_format(Some(
                "application/vnd.kubernetes.protobuf, application/json"
            )),
            Ok(Format::Json)
        );
        assert_eq!(
            response_format(Some(
                "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
            )),
            Ok(Format::Table)
        );
        assert_eq!(response_format(Some("application/yaml")), Ok(Format::Yaml));
        assert_eq!(
            response_format(Some(
                "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
            )),
            Ok(Format::Metadata)
        );
        assert_eq!(response_format(Some("*/*")), Ok(Format::Json));
        assert_eq!(
            response_format(Some("application/vnd.kubernetes.protobuf")),
            Err(ApiError::NotAcceptable)
        );
        assert_eq!(
            response_format(Some("text/html")),
            Err(ApiError::NotAcceptable)
        );
    }

    #[test]
    fn yaml_bodies_become_json() {
        let json = request_body(
            Some("application/yaml"),
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  n: '1'\n",
        )
        .unwrap();
        let value: Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(value["metadata"]["name"], "a");
        assert_eq!(value["data"]["n"], "1");
        assert!(matches!(
            request_body(Some("application/yaml"), b"a: [1,"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            request_body(Some("text/plain"), b"x"),
            Err(ApiError::UnsupportedMediaType(_))
        ));
        assert!(to_yaml(&value).unwrap().contains("name: a"));
        // Protobuf: malformed is 400; a kind without a protobuf definition is 415, as upstream
        // answers for custom resources.
        let proto = "application/vnd.kubernetes.protobuf";
        assert!(matches!(
            request_body(Some(proto), b"k8s\0\x0a"),
            Err(ApiError::BadRequest(_))
        ));
        let route = b"k8s\0\x0a\x1e\x0a\x15route.openshift.io/v1\x12\x05Route";
        assert_eq!(
            request_body(Some(proto), route),
            Err(ApiError::UnsupportedMediaType(
                "application/json, application/yaml"
            ))
        );
    }
}
