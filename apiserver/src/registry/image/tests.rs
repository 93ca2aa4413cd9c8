//! The image API driven in-process: streams and their tag history, mappings, tags and
//! images, answered as openshift-apiserver answers.

use serde_json::{Value, json};

use crate::testing::Cluster;

const STREAMS: &str = "/apis/image.openshift.io/v1/namespaces/default/imagestreams";
const TAGS: &str = "/apis/image.openshift.io/v1/namespaces/default/imagestreamtags";
const MAPPINGS: &str = "/apis/image.openshift.io/v1/namespaces/default/imagestreammappings";
const ISIMAGES: &str = "/apis/image.openshift.io/v1/namespaces/default/imagestreamimages";

fn stream(name: &str, tags: Value) -> Value {
    json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
           "metadata": {"name": name}, "spec": {"tags": tags}})
}

/// An Image as the registry reports a push: schema 2 manifest and its config.
fn image(layer: &str) -> (String, Value) {
    let config =
        json!({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]}}).to_string();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": images::metadata::SCHEMA2,
        "config": {"mediaType": images::metadata::CONFIG_MEDIA_TYPE, "size": config.len(), "digest": images::digest::sha256(config.as_bytes())},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 10, "digest": images::digest::sha256(layer.as_bytes())}]
    })
    .to_string();
    let digest = images::digest::sha256(manifest.as_bytes());
    let image = json!({"metadata": {"name": digest},
        "dockerImageReference": format!("127.0.0.1:5000/default/app@{digest}"),
        "dockerImageManifest": manifest, "dockerImageConfig": config});
    (digest, image)
}

async fn map(cluster: &Cluster, stream: &str, tag: &str, image: Value) {
    let mapping = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStreamMapping",
        "metadata": {"name": stream}, "tag": tag, "image": image});
    let answer = cluster.post(MAPPINGS, mapping).await.created();
    assert_eq!(answer["status"], "Success");
}

#[tokio::test]
async fn reference_tags_become_history_at_once_and_imports_wait() {
    let cluster = Cluster::with_default_namespace().await;
    let is = cluster
        .post(
            STREAMS,
            stream("app", json!([
                {"name": "ref", "reference": true, "from": {"kind": "DockerImage", "name": "quay.io/a/b:1"}},
                {"name": "plain", "from": {"kind": "DockerImage", "name": "quay.io/a/b:2"}}
            ])),
        )
        .await
        .created();
    assert_eq!(is["metadata"]["generation"], 1);
    assert_eq!(is["spec"]["tags"][1]["generation"], 1);
    assert_eq!(is["spec"]["tags"][1]["referencePolicy"]["type"], "Source");
    let tags = is["status"]["tags"].as_array().cloned().unwrap_or_default();
    assert_eq!(tags.len(), 1, "{is}");
    assert_eq!(tags[0]["tag"], "ref");
    assert_eq!(tags[0]["items"][0]["dockerImageReference"], "quay.io/a/b:1");
    assert_eq!(tags[0]["items"][0]["generation"], 1);
    assert_eq!(
        tags[0]["items"][0]["created"],
        is["metadata"]["creationTimestamp"]
    );
}

#[tokio::test]
async fn mappings_tags_and_images() {
    let cluster = Cluster::with_default_namespace().await;
    cluster
        .post(STREAMS, stream("app", json!([])))
        .await
        .created();
    let (digest, img) = image("one");
    map(&cluster, "app", "v1", img.clone()).await;
    // The same image again changes nothing.
    map(&cluster, "app", "v1", img).await;
    let is = cluster.get(&format!("{STREAMS}/app")).await.ok();
    assert_eq!(
        is["status"]["tags"][0]["items"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(
        is["status"]["tags"][0]["items"][0]["image"],
        digest.as_str()
    );

    let ist = cluster.get(&format!("{TAGS}/app:v1")).await.ok();
    assert_eq!(ist["metadata"]["name"], "app:v1");
    assert_eq!(ist["image"]["metadata"]["name"], digest.as_str());
    assert_eq!(
        ist["image"]["dockerImageMetadata"]["Config"]["Cmd"],
        json!(["sh"])
    );
    assert_eq!(
        ist["image"]["dockerImageLayers"].as_array().map(Vec::len),
        Some(1)
    );
    assert!(ist["image"].get("dockerImageManifest").is_none());

    let isimage = cluster
        .get(&format!("{ISIMAGES}/app@{}", &digest[7..19]))
        .await
        .ok();
    assert_eq!(isimage["image"]["metadata"]["name"], digest.as_str());
    let layers = cluster.get(&format!("{STREAMS}/app/layers")).await.ok();
    assert_eq!(
        layers["images"][&digest]["layers"].as_array().map(Vec::len),
        Some(1)
    );

    // `oc tag app:v1 other:latest` creates the stream and tags it from the source's history.
    let put = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStreamTag",
        "metadata": {"name": "other:latest", "namespace": "default"},
        "tag": {"name": "latest", "from": {"kind": "ImageStreamTag", "name": "app:v1", "namespace": "default"}}});
    let answer = cluster.put(&format!("{TAGS}/other:latest"), put).await;
    assert_eq!(answer.status.as_u16(), 201, "{}", answer.body);
    assert_eq!(answer.body["image"]["metadata"]["name"], digest.as_str());
    let other = cluster.get(&format!("{STREAMS}/other")).await.ok();
    assert_eq!(
        other["status"]["tags"][0]["items"][0]["image"],
        digest.as_str()
    );

    let list = cluster.get(TAGS).await.ok();
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2), "{list}");

    cluster.delete(&format!("{TAGS}/other:latest")).await.ok();
    cluster
        .delete(&format!("{TAGS}/other:latest"))
        .await
        .failure(
            404,
            "NotFound",
            "imagestreamtags.image.openshift.io \"other:latest\" not found",
        );
}

#[tokio::test]
async fn the_words_of_refusals() {
    let cluster = Cluster::with_default_namespace().await;
    cluster.get(&format!("{TAGS}/app")).await.failure(
        400,
        "BadRequest",
        "ImageStreamTags must be retrieved with <name>:<tag>",
    );
    cluster.get(&format!("{TAGS}/app:v1")).await.failure(
        404,
        "NotFound",
        "imagestreams.image.openshift.io \"app\" not found",
    );
    let mapping = json!({"metadata": {"name": "app"}, "image": {"metadata": {"name": "sha256:x"}}});
    cluster.post(MAPPINGS, mapping).await.failure(
        422,
        "Invalid",
        "ImageStreamMapping.image.openshift.io \"app\" is invalid: [tag: Required value, image.dockerImageReference: Required value]",
    );
    let bad = stream(
        "app",
        json!([{"name": "x", "from": {"kind": "ImageStreamTag", "name": "a:b:c"}}]),
    );
    cluster.post(STREAMS, bad).await.failure(
        422,
        "Invalid",
        "ImageStream.image.openshift.io \"app\" is invalid: : Internal error: ImageStream.image.openshift.io \"app\" is invalid: spec.tags[x].from.name: Invalid value: \"a:b:c\": must be of the form <tag>, <repo>:<tag>, <id>, or <repo>@<id>",
    );
    let missing = stream(
        "app",
        json!([{"name": "x", "from": {"kind": "ImageStreamTag", "name": "nope:1"}}]),
    );
    cluster.post(STREAMS, missing).await.failure(
        422,
        "Invalid",
        "ImageStream.image.openshift.io \"app\" is invalid: : Internal error: ImageStream.image.openshift.io \"app\" is invalid: spec.tags[x].from.name: Not found: \"nope:1\"",
    );
}

#[tokio::test]
async fn registry_host_names_come_from_the_image_configuration() {
    let cluster = Cluster::with_default_namespace().await;
    let config = json!({"apiVersion": "config.openshift.io/v1", "kind": "Image", "metadata": {"name": "cluster"},
        "spec": {"allowedRegistriesForImport": [{"domainName": "quay.io"}]}});
    let created = cluster
        .post("/apis/config.openshift.io/v1/images", config)
        .await
        .created();
    let mut with_status = created.clone();
    with_status["status"] = json!({"internalRegistryHostname": "127.0.0.1:5000", "externalRegistryHostnames": ["registry.example.com"]});
    cluster
        .put(
            "/apis/config.openshift.io/v1/images/cluster/status",
            with_status,
        )
        .await
        .ok();
    let is = cluster
        .post(STREAMS, stream("app", json!([])))
        .await
        .created();
    assert_eq!(
        is["status"]["dockerImageRepository"],
        "127.0.0.1:5000/default/app"
    );
    assert_eq!(
        is["status"]["publicDockerImageRepository"],
        "registry.example.com/default/app"
    );
    let blocked = stream(
        "b",
        json!([{"name": "x", "from": {"kind": "DockerImage", "name": "evil.io/a/b:1"}}]),
    );
    cluster.post(STREAMS, blocked).await.failure(
        422,
        "Invalid",
        "ImageStream.image.openshift.io \"b\" is invalid: spec.tags[x].from.name: Forbidden: registry \"evil.io:443\" not allowed by whitelist: \"quay.io:443\", \"127.0.0.1:5000\"",
    );
    // A mapping without a pull spec gets the integrated registry's.
    let (digest, mut img) = image("two");
    img["dockerImageReference"] = json!("");
    let mapping = json!({"metadata": {"name": "app"}, "tag": "v1", "image": img});
    let answer = cluster.post(MAPPINGS, mapping).await;
    // Upstream requires the pull spec in the request itself.
    assert_eq!(answer.status.as_u16(), 422, "{}", answer.body);
    let _ = digest;
}

const ITAGS: &str = "/apis/image.openshift.io/v1/namespaces/default/imagetags";

#[tokio::test]
async fn image_tags_show_spec_only_and_reference_tags() {
    let cluster = Cluster::with_default_namespace().await;
    let created = cluster
        .post(
            ITAGS,
            json!({"metadata": {"name": "app:ref"},
                   "spec": {"name": "ref", "reference": true, "from": {"kind": "DockerImage", "name": "quay.io/a/b:1"}}}),
        )
        .await
        .created();
    assert_eq!(
        created["status"]["items"][0]["dockerImageReference"],
        "quay.io/a/b:1"
    );
    assert_eq!(created["image"], Value::Null);
    cluster
        .post(ITAGS, json!({"metadata": {"name": "app:x"}}))
        .await
        .failure(
            422,
            "Invalid",
            "ImageTag.image.openshift.io \"app:x\" is invalid: spec: Required value: spec is a required field during creation",
        );
    let spec_only = json!({"metadata": {"name": "app:later"}, "spec": {"name": "later"}});
    cluster
        .put(&format!("{ITAGS}/app:later"), spec_only)
        .await
        .created();
    let got = cluster.get(&format!("{ITAGS}/app:later")).await.ok();
    assert_eq!(
        (got["spec"]["name"].as_str(), &got["status"]),
        (Some("later"), &Value::Null)
    );
    let list = cluster.get(ITAGS).await.ok();
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2), "{list}");
    // No spec: the spec tag is removed, the history stays.
    let cleared = json!({"metadata": {"name": "app:ref"}});
    cluster.put(&format!("{ITAGS}/app:ref"), cleared).await.ok();
    let got = cluster.get(&format!("{ITAGS}/app:ref")).await.ok();
    assert_eq!(got["spec"], Value::Null);
    cluster.delete(&format!("{ITAGS}/app:ref")).await.ok();
    cluster.get(&format!("{ITAGS}/app:ref")).await.failure(
        404,
        "NotFound",
        "imagetags.image.openshift.io \"app:ref\" not found",
    );
}
