//! Requests through the whole router, over a temporary store, with the log kept in memory.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::sink::Memory;
use super::*;
use crate::ApiServer;
use crate::http::serve::User;
use crate::test_store::TestStore;

const POLICY: &str = r#"
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: Metadata
  resources: [{group: "", resources: [secrets]}]
- level: RequestResponse
  users: [admin]
  omitManagedFields: true
- level: Metadata
"#;

async fn server(policy: &str) -> (Arc<ApiServer>, Memory) {
    let (sink, memory) = Memory::sink();
    let audit = Audit::new(Policy::parse(policy).unwrap(), sink);
    let server = ApiServer::new(
        api::Scheme::builtin(),
        TestStore::new(),
        "127.0.0.1:8443".into(),
    )
    .with_audit(Some(audit));
    let server = Arc::new(server);
    server.bootstrap().await.unwrap();
    (server, memory)
}

fn user(name: &str, groups: &[&str]) -> User {
    User {
        name: name.into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        ..Default::default()
    }
}

fn admin() -> User {
    user("admin", &["system:masters", "system:authenticated"])
}

fn request(method: &str, uri: &str, who: User, body: Option<Value>) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("user-agent", "kubectl/v1.32.0 (linux/amd64)")
        .header(
            "content-type",
            match method {
                "PATCH" => "application/merge-patch+json",
                _ => "application/json",
            },
        )
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    request.extensions_mut().insert(who);
    let peer: SocketAddr = "10.1.2.3:50000".parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

/// The answer's status, audit ID and body.
async fn call(router: &Router, request: Request<Body>) -> (StatusCode, String, Value) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let id = response.headers()["audit-id"].to_str().unwrap().to_string();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        id,
        serde_json::from_slice(&body).unwrap_or_default(),
    )
}

async fn logged(server: &ApiServer, memory: &Memory, audit_id: &str) -> Vec<Value> {
    server.audit.as_ref().unwrap().flush().await;
    memory
        .events()
        .into_iter()
        .filter(|e| e["auditID"] == audit_id)
        .collect()
}

fn stages(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["stage"].as_str().unwrap())
        .collect()
}

/// `2025-01-02T03:04:05.678901Z`.
fn is_micro_time(value: &Value) -> bool {
    let text = value.as_str().unwrap_or_default();
    text.len() == 27
        && text.ends_with('Z')
        && text.as_bytes()[19] == b'.'
        && text.parse::<jiff::Timestamp>().is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_at_request_response_logs_both_objects() {
    let (server, memory) = server(POLICY).await;
    let router = server.clone().router();
    let object = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "app-config", "labels": {"app": "web"}}, "data": {"mode": "fast"}});
    let uri = "/api/v1/namespaces/default/configmaps?fieldManager=kubectl-create";
    let (status, id, created) =
        call(&router, request("POST", uri, admin(), Some(object.clone()))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(
        !created["metadata"]["managedFields"].is_null(),
        "the object has managed fields"
    );

    let events = logged(&server, &memory, &id).await;
    assert_eq!(stages(&events), ["RequestReceived", "ResponseComplete"]);
    let (received, complete) = (&events[0], &events[1]);
    assert_eq!(received["kind"], "Event");
    assert_eq!(received["apiVersion"], "audit.k8s.io/v1");
    assert_eq!(received["level"], "RequestResponse");
    assert_eq!(received["requestURI"], uri);
    assert_eq!(received["verb"], "create");
    assert_eq!(
        received["user"],
        json!({"username": "admin", "groups": ["system:masters", "system:authenticated"]})
    );
    assert_eq!(received["sourceIPs"], json!(["10.1.2.3"]));
    assert_eq!(received["userAgent"], "kubectl/v1.32.0 (linux/amd64)");
    assert_eq!(
        received["objectRef"],
        json!({"resource": "configmaps", "namespace": "default", "apiVersion": "v1"})
    );
    assert!(received.get("requestObject").is_none() && received.get("responseStatus").is_none());
    assert_eq!(
        received["stageTimestamp"],
        received["requestReceivedTimestamp"]
    );
    assert!(is_micro_time(&received["requestReceivedTimestamp"]));

    // The object reference is completed from the body; the objects are as sent and answered.
    assert_eq!(
        complete["objectRef"],
        json!({"resource": "configmaps", "namespace": "default", "name": "app-config", "apiVersion": "v1"})
    );
    assert_eq!(
        complete["responseStatus"],
        json!({"metadata": {}, "code": 201})
    );
    assert_eq!(complete["requestObject"], object);
    let mut answered = created.clone();
    answered["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("managedFields");
    assert_eq!(
        complete["responseObject"], answered,
        "managed fields omitted"
    );
    assert_eq!(
        complete["annotations"],
        json!({"authorization.k8s.io/decision": "allow"})
    );
    assert!(is_micro_time(&complete["stageTimestamp"]));
    assert!(complete["stageTimestamp"].as_str() >= complete["requestReceivedTimestamp"].as_str());

    // A patch is logged as sent.
    let patch = json!({"data": {"mode": "safe"}});
    let uri = "/api/v1/namespaces/default/configmaps/app-config";
    let (status, id, _) = call(&router, request("PATCH", uri, admin(), Some(patch.clone()))).await;
    assert_eq!(status, StatusCode::OK);
    let events = logged(&server, &memory, &id).await;
    assert_eq!(events[1]["verb"], "patch");
    assert_eq!(events[1]["requestObject"], patch);
    assert_eq!(events[1]["responseObject"]["data"], json!({"mode": "safe"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_at_metadata_log_no_data() {
    let (server, memory) = server(POLICY).await;
    let router = server.clone().router();
    // "hunter2", base64.
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db"}, "data": {"password": "aHVudGVyMg=="}});
    let uri = "/api/v1/namespaces/default/secrets";
    let (status, create_id, _) = call(&router, request("POST", uri, admin(), Some(secret))).await;
    assert_eq!(status, StatusCode::CREATED);
    let get = "/api/v1/namespaces/default/secrets/db";
    let (status, get_id, _) = call(&router, request("GET", get, admin(), None)).await;
    assert_eq!(status, StatusCode::OK);

    let created = logged(&server, &memory, &create_id).await;
    let read = logged(&server, &memory, &get_id).await;
    for event in created.iter().chain(&read) {
        assert_eq!(event["level"], "Metadata");
        assert!(event.get("requestObject").is_none());
        assert!(event.get("responseObject").is_none());
    }
    assert_eq!(
        created[1]["objectRef"]["name"], "db",
        "named from the body even so"
    );
    let log: String = memory.events().iter().map(Value::to_string).collect();
    assert!(!log.contains("aHVudGVyMg") && !log.contains("hunter2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_requests_are_logged_with_their_403() {
    let (server, memory) = server(POLICY).await;
    let router = server.clone().router();
    let alice = user("alice", &["system:authenticated"]);
    let uri = "/api/v1/namespaces/default/configmaps";
    let (status, id, _) = call(&router, request("GET", uri, alice, None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let events = logged(&server, &memory, &id).await;
    assert_eq!(stages(&events), ["RequestReceived", "ResponseComplete"]);
    let complete = &events[1];
    assert_eq!(complete["verb"], "list");
    assert_eq!(complete["user"]["username"], "alice");
    let status = &complete["responseStatus"];
    assert_eq!(status["code"], 403);
    assert_eq!(status["status"], "Failure");
    assert_eq!(status["reason"], "Forbidden");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("User \"alice\" cannot list resource \"configmaps\"")
    );
    assert_eq!(
        complete["annotations"],
        json!({"authorization.k8s.io/decision": "forbid"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_logs_response_started_then_complete_when_it_ends() {
    let (server, memory) = server(POLICY).await;
    let router = server.clone().router();
    let uri = "/api/v1/namespaces/default/configmaps?watch=true";
    let response = router
        .clone()
        .oneshot(request("GET", uri, admin(), None))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let id = response.headers()["audit-id"].to_str().unwrap().to_string();
    let open = logged(&server, &memory, &id).await;
    assert_eq!(stages(&open), ["RequestReceived", "ResponseStarted"]);
    assert_eq!(open[1]["verb"], "watch");
    assert_eq!(
        open[1]["responseStatus"],
        json!({"metadata": {}, "code": 200})
    );
    // The client goes away.
    drop(response);
    let ended = logged(&server, &memory, &id).await;
    assert_eq!(
        stages(&ended),
        ["RequestReceived", "ResponseStarted", "ResponseComplete"]
    );
    assert!(
        ended[2].get("responseObject").is_none(),
        "streams are not recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impersonation_records_both_users() {
    let (server, memory) = server(POLICY).await;
    let router = server.clone().router();
    let mut asked = request(
        "GET",
        "/api/v1/namespaces/default/configmaps",
        admin(),
        None,
    );
    asked
        .headers_mut()
        .insert("impersonate-user", "bob".parse().unwrap());
    asked
        .headers_mut()
        .insert("audit-id", "given-by-the-client".parse().unwrap());
    let (status, id, _) = call(&router, asked).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "bob may not list config maps"
    );
    assert_eq!(id, "given-by-the-client");
    let events = logged(&server, &memory, &id).await;
    let complete = &events[1];
    // The policy matched the authenticated user: admin's rule, RequestResponse.
    assert_eq!(complete["level"], "RequestResponse");
    assert_eq!(complete["user"]["username"], "admin");
    assert_eq!(
        complete["impersonatedUser"],
        json!({"username": "bob", "groups": ["system:authenticated"]})
    );
    assert_eq!(complete["responseStatus"]["code"], 403);
    assert_eq!(complete["responseObject"]["reason"], "Forbidden");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn omitted_stages_and_levels_write_nothing() {
    let policy = r#"
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  nonResourceURLs: ["/healthz*", "/version"]
- level: Metadata
"#;
    let (server, memory) = server(policy).await;
    let router = server.clone().router();
    let response = router
        .clone()
        .oneshot(request("GET", "/healthz", admin(), None))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers().contains_key("audit-id"),
        "not audited, still identified"
    );
    let (_, id, _) = call(&router, request("GET", "/api/v1/namespaces", admin(), None)).await;
    let events = logged(&server, &memory, &id).await;
    assert_eq!(stages(&events), ["ResponseComplete"]);
    assert!(events[0].get("objectRef").is_some());
    assert_eq!(memory.events().len(), 1);
}

#[tokio::test]
async fn panics_are_logged_at_the_panic_stage() {
    let (sink, memory) = Memory::sink();
    let audit = Audit::new(Policy::parse(POLICY).unwrap(), sink);
    let server = Arc::new(
        ApiServer::new(
            api::Scheme::builtin(),
            TestStore::new(),
            "127.0.0.1:8443".into(),
        )
        .with_audit(Some(audit)),
    );
    async fn boom() -> &'static str {
        panic!("the handler broke")
    }
    let router = Router::new()
        .route("/boom", axum::routing::get(boom))
        .layer(axum::middleware::from_fn_with_state(server.clone(), record))
        .layer(axum::middleware::from_fn_with_state(
            server.clone(),
            crate::http::recover::recover,
        ))
        .with_state(server.clone());
    let response = router
        .oneshot(request("GET", "/boom", admin(), None))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    server.audit.as_ref().unwrap().flush().await;
    let events = memory.events();
    assert_eq!(stages(&events), ["RequestReceived", "Panic"]);
    assert_eq!(
        events[1]["responseStatus"],
        json!({"metadata": {}, "status": "Failure", "message": "APIServer panic'd: the handler broke",
            "reason": "InternalError", "code": 500})
    );
}

#[tokio::test]
async fn requests_past_their_deadline_are_logged_with_504() {
    let (sink, memory) = Memory::sink();
    let audit = Audit::new(Policy::parse(POLICY).unwrap(), sink);
    let server = Arc::new(
        ApiServer::new(
            api::Scheme::builtin(),
            TestStore::new(),
            "127.0.0.1:8443".into(),
        )
        .with_audit(Some(audit)),
    );
    async fn slow() -> &'static str {
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        "late"
    }
    let router = Router::new()
        .route("/slow", axum::routing::get(slow))
        .layer(axum::middleware::from_fn_with_state(server.clone(), record))
        .layer(axum::middleware::from_fn_with_state(
            server.clone(),
            crate::http::timeout::deadline,
        ))
        .with_state(server.clone());
    let response = router
        .oneshot(request("GET", "/slow?timeout=1s", admin(), None))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    server.audit.as_ref().unwrap().flush().await;
    let events = memory.events();
    assert_eq!(stages(&events), ["RequestReceived", "ResponseComplete"]);
    assert_eq!(events[1]["responseStatus"]["code"], 504);
    assert_eq!(events[1]["responseStatus"]["reason"], "Timeout");
}
