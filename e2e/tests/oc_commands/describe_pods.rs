//! `oc describe pod|node` compared with kubectl 1.32 on a simulated node: pods with init
//! containers, probes, every common volume kind, environment from secrets, config maps and
//! the pod itself, readiness gates, tolerations, a priority class and a controller; container states written
//! through the status subresource (terminated, last state, waiting); the node with its
//! taint, Lease, conditions, the pods on it and their requests, and its events.

use std::time::Duration;

use e2e::oc::same_as_kubectl;
use e2e::{Backend, Cluster, wait_until};

const OBJECTS: &str = "apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: five}
value: 5
---
apiVersion: v1
kind: ConfigMap
metadata: {name: conf}
data: {mode: fast}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {token: abc}
---
apiVersion: v1
kind: Pod
metadata:
  name: rich
  labels: {app: rich, tier: web}
  annotations: {note: hello}
spec:
  priorityClassName: five
  readinessGates: [{conditionType: example.com/gate}]
  tolerations:
  - {key: dedicated, operator: Equal, value: web, effect: NoSchedule}
  - {operator: Exists}
  initContainers:
  - name: setup
    image: registry.invalid/setup:1
    command: [sh, -c, echo hi]
  containers:
  - name: web
    image: registry.invalid/web:1
    args: [--port, \"8080\"]
    ports:
    - {containerPort: 8080, name: http}
    - {containerPort: 9090, protocol: UDP}
    resources:
      requests: {cpu: 100m, memory: 64Mi}
      limits: {cpu: 200m, memory: 128Mi}
    livenessProbe: {httpGet: {path: /healthz, port: 8080}}
    readinessProbe: {tcpSocket: {port: 8080}, initialDelaySeconds: 2}
    startupProbe: {exec: {command: [cat, /tmp/ok]}}
    env:
    - {name: PLAIN, value: v}
    - {name: MULTI, value: \"a\\nb\"}
    - name: NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: POD_IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    - name: CPU
      valueFrom: {resourceFieldRef: {resource: limits.cpu}}
    - name: MEMORY
      valueFrom: {resourceFieldRef: {resource: requests.memory, divisor: 1Mi}}
    - name: TOKEN
      valueFrom: {secretKeyRef: {name: creds, key: token}}
    - name: MODE
      valueFrom: {configMapKeyRef: {name: conf, key: mode, optional: true}}
    envFrom:
    - configMapRef: {name: conf}
    - secretRef: {name: creds}
      prefix: S_
    volumeMounts:
    - {name: scratch, mountPath: /scratch}
    - {name: conf, mountPath: /etc/conf, readOnly: true}
    - {name: creds, mountPath: /etc/creds, subPath: token}
    - {name: info, mountPath: /etc/info}
  - name: side
    image: registry.invalid/side:1
    env:
    - name: UNLIMITED
      valueFrom: {resourceFieldRef: {resource: limits.memory}}
  volumes:
  - {name: scratch, emptyDir: {medium: Memory, sizeLimit: 16Mi}}
  - {name: conf, configMap: {name: conf}}
  - {name: creds, secret: {secretName: creds, optional: true}}
  - name: info
    downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]}
  - {name: host, hostPath: {path: /tmp, type: Directory}}
  - name: projected
    projected:
      sources:
      - serviceAccountToken: {path: token, expirationSeconds: 3607}
      - configMap: {name: conf}
      - downwardAPI: {items: [{path: name, fieldRef: {fieldPath: metadata.name}}]}
---
apiVersion: v1
kind: Pod
metadata: {name: stuck}
spec:
  nodeSelector: {disk: none}
  initContainers: [{name: init, image: registry.invalid/init:1}]
  containers:
  - name: main
    image: registry.invalid/main:1
    resources: {limits: {cpu: \"1\", memory: 1Gi}}
  - {name: helper, image: registry.invalid/helper:1}
---
apiVersion: v1
kind: Event
metadata: {name: aio.starting}
involvedObject: {kind: Node, name: aio, uid: aio}
reason: Starting
message: Starting kubelet.
type: Normal
firstTimestamp: \"2026-01-01T00:00:00Z\"
lastTimestamp: \"2026-01-01T00:00:00Z\"
source: {component: kubelet, host: aio}
";

/// States only a real run would reach, written as the node agent writes them.
const STUCK_STATUS: &str = r#"{"status": {"phase": "Failed", "reason": "Evicted", "message": "gone",
  "initContainerStatuses": [{"name": "init", "image": "registry.invalid/init:1", "imageID": "",
    "ready": true, "restartCount": 0, "containerID": "simulated://1",
    "state": {"terminated": {"exitCode": 0, "reason": "Completed",
      "startedAt": "2026-01-01T00:00:00Z", "finishedAt": "2026-01-01T00:00:01Z"}}}],
  "containerStatuses": [
    {"name": "main", "image": "registry.invalid/main:1", "imageID": "", "ready": false,
     "restartCount": 3, "state": {"terminated": {"exitCode": 137, "signal": 9, "reason": "Error",
       "message": "killed", "startedAt": "2026-01-01T00:00:00Z", "finishedAt": "2026-01-01T00:01:00Z"}},
     "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
       "startedAt": "2025-12-31T23:59:00Z", "finishedAt": "2025-12-31T23:59:30Z"}}},
    {"name": "helper", "image": "registry.invalid/helper:1", "imageID": "", "ready": false,
     "restartCount": 0, "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}}}]}}"#;

#[test]
fn pods_and_nodes_are_described_as_kubectl_describes_them() {
    let c = Cluster::start_with(
        Backend::Embedded,
        &[
            "--node-runtime",
            "simulated",
            "--node-name",
            "aio",
            "--node-port",
            "0",
            "--node-pod-cidr",
            "10.128.232.0/23",
        ],
    );
    let home = c.scratch("home");
    std::fs::create_dir_all(&home).unwrap();
    let kubeconfig = c.kubeconfig().display().to_string();
    c.kubectl_ok(&["apply", "-f", &c.file("objects.yaml", OBJECTS)]);
    c.kubectl_ok(&[
        "create",
        "deployment",
        "web",
        "--image=registry.invalid/web:2",
        "--replicas=2",
    ]);
    c.kubectl_ok(&[
        "patch",
        "pod",
        "stuck",
        "--subresource=status",
        "--type=merge",
        "-p",
        STUCK_STATUS,
    ]);
    wait_until("the pods on the node", Duration::from_secs(120), || {
        let ips = c.kubectl_ok(&[
            "get",
            "pods",
            "-l",
            "app in (web, rich)",
            "-o",
            "jsonpath={.items[*].status.podIP}",
        ]);
        (ips.split_whitespace().count() == 3).then_some(())
    });
    // The web pods run, and kubectl's age of their events is the same second as oc's.
    wait_until("the web pods running", Duration::from_secs(120), || {
        let phases = c.kubectl_ok(&[
            "get",
            "pods",
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[*].status.phase}",
        ]);
        (phases == "Running Running").then_some(())
    });
    c.kubectl_ok(&["taint", "node", "aio", "dedicated=web:NoSchedule"]);
    let described = c.kubectl_ok(&["describe", "pod", "stuck"]);
    assert!(
        described.contains("    Last State:     Terminated\n"),
        "{described}"
    );
    for args in [
        &["describe", "pod", "rich"][..],
        &["describe", "pod", "stuck"],
        // A prefix: each description followed by an empty line.
        &["describe", "pod", "web"],
        &["describe", "pods", "-l", "app=web"],
        &["describe", "node", "aio"],
        &["describe", "nodes"],
    ] {
        same_as_kubectl(&c, &home, &kubeconfig, args);
    }
    let node = c.kubectl_ok(&["describe", "node", "aio"]);
    for line in [
        "Taints:             dedicated=web:NoSchedule\n",
        "Non-terminated Pods:          (3 in total)\n",
        "Allocated resources:\n",
        "  Normal  Starting  ",
    ] {
        assert!(node.contains(line), "{line:?} in {node}");
    }
}
