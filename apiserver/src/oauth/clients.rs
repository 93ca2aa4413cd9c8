//! The OAuth clients as the authorization endpoints see them: looked up by name, and the
//! redirect URIs they registered.

use serde_json::Value;

use crate::ApiServer;
use crate::error::ApiError;

/// The `OAuthClient` named `name`, if there is one.
pub(super) async fn client(server: &ApiServer, name: &str) -> Result<Option<Value>, ApiError> {
    let def = server
        .scheme
        .lookup("oauth.openshift.io", "v1", "oauthclients")
        .ok_or(ApiError::PathNotFound)?;
    server.get_object(def, None, name).await
}

/// Whether `uri` is one of the client's redirect URIs, or under one.
pub(super) fn allowed_redirect(client: &Value, uri: &str) -> bool {
    client["redirectURIs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .any(|allowed| {
            uri == allowed || uri.starts_with(&format!("{}/", allowed.trim_end_matches('/')))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redirects_are_the_registered_ones_or_under_them() {
        let client = json!({"redirectURIs": ["https://h/oauth/token/implicit"]});
        assert!(allowed_redirect(&client, "https://h/oauth/token/implicit"));
        assert!(!allowed_redirect(
            &client,
            "https://evil/oauth/token/implicit"
        ));
        assert!(!allowed_redirect(
            &client,
            "https://h/oauth/token/implicitx"
        ));
    }
}
