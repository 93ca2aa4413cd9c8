//! Imports against a registry held in memory: by tag, by digest, manifest lists in both
//! modes, whole repositories, and failures recorded as conditions without partial writes.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use serde_json::{Value, json};

use super::source::{Manifest, Options, RegistryError, RegistrySource, Target};
use crate::testing::Cluster;

const IMPORTS: &str = "/apis/image.openshift.io/v1/namespaces/default/imagestreamimports";
const STREAMS: &str = "/apis/image.openshift.io/v1/namespaces/default/imagestreams";

#[derive(Default)]
struct FakeRegistry {
    /// `(repository, tag or digest)` → manifest.
    manifests: HashMap<(String, String), Manifest>,
    blobs: HashMap<String, Bytes>,
    tags: HashMap<String, Vec<String>>,
}

impl FakeRegistry {
    /// Pushes a single-platform image under `tag`; its digest.
    fn push(&mut self, repository: &str, tag: &str, arch: &str) -> String {
        let config =
            json!({"architecture": arch, "os": "linux", "config": {"Cmd": ["sh"]}}).to_string();
        let config_digest = images::digest::sha256(config.as_bytes());
        self.blobs
            .insert(config_digest.clone(), Bytes::from(config.clone()));
        let manifest = json!({"schemaVersion": 2, "mediaType": images::metadata::SCHEMA2,
            "config": {"mediaType": images::metadata::CONFIG_MEDIA_TYPE, "size": config.len(), "digest": config_digest},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 7, "digest": images::digest::sha256(arch.as_bytes())}]})
        .to_string();
        self.put(repository, tag, images::metadata::SCHEMA2, manifest)
    }

    fn put(&mut self, repository: &str, tag: &str, media_type: &str, body: String) -> String {
        let digest = images::digest::sha256(body.as_bytes());
        let m = Manifest {
            digest: digest.clone(),
            media_type: media_type.into(),
            bytes: Bytes::from(body),
        };
        self.manifests
            .insert((repository.into(), digest.clone()), m.clone());
        if !tag.is_empty() {
            self.manifests.insert((repository.into(), tag.into()), m);
            self.tags
                .entry(repository.into())
                .or_default()
                .push(tag.into());
        }
        digest
    }
}

#[async_trait]
impl RegistrySource for FakeRegistry {
    async fn manifest(&self, t: Target<'_>, _o: &Options) -> Result<Manifest, RegistryError> {
        assert_eq!(t.registry, "127.0.0.1:5000");
        self.manifests
            .get(&(t.repository.to_string(), t.reference.to_string()))
            .cloned()
            .ok_or(RegistryError::NotFound)
    }
    async fn blob(&self, t: Target<'_>, _o: &Options, _max: usize) -> Result<Bytes, RegistryError> {
        self.blobs
            .get(t.reference)
            .cloned()
            .ok_or(RegistryError::NotFound)
    }
    async fn tags(
        &self,
        _r: &str,
        repository: &str,
        _o: &Options,
    ) -> Result<Vec<String>, RegistryError> {
        self.tags
            .get(repository)
            .cloned()
            .ok_or(RegistryError::NotFound)
    }
}

async fn cluster(registry: FakeRegistry) -> Cluster {
    cluster_with(Arc::new(registry)).await
}

async fn cluster_with(source: Arc<dyn RegistrySource>) -> Cluster {
    let mut cluster = Cluster::new();
    if let Some(server) = Arc::get_mut(&mut cluster.server) {
        server.image_source = Some(source);
    }
    cluster
        .server
        .authorizer
        .start(cluster.server.watch_caches.clone());
    cluster.namespace("default").await;
    cluster
}

fn import(images: Value) -> Value {
    json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStreamImport",
           "metadata": {"name": "app"}, "spec": {"import": true, "images": images}})
}

fn from(name: &str, to: &str) -> Value {
    json!({"from": {"kind": "DockerImage", "name": name}, "to": {"name": to}})
}

#[tokio::test]
async fn by_tag_and_by_digest_into_a_new_stream() {
    let mut registry = FakeRegistry::default();
    let digest = registry.push("team/app", "v1", "amd64");
    let cluster = cluster(registry).await;
    let isi = cluster
        .post(
            IMPORTS,
            import(json!([
                from("127.0.0.1:5000/team/app:v1", "v1"),
                from(&format!("127.0.0.1:5000/team/app@{digest}"), "pinned")
            ])),
        )
        .await
        .created();
    assert_eq!(
        isi["status"]["images"][0]["status"]["status"], "Success",
        "{isi}"
    );
    assert_eq!(
        isi["status"]["images"][0]["image"]["dockerImageReference"],
        format!("127.0.0.1:5000/team/app@{digest}")
    );
    assert!(
        isi["status"]["images"][0]["image"]
            .get("dockerImageManifest")
            .is_none()
    );
    let stream = &isi["status"]["import"];
    assert_eq!(stream["status"]["tags"][1]["tag"], "v1");
    assert_eq!(
        stream["status"]["tags"][1]["items"][0]["image"],
        digest.as_str()
    );
    assert_eq!(
        stream["spec"]["tags"][1]["from"]["name"],
        "127.0.0.1:5000/team/app:v1"
    );
    assert_eq!(
        stream["spec"]["tags"][1]["generation"],
        stream["status"]["tags"][1]["items"][0]["generation"]
    );
    assert!(
        stream["metadata"]["annotations"]["openshift.io/image.dockerRepositoryCheck"].is_string()
    );
    let image = cluster
        .get(&format!("/apis/image.openshift.io/v1/images/{digest}"))
        .await
        .ok();
    assert_eq!(image["dockerImageMetadata"]["Config"]["Cmd"], json!(["sh"]));
    assert!(image.get("dockerImageManifest").is_none());

    // The same import again writes nothing.
    let again = cluster
        .post(
            IMPORTS,
            import(json!([from("127.0.0.1:5000/team/app:v1", "v1")])),
        )
        .await
        .created();
    assert_eq!(
        again["status"]["import"]["metadata"]["resourceVersion"],
        stream["metadata"]["resourceVersion"]
    );
}

#[tokio::test]
async fn failures_become_conditions_and_dry_runs_write_nothing() {
    let cluster = cluster(FakeRegistry::default()).await;
    let isi = cluster
        .post(
            IMPORTS,
            import(json!([from("127.0.0.1:5000/team/missing:v1", "v1")])),
        )
        .await
        .created();
    let status = &isi["status"]["images"][0]["status"];
    assert_eq!(
        (status["reason"].as_str(), status["code"].as_i64()),
        (Some("NotFound"), Some(404))
    );
    assert_eq!(
        status["message"],
        "dockerimage.image.openshift.io \"127.0.0.1:5000/team/missing:v1\" not found"
    );
    let stream = cluster.get(&format!("{STREAMS}/app")).await.ok();
    let condition = &stream["status"]["tags"][0]["conditions"][0];
    assert_eq!(
        (condition["type"].as_str(), condition["status"].as_str()),
        (Some("ImportSuccess"), Some("False"))
    );
    assert_eq!(condition["message"], status["message"]);

    let mut dry = import(json!([from("127.0.0.1:5000/team/missing:v1", "other")]));
    dry["metadata"]["name"] = json!("dry");
    dry["spec"]["import"] = json!(false);
    cluster.post(IMPORTS, dry).await.created();
    cluster.get(&format!("{STREAMS}/dry")).await.failure(
        404,
        "NotFound",
        "imagestreams.image.openshift.io \"dry\" not found",
    );
}

#[tokio::test]
async fn manifest_lists_and_repositories() {
    let mut registry = FakeRegistry::default();
    let amd = registry.push("team/multi", "", "amd64");
    let arm = registry.push("team/multi", "", "arm64");
    let entry = |d: &str, arch: &str| json!({"mediaType": images::metadata::SCHEMA2, "size": 1, "digest": d, "platform": {"architecture": arch, "os": "linux"}});
    let list = json!({"schemaVersion": 2, "mediaType": images::metadata::MANIFEST_LIST, "manifests": [entry(&arm, "arm64"), entry(&amd, "amd64")]}).to_string();
    let list_digest = registry.put(
        "team/multi",
        "latest",
        images::metadata::MANIFEST_LIST,
        list,
    );
    for tag in ["1.0", "2.0", "latest-dev"] {
        registry.push("team/repo", tag, "amd64");
    }
    let cluster = cluster(registry).await;

    let legacy = cluster
        .post(
            IMPORTS,
            import(json!([from("127.0.0.1:5000/team/multi:latest", "legacy")])),
        )
        .await
        .created();
    let chosen = legacy["status"]["images"][0]["image"]["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(chosen == amd || chosen == arm, "{legacy}");

    let mut preserve = from("127.0.0.1:5000/team/multi:latest", "all");
    preserve["importPolicy"] = json!({"importMode": "PreserveOriginal"});
    let isi = cluster
        .post(IMPORTS, import(json!([preserve])))
        .await
        .created();
    assert_eq!(
        isi["status"]["images"][0]["image"]["metadata"]["name"],
        list_digest.as_str()
    );
    assert_eq!(
        isi["status"]["images"][0]["manifests"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let layers = cluster.get(&format!("{STREAMS}/app/layers")).await.ok();
    assert_eq!(
        layers["images"][&list_digest]["manifests"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "{layers}"
    );

    let repo = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStreamImport", "metadata": {"name": "repo"},
        "spec": {"import": true, "repository": {"from": {"kind": "DockerImage", "name": "127.0.0.1:5000/team/repo"}}}});
    let isi = cluster.post(IMPORTS, repo).await.created();
    assert_eq!(
        isi["status"]["repository"]["status"]["status"], "Success",
        "{isi}"
    );
    let tags: Vec<&str> = isi["status"]["repository"]["images"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["tag"].as_str())
        .collect();
    assert_eq!(tags, ["2.0", "1.0", "latest-dev"]);
    assert_eq!(
        isi["status"]["import"]["status"]["tags"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
}

#[tokio::test]
async fn requests_are_checked_in_upstream_words() {
    let cluster = cluster(FakeRegistry::default()).await;
    let none = json!({"metadata": {"name": "app"}, "spec": {"import": true}});
    cluster.post(IMPORTS, none).await.failure(
        422,
        "Invalid",
        "ImageStreamImport.image.openshift.io \"app\" is invalid: spec.images: Invalid value: null: you must specify at least one image or a repository import",
    );
    let kind = json!({"metadata": {"name": "app"}, "spec": {"images": [{"from": {"kind": "ImageStreamTag", "name": "a:b"}}]}});
    cluster.post(IMPORTS, kind).await.failure(
        422,
        "Invalid",
        "ImageStreamImport.image.openshift.io \"app\" is invalid: spec.images[0].from.kind: Invalid value: \"ImageStreamTag\": only DockerImage is supported",
    );
}

/// A registry that, once armed, has the stream `default/app` written by someone else while
/// it serves each manifest, as a controller importing another tag would.
struct WrittenMeanwhile {
    registry: FakeRegistry,
    server: std::sync::OnceLock<std::sync::Weak<crate::ApiServer>>,
}

#[async_trait]
impl RegistrySource for WrittenMeanwhile {
    async fn manifest(&self, t: Target<'_>, o: &Options) -> Result<Manifest, RegistryError> {
        if let Some(server) = self.server.get().and_then(std::sync::Weak::upgrade) {
            let def = crate::registry::image::stream_def(&server).unwrap();
            let mut stream = server.get_object(def, Some("default"), "app").await;
            let stream = stream.as_mut().unwrap().as_mut().unwrap();
            let writes = stream["metadata"]["annotations"]["writes"]
                .as_i64()
                .unwrap_or(0);
            stream["metadata"]["annotations"]["writes"] = json!(writes + 1);
            server.update_object(def, stream.clone()).await.unwrap();
        }
        self.registry.manifest(t, o).await
    }
    async fn blob(&self, t: Target<'_>, o: &Options, max: usize) -> Result<Bytes, RegistryError> {
        self.registry.blob(t, o, max).await
    }
    async fn tags(&self, r: &str, repo: &str, o: &Options) -> Result<Vec<String>, RegistryError> {
        self.registry.tags(r, repo, o).await
    }
}

#[tokio::test]
async fn a_stream_written_during_an_import_gets_the_import_unless_its_version_was_named() {
    let mut registry = FakeRegistry::default();
    registry.push("team/app", "v1", "amd64");
    let v2 = registry.push("team/app", "v2", "amd64");
    let source = Arc::new(WrittenMeanwhile {
        registry,
        server: Default::default(),
    });
    let cluster = cluster_with(source.clone()).await;
    let first = import(json!([from("127.0.0.1:5000/team/app:v1", "v1")]));
    cluster.post(IMPORTS, first).await.created();
    let _ = source.server.set(Arc::downgrade(&cluster.server));

    // Read, written by another, then applied again to what the other wrote.
    let isi = cluster
        .post(
            IMPORTS,
            import(json!([from("127.0.0.1:5000/team/app:v2", "v2")])),
        )
        .await
        .created();
    let stream = cluster.get(&format!("{STREAMS}/app")).await.ok();
    assert_eq!(stream["metadata"]["annotations"]["writes"], 1, "{stream}");
    let v2_tag = stream["status"]["tags"]
        .as_array()
        .and_then(|tags| tags.iter().find(|t| t["tag"] == "v2"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(v2_tag["items"][0]["image"], v2.as_str(), "{stream}");
    assert_eq!(
        isi["status"]["import"]["metadata"]["resourceVersion"],
        stream["metadata"]["resourceVersion"]
    );

    // A request that names the version it read is refused when that version is gone.
    let mut pinned = import(json!([from("127.0.0.1:5000/team/app:v1", "v3")]));
    pinned["metadata"]["resourceVersion"] = stream["metadata"]["resourceVersion"].clone();
    cluster.post(IMPORTS, pinned).await.failure(
        409,
        "Conflict",
        "Operation cannot be fulfilled on imagestreams.image.openshift.io \"app\": the object \
         has been modified; please apply your changes to the latest version and try again",
    );
    let after = cluster.get(&format!("{STREAMS}/app")).await.ok();
    assert_eq!(after["metadata"]["annotations"]["writes"], 2, "{after}");
    assert!(
        !after["spec"]["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| t["name"] == "v3"),
        "{after}"
    );
}
