use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;

use crate::ApiServer;
use crate::test_store::TestStore;

/// A whole list is streamed page by page; a store failure after the first page breaks the
/// response off instead of ending a short list that looks whole.
#[tokio::test]
async fn a_list_that_fails_midway_is_broken_off() {
    let store = TestStore::new();
    let server = Arc::new(ApiServer::new(
        api::Scheme::builtin(),
        store.clone(),
        "127.0.0.1:8443".into(),
    ));
    use storage::Store;
    for i in 0..(super::list::STREAM_PAGE + 10) {
        let value = format!(
            r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"c{i}","namespace":"ns"}}}}"#
        );
        store
            .create(&format!("/registry/core/configmaps/ns/c{i}"), value.into())
            .await
            .unwrap();
    }
    let list = || {
        Request::builder()
            .uri("/api/v1/namespaces/ns/configmaps")
            .body(Body::empty())
            .unwrap()
    };
    let whole = crate::registry::dispatch::handle(State(server.clone()), list()).await;
    let bytes = whole.into_body().collect().await.unwrap().to_bytes();
    let parsed: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        parsed["items"].as_array().unwrap().len(),
        super::list::STREAM_PAGE + 10
    );

    store.fail_continued_lists();
    let response = crate::registry::dispatch::handle(State(server.clone()), list()).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the head was already sent"
    );
    assert!(
        response.into_body().collect().await.is_err(),
        "the body ends in an error, not in a well-formed short list"
    );
}
