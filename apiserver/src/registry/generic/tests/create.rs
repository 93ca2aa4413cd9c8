//! The generic store's CREATE, as kube-apiserver answers them.

use super::*;

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
