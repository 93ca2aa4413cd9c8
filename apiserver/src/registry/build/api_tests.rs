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
