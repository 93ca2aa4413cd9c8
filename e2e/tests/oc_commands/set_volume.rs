//! `oc set volume` as a project admin: a claim added to a Deployment (the claim created with
//! its size and mode), the volumes listed, then removed.

use std::path::Path;
use std::process::Output;

use e2e::oc::{alice_in_project, cluster_with_alice, oc};

fn run(home: &Path, args: &[&str]) -> Output {
    oc(home, args)
}

fn ok(home: &Path, args: &[&str]) -> String {
    let out = run(home, args);
    assert!(
        out.status.success(),
        "oc {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn set_volume_adds_lists_and_removes_a_claim() {
    let (_dir, c, home) = cluster_with_alice();
    alice_in_project(&c, &home, "vols");
    ok(&home, &["create", "deployment", "web", "--image=busybox"]);

    let added = ok(
        &home,
        &[
            "set",
            "volume",
            "deployment/web",
            "--add",
            "--name=data",
            "--type=pvc",
            "--claim-name=data",
            "--claim-size=1024Mi",
            "--claim-mode=rwo",
            "--mount-path=/data/",
        ],
    );
    assert_eq!(added, "deployment.apps/web volume updated\n");
    let template = ok(
        &home,
        &[
            "get",
            "deployment",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.volumes[0].persistentVolumeClaim.claimName} {.spec.template.spec.containers[0].volumeMounts[0].name}:{.spec.template.spec.containers[0].volumeMounts[0].mountPath}",
        ],
    );
    assert_eq!(template, "data data:/data");
    let claim = ok(
        &home,
        &[
            "get",
            "pvc",
            "data",
            "-o",
            "jsonpath={.spec.accessModes[0]} {.spec.resources.requests.storage}",
        ],
    );
    assert_eq!(claim, "ReadWriteOnce 1Gi");

    // A second volume under the same name is refused; nothing changes.
    let again = run(
        &home,
        &[
            "set",
            "volume",
            "deployment/web",
            "--add",
            "--name=data",
            "--type=emptyDir",
        ],
    );
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&again.stderr),
        "error: deployments/web volume 'data' already exists. Use --overwrite to replace\n"
    );

    let listed = ok(&home, &["set", "volume", "deployment/web"]);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 3, "{listed}");
    assert_eq!(lines[0], "Deployment web");
    assert!(
        [
            "  pvc/data (waiting for 1GiB allocation) as data",
            "  pvc/data (allocated 1GiB) as data"
        ]
        .contains(&lines[1]),
        "{listed}"
    );
    assert_eq!(lines[2], "    mounted at /data");

    let all = run(&home, &["set", "volume", "deployment/web", "--remove"]);
    assert_eq!(all.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&all.stderr),
        "error: must provide --confirm for removing more than one volume\n"
    );
    let removed = ok(
        &home,
        &[
            "set",
            "volumes",
            "deployment/web",
            "--remove",
            "--name=data",
        ],
    );
    assert_eq!(removed, "deployment.apps/web volume updated\n");
    let left = ok(
        &home,
        &[
            "get",
            "deployment",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.volumes}{.spec.template.spec.containers[0].volumeMounts}",
        ],
    );
    assert_eq!(left, "");
    assert_eq!(
        ok(&home, &["set", "volume", "deployment/web"]),
        "Deployment web\n"
    );
    // The claim stays: removing a volume does not delete its claim.
    ok(&home, &["get", "pvc", "data"]);

    // A DeploymentConfig with two containers: -c picks where the volume is mounted.
    let file = c.file("dc.yaml", DC);
    ok(&home, &["create", "-f", &file]);
    let added = ok(
        &home,
        &[
            "set",
            "volume",
            "dc/two",
            "--add",
            "--name=scratch",
            "--mount-path=/tmp/s",
            "-c",
            "si*",
        ],
    );
    assert_eq!(
        added,
        "deploymentconfig.apps.openshift.io/two volume updated\n"
    );
    assert_eq!(
        ok(&home, &["set", "volume", "dc/two"]),
        "DeploymentConfig two\n  empty directory as scratch\n    mounted at /tmp/s in container side\n"
    );
}

const DC: &str = "apiVersion: apps.openshift.io/v1
kind: DeploymentConfig
metadata: {name: two}
spec:
  replicas: 0
  selector: {app: two}
  template:
    metadata: {labels: {app: two}}
    spec:
      containers:
      - {name: main, image: busybox}
      - {name: side, image: busybox}
";

fn deployment(name: &str, tier: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels: {{tier: {tier}}}
spec:
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - {{name: main, image: busybox}}
"
    )
}

/// The names of a deployment's volumes on the server.
fn volumes_of(home: &Path, name: &str) -> String {
    ok(
        home,
        &[
            "get",
            "deployment",
            name,
            "-o",
            "jsonpath={.spec.template.spec.volumes[*].name}",
        ],
    )
}

#[test]
fn set_volume_previews_locally_or_as_a_dry_run_and_picks_objects_by_label() {
    let (_dir, c, home) = cluster_with_alice();
    alice_in_project(&c, &home, "previews");
    let file = c.file(
        "web.yaml",
        &[deployment("web", "front"), deployment("api", "back")].join("---\n"),
    );
    ok(&home, &["create", "-f", &file]);

    // --local changes the file's objects and prints them; the server is not asked.
    let yaml = ok(
        &home,
        &[
            "set",
            "volume",
            "-f",
            &file,
            "--local",
            "--add",
            "--name=cache",
            "--mount-path=/cache",
            "-o",
            "yaml",
        ],
    );
    let documents: Vec<&str> = yaml.split("---\n").collect();
    assert_eq!(documents.len(), 2, "{yaml}");
    for doc in &documents {
        assert!(
            doc.contains("- emptyDir: {}\n        name: cache\n")
                && doc.contains("- mountPath: /cache\n          name: cache\n"),
            "{doc}"
        );
    }
    let names = ok(
        &home,
        &[
            "set",
            "volume",
            "-f",
            &file,
            "--local",
            "--add",
            "--claim-name=data",
            "--claim-size=1Gi",
            "-o",
            "name",
        ],
    );
    assert_eq!(
        names,
        "deployment.apps/web\ndeployment.apps/api\npersistentvolumeclaim/data\n"
    );
    assert_eq!(volumes_of(&home, "web"), "");

    // A client dry run prints what would be written; a server dry run has it checked; neither
    // changes the deployment or creates the claim.
    let client = ok(
        &home,
        &[
            "set",
            "volume",
            "deployment/web",
            "--add",
            "--claim-name=big",
            "--claim-size=2Gi",
            "--dry-run=client",
        ],
    );
    assert_eq!(
        client,
        "deployment.apps/web volume updated (dry run)\npersistentvolumeclaim/big volume updated (dry run)\n"
    );
    let server = ok(
        &home,
        &[
            "set",
            "volume",
            "deployment/web",
            "--add",
            "--claim-name=big",
            "--claim-size=2Gi",
            "--dry-run=server",
        ],
    );
    assert_eq!(
        server,
        "deployment.apps/web volume updated (server dry run)\n"
    );
    assert_eq!(volumes_of(&home, "web"), "");
    assert!(!run(&home, &["get", "pvc", "big"]).status.success());
    let refused = run(
        &home,
        &[
            "set",
            "volume",
            "deployment/web",
            "--add",
            "--dry-run=maybe",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr),
        "error: Invalid dry-run value (maybe). Must be \"none\", \"server\", or \"client\".\n"
    );

    // -l picks by label, --all takes every object of the type.
    let picked = ok(
        &home,
        &[
            "set",
            "volume",
            "deployments",
            "-l",
            "tier=front",
            "--add",
            "--name=tmp",
            "--mount-path=/tmp/x",
        ],
    );
    assert_eq!(picked, "deployment.apps/web volume updated\n");
    assert_eq!(volumes_of(&home, "web"), "tmp");
    assert_eq!(volumes_of(&home, "api"), "");
    let json = ok(
        &home,
        &[
            "set",
            "volume",
            "deployments",
            "--all",
            "--add",
            "--name=logs",
            "--mount-path=/logs",
            "-o",
            "json",
        ],
    );
    let written: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&json)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    let names: Vec<&str> = written
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api", "web"]);
    assert_eq!(volumes_of(&home, "web"), "tmp logs");
    assert_eq!(volumes_of(&home, "api"), "logs");

    let both = run(
        &home,
        &["set", "volume", "deployments", "-l", "tier=front", "--all"],
    );
    assert_eq!(
        String::from_utf8_lossy(&both.stderr),
        "error: you may specify either --selector or --all but not both\n"
    );
    let listed = run(&home, &["set", "volume", "deployment/web", "-o", "yaml"]);
    assert_eq!(
        String::from_utf8_lossy(&listed.stderr),
        "error: --list and --output may not be specified together\n"
    );
}
