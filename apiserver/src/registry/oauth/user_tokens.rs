//! `useroauthaccesstokens`: the caller's own OAuth access tokens (those whose `userName` is
//! the caller), so that users can see and revoke their sessions without the cluster-wide
//! `oauthaccesstokens`, which only administrators may read.

use api::scheme::ResourceDef;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use storage::ListOptions;

use crate::ApiServer;
use crate::error::{ApiError, from_storage};
use crate::http::serve::User;
use crate::registry::object;
use crate::registry::response::Output;

fn tokens(server: &ApiServer) -> Result<&ResourceDef, ApiError> {
    server
        .scheme
        .lookup("oauth.openshift.io", "v1", "oauthaccesstokens")
        .ok_or(ApiError::PathNotFound)
}

fn as_user_token(mut token: Value) -> Value {
    token["kind"] = json!("UserOAuthAccessToken");
    token
}

pub(crate) async fn handle(
    server: &ApiServer,
    def: &ResourceDef,
    verb: &str,
    name: &str,
    user: &User,
    out: Output,
) -> Result<Response, ApiError> {
    let tokens = tokens(server)?;
    let mine = |token: &Value| token["userName"].as_str() == Some(user.name.as_str());
    match verb {
        "list" => {
            let list = server
                .store
                .list(&tokens.key_prefix(), ListOptions::default())
                .await
                .map_err(|e| from_storage(e, object::target(def, "")))?;
            let mut items = Vec::new();
            for kv in &list.kvs {
                let token = object::from_store(kv)?;
                if mine(&token) {
                    items.push(as_user_token(token));
                }
            }
            let metadata = json!({"resourceVersion": list.revision.to_string()});
            Ok(out.list(def, metadata, items))
        }
        "get" | "delete" => {
            // Another user's token is as absent as a token that does not exist.
            let token = server
                .get_object(tokens, None, name)
                .await?
                .filter(|t| mine(t))
                .ok_or_else(|| ApiError::NotFound(object::target(def, name)))?;
            if verb == "get" {
                return Ok(out.object(def, as_user_token(token)));
            }
            let revision = crate::registry::generic::list::parse_resource_version(Some(
                object::meta_str(&token, "resourceVersion"),
            ))?;
            server
                .delete_object(tokens, None, name, Some(revision))
                .await?;
            Ok(out.respond(
                StatusCode::OK,
                def,
                crate::registry::response::deleted(def, name, object::meta_str(&token, "uid")),
            ))
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}
