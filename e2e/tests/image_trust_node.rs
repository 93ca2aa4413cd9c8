//! The trust policy on a real node for images of the integrated registry, as a project admin
//! meets it: an image pushed there and signed only in a lookaside store (`skopeo
//! standalone-sign`, published on loopback) is admitted and runs, since the registry's
//! signature extension, which the node's podman reads instead of any lookaside store, serves
//! the store's signatures too; a build whose Dockerfile starts `FROM` an unsigned image fails
//! with the policy's reason (buildah pulls through the node's policy.json), one `FROM` the
//! signed image completes; and a change of the policy reaches the running node: the next
//! start of a container whose image the new policy rejects is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use e2e::image_signing::{
    gpg_key, key_data, serve_store, sign_into_store, signing_unavailable, stop_gpg_agent,
};
use e2e::oc::oc;
use e2e::output::{failed, ok};
use e2e::real_pods::real_pods_unavailable;
use e2e::source_builds::{AppCluster, push_base, wait_for_registry_secrets};
use e2e::wait_until;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(120);

/// `oc create -f` of `object` as the user of `home`.
fn create(home: &Path, dir: &Path, name: &str, object: &Value) -> std::process::Output {
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, object.to_string()).unwrap();
    oc(home, &["create", "-f", path.to_str().unwrap()])
}

/// A Docker build of an inline Dockerfile, started by its config's creation.
fn build_config(name: &str, dockerfile: &str) -> Value {
    json!({"apiVersion": "build.openshift.io/v1", "kind": "BuildConfig",
        "metadata": {"name": name},
        "spec": {"source": {"type": "Dockerfile", "dockerfile": dockerfile},
                 "strategy": {"type": "Docker", "dockerStrategy": {}},
                 "triggers": [{"type": "ConfigChange"}]}})
}

/// The build once it has ended.
fn ended(home: &Path, name: &str) -> Value {
    wait_until(&format!("build {name} to end"), WAIT, || {
        let out = oc(home, &["get", "build", name, "-o", "json"]);
        let build: Value = serde_json::from_slice(&out.stdout).ok()?;
        matches!(
            build["status"]["phase"].as_str(),
            Some("Complete" | "Failed" | "Error" | "Cancelled")
        )
        .then_some(build)
    })
}

fn build_log(home: &Path, name: &str) -> String {
    String::from_utf8_lossy(&oc(home, &["logs", &format!("build/{name}")]).stdout).into_owned()
}

#[test]
fn integrated_images_signed_in_a_lookaside_store_run_and_build_under_the_policy() {
    const TEST: &str =
        "integrated_images_signed_in_a_lookaside_store_run_and_build_under_the_policy";
    if let Some(why) = real_pods_unavailable().or_else(signing_unavailable) {
        eprintln!("SKIPPED {TEST}: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let app = AppCluster::start(dir.path(), "trustnode", "10.128.250.0/23", "shop");
    let c = &app.worker.cluster;
    let home = &app.home;
    let registry = &app.registry;
    let token = ok(oc(home, &["whoami", "-t"]), "oc whoami -t");
    wait_for_registry_secrets(home, &["builder", "default"], WAIT);

    // Two images pushed as alice: `base` signed, in a lookaside layout only; `plain` not.
    let base = format!("{registry}/shop/base:1");
    let plain = format!("{registry}/shop/plain:1");
    push_base(&dir.path().join("base"), &base, "alice", &token);
    push_base(&dir.path().join("plain"), &plain, "alice", &token);
    let gnupg = dir.path().join("gnupg");
    let fingerprint = gpg_key(&gnupg);
    let creds = format!("alice:{token}");
    let skopeo = |args: &[&str]| {
        Command::new("skopeo")
            .env("GNUPGHOME", &gnupg)
            .args(args)
            .output()
            .unwrap()
    };
    let image = format!("docker://{base}");
    let inspect = |how: &str| {
        skopeo(&[
            "inspect",
            "--tls-verify=false",
            "--creds",
            &creds,
            how,
            &image,
        ])
    };
    let raw = inspect("--raw");
    assert!(raw.status.success(), "skopeo inspect --raw");
    let sigstore = dir.path().join("sigstore");
    sign_into_store(&gnupg, &sigstore, &raw.stdout, &base, &fingerprint);
    let port = e2e::free_port();
    let mut store = serve_store(&sigstore, port);
    let key_data = key_data(&gnupg, &fingerprint);
    let scope = format!("{registry}/shop");
    let policy = |requirements: Value| {
        json!({"apiVersion": "config.oxshift.io/v1", "kind": "ImageTrustPolicy",
            "metadata": {"name": "cluster"},
            "spec": {"default": [{"type": "insecureAcceptAnything"}],
                     "transports": {"docker": requirements},
                     "lookaside": {scope.clone(): format!("http://127.0.0.1:{port}")}}})
    };
    let signed_by = json!([{"type": "signedBy", "keyType": "GPGKeys", "keyData": key_data}]);
    c.kubectl_ok(&[
        "create",
        "-f",
        &c.file(
            "policy.json",
            &policy(json!({scope.clone(): signed_by})).to_string(),
        ),
    ]);
    let rendered = |wanted: &str| {
        wait_until("the policy rendered for the nodes", WAIT, || {
            let policy_json = c.kubectl_ok(&[
                "get",
                "configmap",
                "node-image-config",
                "-n",
                "openshift-config-managed",
                "-o",
                "jsonpath={.data.policy\\.json}",
            ]);
            policy_json.contains(wanted).then_some(())
        })
    };
    rendered("signedBy");

    // The image signed in the store only: admitted, pulled through the node's policy, run.
    let pod = |name: &str, image: &str, command: &str| {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": image,
                "command": ["/bin/busybox", "sh", "-c", command]}]}})
    };
    let dirp = dir.path();
    ok(
        create(home, dirp, "signed", &pod("signed", &base, "sleep 3600")),
        "the signed pod",
    );
    let refused = failed(
        create(home, dirp, "plain", &pod("plain", &plain, "sleep 3600")),
        "the unsigned pod",
    );
    assert!(
        refused.contains("A signature was required, but no signature exists"),
        "{refused}"
    );
    let running = |name: &str| {
        wait_until(&format!("pod {name} running"), WAIT, || {
            let phase = ok(
                oc(
                    home,
                    &["get", "pod", name, "-o", "jsonpath={.status.phase}"],
                ),
                "pod phase",
            );
            (phase == "Running").then_some(())
        })
    };
    running("signed");

    // Builds pull their base images through the same policy.
    ok(
        create(
            home,
            dirp,
            "bc-plain",
            &build_config(
                "from-plain",
                &format!("FROM {plain}\nCMD [\"/bin/busybox\"]\n"),
            ),
        ),
        "the unsigned base's build config",
    );
    ok(
        create(
            home,
            dirp,
            "bc-signed",
            &build_config(
                "from-signed",
                &format!("FROM {base}\nCMD [\"/bin/busybox\"]\n"),
            ),
        ),
        "the signed base's build config",
    );
    let unsigned = ended(home, "from-plain-1");
    let log = build_log(home, "from-plain-1");
    assert_eq!(unsigned["status"]["phase"], "Failed", "{unsigned:#}\n{log}");
    assert_eq!(
        unsigned["status"]["reason"], "PullBuilderImageFailed",
        "{unsigned:#}"
    );
    assert_eq!(
        unsigned["status"]["message"], "Failed pulling builder image.",
        "{unsigned:#}"
    );
    assert!(
        log.contains("Source image rejected: A signature was required, but no signature exists"),
        "{log}"
    );
    let complete = ended(home, "from-signed-1");
    assert_eq!(
        complete["status"]["phase"],
        "Complete",
        "{complete:#}\n{}",
        build_log(home, "from-signed-1")
    );

    // A new policy reaches the node while it runs: a container of the signed image, once it
    // has exited, is not started again from a repository the policy now rejects.
    ok(
        create(home, dirp, "restarts", &pod("restarts", &base, "sleep 15")),
        "the restarting pod",
    );
    running("restarts");
    let rejected = json!({format!("{scope}/base"): [{"type": "reject"}], scope.clone(): signed_by});
    c.kubectl_ok(&[
        "replace",
        "-f",
        &c.file("policy-2.json", &policy(rejected).to_string()),
    ]);
    rendered("reject");
    let refusal = format!(
        "Failed to pull image \"{base}\": Source image rejected: Running image docker://{base} is rejected by policy."
    );
    wait_until("the restart refused by the node", WAIT, || {
        let out = oc(
            home,
            &[
                "get",
                "events",
                "--field-selector=involvedObject.name=restarts",
                "-o",
                "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}",
            ],
        );
        let events = String::from_utf8_lossy(&out.stdout).into_owned();
        events.lines().any(|l| l == refusal).then_some(())
    });
    running("signed");

    store.kill().unwrap();
    let _ = store.wait();
    stop_gpg_agent(&gnupg);
}
