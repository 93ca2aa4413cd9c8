use std::collections::HashSet;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, StatusCode};
use bytes::Bytes;
use serde_json::{Value, json};

use super::*;
use crate::test_store::TestStore;

fn server() -> (Arc<ApiServer>, Arc<TestStore>) {
    let store = TestStore::new();
    let server = ApiServer::new(
        api::Scheme::builtin(),
        store.clone(),
        "127.0.0.1:8443".into(),
    );
    (Arc::new(server), store)
}

fn service(name: &str, spec: Value) -> Value {
    let mut spec = spec;
    if spec["ports"].is_null() {
        spec["ports"] = json!([{"port": 80, "protocol": "TCP"}]);
    }
    json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": "default"}, "spec": spec})
}

/// Assigns and stores nothing: what a create of `svc` is given, kept.
async fn create(server: &ApiServer, svc: &mut Value) -> Result<(), ApiError> {
    assign(server, svc, None, false).await?.keep().await;
    Ok(())
}

async fn taken(store: &TestStore, range: Range) -> Vec<String> {
    let snapshot = stored::read(store, range, None).await.unwrap();
    snapshot.bitmap.taken().map(|o| range.show(o)).collect()
}

fn message<T>(result: Result<T, ApiError>) -> String {
    match result {
        Ok(_) => panic!("accepted"),
        Err(e) => e.status().message,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_never_share_an_address() {
    let (server, store) = server();
    let tasks: Vec<_> = (0..48)
        .map(|i| {
            let server = server.clone();
            tokio::spawn(async move {
                let mut svc = service(&format!("s{i}"), json!({"type": "NodePort"}));
                create(&server, &mut svc).await.unwrap();
                let port = svc["spec"]["ports"][0]["nodePort"].as_i64().unwrap();
                (svc["spec"]["clusterIP"].as_str().unwrap().to_string(), port)
            })
        })
        .collect();
    let (mut ips, mut ports) = (HashSet::new(), HashSet::new());
    for task in tasks {
        let (ip, port) = task.await.unwrap();
        assert!(ip.starts_with("172.30.") && (30000..=32767).contains(&port));
        ips.insert(ip);
        ports.insert(port);
    }
    assert_eq!((ips.len(), ports.len()), (48, 48));
    assert_eq!(taken(&store, Range::ClusterIps).await.len(), 48);
    assert_eq!(taken(&store, Range::NodePorts).await.len(), 48);

    // Many asking at once for the same address: one gets it.
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let server = server.clone();
            tokio::spawn(async move {
                let spec = json!({"clusterIP": "172.30.0.10", "type": "NodePort",
                    "ports": [{"port": 80, "nodePort": 30010}]});
                create(&server, &mut service(&format!("c{i}"), spec)).await
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => won += 1,
            Err(e) => assert!(
                e.to_string().contains("provided IP is already allocated"),
                "{e}"
            ),
        }
    }
    assert_eq!(won, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compare_and_swap_alone_keeps_writers_apart() {
    let (_, store) = server();
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                stored::swap_until_stored(store.as_ref(), Range::NodePorts, |bitmap| {
                    Ok(bitmap.allocate_next())
                })
                .await
                .unwrap()
                .unwrap()
            })
        })
        .collect();
    let mut picks = HashSet::new();
    for task in tasks {
        assert!(picks.insert(task.await.unwrap()));
    }
    assert_eq!(taken(&store, Range::NodePorts).await.len(), 32);
}

#[tokio::test]
async fn chosen_values_in_use_or_out_of_range_are_refused() {
    let (server, store) = server();
    let mut a = service(
        "a",
        json!({"clusterIP": "172.30.0.10", "type": "NodePort",
        "ports": [{"port": 80, "nodePort": 30001}]}),
    );
    create(&server, &mut a).await.unwrap();
    assert_eq!(a["spec"]["clusterIPs"], json!(["172.30.0.10"]));
    assert_eq!(a["spec"]["ipFamilies"], json!(["IPv4"]));

    let mut b = service("b", json!({"clusterIP": "172.30.0.10"}));
    assert_eq!(
        message(create(&server, &mut b).await),
        r#"Service "b" is invalid: spec.clusterIPs: Invalid value: []string{"172.30.0.10"}: failed to allocate IP 172.30.0.10: provided IP is already allocated"#
    );
    let mut b = service(
        "b",
        json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30001}]}),
    );
    assert_eq!(
        message(create(&server, &mut b).await),
        r#"Service "b" is invalid: spec.ports[0].nodePort: Invalid value: 30001: provided port is already allocated"#
    );
    let mut b = service("b", json!({"clusterIP": "10.0.0.1"}));
    assert_eq!(
        message(create(&server, &mut b).await),
        r#"Service "b" is invalid: spec.clusterIPs: Invalid value: []string{"10.0.0.1"}: failed to allocate IP 10.0.0.1: the provided IP (10.0.0.1) is not in the valid range. The range of valid IPs is 172.30.0.0/16"#
    );
    let mut b = service(
        "b",
        json!({"type": "NodePort", "ports": [{"port": 80}, {"port": 81, "nodePort": 40000}]}),
    );
    assert_eq!(
        message(create(&server, &mut b).await),
        r#"Service "b" is invalid: spec.ports[1].nodePort: Invalid value: 40000: provided port is not in the valid range. The range of valid ports is 30000-32767"#
    );
    let mut b = service("b", json!({"clusterIP": "nope"}));
    assert_eq!(
        message(create(&server, &mut b).await),
        r#"Service "b" is invalid: spec.clusterIPs[0]: Invalid value: "nope": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"#
    );
    // The refused writes gave back what they had taken before failing.
    let mut b = service(
        "b",
        json!({"clusterIP": "172.30.0.11", "type": "NodePort",
        "ports": [{"port": 80, "nodePort": 30001}]}),
    );
    assert!(create(&server, &mut b).await.is_err());
    assert_eq!(taken(&store, Range::ClusterIps).await, ["172.30.0.10"]);
    assert_eq!(taken(&store, Range::NodePorts).await, ["30001"]);
}

#[tokio::test]
async fn updates_keep_the_cluster_ip_and_follow_node_ports() {
    let (server, store) = server();

    let mut a = service(
        "a",
        json!({"type": "NodePort", "ports": [{"name": "http", "port": 80, "nodePort": 30001}]}),
    );
    create(&server, &mut a).await.unwrap();
    let ip = a["spec"]["clusterIP"].as_str().unwrap().to_string();

    // Left out: kept.
    let mut next = a.clone();
    let spec = next["spec"].as_object_mut().unwrap();
    spec.remove("clusterIP");
    spec.remove("clusterIPs");
    next["spec"]["ports"][0]
        .as_object_mut()
        .unwrap()
        .remove("nodePort");
    assign(&server, &mut next, Some(&a), false)
        .await
        .unwrap()
        .keep()
        .await;
    assert_eq!(next["spec"]["clusterIPs"], json!([ip]));
    assert_eq!(next["spec"]["ports"][0]["nodePort"], 30001);

    // Changed: refused.
    let mut moved = a.clone();
    moved["spec"]["clusterIP"] = json!("172.30.0.11");
    assert_eq!(
        message(assign(&server, &mut moved, Some(&a), false).await),
        r#"Service "a" is invalid: spec.clusterIPs[0]: Invalid value: []string{"172.30.0.11"}: may not change once set"#
    );

    // A node port changed is taken, the old one given back once the update is kept.
    let mut next = a.clone();
    next["spec"]["ports"][0]["nodePort"] = json!(30002);
    let claim = assign(&server, &mut next, Some(&a), false).await.unwrap();
    assert_eq!(taken(&store, Range::NodePorts).await, ["30001", "30002"]);
    claim.keep().await;
    assert_eq!(taken(&store, Range::NodePorts).await, ["30002"]);

    // A type without node ports drops them; they are given back.
    let mut plain = next.clone();
    plain["spec"]["type"] = json!("ClusterIP");
    assign(&server, &mut plain, Some(&next), false)
        .await
        .unwrap()
        .keep()
        .await;
    assert!(plain["spec"]["ports"][0]["nodePort"].is_null());
    assert!(taken(&store, Range::NodePorts).await.is_empty());
    // An ExternalName has no cluster IP: given back too.
    let mut external = plain.clone();
    external["spec"]["type"] = json!("ExternalName");
    external["spec"]["externalName"] = json!("example.com");
    assign(&server, &mut external, Some(&plain), false)
        .await
        .unwrap()
        .keep()
        .await;
    assert!(external["spec"]["clusterIP"].is_null());
    assert!(taken(&store, Range::ClusterIps).await.is_empty());
}

#[tokio::test]
async fn dry_runs_take_nothing() {
    let (server, store) = server();

    let mut a = service("a", json!({"type": "NodePort"}));
    let claim = assign(&server, &mut a, None, true).await.unwrap();
    claim.keep().await;
    assert!(
        a["spec"]["clusterIP"]
            .as_str()
            .unwrap()
            .starts_with("172.30.")
    );
    assert!(a["spec"]["ports"][0]["nodePort"].is_i64());
    assert!(
        store
            .get(Range::ClusterIps.key(), None)
            .await
            .unwrap()
            .0
            .is_none()
    );
    assert!(
        store
            .get(Range::NodePorts.key(), None)
            .await
            .unwrap()
            .0
            .is_none()
    );
}

#[tokio::test]
async fn an_allocation_lists_no_services() {
    let (server, store) = server();
    for i in 0..20 {
        let mut svc = service(&format!("s{i}"), json!({"type": "NodePort"}));
        create(&server, &mut svc).await.unwrap();
    }
    assert_eq!(store.lists("/registry/"), 0);
}

async fn request(
    server: &Arc<ApiServer>,
    method: &str,
    uri: &str,
    body: Value,
) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = crate::registry::dispatch::handle(State(server.clone()), request).await;
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap_or_default())
}

async fn eventually_taken(store: &TestStore, range: Range, want: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while taken(store, range).await != want {
        assert!(
            Instant::now() < deadline,
            "{range:?}: {:?}",
            taken(store, range).await
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_takes_on_create_and_gives_back_on_failure_and_delete() {
    let (server, store) = server();
    let namespace =
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}});
    store
        .create(
            "/registry/core/namespaces/default",
            Bytes::from(namespace.to_string()),
        )
        .await
        .unwrap();
    let collection = "/api/v1/namespaces/default/services";
    let body = service(
        "web",
        json!({"type": "NodePort", "clusterIP": "172.30.0.20",
        "ports": [{"port": 80, "nodePort": 30020}]}),
    );

    let (status, _) = request(
        &server,
        "POST",
        &format!("{collection}?dryRun=All"),
        body.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(taken(&store, Range::ClusterIps).await.is_empty());

    let (status, created) = request(&server, "POST", collection, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(taken(&store, Range::ClusterIps).await, ["172.30.0.20"]);
    assert_eq!(taken(&store, Range::NodePorts).await, ["30020"]);

    // A second create of the name takes a fresh address, then gives it back.
    let again = service("web", json!({"type": "NodePort"}));
    let (status, _) = request(&server, "POST", collection, again).await;
    assert_eq!(status, StatusCode::CONFLICT);
    eventually_taken(&store, Range::ClusterIps, &["172.30.0.20"]).await;
    eventually_taken(&store, Range::NodePorts, &["30020"]).await;

    // An update through the API: a new node port, the old one given back.
    let mut changed = created.clone();
    changed["spec"]["ports"][0]["nodePort"] = json!(30021);
    let (status, _) = request(&server, "PUT", &format!("{collection}/web"), changed).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(taken(&store, Range::NodePorts).await, ["30021"]);

    let (status, _) = request(&server, "DELETE", &format!("{collection}/web"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(taken(&store, Range::ClusterIps).await.is_empty());
    assert!(taken(&store, Range::NodePorts).await.is_empty());
}

#[tokio::test]
async fn repair_takes_in_existing_services_and_frees_leaks_after_three_passes() {
    let (_, store) = server();
    // A service stored before the bitmaps existed, and one value taken for a write that
    // never landed.
    let old = service(
        "old",
        json!({"type": "NodePort", "clusterIP": "172.30.3.4",
        "clusterIPs": ["172.30.3.4"], "ports": [{"port": 80, "nodePort": 31000}]}),
    );
    store
        .create(
            "/registry/core/services/default/old",
            Bytes::from(old.to_string()),
        )
        .await
        .unwrap();
    let leaked = range::ip_offset("172.30.9.9".parse().unwrap()).unwrap();
    stored::update(
        store.as_ref(),
        Range::ClusterIps,
        |b| Ok(b.allocate(leaked)),
    )
    .await
    .unwrap();

    let mut repair = repair::Repair::default();
    for _ in 0..2 {
        repair.run(store.as_ref()).await.unwrap();
        assert_eq!(
            taken(&store, Range::ClusterIps).await,
            ["172.30.3.4", "172.30.9.9"]
        );
        assert_eq!(taken(&store, Range::NodePorts).await, ["31000"]);
    }
    repair.run(store.as_ref()).await.unwrap();
    assert_eq!(taken(&store, Range::ClusterIps).await, ["172.30.3.4"]);
}

#[tokio::test]
async fn ports_of_one_number_share_a_node_port_and_local_balancers_get_a_health_check_port() {
    let (server, store) = server();
    let mut dns = service(
        "dns",
        json!({"type": "LoadBalancer", "externalTrafficPolicy": "Local",
        "ports": [{"name": "tcp", "port": 53, "protocol": "TCP"}, {"name": "udp", "port": 53, "protocol": "UDP"}]}),
    );
    create(&server, &mut dns).await.unwrap();
    let ports = &dns["spec"]["ports"];
    assert_eq!(ports[0]["nodePort"], ports[1]["nodePort"]);
    let health = dns["spec"]["healthCheckNodePort"].as_i64().unwrap();
    assert_ne!(ports[0]["nodePort"], health);
    assert_eq!(taken(&store, Range::NodePorts).await.len(), 2);
}

#[tokio::test]
async fn services_stored_by_the_previous_allocator_still_update() {
    let (server, _) = server();

    // Headless services were stored without `clusterIPs`.
    let old = service("h", json!({"clusterIP": "None"}));
    let mut next = old.clone();
    next["metadata"]["labels"] = json!({"app": "h"});
    assign(&server, &mut next, Some(&old), false)
        .await
        .unwrap()
        .keep()
        .await;
    assert_eq!(next["spec"]["clusterIPs"], json!(["None"]));
}

/// What an allocation costs on the embedded store, one at a time and 64 at once, and the
/// size of the stored bitmaps. Run with `--ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn measure_allocations() {
    let (server, store) = server();
    let rounds = 200;
    let started = Instant::now();
    for i in 0..rounds {
        create(
            &server,
            &mut service(&format!("s{i}"), json!({"type": "NodePort"})),
        )
        .await
        .unwrap();
    }
    let one_at_a_time = started.elapsed() / rounds;
    let started = Instant::now();
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let server = server.clone();
            tokio::spawn(async move {
                let mut svc = service(&format!("c{i}"), json!({"type": "NodePort"}));
                create(&server, &mut svc).await.unwrap();
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let concurrent = started.elapsed();
    let size = |key: &'static str| {
        let store = store.clone();
        async move { store.get(key, None).await.unwrap().0.unwrap().value.len() }
    };
    eprintln!(
        "a create with a cluster IP and a node port: {one_at_a_time:?} each in sequence, 64 at once in {concurrent:?}; stored bitmaps {} and {} bytes",
        size(Range::ClusterIps.key()).await,
        size(Range::NodePorts.key()).await,
    );
}
