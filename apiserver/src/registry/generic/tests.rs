//! The generic registry's verbs driven in-process, each answer compared with what
//! kube-apiserver answers: status code, Status reason and message, resourceVersions.

use std::time::Duration;

use axum::http::{StatusCode, header};
use serde_json::{Value, json};
use storage::Store;

use crate::testing::{Cluster, name, names, resource_version};

const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";
const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/default/deployments";

const JSON_PATCH: &str = "application/json-patch+json";
const MERGE_PATCH: &str = "application/merge-patch+json";
const STRATEGIC_PATCH: &str = "application/strategic-merge-patch+json";
const APPLY_PATCH: &str = "application/apply-patch+yaml";

fn config_map(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels}, "data": {"k": "v"}})
}

fn deployment(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": name},
    "spec": {
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}
        }
    }})
}

fn at(collection: &str, name: &str) -> String {
    format!("{collection}/{name}")
}

/// Creates a config map in `default` and returns it as stored.
async fn create_config_map(cluster: &Cluster, name: &str, labels: Value) -> Value {
    cluster
        .post(CONFIGMAPS, config_map(name, labels))
        .await
        .created()
}

async fn create_deployment(cluster: &Cluster, name: &str) -> Value {
    cluster.post(DEPLOYMENTS, deployment(name)).await.created()
}

// create

#[tokio::test]
async fn create_sets_system_fields_and_the_kinds_defaults() {
    let cluster = Cluster::with_default_namespace().await;
    let mut body = deployment("web");
    body["status"] = json!({"replicas": 7});
    let created = cluster.post(DEPLOYMENTS, body).await.created();
    let meta = &created["metadata"];
    assert_eq!(meta["namespace"], "default");
    assert!(uuid::Uuid::parse_str(meta["uid"].as_str().unwrap()).is_ok());
    assert!(
        meta["creationTimestamp"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .is_ok()
    );
    assert_eq!(meta["generation"], 1);
    assert_eq!(
        resource_version(&created),
        cluster.store.current_revision().await.unwrap()
    );
    // Upstream's defaults, of the deployment and of its pod template.
    assert_eq!(created["spec"]["replicas"], 1);
    assert_eq!(created["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(
        created["spec"]["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    );
    let pod = &created["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Always");
    assert_eq!(pod["containers"][0]["imagePullPolicy"], "IfNotPresent");
    // The status is the controllers' to write, through its subresource.
    assert!(created.get("status").is_none(), "{created}");
    assert_eq!(cluster.get(&at(DEPLOYMENTS, "web")).await.ok(), created);

    // Kinds without a spec have no generation.
    let cm = create_config_map(&cluster, "plain", json!({})).await;
    assert!(cm["metadata"].get("generation").is_none(), "{cm}");
}

#[tokio::test]
async fn defaults_leave_the_fields_they_do_not_set_absent() {
    let cluster = Cluster::with_default_namespace().await;
    let mut body = deployment("web");
    body["spec"]["template"]["spec"]["containers"][0]["env"] = json!([{"name": "A", "value": "1"}]);
    let created = cluster.post(DEPLOYMENTS, body).await.created();
    let pod = &created["spec"]["template"]["spec"];
    let mut keys: Vec<&str> = pod
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "containers",
            "dnsPolicy",
            "restartPolicy",
            "schedulerName",
            "securityContext",
            "terminationGracePeriodSeconds"
        ]
    );
    assert_eq!(
        pod["containers"][0],
        json!({"name": "app", "image": "nginx:1.27", "env": [{"name": "A", "value": "1"}],
            "imagePullPolicy": "IfNotPresent", "resources": {},
            "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"})
    );
    // A service without ports gets none.
    let service = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "headless"}, "spec": {"clusterIP": "None", "selector": {"app": "web"}}});
    let created = cluster
        .post("/api/v1/namespaces/default/services", service)
        .await
        .created();
    assert!(created["spec"].get("ports").is_none(), "{created}");
}

#[tokio::test]
async fn create_with_generate_name_appends_five_characters() {
    let cluster = Cluster::with_default_namespace().await;
    let body = json!({"metadata": {"generateName": "web-"}, "data": {}});
    let created = cluster.post(CONFIGMAPS, body).await.created();
    let generated = name(&created);
    let suffix = generated.strip_prefix("web-").unwrap();
    assert_eq!(suffix.len(), 5, "{generated}");
    assert!(
        suffix
            .bytes()
            .all(|c| b"bcdfghjklmnpqrstvwxz2456789".contains(&c)),
        "{generated}"
    );
    // Created objects take their kind and version from the endpoint when they give none.
    assert_eq!(
        (&created["apiVersion"], &created["kind"]),
        (&json!("v1"), &json!("ConfigMap"))
    );
}

#[tokio::test]
async fn create_of_a_taken_name_already_exists() {
    let cluster = Cluster::with_default_namespace().await;
    let first = create_config_map(&cluster, "a", json!({})).await;
    let status = cluster
        .post(CONFIGMAPS, config_map("a", json!({"x": "y"})))
        .await
        .failure(409, "AlreadyExists", "configmaps \"a\" already exists");
    assert_eq!(
        status["details"],
        json!({"name": "a", "kind": "configmaps"})
    );
    assert_eq!(cluster.get(&at(CONFIGMAPS, "a")).await.ok(), first);
}

#[tokio::test]
async fn create_in_a_missing_or_terminating_namespace_is_refused() {
    let cluster = Cluster::with_default_namespace().await;
    let status = cluster
        .post(
            "/api/v1/namespaces/nowhere/configmaps",
            config_map("a", json!({})),
        )
        .await
        .failure(404, "NotFound", "namespaces \"nowhere\" not found");
    assert_eq!(
        status["details"],
        json!({"name": "nowhere", "kind": "namespaces"})
    );

    // A namespace being deleted (held by its finalizer) takes no new content.
    cluster.namespace("leaving").await;
    let ns = cluster.delete("/api/v1/namespaces/leaving").await.ok();
    assert_eq!(ns["status"]["phase"], "Terminating");
    let status = cluster
        .post(
            "/api/v1/namespaces/leaving/configmaps",
            config_map("a", json!({})),
        )
        .await
        .failure(
            403,
            "Forbidden",
            "configmaps \"a\" is forbidden: unable to create new content in namespace leaving because it is being terminated",
        );
    assert_eq!(
        status["details"],
        json!({"name": "a", "kind": "configmaps", "causes": [{
            "reason": "NamespaceTerminating",
            "message": "namespace leaving is being terminated",
            "field": "metadata.namespace"
        }]})
    );
}

#[tokio::test]
async fn create_of_another_kind_or_version_is_a_bad_request() {
    let cluster = Cluster::with_default_namespace().await;
    let mut secret = config_map("a", json!({}));
    secret["kind"] = json!("Secret");
    cluster.post(CONFIGMAPS, secret).await.failure(
        400,
        "BadRequest",
        "the kind in the data (Secret) does not match the expected kind (ConfigMap)",
    );
    let mut other_version = config_map("a", json!({}));
    other_version["apiVersion"] = json!("apps/v1");
    cluster.post(CONFIGMAPS, other_version).await.failure(
        400,
        "BadRequest",
        "the API version in the data (apps/v1) does not match the expected API version (v1)",
    );
    assert_eq!(cluster.get(CONFIGMAPS).await.ok()["items"], json!([]));
}

#[tokio::test]
async fn create_with_a_value_of_the_wrong_type_is_refused_with_gos_decoder_message() {
    let cluster = Cluster::with_default_namespace().await;
    let mut body = deployment("web");
    body["spec"]["replicas"] = json!("3");
    cluster.post(DEPLOYMENTS, body).await.failure(
        400,
        "BadRequest",
        "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32",
    );
}

#[tokio::test]
async fn create_that_fails_validation_is_invalid() {
    let cluster = Cluster::with_default_namespace().await;
    let status = cluster
        .post(CONFIGMAPS, config_map("Not_A_Name", json!({})))
        .await
        .failure(
            422,
            "Invalid",
            "ConfigMap \"Not_A_Name\" is invalid: metadata.name: Invalid value: \"Not_A_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        );
    assert_eq!(status["details"]["kind"], "ConfigMap");
    assert_eq!(status["details"]["name"], "Not_A_Name");
    assert_eq!(
        status["details"]["causes"][0]["reason"],
        "FieldValueInvalid"
    );

    // Every problem is reported, each on its field.
    let mut body = deployment("web");
    body["spec"]["replicas"] = json!(-1);
    body["metadata"]["labels"] = json!({"bad key!": "v"});
    let status = cluster.post(DEPLOYMENTS, body).await.body;
    let fields: Vec<&str> = status["details"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["metadata.labels", "spec.replicas"], "{status}");
}

#[tokio::test]
async fn dry_run_create_answers_the_object_and_stores_nothing() {
    let cluster = Cluster::with_default_namespace().await;
    let before = cluster.store.current_revision().await.unwrap();
    let created = cluster
        .post(
            &format!("{CONFIGMAPS}?dryRun=All"),
            config_map("a", json!({})),
        )
        .await
        .created();
    assert_eq!(name(&created), "a");
    assert!(created["metadata"]["uid"].is_string());
    assert_eq!(cluster.store.current_revision().await.unwrap(), before);
    cluster
        .get(&at(CONFIGMAPS, "a"))
        .await
        .failure(404, "NotFound", "configmaps \"a\" not found");
    // A dry run still finds what would conflict.
    create_config_map(&cluster, "b", json!({})).await;
    cluster
        .post(
            &format!("{CONFIGMAPS}?dryRun=All"),
            config_map("b", json!({})),
        )
        .await
        .failure(409, "AlreadyExists", "configmaps \"b\" already exists");
    cluster
        .post(
            &format!("{CONFIGMAPS}?dryRun=Some"),
            config_map("c", json!({})),
        )
        .await
        .failure(
            400,
            "BadRequest",
            "dryRun: Unsupported value: \"Some\": supported values: \"All\"",
        );
}

#[tokio::test]
async fn field_validation_strict_refuses_warn_warns_ignore_drops() {
    let cluster = Cluster::with_default_namespace().await;
    let with_unknown = |name: &str| {
        let mut body = config_map(name, json!({}));
        body["spec"] = json!({"x": 1});
        body
    };
    cluster
        .post(
            &format!("{CONFIGMAPS}?fieldValidation=Strict"),
            with_unknown("strict"),
        )
        .await
        .failure(
            400,
            "BadRequest",
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"spec\"",
        );

    let warned = cluster
        .post(
            &format!("{CONFIGMAPS}?fieldValidation=Warn"),
            with_unknown("warn"),
        )
        .await;
    assert_eq!(warned.warnings(), ["299 - \"unknown field \\\"spec\\\"\""]);
    assert!(warned.created().get("spec").is_none());
    // Warn is the default.
    let warned = cluster.post(CONFIGMAPS, with_unknown("default")).await;
    assert_eq!(warned.warnings().len(), 1);

    let ignored = cluster
        .post(
            &format!("{CONFIGMAPS}?fieldValidation=Ignore"),
            with_unknown("ignore"),
        )
        .await;
    assert!(ignored.warnings().is_empty());
    assert!(ignored.created().get("spec").is_none());
    assert!(
        cluster
            .get(&at(CONFIGMAPS, "ignore"))
            .await
            .ok()
            .get("spec")
            .is_none()
    );
}

// get and list

#[tokio::test]
async fn get_of_a_missing_object_is_not_found() {
    let cluster = Cluster::with_default_namespace().await;
    let status = cluster.get(&at(CONFIGMAPS, "nope")).await.failure(
        404,
        "NotFound",
        "configmaps \"nope\" not found",
    );
    assert_eq!(
        status["details"],
        json!({"name": "nope", "kind": "configmaps"})
    );
    cluster.get(&at(DEPLOYMENTS, "nope")).await.failure(
        404,
        "NotFound",
        "deployments.apps \"nope\" not found",
    );
}

#[tokio::test]
async fn list_pages_through_one_revision() {
    let cluster = Cluster::with_default_namespace().await;
    for n in ["a", "b", "c", "d", "e"] {
        create_config_map(&cluster, n, json!({})).await;
    }
    let first = cluster.get(&format!("{CONFIGMAPS}?limit=2")).await.ok();
    assert_eq!(first["kind"], "ConfigMapList");
    assert_eq!(names(&first), ["a", "b"]);
    let revision = resource_version(&first);
    // Changes after the first page do not show in the next ones.
    cluster.delete(&at(CONFIGMAPS, "c")).await.ok();
    create_config_map(&cluster, "bb", json!({})).await;

    let token = first["metadata"]["continue"].as_str().unwrap();
    let second = cluster
        .get(&format!("{CONFIGMAPS}?limit=2&continue={token}"))
        .await
        .ok();
    assert_eq!(names(&second), ["c", "d"]);
    assert_eq!(resource_version(&second), revision);
    let token = second["metadata"]["continue"].as_str().unwrap();
    let last = cluster
        .get(&format!("{CONFIGMAPS}?limit=2&continue={token}"))
        .await
        .ok();
    assert_eq!(names(&last), ["e"]);
    assert_eq!(resource_version(&last), revision);
    assert!(last["metadata"].get("continue").is_none(), "{last}");

    // A continue token names its revision: no resourceVersion besides it.
    cluster
        .get(&format!(
            "{CONFIGMAPS}?limit=2&continue={token}&resourceVersion=3"
        ))
        .await
        .failure(
            400,
            "BadRequest",
            "specifying resource version is not allowed when using continue",
        );
}

#[tokio::test]
async fn list_selects_by_labels_and_fields() {
    let cluster = Cluster::with_default_namespace().await;
    create_config_map(&cluster, "a", json!({"app": "web", "tier": "front"})).await;
    create_config_map(&cluster, "b", json!({"app": "db"})).await;
    create_config_map(&cluster, "c", json!({"app": "web"})).await;
    create_config_map(&cluster, "d", json!({})).await;
    let cluster = &cluster;
    let list = |query: &str| {
        let uri = format!("{CONFIGMAPS}?{query}");
        async move { cluster.get(&uri).await.ok() }
    };
    assert_eq!(names(&list("labelSelector=app%3Dweb").await), ["a", "c"]);
    assert_eq!(names(&list("labelSelector=app%21%3Dweb").await), ["b", "d"]);
    assert_eq!(
        names(&list("labelSelector=app+in+(web,db),!tier").await),
        ["b", "c"]
    );
    assert_eq!(names(&list("fieldSelector=metadata.name%3Dc").await), ["c"]);
    assert_eq!(
        names(&list("labelSelector=app%3Dweb&fieldSelector=metadata.name%21%3Da").await),
        ["c"]
    );
    // Pages fill with matches however many objects are skipped to find them.
    let page = list("labelSelector=app%3Dweb&limit=1").await;
    assert_eq!(names(&page), ["a"]);
    let token = page["metadata"]["continue"].as_str().unwrap().to_string();
    let next = list(&format!("labelSelector=app%3Dweb&limit=1&continue={token}")).await;
    assert_eq!(names(&next), ["c"]);

    let status = cluster
        .get(&format!("{CONFIGMAPS}?fieldSelector=data.k%3Dv"))
        .await;
    assert_eq!(status.status, StatusCode::BAD_REQUEST, "{}", status.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_at_resource_version_zero_is_served_from_the_watch_cache() {
    let cluster = Cluster::with_default_namespace().await;
    create_config_map(&cluster, "a", json!({})).await;
    let prefix = "/registry/core/configmaps/";
    let first = cluster
        .get(&format!("{CONFIGMAPS}?resourceVersion=0"))
        .await
        .ok();
    assert_eq!(names(&first), ["a"]);
    let lists = cluster.store.lists(prefix);
    let created = create_config_map(&cluster, "b", json!({})).await;
    // The cache catches up with the write at once, and is read without the store.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let list = loop {
        let list = cluster
            .get(&format!("{CONFIGMAPS}?resourceVersion=0"))
            .await
            .ok();
        if names(&list).len() == 2 || tokio::time::Instant::now() > deadline {
            break list;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(names(&list), ["a", "b"]);
    assert!(resource_version(&list) >= resource_version(&created));
    assert_eq!(cluster.store.lists(prefix), lists);
}

#[tokio::test]
async fn list_with_an_exact_resource_version_reads_that_revision() {
    let cluster = Cluster::with_default_namespace().await;
    let a = create_config_map(&cluster, "a", json!({"v": "1"})).await;
    let then = resource_version(&a);
    let mut changed = a.clone();
    changed["metadata"]["labels"]["v"] = json!("2");
    cluster.put(&at(CONFIGMAPS, "a"), changed).await.ok();
    create_config_map(&cluster, "b", json!({})).await;

    let old = cluster
        .get(&format!(
            "{CONFIGMAPS}?resourceVersion={then}&resourceVersionMatch=Exact"
        ))
        .await
        .ok();
    assert_eq!(resource_version(&old), then);
    assert_eq!(names(&old), ["a"]);
    assert_eq!(old["items"][0], a);

    cluster
        .get(&format!("{CONFIGMAPS}?resourceVersionMatch=Exact"))
        .await
        .failure(
            422,
            "Invalid",
            "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
        );
}

#[tokio::test(start_paused = true)]
async fn list_not_older_than_a_future_revision_waits_then_times_out() {
    let cluster = Cluster::with_default_namespace().await;
    let current = cluster.store.current_revision().await.unwrap();
    let future = current + 10;
    let started = tokio::time::Instant::now();
    let answer = cluster
        .get(&format!("{CONFIGMAPS}?resourceVersion={future}"))
        .await;
    assert!(started.elapsed() >= Duration::from_secs(3));
    assert_eq!(answer.header(header::RETRY_AFTER), Some("1"));
    let status = answer.failure(
        504,
        "Timeout",
        &format!("Timeout: Too large resource version: {future}, current: {current}"),
    );
    assert_eq!(
        status["details"],
        json!({"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
            "retryAfterSeconds": 1})
    );
    // A revision the store has reached is answered at once.
    let list = cluster
        .get(&format!("{CONFIGMAPS}?resourceVersion={current}"))
        .await
        .ok();
    assert!(resource_version(&list) >= current);
}

#[tokio::test]
async fn continue_tokens_that_are_invalid_or_compacted_away_are_refused() {
    let cluster = Cluster::with_default_namespace().await;
    for n in ["a", "b", "c"] {
        create_config_map(&cluster, n, json!({})).await;
    }
    cluster
        .get(&format!("{CONFIGMAPS}?limit=1&continue=bm90LWEtdG9rZW4"))
        .await
        .failure(400, "BadRequest", "continue key is not valid");

    let first = cluster.get(&format!("{CONFIGMAPS}?limit=1")).await.ok();
    let token = first["metadata"]["continue"].as_str().unwrap().to_string();
    let mut b = cluster.get(&at(CONFIGMAPS, "b")).await.ok();
    b["data"]["k"] = json!("changed");
    cluster.put(&at(CONFIGMAPS, "b"), b).await.ok();
    let now = cluster.store.current_revision().await.unwrap();
    cluster.store.compact(now).await.unwrap();
    let status = cluster
        .get(&format!("{CONFIGMAPS}?limit=1&continue={token}"))
        .await
        .failure(
            410,
            "Expired",
            "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
        );
    // The token the message offers: the rest of the list, as it is now.
    let rest = status["metadata"]["continue"].as_str().unwrap();
    let remainder = cluster
        .get(&format!("{CONFIGMAPS}?limit=5&continue={rest}"))
        .await
        .ok();
    assert_eq!(names(&remainder), ["b", "c"]);
    assert_eq!(remainder["items"][0]["data"]["k"], "changed");
    assert!(resource_version(&remainder) >= now);

    // A list at a compacted revision.
    cluster
        .get(&format!(
            "{CONFIGMAPS}?resourceVersion=2&resourceVersionMatch=Exact"
        ))
        .await
        .failure(
            410,
            "Expired",
            "The resourceVersion for the provided list is too old.",
        );
}

// update

#[tokio::test]
async fn update_with_a_stale_resource_version_conflicts() {
    let cluster = Cluster::with_default_namespace().await;
    let a = create_config_map(&cluster, "a", json!({})).await;
    let mut first = a.clone();
    first["data"]["k"] = json!("first");
    let updated = cluster.put(&at(CONFIGMAPS, "a"), first).await.ok();
    assert!(resource_version(&updated) > resource_version(&a));

    let mut stale = a.clone();
    stale["data"]["k"] = json!("second");
    let status = cluster.put(&at(CONFIGMAPS, "a"), stale.clone()).await.failure(
        409,
        "Conflict",
        "Operation cannot be fulfilled on configmaps \"a\": the object has been modified; please apply your changes to the latest version and try again",
    );
    assert_eq!(
        status["details"],
        json!({"name": "a", "kind": "configmaps"})
    );
    // Without a resourceVersion the update is unconditional.
    stale["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    let last = cluster.put(&at(CONFIGMAPS, "a"), stale).await.ok();
    assert_eq!(last["data"]["k"], "second");
    assert_eq!(last["metadata"]["uid"], a["metadata"]["uid"]);

    cluster
        .put(&at(CONFIGMAPS, "nope"), config_map("nope", json!({})))
        .await
        .failure(404, "NotFound", "configmaps \"nope\" not found");
    cluster
        .put(&at(CONFIGMAPS, "other"), config_map("a", json!({})))
        .await
        .failure(
            400,
            "BadRequest",
            "the name of the object (a) does not match the name on the URL (other)",
        );
}

#[tokio::test]
async fn update_keeps_the_status_and_bumps_the_generation_on_spec_changes() {
    let cluster = Cluster::with_default_namespace().await;
    create_deployment(&cluster, "web").await;
    let mut with_status = cluster.get(&at(DEPLOYMENTS, "web")).await.ok();
    with_status["status"] = json!({"replicas": 1, "observedGeneration": 1});
    let with_status = cluster
        .put(&at(DEPLOYMENTS, "web/status"), with_status)
        .await
        .ok();

    // Metadata only: the generation stays.
    let mut labelled = with_status.clone();
    labelled["metadata"]["labels"] = json!({"team": "a"});
    labelled["status"] = json!({"replicas": 99});
    let labelled = cluster.put(&at(DEPLOYMENTS, "web"), labelled).await.ok();
    assert_eq!(labelled["metadata"]["generation"], 1);
    assert_eq!(labelled["metadata"]["labels"], json!({"team": "a"}));
    assert_eq!(labelled["status"], with_status["status"]);

    // The spec: the generation moves on; the status still stays.
    let mut scaled = labelled.clone();
    scaled["spec"]["replicas"] = json!(3);
    let scaled = cluster.put(&at(DEPLOYMENTS, "web"), scaled).await.ok();
    assert_eq!(scaled["metadata"]["generation"], 2);
    assert_eq!(scaled["status"], with_status["status"]);
    // System fields cannot be rewritten.
    let mut forged = scaled.clone();
    forged["metadata"]["uid"] = json!("forged");
    forged["metadata"]["creationTimestamp"] = json!("2001-01-01T00:00:00Z");
    let kept = cluster.put(&at(DEPLOYMENTS, "web"), forged).await.ok();
    assert_eq!(kept["metadata"]["uid"], scaled["metadata"]["uid"]);
    assert_eq!(
        kept["metadata"]["creationTimestamp"],
        scaled["metadata"]["creationTimestamp"]
    );
}

#[tokio::test]
async fn the_status_subresource_changes_the_status_only() {
    let cluster = Cluster::with_default_namespace().await;
    let created = create_deployment(&cluster, "web").await;
    let mut body = created.clone();
    body["spec"]["replicas"] = json!(5);
    body["metadata"]["labels"] = json!({"sneaky": "yes"});
    body["status"] = json!({"replicas": 2, "readyReplicas": 1});
    let updated = cluster.put(&at(DEPLOYMENTS, "web/status"), body).await.ok();
    assert_eq!(
        updated["status"],
        json!({"replicas": 2, "readyReplicas": 1})
    );
    assert_eq!(updated["spec"], created["spec"]);
    assert!(updated["metadata"].get("labels").is_none(), "{updated}");
    assert_eq!(updated["metadata"]["generation"], 1);
    assert_eq!(
        cluster.get(&at(DEPLOYMENTS, "web/status")).await.ok(),
        updated
    );
    // Kinds without the subresource do not serve it.
    create_config_map(&cluster, "a", json!({})).await;
    cluster.get(&at(CONFIGMAPS, "a/status")).await.failure(
        404,
        "NotFound",
        "the server could not find the requested resource",
    );
}

#[tokio::test]
async fn the_scale_subresource_reads_and_writes_replicas() {
    let cluster = Cluster::with_default_namespace().await;
    let created = create_deployment(&cluster, "web").await;
    let scale = cluster.get(&at(DEPLOYMENTS, "web/scale")).await.ok();
    assert_eq!(
        scale,
        json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": "web", "namespace": "default",
                "uid": created["metadata"]["uid"],
                "resourceVersion": created["metadata"]["resourceVersion"],
                "creationTimestamp": created["metadata"]["creationTimestamp"]},
            "spec": {"replicas": 1},
            "status": {"replicas": 0, "selector": "app=web"}})
    );

    let mut more = scale.clone();
    more["spec"]["replicas"] = json!(4);
    let scaled = cluster.put(&at(DEPLOYMENTS, "web/scale"), more).await.ok();
    assert_eq!(scaled["spec"]["replicas"], 4);
    let web = cluster.get(&at(DEPLOYMENTS, "web")).await.ok();
    assert_eq!(web["spec"]["replicas"], 4);
    assert_eq!(web["metadata"]["generation"], 2);
    assert_eq!(
        scaled["metadata"]["resourceVersion"],
        web["metadata"]["resourceVersion"]
    );

    // A Scale with an old resourceVersion conflicts, as any update.
    let mut stale = scale.clone();
    stale["spec"]["replicas"] = json!(2);
    cluster
        .put(&at(DEPLOYMENTS, "web/scale"), stale)
        .await
        .failure(
            409,
            "Conflict",
            "Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified; please apply your changes to the latest version and try again",
        );

    let mut negative = scaled.clone();
    negative["spec"]["replicas"] = json!(-1);
    cluster
        .put(&at(DEPLOYMENTS, "web/scale"), negative)
        .await
        .failure(
            422,
            "Invalid",
            "Scale.autoscaling \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        );
    let mut typed_wrong = scaled.clone();
    typed_wrong["spec"]["replicas"] = json!("five");
    cluster
        .put(&at(DEPLOYMENTS, "web/scale"), typed_wrong)
        .await
        .failure(
            400,
            "BadRequest",
            "Scale in version \"v1\" cannot be handled as a Scale: json: cannot unmarshal string into Go struct field ScaleSpec.spec.replicas of type int32",
        );
    // A patch of the Scale.
    let patched = cluster
        .patch(
            &at(DEPLOYMENTS, "web/scale"),
            MERGE_PATCH,
            r#"{"spec":{"replicas":0}}"#,
        )
        .await
        .ok();
    assert_eq!(patched["spec"]["replicas"], 0);
    assert_eq!(
        cluster.get(&at(DEPLOYMENTS, "web")).await.ok()["spec"]["replicas"],
        0
    );
}

// patch

#[tokio::test]
async fn json_patches_apply_in_order_and_failed_operations_are_invalid() {
    let cluster = Cluster::with_default_namespace().await;
    create_config_map(&cluster, "a", json!({"app": "web"})).await;
    let patched = cluster
        .patch(
            &at(CONFIGMAPS, "a"),
            JSON_PATCH,
            r#"[{"op":"test","path":"/data/k","value":"v"},
                {"op":"add","path":"/data/n","value":"1"},
                {"op":"move","from":"/data/k","path":"/data/m"},
                {"op":"remove","path":"/metadata/labels/app"}]"#,
        )
        .await
        .ok();
    assert_eq!(patched["data"], json!({"m": "v", "n": "1"}));
    assert_eq!(patched["metadata"]["labels"], json!({}));

    let before = cluster.store.current_revision().await.unwrap();
    let status = cluster
        .patch(
            &at(CONFIGMAPS, "a"),
            JSON_PATCH,
            r#"[{"op":"replace","path":"/data/n","value":"2"},
                {"op":"test","path":"/data/m","value":"other"}]"#,
        )
        .await
        .failure(
            422,
            "Invalid",
            "the server rejected our request due to an error in our request",
        );
    assert_eq!(status["details"], json!({}));
    cluster
        .patch(
            &at(CONFIGMAPS, "a"),
            JSON_PATCH,
            r#"[{"op":"remove","path":"/data/missing"}]"#,
        )
        .await
        .failure(
            422,
            "Invalid",
            "the server rejected our request due to an error in our request",
        );
    assert_eq!(cluster.store.current_revision().await.unwrap(), before);
    assert_eq!(
        cluster.get(&at(CONFIGMAPS, "a")).await.ok()["data"]["n"],
        "1"
    );

    let answer = cluster
        .patch(&at(CONFIGMAPS, "a"), JSON_PATCH, r#"{"op":"add"}"#)
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    cluster
        .patch(&at(CONFIGMAPS, "nope"), JSON_PATCH, "[]")
        .await
        .failure(404, "NotFound", "configmaps \"nope\" not found");
    cluster
        .patch(&at(CONFIGMAPS, "a"), "application/json", "{}")
        .await
        .failure(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml",
        );
}

#[tokio::test]
async fn json_patches_of_more_than_ten_thousand_operations_are_too_large() {
    let cluster = Cluster::with_default_namespace().await;
    create_config_map(&cluster, "a", json!({})).await;
    let operations: Vec<Value> = (0..10_001)
        .map(|_| json!({"op": "test", "path": "/data/k", "value": "v"}))
        .collect();
    cluster
        .patch(
            &at(CONFIGMAPS, "a"),
            JSON_PATCH,
            &Value::Array(operations).to_string(),
        )
        .await
        .failure(
            413,
            "RequestEntityTooLarge",
            "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001",
        );
}

#[tokio::test]
async fn merge_patches_merge_objects_replace_lists_and_remove_nulls() {
    let cluster = Cluster::with_default_namespace().await;
    let created = create_deployment(&cluster, "web").await;
    let patched = cluster
        .patch(
            &at(DEPLOYMENTS, "web"),
            MERGE_PATCH,
            r#"{"metadata":{"labels":{"a":"1"}},"spec":{"replicas":2,"revisionHistoryLimit":null,
               "template":{"spec":{"containers":[{"name":"other","image":"busybox:1"}]}}}}"#,
        )
        .await
        .ok();
    assert_eq!(patched["metadata"]["labels"], json!({"a": "1"}));
    assert_eq!(patched["spec"]["replicas"], 2);
    // Removed, then defaulted again as any write is.
    assert_eq!(patched["spec"]["revisionHistoryLimit"], 10);
    let containers = &patched["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers.as_array().unwrap().len(), 1);
    assert_eq!(containers[0]["name"], "other");
    assert_eq!(patched["metadata"]["generation"], 2);
    assert_eq!(patched["metadata"]["uid"], created["metadata"]["uid"]);

    // A patch that changes nothing in the spec leaves the generation.
    let labelled = cluster
        .patch(
            &at(DEPLOYMENTS, "web"),
            MERGE_PATCH,
            r#"{"metadata":{"labels":{"a":null,"b":"2"}}}"#,
        )
        .await
        .ok();
    assert_eq!(labelled["metadata"]["labels"], json!({"b": "2"}));
    assert_eq!(labelled["metadata"]["generation"], 2);
}

#[tokio::test]
async fn strategic_patches_merge_on_keys_and_obey_directives() {
    let cluster = Cluster::with_default_namespace().await;
    let mut body = deployment("web");
    body["spec"]["template"]["spec"]["containers"] = json!([
        {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}]},
        {"name": "sidecar", "image": "side:1"},
        {"name": "extra", "image": "extra:1"}
    ]);
    cluster.post(DEPLOYMENTS, body).await.created();
    let uri = at(DEPLOYMENTS, "web");
    let patched = cluster
        .patch(
            &uri,
            STRATEGIC_PATCH,
            r#"{"spec":{"template":{"spec":{"containers":[
                {"name":"app","image":"app:2","env":[{"name":"B","value":"2"}]},
                {"name":"extra","$patch":"delete"}]}}}}"#,
        )
        .await
        .ok();
    let containers = &patched["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers.as_array().unwrap().len(), 2, "{containers}");
    assert_eq!(containers[0]["image"], "app:2");
    assert_eq!(
        containers[0]["env"],
        json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
    );
    assert_eq!(containers[1]["name"], "sidecar");

    // `$retainKeys` keeps only the keys it names; a null it carries still removes.
    let labels = r#"{"metadata":{"labels":{"keep":"0","other":"x","gone":"y"}}}"#;
    cluster.patch(&uri, STRATEGIC_PATCH, labels).await.ok();
    let retained = cluster
        .patch(
            &uri,
            STRATEGIC_PATCH,
            r#"{"metadata":{"labels":{"$retainKeys":["keep"],"keep":"1","gone":null}}}"#,
        )
        .await
        .ok();
    assert_eq!(retained["metadata"]["labels"], json!({"keep": "1"}));

    let replaced = cluster
        .patch(
            &uri,
            STRATEGIC_PATCH,
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"only","image":"o:1"},{"$patch":"replace"}]}}}}"#,
        )
        .await
        .ok();
    assert_eq!(
        replaced["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Directives in a form upstream cannot read change nothing.
    let before = cluster.store.current_revision().await.unwrap();
    cluster
        .patch(
            &uri,
            STRATEGIC_PATCH,
            r#"{"metadata":{"labels":{"$retainKeys":"keep"}}}"#,
        )
        .await
        .failure(400, "BadRequest", "invalid patch format of retainKeys");
    cluster
        .patch(
            &uri,
            STRATEGIC_PATCH,
            r#"{"metadata":{"labels":{"$retainKeys":["keep"],"other":"x"}}}"#,
        )
        .await
        .failure(400, "BadRequest", "invalid patch format of retainKeys");
    assert_eq!(cluster.store.current_revision().await.unwrap(), before);
}

#[tokio::test]
async fn strategic_patches_drop_nulls_under_fields_the_object_lacks() {
    let cluster = Cluster::with_default_namespace().await;
    create_config_map(&cluster, "a", json!({})).await;
    let patched = cluster
        .patch(
            &at(CONFIGMAPS, "a"),
            STRATEGIC_PATCH,
            r#"{"metadata":{"annotations":{"kept":"1","never":null}},"binaryData":null}"#,
        )
        .await
        .ok();
    assert_eq!(patched["metadata"]["annotations"], json!({"kept": "1"}));
    assert!(patched.get("binaryData").is_none(), "{patched}");
}

#[tokio::test]
async fn apply_needs_a_field_manager_and_conflicts_unless_forced() {
    let cluster = Cluster::with_default_namespace().await;
    let uri = at(CONFIGMAPS, "applied");
    let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  k: one\n";
    let status = cluster.patch(&uri, APPLY_PATCH, manifest).await.failure(
        422,
        "Invalid",
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
    );
    assert_eq!(
        status["details"],
        json!({"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [{
            "reason": "FieldValueRequired",
            "message": "Required value: is required for apply patch",
            "field": "fieldManager"
        }]})
    );
    cluster
        .patch(&format!("{uri}?fieldManager="), APPLY_PATCH, manifest)
        .await
        .failure(
            422,
            "Invalid",
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        );
    cluster
        .patch(&format!("{uri}?force=true"), MERGE_PATCH, "{}")
        .await
        .failure(
            422,
            "Invalid",
            "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch",
        );

    // Apply creates what is missing, owned by its manager.
    let created = cluster
        .patch(&format!("{uri}?fieldManager=alice"), APPLY_PATCH, manifest)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let created = created.body;
    assert_eq!(created["data"], json!({"k": "one"}));
    assert_eq!(created["metadata"]["managedFields"][0]["manager"], "alice");
    assert_eq!(
        created["metadata"]["managedFields"][0]["operation"],
        "Apply"
    );

    let other = manifest.replace("one", "two");
    let status = cluster
        .patch(&format!("{uri}?fieldManager=bob"), APPLY_PATCH, &other)
        .await
        .failure(
            409,
            "Conflict",
            "Apply failed with 1 conflict: conflict with \"alice\" using v1: .data.k",
        );
    assert_eq!(
        status["details"]["causes"],
        json!([{"reason": "FieldManagerConflict", "message": "conflict with \"alice\" using v1", "field": ".data.k"}])
    );
    let forced = cluster
        .patch(
            &format!("{uri}?fieldManager=bob&force=true"),
            APPLY_PATCH,
            &other,
        )
        .await
        .ok();
    assert_eq!(forced["data"], json!({"k": "two"}));
    let managers: Vec<&str> = forced["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["manager"].as_str().unwrap())
        .collect();
    assert_eq!(managers, ["bob"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_patches_are_retried_until_each_lands() {
    let cluster = std::sync::Arc::new(Cluster::with_default_namespace().await);
    create_config_map(&cluster, "a", json!({})).await;
    let writers = 24;
    let tasks: Vec<_> = (0..writers)
        .map(|i| {
            let cluster = cluster.clone();
            tokio::spawn(async move {
                cluster
                    .patch(
                        &at(CONFIGMAPS, "a"),
                        MERGE_PATCH,
                        &json!({"metadata": {"labels": {format!("w{i}"): "x"}}}).to_string(),
                    )
                    .await
            })
        })
        .collect();
    for task in tasks {
        let answer = task.await.unwrap();
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    let a = cluster.get(&at(CONFIGMAPS, "a")).await.ok();
    assert_eq!(
        a["metadata"]["labels"].as_object().unwrap().len(),
        writers,
        "{a}"
    );
}

#[tokio::test]
async fn a_resource_version_in_a_patch_is_a_precondition() {
    let cluster = Cluster::with_default_namespace().await;
    let a = create_config_map(&cluster, "a", json!({})).await;
    let rv = resource_version(&a);
    let patched = cluster
        .patch(
            &at(CONFIGMAPS, "a"),
            MERGE_PATCH,
            &json!({"metadata": {"resourceVersion": rv.to_string()}, "data": {"k": "1"}})
                .to_string(),
        )
        .await
        .ok();
    assert!(resource_version(&patched) > rv);
    cluster
        .patch(
            &at(CONFIGMAPS, "a"),
            MERGE_PATCH,
            &json!({"metadata": {"resourceVersion": rv.to_string()}, "data": {"k": "2"}})
                .to_string(),
        )
        .await
        .failure(
            409,
            "Conflict",
            "Operation cannot be fulfilled on configmaps \"a\": the object has been modified; please apply your changes to the latest version and try again",
        );
    assert_eq!(
        cluster.get(&at(CONFIGMAPS, "a")).await.ok()["data"]["k"],
        "1"
    );
}

// delete

#[tokio::test]
async fn delete_answers_a_success_status_and_removes_the_object() {
    let cluster = Cluster::with_default_namespace().await;
    let a = create_config_map(&cluster, "a", json!({})).await;
    let status = cluster.delete(&at(CONFIGMAPS, "a")).await.ok();
    assert_eq!(
        status,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": "a", "kind": "configmaps", "uid": a["metadata"]["uid"]}, "code": 200})
    );
    cluster
        .get(&at(CONFIGMAPS, "a"))
        .await
        .failure(404, "NotFound", "configmaps \"a\" not found");
    cluster.delete(&at(CONFIGMAPS, "a")).await.failure(
        404,
        "NotFound",
        "configmaps \"a\" not found",
    );
}

#[tokio::test]
async fn delete_preconditions_that_do_not_hold_conflict() {
    let cluster = Cluster::with_default_namespace().await;
    let a = create_config_map(&cluster, "a", json!({})).await;
    let uid = a["metadata"]["uid"].as_str().unwrap();
    let rv = resource_version(&a);
    let delete_with = |preconditions: Value| {
        let body =
            json!({"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": preconditions});
        cluster
            .request("DELETE", &at(CONFIGMAPS, "a"))
            .json(&body)
            .send()
    };
    let status = delete_with(json!({"uid": "0000"})).await.failure(
        409,
        "Conflict",
        &format!(
            "Operation cannot be fulfilled on ConfigMap \"a\": the UID in the precondition (0000) does not match the UID in record ({uid}). The object might have been deleted and then recreated"
        ),
    );
    assert_eq!(status["details"], json!({"name": "a", "kind": "ConfigMap"}));
    delete_with(json!({"resourceVersion": "1"})).await.failure(
        409,
        "Conflict",
        &format!(
            "Operation cannot be fulfilled on ConfigMap \"a\": the ResourceVersion in the precondition (1) does not match the ResourceVersion in record ({rv}). The object might have been modified"
        ),
    );
    cluster.get(&at(CONFIGMAPS, "a")).await.ok();
    delete_with(json!({"uid": uid, "resourceVersion": rv.to_string()}))
        .await
        .ok();
    cluster
        .get(&at(CONFIGMAPS, "a"))
        .await
        .failure(404, "NotFound", "configmaps \"a\" not found");

    // Kinds of a group are named with it.
    let web = create_deployment(&cluster, "web").await;
    let body = json!({"preconditions": {"uid": "0000"}});
    cluster
        .request("DELETE", &at(DEPLOYMENTS, "web"))
        .json(&body)
        .send()
        .await
        .failure(
            409,
            "Conflict",
            &format!(
                "Operation cannot be fulfilled on Deployment.apps \"web\": the UID in the precondition (0000) does not match the UID in record ({}). The object might have been deleted and then recreated",
                web["metadata"]["uid"].as_str().unwrap()
            ),
        );
}

#[tokio::test]
async fn finalizers_hold_an_object_until_the_last_is_removed() {
    let cluster = Cluster::with_default_namespace().await;
    let mut body = config_map("a", json!({}));
    body["metadata"]["finalizers"] = json!(["example.com/one", "example.com/two"]);
    let created = cluster.post(CONFIGMAPS, body).await.created();

    let marked = cluster.delete(&at(CONFIGMAPS, "a")).await.ok();
    assert!(
        marked["metadata"]["deletionTimestamp"].is_string(),
        "{marked}"
    );
    assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 0);
    assert!(resource_version(&marked) > resource_version(&created));
    assert_eq!(cluster.get(&at(CONFIGMAPS, "a")).await.ok(), marked);
    // Deleting again changes nothing.
    let again = cluster.delete(&at(CONFIGMAPS, "a")).await.ok();
    assert_eq!(again, marked);

    // No finalizer may be added meanwhile.
    let mut more = marked.clone();
    more["metadata"]["finalizers"] =
        json!(["example.com/one", "example.com/two", "example.com/three"]);
    cluster.put(&at(CONFIGMAPS, "a"), more).await.failure(
        422,
        "Invalid",
        "ConfigMap \"a\" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"example.com/three\"}",
    );

    let one_left = cluster
        .patch(
            &at(CONFIGMAPS, "a"),
            JSON_PATCH,
            r#"[{"op":"remove","path":"/metadata/finalizers/0"}]"#,
        )
        .await
        .ok();
    assert_eq!(
        one_left["metadata"]["finalizers"],
        json!(["example.com/two"])
    );
    cluster.get(&at(CONFIGMAPS, "a")).await.ok();

    let last = cluster
        .patch(
            &at(CONFIGMAPS, "a"),
            MERGE_PATCH,
            r#"{"metadata":{"finalizers":null}}"#,
        )
        .await
        .ok();
    assert!(last["metadata"].get("finalizers").is_none(), "{last}");
    cluster
        .get(&at(CONFIGMAPS, "a"))
        .await
        .failure(404, "NotFound", "configmaps \"a\" not found");
}

#[tokio::test]
async fn orphan_and_foreground_propagation_add_their_finalizers() {
    let cluster = Cluster::with_default_namespace().await;
    create_deployment(&cluster, "orphaned").await;
    let marked = cluster
        .delete(&format!(
            "{}?propagationPolicy=Orphan",
            at(DEPLOYMENTS, "orphaned")
        ))
        .await
        .ok();
    assert_eq!(marked["metadata"]["finalizers"], json!(["orphan"]));
    assert!(marked["metadata"]["deletionTimestamp"].is_string());

    create_deployment(&cluster, "foreground").await;
    let body =
        json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"});
    let marked = cluster
        .request("DELETE", &at(DEPLOYMENTS, "foreground"))
        .json(&body)
        .send()
        .await
        .ok();
    assert_eq!(
        marked["metadata"]["finalizers"],
        json!(["foregroundDeletion"])
    );

    // Background, the default, deletes at once.
    create_deployment(&cluster, "background").await;
    let status = cluster
        .delete(&format!(
            "{}?propagationPolicy=Background",
            at(DEPLOYMENTS, "background")
        ))
        .await
        .ok();
    assert_eq!(status["status"], "Success");
}

#[tokio::test]
async fn an_invalid_propagation_policy_is_refused_before_anything_is_deleted() {
    let cluster = Cluster::with_default_namespace().await;
    create_config_map(&cluster, "a", json!({})).await;
    let status = cluster
        .delete(&format!("{}?propagationPolicy=Sideways", at(CONFIGMAPS, "a")))
        .await
        .failure(
            422,
            "Invalid",
            "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"Sideways\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"",
        );
    assert_eq!(status["details"]["kind"], "DeleteOptions");
    cluster.get(&at(CONFIGMAPS, "a")).await.ok();
    cluster
        .delete(&format!(
            "{CONFIGMAPS}?propagationPolicy=Sideways"
        ))
        .await
        .failure(
            422,
            "Invalid",
            "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"Sideways\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"",
        );
    cluster.get(&at(CONFIGMAPS, "a")).await.ok();
}

#[tokio::test]
async fn dry_run_delete_changes_nothing() {
    let cluster = Cluster::with_default_namespace().await;
    let a = create_config_map(&cluster, "a", json!({})).await;
    let before = cluster.store.current_revision().await.unwrap();
    let status = cluster
        .delete(&format!("{}?dryRun=All", at(CONFIGMAPS, "a")))
        .await
        .ok();
    assert_eq!(status["status"], "Success");
    let mut body = config_map("b", json!({}));
    body["metadata"]["finalizers"] = json!(["example.com/hold"]);
    cluster.post(CONFIGMAPS, body).await.created();
    let before_b = cluster.store.current_revision().await.unwrap();
    let body = json!({"dryRun": ["All"]});
    let marked = cluster
        .request("DELETE", &at(CONFIGMAPS, "b"))
        .json(&body)
        .send()
        .await
        .ok();
    assert!(marked["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(cluster.store.current_revision().await.unwrap(), before_b);
    assert!(before < before_b);
    assert_eq!(cluster.get(&at(CONFIGMAPS, "a")).await.ok(), a);
    let b = cluster.get(&at(CONFIGMAPS, "b")).await.ok();
    assert!(b["metadata"].get("deletionTimestamp").is_none());
}

#[tokio::test]
async fn delete_collection_deletes_the_selected_objects_only() {
    let cluster = Cluster::with_default_namespace().await;
    create_config_map(&cluster, "a", json!({"app": "web"})).await;
    create_config_map(&cluster, "b", json!({"app": "db"})).await;
    create_config_map(&cluster, "c", json!({"app": "web"})).await;
    cluster.namespace("other").await;
    cluster
        .post(
            "/api/v1/namespaces/other/configmaps",
            config_map("d", json!({"app": "web"})),
        )
        .await
        .created();

    let deleted = cluster
        .delete(&format!("{CONFIGMAPS}?labelSelector=app%3Dweb"))
        .await
        .ok();
    assert_eq!(deleted["kind"], "ConfigMapList");
    assert_eq!(names(&deleted), ["a", "c"]);
    let left = cluster.get(CONFIGMAPS).await.ok();
    assert_eq!(names(&left), ["b"]);
    let other = cluster
        .get("/api/v1/namespaces/other/configmaps")
        .await
        .ok();
    assert_eq!(names(&other), ["d"]);

    // A dry run lists what it would delete.
    let would = cluster
        .delete(&format!("{CONFIGMAPS}?dryRun=All"))
        .await
        .ok();
    assert_eq!(names(&would), ["b"]);
    assert_eq!(names(&cluster.get(CONFIGMAPS).await.ok()), ["b"]);
}

// watch

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_from_a_resource_version_sends_only_later_events() {
    let cluster = Cluster::with_default_namespace().await;
    let a = create_config_map(&cluster, "a", json!({})).await;
    let from = resource_version(&a);
    let mut changed = a.clone();
    changed["data"]["k"] = json!("2");
    let changed = cluster.put(&at(CONFIGMAPS, "a"), changed).await.ok();
    let b = create_config_map(&cluster, "b", json!({})).await;

    let mut watch = cluster
        .watch(&format!("{CONFIGMAPS}?watch=true&resourceVersion={from}"))
        .await;
    assert_eq!(watch.expect("MODIFIED").await, changed);
    assert_eq!(watch.expect("ADDED").await, b);
    cluster.delete(&at(CONFIGMAPS, "a")).await.ok();
    let gone = watch.expect("DELETED").await;
    assert_eq!(name(&gone), "a");
    assert!(resource_version(&gone) > resource_version(&b));
    // Other namespaces are not this watch's.
    cluster.namespace("other").await;
    cluster
        .post(
            "/api/v1/namespaces/other/configmaps",
            config_map("x", json!({})),
        )
        .await
        .created();
    watch.quiet().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_with_a_label_selector_sees_objects_enter_and_leave_it() {
    let cluster = Cluster::with_default_namespace().await;
    let a = create_config_map(&cluster, "a", json!({"app": "web"})).await;
    let mut watch = cluster
        .watch(&format!(
            "{CONFIGMAPS}?watch=true&labelSelector=app%3Dweb&resourceVersion={}",
            resource_version(&a)
        ))
        .await;
    create_config_map(&cluster, "b", json!({"app": "db"})).await;

    let relabel = |name: &'static str, app: &'static str| {
        let patch = json!({"metadata": {"labels": {"app": app}}}).to_string();
        let cluster = &cluster;
        async move {
            cluster
                .patch(&at(CONFIGMAPS, name), MERGE_PATCH, &patch)
                .await
                .ok()
        }
    };
    // Leaving the selection is a deletion, with the object as it now is.
    let left = relabel("a", "db").await;
    assert_eq!(watch.expect("DELETED").await, left);
    let entered = relabel("b", "web").await;
    assert_eq!(watch.expect("ADDED").await, entered);
    let patch = r#"{"data":{"k":"changed"}}"#;
    let modified = cluster
        .patch(&at(CONFIGMAPS, "b"), MERGE_PATCH, patch)
        .await
        .ok();
    assert_eq!(watch.expect("MODIFIED").await, modified);
    // Changes of objects outside the selection are not sent.
    cluster
        .patch(&at(CONFIGMAPS, "a"), MERGE_PATCH, patch)
        .await
        .ok();
    cluster.delete(&at(CONFIGMAPS, "a")).await.ok();
    watch.quiet().await;
    cluster.delete(&at(CONFIGMAPS, "b")).await.ok();
    assert_eq!(name(&watch.expect("DELETED").await), "b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_list_sends_the_initial_state_then_a_bookmark() {
    let cluster = Cluster::with_default_namespace().await;
    let a = create_config_map(&cluster, "a", json!({})).await;
    let b = create_config_map(&cluster, "b", json!({})).await;

    cluster
        .get(&format!("{CONFIGMAPS}?watch=true&sendInitialEvents=true"))
        .await
        .failure(
            422,
            "Invalid",
            "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        );

    let mut watch = cluster
        .watch(&format!(
            "{CONFIGMAPS}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
        ))
        .await;
    assert_eq!(watch.expect("ADDED").await, a);
    assert_eq!(watch.expect("ADDED").await, b);
    let bookmark = watch.expect("BOOKMARK").await;
    assert_eq!(
        bookmark,
        json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {
            "resourceVersion": b["metadata"]["resourceVersion"],
            "annotations": {"k8s.io/initial-events-end": "true"}}})
    );
    let c = create_config_map(&cluster, "c", json!({})).await;
    assert_eq!(watch.expect("ADDED").await, c);

    // Without bookmarks the initial state comes without its end marked.
    let mut watch = cluster
        .watch(&format!(
            "{CONFIGMAPS}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
        ))
        .await;
    for want in [&a, &b, &c] {
        assert_eq!(&watch.expect("ADDED").await, want);
    }
    watch.quiet().await;

    // `sendInitialEvents=false`: the changes only.
    let mut watch = cluster
        .watch(&format!(
            "{CONFIGMAPS}?watch=true&sendInitialEvents=false&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
        ))
        .await;
    watch.quiet().await;
    let d = create_config_map(&cluster, "d", json!({})).await;
    assert_eq!(watch.expect("ADDED").await, d);
}

#[tokio::test]
async fn stored_objects_never_carry_their_resource_version() {
    let cluster = Cluster::with_default_namespace().await;
    let a = create_config_map(&cluster, "a", json!({})).await;
    let stored = cluster
        .store
        .get("/registry/core/configmaps/default/a", None)
        .await
        .unwrap()
        .0
        .unwrap();
    let raw: Value = serde_json::from_slice(&stored.value).unwrap();
    assert!(raw["metadata"].get("resourceVersion").is_none(), "{raw}");
    assert_eq!(stored.mod_revision, resource_version(&a));
    assert!(
        stored
            .value
            .starts_with(br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":"#)
    );
}
