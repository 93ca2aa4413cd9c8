use std::time::{Duration, Instant};

use axum::http::Method;
use bytes::Bytes;
use storage::Store;

use super::objects::{Kind, RbacObjects};
use super::*;
use crate::test_store::TestStore;
use crate::watch::cache::WatchCaches;

fn cluster_role(name: &str) -> Bytes {
    Bytes::from(format!(
        r#"{{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{{"name":"{name}"}},"rules":[{{"apiGroups":[""],"resources":["pods"],"verbs":["get","list"]}}]}}"#
    ))
}

/// A RoleBinding as clients write them, with the metadata the server adds.
fn role_binding(namespace: &str, name: &str, user: &str) -> Bytes {
    Bytes::from(format!(
        r#"{{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{{"name":"{name}","namespace":"{namespace}","uid":"0b7c6f5e-4d3c-4b2a-9f8e-7d6c5b4a3f2e","creationTimestamp":"2025-01-01T00:00:00Z","labels":{{"team":"{namespace}"}},"managedFields":[{{"manager":"kubectl-create","operation":"Update","apiVersion":"rbac.authorization.k8s.io/v1","time":"2025-01-01T00:00:00Z","fieldsType":"FieldsV1","fieldsV1":{{"f:roleRef":{{}},"f:subjects":{{}}}}}}]}},"roleRef":{{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"pod-reader"}},"subjects":[{{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"{user}"}}]}}"#
    ))
}

fn binding_key(namespace: &str, name: &str) -> String {
    format!("{}{namespace}/{name}", Kind::RoleBindings.prefix())
}

fn user(name: &str) -> User {
    User {
        name: name.into(),
        groups: Vec::new(),
        uid: String::new(),
        extra: Default::default(),
    }
}

/// Whether `name` may get pods in `dev`.
async fn may_get_pods(authorizer: &Authorizer, name: &str) -> bool {
    let path = "/api/v1/namespaces/dev/pods/web";
    let info = crate::http::request_info::parse(&Method::GET, path, false);
    authorizer.check(&user(name), &info, path).await.is_ok()
}

async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_that_ends_withdraws_the_policy_until_it_is_rebuilt() {
    let store = TestStore::new();
    let role_key = format!("{}pod-reader", Kind::ClusterRoles.prefix());
    store
        .create(&role_key, cluster_role("pod-reader"))
        .await
        .unwrap();
    let alice = binding_key("dev", "alice");
    store
        .create(&alice, role_binding("dev", "alice", "alice"))
        .await
        .unwrap();
    let caches = Arc::new(WatchCaches::new(store.clone(), Default::default()));
    let authorizer = Arc::new(Authorizer::default());
    authorizer.start(caches.clone());
    assert!(may_get_pods(&authorizer, "alice").await);

    // The role bindings' store watch is lost, the re-list is slow, and meanwhile alice's
    // binding is revoked and bob gets one.
    store.hold_lists();
    store.cut_watches(Kind::RoleBindings.prefix());
    store.delete(&alice, None).await.unwrap();
    store
        .create(
            &binding_key("dev", "bob"),
            role_binding("dev", "bob", "bob"),
        )
        .await
        .unwrap();
    eventually("the policy is withdrawn", || authorizer.rebuilds() == 1).await;
    assert!(authorizer.policy.borrow().is_none());
    // A decision waits for the rebuilt policy instead of answering from the stale one. While
    // the lists are held it cannot finish, however long it is given: the pause is only the
    // window in which a decision answered at once would show.
    let pending = tokio::spawn({
        let authorizer = authorizer.clone();
        async move { may_get_pods(&authorizer, "alice").await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!pending.is_finished());

    store.release_lists();
    assert!(!pending.await.unwrap());
    assert!(may_get_pods(&authorizer, "bob").await);
    // Followed again: later changes count.
    store
        .delete(&binding_key("dev", "bob"), None)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while may_get_pods(&authorizer, "bob").await {
        assert!(
            Instant::now() < deadline,
            "bob's revoked binding still counts"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(authorizer.rebuilds(), 1);
    // Only the broken kind was listed again; the others came from their live caches.
    assert_eq!(store.lists(Kind::RoleBindings.prefix()), 2);
    assert_eq!(store.lists(Kind::ClusterRoles.prefix()), 1);
}

#[tokio::test]
async fn a_policy_that_never_loads_allows_nothing() {
    let authorizer = Authorizer {
        ready_wait: Duration::from_millis(50),
        ..Authorizer::default()
    };
    assert!(!may_get_pods(&authorizer, "alice").await);
    assert_eq!(
        authorizer
            .policy()
            .await
            .rules_for(&user_info(&user("alice")), "dev"),
        []
    );
    let path = "/api/v1/namespaces/dev/pods/web";
    let info = crate::http::request_info::parse(&Method::GET, path, false);
    let refused = authorizer.check(&user("alice"), &info, path).await;
    let Err(ApiError::Forbidden { message, .. }) = refused else {
        panic!("{refused:?}");
    };
    assert_eq!(
        message,
        r#"User "alice" cannot get resource "pods" in API group "" in the namespace "dev": RBAC: the policy is not loaded"#
    );
}

fn event(kind: &'static str, key: &str, object: Bytes) -> Message {
    Message::Event(Arc::new(crate::watch::cache::CacheEvent::for_test(
        kind, key, object,
    )))
}

#[test]
fn a_batch_parses_only_the_objects_it_changes() {
    let mut objects = RbacObjects::default();
    objects.put(
        Kind::ClusterRoles,
        &format!("{}pod-reader", Kind::ClusterRoles.prefix()),
        &cluster_role("pod-reader"),
    );
    for i in 0..1000 {
        let name = format!("u{i}");
        objects.put(
            Kind::RoleBindings,
            &binding_key("dev", &name),
            &role_binding("dev", &name, &name),
        );
    }
    assert_eq!(objects.parsed, 1001);
    let batch = [
        event(
            "ADDED",
            &binding_key("dev", "new"),
            role_binding("dev", "new", "new"),
        ),
        event("DELETED", &binding_key("dev", "u1"), Bytes::new()),
        Message::Progress(7),
    ];
    let mut changed = Changed::No;
    for message in batch {
        changed |= apply(&mut objects, Kind::RoleBindings, Some(message));
    }
    assert!(changed == Changed::Yes);
    assert_eq!(objects.parsed, 1002);
    let policy = objects.policy();
    let path = "/api/v1/namespaces/dev/pods/web";
    let attrs = attributes(
        &crate::http::request_info::parse(&Method::GET, path, false),
        path,
    );
    let allows = |name: &str| policy.authorize(&user_info(&user(name)), &attrs).allowed();
    assert!(allows("new") && allows("u2") && !allows("u1"));
}

/// The cost of one batch with a policy of 5,000 RoleBindings: parsing only the change and
/// re-indexing, against parsing every object again. Run with `--ignored --nocapture`.
#[test]
#[ignore]
fn measure_a_batch_with_5000_role_bindings() {
    let defaults = crate::authz::bootstrap_policy::objects();
    let mut raw: Vec<(Kind, String, Bytes)> = Vec::new();
    for obj in &defaults {
        let (kind, key) = match obj["kind"].as_str() {
            Some("ClusterRole") => (Kind::ClusterRoles, "clusterroles"),
            _ => (Kind::ClusterRoleBindings, "clusterrolebindings"),
        };
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let key = format!("/registry/rbac.authorization.k8s.io/{key}/{name}");
        raw.push((kind, key, Bytes::from(obj.to_string())));
    }
    raw.push((
        Kind::ClusterRoles,
        format!("{}pod-reader", Kind::ClusterRoles.prefix()),
        cluster_role("pod-reader"),
    ));
    for i in 0..5000 {
        let (ns, name) = (format!("ns{}", i % 500), format!("u{i}"));
        raw.push((
            Kind::RoleBindings,
            binding_key(&ns, &name),
            role_binding(&ns, &name, &name),
        ));
    }
    let mut objects = RbacObjects::default();
    let started = Instant::now();
    for (kind, key, json) in &raw {
        objects.put(*kind, key, json);
    }
    let policy = objects.policy();
    let full = started.elapsed();
    drop(policy);

    let rounds = 20u32;
    let started = Instant::now();
    for i in 0..rounds {
        let name = format!("extra{i}");
        let message = event(
            "ADDED",
            &binding_key("ns0", &name),
            role_binding("ns0", &name, &name),
        );
        apply(&mut objects, Kind::RoleBindings, Some(message));
        drop(objects.policy());
    }
    let batch = started.elapsed() / rounds;
    eprintln!(
        "{} RBAC objects: parse all and index {full:?}; one changed object, parsed and re-indexed {batch:?}",
        raw.len()
    );
    assert!(batch < full);
}
