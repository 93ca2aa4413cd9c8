//! The build API through the request path: instantiate, clone, details and webhooks.

use serde_json::json;

use crate::testing::Cluster;

const BCS: &str = "/apis/build.openshift.io/v1/namespaces/default/buildconfigs";
const BUILDS: &str = "/apis/build.openshift.io/v1/namespaces/default/builds";

async fn cluster_with_config() -> Cluster {
    let cluster = Cluster::with_default_namespace().await;
    let bc = json!({"apiVersion": "build.openshift.io/v1", "kind": "BuildConfig",
        "metadata": {"name": "web"},
        "spec": {"source": {"git": {"uri": "file:///repo", "ref": "main"}},
            "strategy": {"dockerStrategy": {}},
            "output": {"to": {"kind": "ImageStreamTag", "name": "web:latest"}},
            "triggers": [{"type": "Generic", "generic": {"secret": "s3cr3t"}}]}});
    let created = cluster.post(BCS, bc).await.created();
    assert_eq!(created["spec"]["runPolicy"], "Serial");
    assert_eq!(created["status"]["lastVersion"], 0);
    cluster
}

#[tokio::test]
async fn instantiate_makes_numbered_builds_and_moves_the_config_on() {
    let cluster = cluster_with_config().await;
    let request = json!({"kind": "BuildRequest", "apiVersion": "build.openshift.io/v1",
        "metadata": {"name": "web"}});
    let b1 = cluster
        .post(&format!("{BCS}/web/instantiate"), request.clone())
        .await
        .created();
    assert_eq!(b1["metadata"]["name"], "web-1");
    assert_eq!(b1["status"]["phase"], "New");
    let b2 = cluster
        .post(&format!("{BCS}/web/instantiate"), request)
        .await
        .created();
    assert_eq!(b2["metadata"]["name"], "web-2");
    let bc = cluster.get(&format!("{BCS}/web")).await.ok();
    assert_eq!(bc["status"]["lastVersion"], 2);
    let clone = cluster
        .post(
            &format!("{BUILDS}/web-1/clone"),
            json!({"metadata": {"name": "web-1"}}),
        )
        .await
        .created();
    assert_eq!(clone["metadata"]["name"], "web-3");
    assert_eq!(
        clone["metadata"]["annotations"]["openshift.io/build.clone-of"],
        "web-1"
    );
    let mut reported = clone.clone();
    reported["status"]["phase"] = json!("Failed");
    reported["status"]["reason"] = json!("DockerBuildFailed");
    let after = cluster
        .put(&format!("{BUILDS}/web-3/details"), reported)
        .await
        .ok();
    assert_eq!(after["status"]["phase"], "Failed");
    assert_eq!(after["status"]["reason"], "DockerBuildFailed");
}

#[tokio::test]
async fn webhooks_take_the_right_secret_only() {
    let cluster = cluster_with_config().await;
    let wrong = cluster
        .request("POST", &format!("{BCS}/web/webhooks/nope/generic"))
        .send()
        .await;
    wrong.failure(
        401,
        "Unauthorized",
        "the webhook \"generic\" for \"web\" did not accept your secret",
    );
    let unknown = cluster
        .request("POST", &format!("{BCS}/web/webhooks/s3cr3t/svn"))
        .send()
        .await;
    unknown.failure(
        404,
        "NotFound",
        "buildconfighook.build.openshift.io \"svn\" not found",
    );
    let other_branch = cluster
        .request("POST", &format!("{BCS}/web/webhooks/s3cr3t/generic"))
        .json(&json!({"git": {"ref": "refs/heads/dev", "commit": "1"}}))
        .send()
        .await
        .ok();
    assert_eq!(other_branch["status"], "Success");
    let built = cluster
        .request("POST", &format!("{BCS}/web/webhooks/s3cr3t/generic"))
        .json(&json!({"git": {"ref": "refs/heads/main", "commit": "abc"}}))
        .send()
        .await
        .ok();
    assert_eq!(built["metadata"]["name"], "web-1");
    assert_eq!(built["spec"]["revision"]["git"]["commit"], "abc");
    assert_eq!(
        built["spec"]["triggeredBy"][0]["message"],
        "Generic WebHook"
    );
}

/// Webhook payloads past the body bound are refused (413) before any build; malformed ones,
/// nested past any depth or expanding aliases, are answered at once as upstream answers them
/// — a generic hook ignores the payload and builds with a warning, a GitHub hook refuses it.
#[tokio::test]
async fn huge_or_malformed_webhook_payloads_are_answered_at_once() {
    let cluster = cluster_with_config().await;
    let github = json!({"apiVersion": "build.openshift.io/v1", "kind": "BuildConfig",
        "metadata": {"name": "gh"},
        "spec": {"source": {"git": {"uri": "file:///repo", "ref": "main"}},
            "strategy": {"dockerStrategy": {}},
            "triggers": [{"type": "GitHub", "github": {"secret": "s3cr3t"}}]}});
    cluster.post(BCS, github).await.created();
    let hook = format!("{BCS}/web/webhooks/s3cr3t/generic");
    let send = |path: String, media: &'static str, body: String| {
        let cluster = &cluster;
        async move {
            let started = std::time::Instant::now();
            let answer = cluster
                .request("POST", &path)
                .header("content-type", media)
                .header("x-github-event", "push")
                .body(&body)
                .send()
                .await;
            assert!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "{:?}",
                started.elapsed()
            );
            answer
        }
    };
    let huge = format!(
        "{{\"git\": {{\"ref\": \"refs/heads/main\", \"message\": \"{}\"}}}}",
        "x".repeat(crate::http::body::MAX_BODY_BYTES)
    );
    let answer = send(hook.clone(), "application/json", huge).await;
    assert_eq!(answer.status.as_u16(), 413, "{}", answer.body);
    assert_eq!(answer.body["reason"], "RequestEntityTooLarge");
    let builds = cluster.get(BUILDS).await.ok();
    assert_eq!(
        builds["items"].as_array().map(Vec::len),
        Some(0),
        "{builds}"
    );

    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let mut laughs = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (name, before) in ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
        .windows(2)
        .map(|w| (w[1], w[0]))
    {
        let refs = vec![format!("*{before}"); 9].join(", ");
        laughs.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    for (media, body) in [
        ("application/json", "{\"git\": ".to_string()),
        ("application/json", deep.clone()),
        ("application/yaml", laughs),
    ] {
        let answer = send(hook.clone(), media, body).await.ok();
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("error unmarshalling payload: ")
                && message.ends_with(", ignoring payload and continuing with build"),
            "{answer}"
        );
    }
    let gh = format!("{BCS}/gh/webhooks/s3cr3t/github");
    for body in ["not json".to_string(), deep] {
        let refused = send(gh.clone(), "application/json", body).await;
        assert_eq!(refused.status.as_u16(), 400, "{}", refused.body);
        assert_eq!(refused.body["reason"], "BadRequest");
    }
    let builds = cluster.get(BUILDS).await.ok();
    let names: Vec<&str> = builds["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["metadata"]["name"].as_str())
        .collect();
    assert_eq!(names, ["web-1", "web-2", "web-3"], "{builds}");
}
