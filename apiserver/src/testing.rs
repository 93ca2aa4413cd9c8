//! An in-process API server over a temporary embedded store, and requests to it made as a
//! client makes them (method, path, query, headers, body), answered by the generic registry
//! without TLS, authentication or authorization.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::Response;
use http_body_util::BodyExt;
use serde_json::{Value, json};

use crate::ApiServer;
use crate::http::serve::User;
use crate::test_store::TestStore;

/// How long a test waits for something that should happen at once.
const PATIENCE: Duration = Duration::from_secs(5);

pub struct Cluster {
    pub server: Arc<ApiServer>,
    pub store: Arc<TestStore>,
}

impl Cluster {
    pub fn new() -> Cluster {
        // Without the SCC plugin: these clusters have no SCCs and no namespace allocation
        // (the plugin has tests of its own, and the e2e tests run it whole).
        let admission =
            crate::admission::Config::disabling(&[crate::admission::scc::NAME.to_string()])
                .unwrap_or_default();
        Cluster::with_admission(admission)
    }

    /// A cluster whose admission plugins are `admission`.
    pub fn with_admission(admission: crate::admission::Config) -> Cluster {
        let store = TestStore::new();
        let server = ApiServer::new(
            api::Scheme::builtin(),
            store.clone(),
            "127.0.0.1:8443".into(),
        )
        .with_admission(admission);
        Cluster {
            server: Arc::new(server),
            store,
        }
    }

    /// A cluster with the namespace `default`, following its RBAC policy (as a started server
    /// does: admission checks that read the policy answer at once).
    pub async fn with_default_namespace() -> Cluster {
        let cluster = Cluster::new();
        cluster
            .server
            .authorizer
            .start(cluster.server.watch_caches.clone());
        cluster.namespace("default").await;
        cluster
    }

    /// Creates the namespace `name`.
    pub async fn namespace(&self, name: &str) {
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        self.post("/api/v1/namespaces", ns).await.created();
    }

    /// Asks `check` every 20 ms until it returns something, for at most 10 s (what a
    /// controller or a cache needs a moment for); panics with `what` and the last answer.
    pub async fn until<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, String>>,
    {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match check().await {
                Ok(found) => return found,
                Err(last) if std::time::Instant::now() >= deadline => panic!("{what}: {last}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    pub fn request(&self, method: &str, uri: &str) -> Call<'_> {
        Call {
            cluster: self,
            request: Request::builder().method(method).uri(uri),
            body: Vec::new(),
        }
    }

    pub async fn get(&self, uri: &str) -> Answer {
        self.request("GET", uri).send().await
    }

    pub async fn post(&self, uri: &str, body: Value) -> Answer {
        self.request("POST", uri).json(&body).send().await
    }

    pub async fn put(&self, uri: &str, body: Value) -> Answer {
        self.request("PUT", uri).json(&body).send().await
    }

    pub async fn patch(&self, uri: &str, content_type: &str, body: &str) -> Answer {
        self.request("PATCH", uri)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
    }

    pub async fn delete(&self, uri: &str) -> Answer {
        self.request("DELETE", uri).send().await
    }

    /// Opens a watch (`uri` carries `watch=true`) and returns its stream once it answers.
    pub async fn watch(&self, uri: &str) -> Watch {
        let response = self.request("GET", uri).open().await;
        assert_eq!(response.status(), StatusCode::OK, "watch {uri}");
        Watch {
            body: response.into_body(),
            pending: Vec::new(),
        }
    }
}

/// A request being built.
pub struct Call<'a> {
    cluster: &'a Cluster,
    request: axum::http::request::Builder,
    body: Vec<u8>,
}

impl Call<'_> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.request = self.request.header(name, value);
        self
    }

    pub fn json(self, body: &Value) -> Self {
        self.header("content-type", "application/json")
            .body(&body.to_string())
    }

    pub fn body(mut self, body: &str) -> Self {
        self.body = body.as_bytes().to_vec();
        self
    }

    /// Sends the request as the cluster's administrator and returns the response as it
    /// comes (its body possibly still streaming).
    pub async fn open(self) -> Response {
        let admin = User {
            name: "system:admin".into(),
            groups: vec!["system:masters".into()],
            ..Default::default()
        };
        let request = self
            .request
            .extension(admin)
            .body(Body::from(self.body))
            .unwrap();
        crate::registry::dispatch::handle(State(self.cluster.server.clone()), request).await
    }

    pub async fn send(self) -> Answer {
        let response = self.open().await;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = tokio::time::timeout(PATIENCE, response.into_body().collect())
            .await
            .expect("the body ends")
            .unwrap()
            .to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!(
                "{status}: the body is not JSON: {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        Answer {
            status,
            headers,
            body,
        }
    }
}

/// A complete response: its status, headers and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The body of a 200 answer.
    pub fn ok(self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "{}", self.body);
        self.body
    }

    /// The body of a 201 answer.
    pub fn created(self) -> Value {
        assert_eq!(self.status, StatusCode::CREATED, "{}", self.body);
        self.body
    }

    /// Asserts a failure Status with this code, reason and message; returns the Status.
    pub fn failure(self, code: u16, reason: &str, message: &str) -> Value {
        let status = &self.body;
        assert_eq!(self.status.as_u16(), code, "{status}");
        assert_eq!(
            (
                &status["kind"],
                &status["status"],
                &status["code"],
                &status["reason"]
            ),
            (
                &json!("Status"),
                &json!("Failure"),
                &json!(code),
                &json!(reason)
            ),
            "{status}"
        );
        assert_eq!(status["message"], message, "{status}");
        self.body
    }

    /// The texts of the `Warning` headers.
    pub fn warnings(&self) -> Vec<String> {
        self.headers
            .get_all("warning")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }

    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// The events of an open watch.
pub struct Watch {
    body: Body,
    /// Received bytes not yet making a whole line.
    pending: Vec<u8>,
}

impl Watch {
    /// The next event: its type and object.
    pub async fn next(&mut self) -> (String, Value) {
        self.within(PATIENCE)
            .await
            .expect("an event within the patience")
    }

    /// The next event if one comes within `wait`.
    pub async fn within(&mut self, wait: Duration) -> Option<(String, Value)> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                let event: Value = serde_json::from_slice(&line).unwrap();
                let kind = event["type"].as_str().unwrap().to_string();
                return Some((kind, event["object"].clone()));
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame()).await;
            match frame {
                Err(_) => return None,
                Ok(Some(frame)) => {
                    if let Ok(data) = frame.unwrap().into_data() {
                        self.pending.extend_from_slice(&data);
                    }
                }
                Ok(None) => panic!("the watch ended"),
            }
        }
    }

    /// The next event, which must be of type `kind`; returns its object.
    pub async fn expect(&mut self, kind: &str) -> Value {
        let (got, object) = self.next().await;
        assert_eq!(got, kind, "{object}");
        object
    }

    /// Asserts that no event comes for a moment.
    pub async fn quiet(&mut self) {
        if let Some(event) = self.within(Duration::from_millis(200)).await {
            panic!("unexpected event {event:?}");
        }
    }
}

/// The name of an object.
pub fn name(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap()
}

/// The resourceVersion of an object or list.
pub fn resource_version(obj: &Value) -> u64 {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// The names of a list's items.
pub fn names(list: &Value) -> Vec<&str> {
    list["items"].as_array().unwrap().iter().map(name).collect()
}
