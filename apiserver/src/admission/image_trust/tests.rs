use serde_json::{Value, json};

use crate::registry::image::signatures::tests::{
    DIGEST, RSA_SIG, signature, signed_by, trust_policy,
};
use crate::testing::Cluster;

const INTERNAL_SIG: &[u8] = include_bytes!("../../../../trust/src/testdata/internal.sig");
const PODS: &str = "/api/v1/namespaces/team/pods";
const UNSIGNED: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

fn pod(name: &str, image: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
           "spec": {"containers": [{"name": "c", "image": image}]}})
}

/// A cluster whose integrated registry is 127.0.0.1:5000, with team/app:v1 and :v2 both at
/// DIGEST (signed as 127.0.0.1:5000/team/app:v1) and team/app:unsigned at UNSIGNED.
async fn cluster() -> Cluster {
    let cluster = Cluster::new();
    cluster.namespace("team").await;
    let config = json!({"apiVersion": "config.openshift.io/v1", "kind": "Image", "metadata": {"name": "cluster"}, "spec": {}});
    let mut created = cluster
        .post("/apis/config.openshift.io/v1/images", config)
        .await
        .created();
    created["status"] = json!({"internalRegistryHostname": "127.0.0.1:5000"});
    cluster
        .put(
            "/apis/config.openshift.io/v1/images/cluster/status",
            created,
        )
        .await
        .ok();
    cluster
        .post(
            "/apis/image.openshift.io/v1/namespaces/team/imagestreams",
            json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream", "metadata": {"name": "app"}}),
        )
        .await
        .created();
    for (tag, digest) in [("v1", DIGEST), ("v2", DIGEST), ("unsigned", UNSIGNED)] {
        let mapping = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStreamMapping",
            "metadata": {"name": "app"}, "tag": tag,
            "image": {"metadata": {"name": digest}, "dockerImageReference": format!("127.0.0.1:5000/team/app@{digest}")}});
        cluster
            .post(
                "/apis/image.openshift.io/v1/namespaces/team/imagestreammappings",
                mapping,
            )
            .await
            .created();
    }
    cluster
        .post(
            "/apis/image.openshift.io/v1/imagesignatures",
            signature(&format!("{DIGEST}@internal"), INTERNAL_SIG),
        )
        .await
        .created();
    cluster
}

async fn refused(cluster: &Cluster, uri: &str, body: Value) -> String {
    let answer = cluster.post(uri, body).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    answer.body["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn without_a_policy_nothing_is_checked() {
    let cluster = cluster().await;
    cluster
        .post(PODS, pod("any", "127.0.0.1:5000/team/app:unsigned"))
        .await
        .created();
}

#[tokio::test]
async fn a_signed_by_policy_admits_signed_images_and_refuses_others() {
    let cluster = cluster().await;
    trust_policy(
        &cluster,
        json!({"127.0.0.1:5000/team": signed_by(), "blocked.example.com": [{"type": "reject"}]}),
    )
    .await;
    cluster
        .post(PODS, pod("signed", "127.0.0.1:5000/team/app:v1"))
        .await
        .created();
    cluster
        .post(
            PODS,
            pod("by-digest", &format!("127.0.0.1:5000/team/app@{DIGEST}")),
        )
        .await
        .created();
    cluster
        .post(PODS, pod("elsewhere", "quay.io/other/thing:1"))
        .await
        .created();

    let message = refused(
        &cluster,
        PODS,
        pod("retagged", "127.0.0.1:5000/team/app:v2"),
    )
    .await;
    assert_eq!(
        message,
        "pods \"retagged\" is forbidden: image \"127.0.0.1:5000/team/app:v2\" is not trusted: Signature for identity \"127.0.0.1:5000/team/app:v1\" is not accepted"
    );
    let message = refused(
        &cluster,
        PODS,
        pod("unsigned", "127.0.0.1:5000/team/app:unsigned"),
    )
    .await;
    assert!(
        message.ends_with("is not trusted: A signature was required, but no signature exists"),
        "{message}"
    );
    let message = refused(&cluster, PODS, pod("blocked", "blocked.example.com/x/y:1")).await;
    assert!(
        message.ends_with("Running image blocked.example.com/x/y:1 is rejected by policy."),
        "{message}"
    );
    let message = refused(
        &cluster,
        PODS,
        pod("missing", "127.0.0.1:5000/team/nothing:1"),
    )
    .await;
    assert!(
        message.contains("the image stream team/nothing does not exist"),
        "{message}"
    );

    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
        "spec": {"initContainers": [{"name": "i", "image": "127.0.0.1:5000/team/app:v1"}],
                 "containers": [{"name": "c", "image": "127.0.0.1:5000/team/app:v2"}]}}}});
    let message = refused(
        &cluster,
        "/apis/apps/v1/namespaces/team/deployments",
        deployment,
    )
    .await;
    assert!(
        message.starts_with(
            "deployments.apps \"web\" is forbidden: image \"127.0.0.1:5000/team/app:v2\""
        ),
        "{message}"
    );
}

#[tokio::test]
async fn a_new_signature_changes_the_cached_verdict() {
    let cluster = cluster().await;
    trust_policy(&cluster, json!({"registry.example.com/team": signed_by()})).await;
    let spec = format!("registry.example.com/team/app@{DIGEST}");
    // The image is known, but only its signature for the integrated registry's name.
    let message = refused(&cluster, PODS, pod("before", &spec)).await;
    assert!(
        message.contains("Signature for identity \"127.0.0.1:5000/team/app:v1\" is not accepted"),
        "{message}"
    );
    cluster
        .post(
            "/apis/image.openshift.io/v1/imagesignatures",
            signature(&format!("{DIGEST}@external"), RSA_SIG),
        )
        .await
        .created();
    cluster.post(PODS, pod("after", &spec)).await.created();
}

/// The figures `hack/bench-image-trust.sh` prints: the plugin's check of a pod naming three
/// signed images, cold (nothing cached: the policy read and parsed, each image resolved and
/// its signature verified) and cached (the same pod again).
#[tokio::test]
#[ignore = "a benchmark: hack/bench-image-trust.sh runs it"]
async fn bench_admission_of_three_signed_images() {
    use super::super::{Attributes, Operation};
    use std::time::{Duration, Instant};

    let cluster = Cluster::new();
    trust_policy(&cluster, json!({"registry.example.com/bench": signed_by()})).await;
    let signed: [(&str, &[u8]); 3] = [
        (
            "sha256:495bd612ae232b85315bde329ea4652fe650a51a5b838d813f96f8959c5216e8",
            include_bytes!("../../../../trust/src/testdata/bench/app1.sig"),
        ),
        (
            "sha256:9a8f57c85d8de54d142041f31cbc84252a98ff95ae9d7c889fd54a3789127cad",
            include_bytes!("../../../../trust/src/testdata/bench/app2.sig"),
        ),
        (
            "sha256:8ceb8dcd7fa89a49b35bf991851a27b479f79a50eeb093627f490afc2a39e29f",
            include_bytes!("../../../../trust/src/testdata/bench/app3.sig"),
        ),
    ];
    let mut containers = Vec::new();
    for (i, (digest, sig)) in signed.iter().enumerate() {
        let reference = format!("registry.example.com/bench/app{}@{digest}", i + 1);
        crate::registry::image::signatures::tests::image(&cluster, digest, &reference).await;
        cluster
            .post(
                "/apis/image.openshift.io/v1/imagesignatures",
                signature(&format!("{digest}@s"), sig),
            )
            .await
            .created();
        containers.push(json!({"name": format!("c{i}"), "image": reference}));
    }
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bench"},
                     "spec": {"containers": containers}});
    let Some(def) = cluster.server.scheme.lookup("", "v1", "pods") else {
        panic!("no pods")
    };
    let a = Attributes {
        operation: Operation::Create,
        def,
        subresource: "",
        namespace: Some("team"),
        name: "bench",
        user: None,
        old: None,
        dry_run: false,
        namespace_object: Default::default(),
    };
    let rounds = 200;
    let (mut cold, mut cached) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        super::forget(&cluster.server);
        let t = Instant::now();
        super::check(&cluster.server, &a, &pod).await.unwrap();
        cold.push(t.elapsed());
        let t = Instant::now();
        super::check(&cluster.server, &a, &pod).await.unwrap();
        cached.push(t.elapsed());
    }
    let stats = |v: &mut Vec<Duration>| {
        v.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        (ms(v[v.len() / 2]), ms(v[v.len() * 9 / 10]))
    };
    let (cold_median, cold_p90) = stats(&mut cold);
    let (cached_median, cached_p90) = stats(&mut cached);
    println!(
        "image trust admission of a pod with 3 signed images, {rounds} rounds: cold median {cold_median:.3} ms (p90 {cold_p90:.3}), cached median {cached_median:.3} ms (p90 {cached_p90:.3}), cold/cached {:.0}x",
        cold_median / cached_median
    );
}

/// The figures `hack/bench-image-trust.sh` prints for tags of other registries: a tag of a
/// loopback registry resolved cold (its digest not kept: a manifest GET, the registry's ping
/// remembered by the client) and cached (the same tag again).
#[tokio::test]
#[ignore = "a benchmark: hack/bench-image-trust.sh runs it"]
async fn bench_tag_resolution() {
    use std::time::{Duration, Instant};

    use axum::http::header::CONTENT_TYPE;
    use registry_client::media_types::OCI_MANIFEST;

    const MANIFEST: &[u8] = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}"#;
    let digest = registry_client::sha256_digest(MANIFEST);
    let announced = digest.clone();
    let app = axum::Router::new()
        .route("/v2/", axum::routing::get(|| async { "{}" }))
        .route(
            "/v2/bench/app/manifests/v1",
            axum::routing::get(move || {
                let announced = announced.clone();
                async move {
                    (
                        [
                            (CONTENT_TYPE.as_str(), OCI_MANIFEST.to_string()),
                            ("docker-content-digest", announced),
                        ],
                        MANIFEST,
                    )
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let cluster = Cluster::new();
    let config = crate::registry::image::config::ImageConfig {
        insecure: vec![host.clone()],
        ..Default::default()
    };
    let name = trust::ImageName::parse(&format!("{host}/bench/app:v1")).unwrap();
    let puller = super::Puller::of("team", &json!({}));
    let remote = &cluster.server.admission.state.image_trust.remote;
    let resolve = || super::remote::digest(&cluster.server, &config, &name, "v1", &puller);
    assert_eq!(resolve().await.unwrap(), Ok(digest.clone()));
    let rounds = 200;
    let (mut cold, mut cached) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        remote.forget();
        let t = Instant::now();
        assert_eq!(resolve().await.unwrap(), Ok(digest.clone()));
        cold.push(t.elapsed());
        let t = Instant::now();
        assert_eq!(resolve().await.unwrap(), Ok(digest.clone()));
        cached.push(t.elapsed());
    }
    let stats = |v: &mut Vec<Duration>| {
        v.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        (ms(v[v.len() / 2]), ms(v[v.len() * 9 / 10]))
    };
    let (cold_median, cold_p90) = stats(&mut cold);
    let (cached_median, cached_p90) = stats(&mut cached);
    println!(
        "tag resolution of a loopback registry's tag, {rounds} rounds: cold median {cold_median:.3} ms (p90 {cold_p90:.3}), cached median {cached_median:.3} ms (p90 {cached_p90:.3}), cold/cached {:.0}x",
        cold_median / cached_median
    );
}

/// The figures `hack/bench-image-trust.sh` prints for the registry's signature extension: the
/// signatures a loopback lookaside store publishes for an image of a stream, as each GET of
/// the extension reads them, read from the store every time (as before the cache) and through
/// the cache.
#[tokio::test]
#[ignore = "a benchmark: hack/bench-image-trust.sh runs it"]
async fn bench_lookaside_signatures_of_the_extension() {
    use std::time::{Duration, Instant};

    let hex = DIGEST.trim_start_matches("sha256:");
    let app = axum::Router::new().route(
        &format!("/team/app@sha256={hex}/signature-1"),
        axum::routing::get(|| async { INTERNAL_SIG }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let store = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let cluster = cluster().await;
    let policy = json!({"apiVersion": "config.oxshift.io/v1", "kind": "ImageTrustPolicy",
        "metadata": {"name": "cluster"},
        "spec": {"default": [{"type": "insecureAcceptAnything"}],
                 "transports": {"docker": {"127.0.0.1:5000/team": signed_by()}},
                 "lookaside": {"127.0.0.1:5000/team": store}}});
    cluster
        .post("/apis/config.oxshift.io/v1/imagetrustpolicies", policy)
        .await
        .created();
    let server = &cluster.server;
    let name = trust::ImageName::parse(&format!("127.0.0.1:5000/team/app@{DIGEST}")).unwrap();
    let cached = || crate::image_registry::lookaside_signatures(server, "team", "app", DIGEST);
    assert_eq!(*cached().await.unwrap(), vec![INTERNAL_SIG.to_vec()]);
    let rounds = 500;
    let (mut read, mut kept) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        // Before the cache each GET read the policy, the image configuration and the store.
        let t = Instant::now();
        let compiled = super::current_policy(server).await.unwrap().unwrap();
        crate::registry::image::config::image_config(server)
            .await
            .unwrap();
        let store = compiled.policy.lookaside_for(&name).unwrap();
        let found = super::lookaside::fetch(store, &name, DIGEST).await.unwrap();
        read.push(t.elapsed());
        assert_eq!(found.len(), 1);
        let t = Instant::now();
        let found = cached().await.unwrap();
        kept.push(t.elapsed());
        assert_eq!(found.len(), 1);
    }
    let stats = |v: &mut Vec<Duration>| {
        v.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        (ms(v[v.len() / 2]), ms(v[v.len() * 9 / 10]))
    };
    let (read_median, read_p90) = stats(&mut read);
    let (kept_median, kept_p90) = stats(&mut kept);
    println!(
        "lookaside signatures of the signature extension, {rounds} rounds: store read each time median {read_median:.3} ms (p90 {read_p90:.3}), cached median {kept_median:.3} ms (p90 {kept_p90:.3}), read/cached {:.0}x",
        read_median / kept_median
    );
}
