//! The requests the OpenShift `oc` 4.19 client sends for the commands Oxshift's `oc` has,
//! sent as that client sends them (method, path, query, headers, body) by a plain HTTP client
//! as a project admin who got her token through the OAuth exchange — never as cluster-admin —
//! with the status codes and the fields `oc` reads from the answers asserted as OpenShift
//! answers. The table of commands and requests is `docs/oc-requests.md`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use e2e::oc::cluster_with_alice;
use e2e::{Cluster, wait_until};
use serde_json::{Value, json};
use sha2::Digest;

const WAIT: Duration = Duration::from_secs(60);

/// What `oc get` asks for: a server-side Table, else the object.
const TABLE: &str = "Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

/// What `oc` 4.19's discovery asks for first.
const AGGREGATED: &str = "Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

/// One answer: status code, response headers (lower-cased names) and body.
struct Answer {
    status: u16,
    headers: String,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// A plain HTTPS client of the cluster (curl), with a bearer token once it has one.
struct Wire {
    server: String,
    ca: PathBuf,
    scratch: PathBuf,
    token: Option<String>,
}

impl Wire {
    fn new(c: &Cluster) -> Wire {
        let scratch = c.scratch("wire");
        std::fs::create_dir_all(&scratch).unwrap();
        Wire {
            server: c.server(),
            ca: c.data_dir().join("pki/ca.crt"),
            scratch,
            token: None,
        }
    }

    /// Sends one request; `body` is (content type or "" for none, bytes).
    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[&str],
        body: Option<(&str, &[u8])>,
    ) -> Answer {
        let head = self.scratch.join("headers");
        let out = self.scratch.join("body");
        let mut args: Vec<String> = [
            "-sS",
            "--max-time",
            "60",
            "--cacert",
            self.ca.to_str().unwrap(),
            "-X",
            method,
            "-D",
            head.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "-w",
            "%{http_code}",
            // The client-go user agent prefix of the OpenShift client.
            "-H",
            "User-Agent: oc/4.19.0 (linux/amd64) kubernetes/0000000",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if let Some(token) = &self.token {
            args.extend(["-H".into(), format!("Authorization: Bearer {token}")]);
        }
        for h in headers {
            args.extend(["-H".into(), h.to_string()]);
        }
        if let Some((content_type, bytes)) = body {
            let file = self.scratch.join("request");
            std::fs::write(&file, bytes).unwrap();
            args.extend([
                "-H".into(),
                format!("Content-Type:{}", content_type_value(content_type)),
                "--data-binary".into(),
                format!("@{}", file.display()),
            ]);
        }
        args.push(format!("{}{path}", self.server));
        let run = Command::new("curl").args(&args).output().unwrap();
        assert!(
            run.status.success(),
            "curl {method} {path}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        Answer {
            status: String::from_utf8_lossy(&run.stdout).parse().unwrap(),
            headers: std::fs::read_to_string(&head).unwrap_or_default(),
            text: std::fs::read_to_string(&out).unwrap_or_default(),
        }
    }

    fn get(&self, path: &str) -> Answer {
        self.send("GET", path, &["Accept: application/json, */*"], None)
    }

    /// A JSON body as client-go sends a typed object.
    fn json(&self, method: &str, path: &str, body: &Value) -> Answer {
        self.send(
            method,
            path,
            &["Accept: application/json, */*"],
            Some(("application/json", body.to_string().as_bytes())),
        )
    }

    /// A write expected to answer `status`; its body.
    fn expect(&self, method: &str, path: &str, body: &Value, status: u16) -> Value {
        let a = self.json(method, path, body);
        assert_eq!(a.status, status, "{method} {path}: {}", a.text);
        a.json()
    }

    fn ok(&self, path: &str) -> Value {
        let a = self.get(path);
        assert_eq!(a.status, 200, "GET {path}: {}", a.text);
        a.json()
    }
}

/// `-H "Content-Type:"` removes curl's default; anything else is sent as given.
fn content_type_value(t: &str) -> String {
    if t.is_empty() {
        String::new()
    } else {
        format!(" {t}")
    }
}

/// The query value as Go's url.Values encodes it.
fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `oc login -u alice -p wonderland` as 4.19 sends it (library-go's challenging client with
/// PKCE), then the whoami and project look-ups that follow: a client holding alice's token.
fn login(c: &Cluster) -> Wire {
    let mut w = Wire::new(c);
    // The server version decides the console hint of the password prompt; anonymous.
    let version = w.ok("/version");
    assert!(version["gitVersion"].as_str().unwrap().starts_with('v'));
    assert!(!version["major"].as_str().unwrap().is_empty());
    let meta = w.ok("/.well-known/oauth-authorization-server");
    let authorize = meta["authorization_endpoint"].as_str().unwrap();
    let token_endpoint = meta["token_endpoint"].as_str().unwrap();
    let issuer = meta["issuer"].as_str().unwrap();
    assert!(
        meta["code_challenge_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("S256")),
        "{meta}"
    );
    let path = |url: &str| url.strip_prefix(issuer).unwrap_or(url).to_string();
    let verifier = URL_SAFE_NO_PAD.encode([7u8; 32]);
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    let redirect = format!("{issuer}/oauth/token/implicit");
    let url = format!(
        "{}?client_id=openshift-challenging-client&code_challenge={challenge}&code_challenge_method=S256&redirect_uri={}&response_type=code",
        path(authorize),
        enc(&redirect)
    );
    // First without credentials: the challenge.
    let first = w.send("GET", &url, &["X-CSRF-Token: 1"], None);
    assert_eq!(first.status, 401, "{}", first.text);
    let challenge_header = first.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge_header.starts_with("Basic realm="),
        "{challenge_header}"
    );
    let basic = format!(
        "Authorization: Basic {}",
        STANDARD.encode("alice:wonderland")
    );
    let second = w.send("GET", &url, &["X-CSRF-Token: 1", &basic], None);
    assert_eq!(second.status, 302, "{}", second.text);
    let location = second.header("location").unwrap();
    let code = location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .unwrap_or_else(|| panic!("no code in {location}"))
        .to_string();
    // golang.org/x/oauth2 sends the client's id and empty secret as basic credentials.
    let form = format!(
        "code={code}&code_verifier={verifier}&grant_type=authorization_code&redirect_uri={}",
        enc(&redirect)
    );
    let client = format!(
        "Authorization: Basic {}",
        STANDARD.encode("openshift-challenging-client:")
    );
    let token = w.send(
        "POST",
        &path(token_endpoint),
        &[&client, "Accept: application/json"],
        Some(("application/x-www-form-urlencoded", form.as_bytes())),
    );
    assert_eq!(token.status, 200, "{}", token.text);
    let token = token.json();
    assert_eq!(token["token_type"], "Bearer", "{token}");
    assert!(token["expires_in"].as_i64().unwrap() > 0, "{token}");
    w.token = Some(token["access_token"].as_str().unwrap().to_string());
    // WhoAmI: a SelfSubjectReview, as client-go encodes an empty one.
    let me = w.expect(
        "POST",
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        &json!({"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": null}, "status": {"userInfo": {}}}),
        201,
    );
    assert_eq!(me["status"]["userInfo"]["username"], "alice", "{me}");
    let groups = me["status"]["userInfo"]["groups"].as_array().unwrap();
    assert!(
        groups.contains(&json!("system:authenticated:oauth")),
        "{me}"
    );
    w
}

/// `oc new-project <name>`: a ProjectRequest as the typed client encodes it.
fn new_project(w: &Wire, name: &str) {
    let made = w.expect(
        "POST",
        "/apis/project.openshift.io/v1/projectrequests",
        &json!({"kind": "ProjectRequest", "apiVersion": "project.openshift.io/v1",
            "metadata": {"name": name, "creationTimestamp": null},
            "displayName": "Wire", "description": "sent as oc sends it"}),
        201,
    );
    assert_eq!(made["kind"], "Project", "{made}");
    assert_eq!(made["metadata"]["name"], name);
    assert_eq!(
        made["metadata"]["annotations"]["openshift.io/display-name"],
        "Wire"
    );
    assert_eq!(made["status"]["phase"], "Active", "{made}");
}

#[test]
fn login_projects_whoami_and_logout() {
    let (_dir, c, _home) = cluster_with_alice();
    let w = login(&c);
    // A user without projects: the list is empty, then CanRequestProjects' personal review.
    let projects = w.ok("/apis/project.openshift.io/v1/projects");
    assert_eq!(projects["kind"], "ProjectList");
    assert_eq!(projects["items"], json!([]), "{projects}");
    let review = w.expect(
        "POST",
        "/apis/authorization.openshift.io/v1/subjectaccessreviews",
        &json!({"kind": "SubjectAccessReview", "apiVersion": "authorization.openshift.io/v1",
            "namespace": "default", "verb": "list", "resourceAPIGroup": "",
            "resourceAPIVersion": "", "resource": "projectrequests", "resourceName": "",
            "path": "", "isNonResourceURL": false, "user": "", "groups": null, "scopes": null}),
        201,
    );
    assert_eq!(review["kind"], "SubjectAccessReviewResponse", "{review}");
    assert_eq!(review["allowed"], true, "{review}");
    // The same about someone else is not hers to ask.
    let other = w.json(
        "POST",
        "/apis/authorization.openshift.io/v1/subjectaccessreviews",
        &json!({"kind": "SubjectAccessReview", "apiVersion": "authorization.openshift.io/v1",
            "namespace": "default", "verb": "list", "resource": "projectrequests",
            "user": "bob", "groups": null, "scopes": null}),
    );
    assert_eq!(other.status, 403, "{}", other.text);

    new_project(&w, "wire");
    // `oc project wire`, `oc projects` (list, then the current one).
    let project = w.ok("/apis/project.openshift.io/v1/projects/wire");
    assert_eq!(project["metadata"]["name"], "wire");
    let projects = wait_until("the project listed", WAIT, || {
        let list = w.ok("/apis/project.openshift.io/v1/projects");
        (list["items"].as_array().unwrap().len() == 1).then_some(list)
    });
    assert_eq!(projects["items"][0]["metadata"]["name"], "wire");
    // `oc get projects`: the Table.
    let table = w.send(
        "GET",
        "/apis/project.openshift.io/v1/projects?limit=500",
        &[TABLE],
        None,
    );
    assert_eq!(table.status, 200, "{}", table.text);
    let table = table.json();
    assert_eq!(table["kind"], "Table", "{table}");
    let columns: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns[..3], ["Name", "Display Name", "Status"], "{table}");
    // A project she may not see answers 403 with upstream's words, which `oc project` prints.
    let hidden = w.get("/apis/project.openshift.io/v1/projects/default");
    assert_eq!(hidden.status, 403, "{}", hidden.text);
    assert_eq!(
        hidden.json()["message"],
        "projects.project.openshift.io \"default\" is forbidden: User \"alice\" cannot get resource \"projects\" in API group \"project.openshift.io\" in the namespace \"default\""
    );

    // `oc whoami` falls back to users/~ where SelfSubjectReview is not served.
    let me = w.ok("/apis/user.openshift.io/v1/users/~");
    assert_eq!(me["kind"], "User");
    assert_eq!(me["metadata"]["name"], "alice");
    // `oc version`: the server's version, and the ClusterVersion it may not read.
    assert_eq!(w.get("/version").status, 200);
    let cv = w.get("/apis/config.openshift.io/v1/clusterversions/version");
    assert!(matches!(cv.status, 403 | 404), "{}", cv.text);

    // `oc logout`: WhoAmI, then the token's object deleted by its sha256~ name.
    let token = w.token.clone().unwrap();
    let raw = token.strip_prefix("sha256~").unwrap_or(&token);
    let name = format!(
        "sha256~{}",
        URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(raw.as_bytes()))
    );
    let gone = w.send(
        "DELETE",
        &format!("/apis/oauth.openshift.io/v1/oauthaccesstokens/{name}"),
        &["Accept: application/json, */*"],
        None,
    );
    assert_eq!(gone.status, 200, "{}", gone.text);
    wait_until("the token refused", WAIT, || {
        (w.get("/apis/user.openshift.io/v1/users/~").status == 401).then_some(())
    });
}

/// The path of a namespaced resource collection in project `wire`.
fn wire(prefix: &str, resource: &str) -> String {
    format!("{prefix}/namespaces/wire/{resource}")
}

const APPS_OS: &str = "/apis/apps.openshift.io/v1";
const BUILD: &str = "/apis/build.openshift.io/v1";
const IMAGE: &str = "/apis/image.openshift.io/v1";

fn names(v: &Value, field: &str) -> Vec<String> {
    v[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn deployment_config_commands() {
    let (_dir, c, _home) = cluster_with_alice();
    let w = login(&c);
    new_project(&w, "wire");
    let dcs = wire(APPS_OS, "deploymentconfigs");
    // `oc create -f dc.json`
    let dc = json!({"kind": "DeploymentConfig", "apiVersion": "apps.openshift.io/v1",
        "metadata": {"name": "front"},
        "spec": {"replicas": 1, "selector": {"app": "front"}, "triggers": [],
            "template": {"metadata": {"labels": {"app": "front"}},
                "spec": {"containers": [{"name": "web", "image": "busybox"}]}}}});
    let made = w.expect(
        "POST",
        &format!("{dcs}?fieldManager=kubectl-create&fieldValidation=Strict"),
        &dc,
        201,
    );
    assert_eq!(made["spec"]["strategy"]["type"], "Rolling", "{made}");
    assert_eq!(made["status"]["latestVersion"], 0, "{made}");
    // `oc get dc`: its Table's columns.
    let table = w.send("GET", &format!("{dcs}?limit=500"), &[TABLE], None);
    assert_eq!(table.status, 200, "{}", table.text);
    let table = table.json();
    assert_eq!(
        names(&table, "columnDefinitions")[..5],
        ["Name", "Revision", "Desired", "Current", "Triggered By"],
        "{table}"
    );
    // `oc get dc -w`: a watch whose events carry Tables.
    let watch = w.send(
        "GET",
        &format!("{dcs}?resourceVersion=0&watch=true&timeoutSeconds=1"),
        &[TABLE],
        None,
    );
    assert_eq!(watch.status, 200, "{}", watch.text);
    let first: Value = serde_json::from_str(watch.text.lines().next().unwrap()).unwrap();
    assert_eq!(first["type"], "ADDED", "{first}");
    assert_eq!(first["object"]["kind"], "Table", "{first}");
    assert_eq!(first["object"]["rows"][0]["cells"][0], "front", "{first}");

    // `oc rollout latest dc/front`: a DeploymentRequest to `instantiate`.
    let request = json!({"kind": "DeploymentRequest", "apiVersion": "apps.openshift.io/v1",
        "name": "front", "latest": true, "force": true});
    let rolled = w.expect("POST", &format!("{dcs}/front/instantiate"), &request, 201);
    assert_eq!(rolled["kind"], "DeploymentConfig", "{rolled}");
    assert_eq!(rolled["status"]["latestVersion"], 1, "{rolled}");
    assert_eq!(
        rolled["status"]["details"]["causes"][0]["type"], "Manual",
        "{rolled}"
    );
    // `oc rollout history dc/front`, `oc describe dc/front`: its replication controllers.
    let rcs = format!(
        "{}?labelSelector={}",
        wire("/api/v1", "replicationcontrollers"),
        enc("openshift.io/deployment-config.name=front")
    );
    let first_rc = wait_until("front-1", WAIT, || {
        let list = w.ok(&rcs);
        list["items"].as_array().unwrap().first().cloned()
    });
    assert_eq!(first_rc["metadata"]["name"], "front-1");
    assert_eq!(
        first_rc["metadata"]["annotations"]["openshift.io/deployment-config.latest-version"],
        "1"
    );
    // Its events (client-go's Search: name, namespace, kind and uid) and the pods of each
    // deployment, by the replication controller's selector.
    let uid = made["metadata"]["uid"].as_str().unwrap();
    let events = format!(
        "{}?fieldSelector={}",
        wire("/api/v1", "events"),
        enc(&format!(
            "involvedObject.name=front,involvedObject.namespace=wire,involvedObject.kind=DeploymentConfig,involvedObject.uid={uid}"
        ))
    );
    assert_eq!(w.ok(&events)["kind"], "EventList");
    let pods = format!(
        "{}?labelSelector={}",
        wire("/api/v1", "pods"),
        enc("deployment=front-1,deploymentconfig=front")
    );
    assert_eq!(w.ok(&pods)["kind"], "PodList");
    // The describer's Autoscaling line: the namespace's autoscaling/v1 autoscalers.
    let autoscalers = w.ok(&wire("/apis/autoscaling/v1", "horizontalpodautoscalers"));
    assert_eq!(autoscalers["kind"], "HorizontalPodAutoscalerList");
    assert_eq!(autoscalers["apiVersion"], "autoscaling/v1");

    // `oc scale dc/front --replicas=2`: a merge patch of the scale subresource, whose kind
    // the client learned from discovery.
    let discovery = w.ok(APPS_OS);
    let scale_kind = discovery["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "deploymentconfigs/scale")
        .cloned()
        .unwrap();
    assert_eq!(
        (
            &scale_kind["group"],
            &scale_kind["version"],
            &scale_kind["kind"]
        ),
        (&json!("extensions"), &json!("v1beta1"), &json!("Scale"))
    );
    let scaled = w.send(
        "PATCH",
        &format!("{dcs}/front/scale"),
        &["Accept: application/json, */*"],
        Some((
            "application/merge-patch+json",
            br#"{"spec":{"replicas":2}}"#,
        )),
    );
    assert_eq!(scaled.status, 200, "{}", scaled.text);
    let scaled = scaled.json();
    assert_eq!(scaled["apiVersion"], "extensions/v1beta1", "{scaled}");
    assert_eq!(scaled["spec"]["replicas"], 2, "{scaled}");

    // `oc set triggers dc/front --from-config`: a strategic merge patch of the config.
    let patch = json!({"spec": {"triggers": [{"type": "ConfigChange"}]}});
    let triggered = w.send(
        "PATCH",
        &format!("{dcs}/front"),
        &["Accept: application/json, */*"],
        Some((
            "application/strategic-merge-patch+json",
            patch.to_string().as_bytes(),
        )),
    );
    assert_eq!(triggered.status, 200, "{}", triggered.text);
    assert_eq!(
        triggered.json()["spec"]["triggers"],
        json!([{"type": "ConfigChange"}])
    );
    // `oc label` and `oc annotate`: merge patches with their field managers.
    for (manager, field) in [
        ("kubectl-label", "labels"),
        ("kubectl-annotate", "annotations"),
    ] {
        let body = json!({"metadata": {field: {"tier": "web"}}});
        let a = w.send(
            "PATCH",
            &format!("{dcs}/front?fieldManager={manager}"),
            &["Accept: application/json, */*"],
            Some(("application/merge-patch+json", body.to_string().as_bytes())),
        );
        assert_eq!(a.status, 200, "{}", a.text);
        assert_eq!(a.json()["metadata"][field]["tier"], "web");
    }

    // `oc rollout cancel dc/front`: the running deployment's controller annotated.
    let cancel = json!({"metadata": {"annotations": {
        "openshift.io/deployment.cancelled": "true",
        "openshift.io/deployment.status-reason": "cancelled by the user"}}});
    let a = w.send(
        "PATCH",
        &format!("{}/front-1", wire("/api/v1", "replicationcontrollers")),
        &["Accept: application/json, */*"],
        Some((
            "application/strategic-merge-patch+json",
            cancel.to_string().as_bytes(),
        )),
    );
    assert_eq!(a.status, 200, "{}", a.text);

    // `oc rollback dc/front --to-version=1` once a second deployment exists: the generated
    // config from `rollback`, then written back with PUT.
    let second = w.expect("POST", &format!("{dcs}/front/instantiate"), &request, 201);
    let version = second["status"]["latestVersion"].as_i64().unwrap();
    assert!(version >= 2, "{second}");
    wait_until(&format!("front-{version}"), WAIT, || {
        (w.get(&format!(
            "{}/front-{version}",
            wire("/api/v1", "replicationcontrollers")
        ))
        .status
            == 200)
            .then_some(())
    });
    let rollback = json!({"kind": "DeploymentConfigRollback", "apiVersion": "apps.openshift.io/v1",
        "name": "front", "updatedAnnotations": null,
        "spec": {"from": {}, "revision": 1, "includeTriggers": false,
            "includeTemplate": true, "includeReplicationMeta": false, "includeStrategy": false}});
    // The controller may write the config in between: a conflict is asked again.
    let put = wait_until("the rolled back config stored", WAIT, || {
        let generated = w.expect("POST", &format!("{dcs}/front/rollback"), &rollback, 201);
        assert_eq!(generated["kind"], "DeploymentConfig", "{generated}");
        assert_eq!(generated["metadata"]["name"], "front");
        let put = w.json("PUT", &format!("{dcs}/front"), &generated);
        assert!(matches!(put.status, 200 | 409), "{}", put.text);
        (put.status == 200).then(|| put.json())
    });
    assert_eq!(put["metadata"]["name"], "front");

    // `oc status`: the lists it reads.
    for path in [
        wire("/api/v1", "services"),
        wire("/api/v1", "pods"),
        wire("/api/v1", "replicationcontrollers"),
        wire("/api/v1", "persistentvolumeclaims"),
        wire("/api/v1", "serviceaccounts"),
        wire("/api/v1", "secrets"),
        wire(APPS_OS, "deploymentconfigs"),
        wire(BUILD, "buildconfigs"),
        wire(BUILD, "builds"),
        wire(IMAGE, "imagestreams"),
        wire("/apis/route.openshift.io/v1", "routes"),
        wire("/apis/apps/v1", "deployments"),
        wire("/apis/apps/v1", "replicasets"),
        wire("/apis/apps/v1", "statefulsets"),
        wire("/apis/apps/v1", "daemonsets"),
        wire("/apis/batch/v1", "jobs"),
        wire("/apis/batch/v1", "cronjobs"),
        wire("/apis/autoscaling/v2", "horizontalpodautoscalers"),
    ] {
        let list = w.ok(&path);
        assert!(list["kind"].as_str().unwrap().ends_with("List"), "{path}");
    }
    let project = w.ok("/apis/project.openshift.io/v1/projects/wire");
    assert_eq!(
        project["metadata"]["annotations"]["openshift.io/description"],
        "sent as oc sends it"
    );
}

#[test]
fn image_build_template_route_and_policy_commands() {
    let (_dir, c, _home) = cluster_with_alice();
    let w = login(&c);
    new_project(&w, "wire");
    let tags = wire(IMAGE, "imagestreamtags");
    // `oc tag --source=docker <pull spec> web:1`: PUT the ImageStreamTag, and POST it when
    // the PUT answers 404; a stream that does not exist yet is made by the PUT.
    let registry = format!("127.0.0.1:{}", e2e::free_port());
    let istag = json!({"kind": "ImageStreamTag", "apiVersion": "image.openshift.io/v1",
        "metadata": {"name": "web:1", "namespace": "wire", "creationTimestamp": null},
        "tag": {"name": "1", "annotations": null,
            "from": {"kind": "DockerImage", "name": format!("{registry}/lib/web:1")},
            "generation": null, "importPolicy": {"importMode": "Legacy"},
            "referencePolicy": {"type": "Source"}},
        "generation": 0, "lookupPolicy": {"local": false},
        "image": {"metadata": {"creationTimestamp": null}, "dockerImageMetadata": null,
            "dockerImageLayers": null}});
    let put = w.json("PUT", &format!("{tags}/web:1"), &istag);
    let put = if put.status == 404 {
        w.json("POST", &tags, &istag)
    } else {
        put
    };
    assert!(matches!(put.status, 200 | 201), "{}", put.text);
    let stream = w.ok(&format!("{}/web", wire(IMAGE, "imagestreams")));
    assert_eq!(
        stream["spec"]["tags"][0]["from"]["name"],
        format!("{registry}/lib/web:1"),
        "{stream}"
    );
    // `oc tag web:1 web:alias --alias`: a tag of the stream's own tag, by PUT.
    let alias = json!({"kind": "ImageStreamTag", "apiVersion": "image.openshift.io/v1",
        "metadata": {"name": "web:alias", "namespace": "wire"},
        "tag": {"name": "alias", "from": {"kind": "ImageStreamTag", "name": "web:1"},
            "reference": true, "referencePolicy": {"type": "Source"}}});
    let put = w.json("PUT", &format!("{tags}/web:alias"), &alias);
    let put = if put.status == 404 {
        w.json("POST", &tags, &alias)
    } else {
        put
    };
    assert!(matches!(put.status, 200 | 201), "{}", put.text);
    // `oc tag -d web:alias`
    let gone = w.send(
        "DELETE",
        &format!("{tags}/web:alias"),
        &["Accept: application/json, */*"],
        None,
    );
    assert_eq!(gone.status, 200, "{}", gone.text);
    assert_eq!(gone.json()["status"], "Success", "{}", gone.text);

    // `oc import-image web:2 --from=<pull spec> --confirm`: the stream read, then one
    // ImageStreamImport; a registry that does not answer is reported per image.
    let import = json!({"kind": "ImageStreamImport", "apiVersion": "image.openshift.io/v1",
        "metadata": {"name": "web", "namespace": "wire", "creationTimestamp": null},
        "spec": {"import": true, "images": [{"from": {"kind": "DockerImage",
            "name": format!("{registry}/lib/web:2")}, "to": {"name": "2"},
            "importPolicy": {"importMode": "Legacy"}, "referencePolicy": {"type": "Source"}}]},
        "status": {}});
    let imported = w.expect("POST", &wire(IMAGE, "imagestreamimports"), &import, 201);
    assert_eq!(imported["kind"], "ImageStreamImport", "{imported}");
    assert_eq!(
        imported["status"]["images"][0]["status"]["status"], "Failure",
        "{imported}"
    );
    assert_eq!(imported["status"]["import"]["metadata"]["name"], "web");

    // `oc start-build`: a BuildRequest to `instantiate` answers the Build.
    let bcs = wire(BUILD, "buildconfigs");
    let bc = json!({"kind": "BuildConfig", "apiVersion": "build.openshift.io/v1",
        "metadata": {"name": "app"},
        "spec": {"source": {"type": "Dockerfile", "dockerfile": "FROM busybox\n"},
            "strategy": {"type": "Docker", "dockerStrategy": {}},
            "output": {"to": {"kind": "ImageStreamTag", "name": "app:latest"}}}});
    w.expect(
        "POST",
        &format!("{bcs}?fieldManager=kubectl-create&fieldValidation=Strict"),
        &bc,
        201,
    );
    let request = json!({"kind": "BuildRequest", "apiVersion": "build.openshift.io/v1",
        "metadata": {"name": "app", "creationTimestamp": null},
        "triggeredBy": [{"message": "Manually triggered"}],
        "dockerStrategyOptions": {}});
    let build = w.expect("POST", &format!("{bcs}/app/instantiate"), &request, 201);
    assert_eq!(build["kind"], "Build", "{build}");
    let name = build["metadata"]["name"].as_str().unwrap().to_string();
    assert_eq!(name, "app-1");
    assert_eq!(build["status"]["phase"], "New", "{build}");
    assert_eq!(
        build["spec"]["triggeredBy"][0]["message"],
        "Manually triggered"
    );
    // `oc logs bc/app`: the config's builds by label, then the newest one's log.
    let list = w.ok(&format!(
        "{}?labelSelector={}",
        wire(BUILD, "builds"),
        enc("openshift.io/build-config.name=app")
    ));
    assert_eq!(list["items"][0]["metadata"]["name"], "app-1", "{list}");
    // `oc cancel-build app-1`: the build read, `status.cancelled` set, PUT back, read again
    // on a conflict (the build controller writes the build meanwhile), as oc retries it.
    let builds = wire(BUILD, "builds");
    wait_until("app-1 marked cancelled", WAIT, || {
        let mut current = w.ok(&format!("{builds}/app-1"));
        current["status"]["cancelled"] = json!(true);
        let a = w.json("PUT", &format!("{builds}/app-1"), &current);
        assert!(matches!(a.status, 200 | 409), "{}", a.text);
        (a.status == 200).then_some(())
    });
    wait_until("app-1 cancelled", WAIT, || {
        (w.ok(&format!("{builds}/app-1"))["status"]["phase"] == "Cancelled").then_some(())
    });
    // `oc start-build app --from-file=Dockerfile`: the file as the body, no content type,
    // its name in `asFile`.
    let binary = json!({"kind": "BuildConfig", "apiVersion": "build.openshift.io/v1",
        "metadata": {"name": "bin"},
        "spec": {"source": {"type": "Binary", "binary": {}},
            "strategy": {"type": "Docker", "dockerStrategy": {}},
            "output": {"to": {"kind": "ImageStreamTag", "name": "bin:latest"}}}});
    w.expect("POST", &bcs, &binary, 201);
    let uploaded = w.send(
        "POST",
        &format!("{bcs}/bin/instantiatebinary?asFile=Dockerfile"),
        &["Accept: application/json, */*"],
        Some(("", b"FROM busybox\n")),
    );
    assert_eq!(uploaded.status, 201, "{}", uploaded.text);
    let uploaded = uploaded.json();
    assert_eq!(uploaded["kind"], "Build", "{uploaded}");
    assert_eq!(
        uploaded["spec"]["source"]["binary"]["asFile"], "Dockerfile",
        "{uploaded}"
    );

    // `oc process -f template.json -p NAME=hello`: processedtemplates answers the objects.
    let template = json!({"kind": "Template", "apiVersion": "template.openshift.io/v1",
        "metadata": {"name": "hello", "creationTimestamp": null},
        "objects": [{"kind": "ConfigMap", "apiVersion": "v1",
            "metadata": {"name": "${NAME}"}, "data": {"who": "${NAME}"}}],
        "parameters": [{"name": "NAME", "value": "hello"}]});
    let processed = w.expect(
        "POST",
        &wire("/apis/template.openshift.io/v1", "processedtemplates"),
        &template,
        201,
    );
    assert_eq!(
        processed["objects"][0]["metadata"]["name"], "hello",
        "{processed}"
    );
    // `oc process hello`: the template read from the project first.
    w.expect(
        "POST",
        &wire("/apis/template.openshift.io/v1", "templates"),
        &template,
        201,
    );
    let stored = w.ok(&format!(
        "{}/hello",
        wire("/apis/template.openshift.io/v1", "templates")
    ));
    w.expect(
        "POST",
        &wire("/apis/template.openshift.io/v1", "processedtemplates"),
        &stored,
        201,
    );

    // `oc expose svc/web`: the service read, then a Route named after it.
    let service = json!({"kind": "Service", "apiVersion": "v1", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 8080}]}});
    w.expect("POST", &wire("/api/v1", "services"), &service, 201);
    w.ok(&format!("{}/web", wire("/api/v1", "services")));
    let routes = wire("/apis/route.openshift.io/v1", "routes");
    let route = json!({"kind": "Route", "apiVersion": "route.openshift.io/v1",
        "metadata": {"name": "web", "creationTimestamp": null, "labels": {"app": "web"}},
        "spec": {"host": "", "to": {"kind": "", "name": "web", "weight": null},
            "port": {"targetPort": "http"}}, "status": {}});
    let exposed = w.expect(
        "POST",
        &format!("{routes}?fieldManager=kubectl-expose&fieldValidation=Strict"),
        &route,
        201,
    );
    assert_eq!(exposed["spec"]["to"]["kind"], "Service", "{exposed}");
    assert_eq!(exposed["spec"]["to"]["weight"], 100, "{exposed}");
    assert_eq!(exposed["spec"]["wildcardPolicy"], "None", "{exposed}");
    assert!(
        exposed["spec"]["host"]
            .as_str()
            .unwrap()
            .starts_with("web-wire."),
        "{exposed}"
    );
    // `oc create route edge --service=web`
    let edge = json!({"kind": "Route", "apiVersion": "route.openshift.io/v1",
        "metadata": {"name": "secure", "creationTimestamp": null},
        "spec": {"host": "", "to": {"kind": "Service", "name": "web", "weight": null},
            "tls": {"termination": "edge"}}, "status": {}});
    let made = w.expect(
        "POST",
        &format!("{routes}?fieldManager=kubectl-create&fieldValidation=Strict"),
        &edge,
        201,
    );
    assert_eq!(made["spec"]["tls"]["termination"], "edge", "{made}");

    // `oc policy add-role-to-user edit bob`: the project's bindings listed, a binding named
    // after the role made, then updated for a second user.
    let bindings = wire("/apis/rbac.authorization.k8s.io/v1", "rolebindings");
    assert_eq!(w.ok(&bindings)["kind"], "RoleBindingList");
    let binding = json!({"kind": "RoleBinding", "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": {"name": "edit", "namespace": "wire", "creationTimestamp": null},
        "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "bob"}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"}});
    let mut made = w.expect("POST", &bindings, &binding, 201);
    made["subjects"]
        .as_array_mut()
        .unwrap()
        .push(json!({"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "carol"}));
    let updated = w.expect("PUT", &format!("{bindings}/edit"), &made, 200);
    assert_eq!(updated["subjects"][1]["name"], "carol");
    // `oc policy who-can get pods`: a LocalResourceAccessReview.
    let who = w.expect(
        "POST",
        &wire(
            "/apis/authorization.openshift.io/v1",
            "localresourceaccessreviews",
        ),
        &json!({"kind": "LocalResourceAccessReview", "apiVersion": "authorization.openshift.io/v1",
            "namespace": "", "verb": "get", "resourceAPIGroup": "", "resourceAPIVersion": "",
            "resource": "pods", "resourceName": "", "path": "", "isNonResourceURL": false}),
        201,
    );
    assert_eq!(who["kind"], "ResourceAccessReviewResponse", "{who}");
    let users = who["users"].as_array().unwrap();
    for user in ["alice", "bob", "carol"] {
        assert!(users.contains(&json!(user)), "{who}");
    }
    // `oc auth can-i create pods`, `oc auth can-i --list`.
    let can = w.expect(
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        &json!({"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": null},
            "spec": {"resourceAttributes": {"namespace": "wire", "verb": "create", "resource": "pods"}},
            "status": {"allowed": false}}),
        201,
    );
    assert_eq!(can["status"]["allowed"], true, "{can}");
    let rules = w.expect(
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        &json!({"kind": "SelfSubjectRulesReview", "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": null}, "spec": {"namespace": "wire"},
            "status": {"resourceRules": null, "nonResourceRules": null, "incomplete": false}}),
        201,
    );
    assert!(
        !rules["status"]["resourceRules"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // `oc create token default`: a TokenRequest once the account exists.
    let accounts = wire("/api/v1", "serviceaccounts");
    wait_until("the default account", WAIT, || {
        (w.get(&format!("{accounts}/default")).status == 200).then_some(())
    });
    let token = w.expect(
        "POST",
        &format!("{accounts}/default/token"),
        &json!({"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": null},
            "spec": {"audiences": null, "expirationSeconds": null, "boundObjectRef": null},
            "status": {"token": "", "expirationTimestamp": null}}),
        201,
    );
    assert!(
        !token["status"]["token"].as_str().unwrap().is_empty(),
        "{token}"
    );
    assert!(
        token["status"]["expirationTimestamp"].is_string(),
        "{token}"
    );

    // `oc api-resources`, `oc explain`: aggregated discovery and the OpenAPI v3 index.
    for path in ["/api", "/apis"] {
        let a = w.send("GET", path, &[AGGREGATED], None);
        assert_eq!(a.status, 200, "{}", a.text);
        assert!(
            a.header("content-type")
                .unwrap_or_default()
                .contains("as=APIGroupDiscoveryList"),
            "{}",
            a.headers
        );
    }
    let index = w.ok("/openapi/v3");
    let dc_doc = index["paths"]["apis/apps.openshift.io/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(w.get(&dc_doc).status, 200);
}
