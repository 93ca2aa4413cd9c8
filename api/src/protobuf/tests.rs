use serde_json::json;

use super::*;

/// A minimal protobuf writer for building test bodies.
#[derive(Default)]
struct Enc(Vec<u8>);

impl Enc {
    fn varint(mut self, n: u32, v: u64) -> Self {
        key(&mut self.0, n, 0);
        put_varint(&mut self.0, v);
        self
    }
    fn bytes(mut self, n: u32, b: &[u8]) -> Self {
        key(&mut self.0, n, 2);
        put_varint(&mut self.0, b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }
    fn str(self, n: u32, s: &str) -> Self {
        self.bytes(n, s.as_bytes())
    }
    fn msg(self, n: u32, m: Enc) -> Self {
        self.bytes(n, &m.0)
    }
    fn entry(self, n: u32, k: &str, v: &str) -> Self {
        self.msg(n, Enc::default().str(1, k).str(2, v))
    }
}

fn key(out: &mut Vec<u8>, n: u32, wire: u64) {
    put_varint(out, (u64::from(n) << 3) | wire);
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn envelope(api_version: &str, kind: &str, raw: Enc) -> Vec<u8> {
    let type_meta = Enc::default().str(1, api_version).str(2, kind);
    let unknown = Enc::default()
        .msg(1, type_meta)
        .msg(2, raw)
        .str(3, "")
        .str(4, "");
    [MAGIC, &unknown.0].concat()
}

fn meta(name: &str) -> Enc {
    Enc::default()
        .str(1, name)
        .str(3, "default")
        .entry(11, "app", "web")
        .msg(8, Enc::default().varint(1, 1_700_000_000))
}

#[test]
fn config_map() {
    let cm = Enc::default()
        .msg(1, meta("c1"))
        .entry(2, "a", "1")
        .entry(2, "b", "")
        .msg(3, Enc::default().str(1, "bin").bytes(2, &[0, 1, 2]))
        .varint(4, 1);
    let body = envelope("v1", "ConfigMap", cm);
    let obj = decode(&body).unwrap();
    assert_eq!(
        obj,
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "c1",
                "namespace": "default",
                "creationTimestamp": "2023-11-14T22:13:20Z",
                "labels": {"app": "web"}
            },
            "immutable": true,
            "data": {"a": "1", "b": ""},
            "binaryData": {"bin": "AAEC"}
        })
    );
    // apiVersion and kind come first, then fields in their JSON order.
    let keys: Vec<&String> = obj.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "apiVersion",
            "kind",
            "metadata",
            "immutable",
            "data",
            "binaryData"
        ]
    );
}

#[test]
fn deployment_with_quantities_and_int_or_string() {
    let container = Enc::default()
        .str(1, "nginx")
        .str(2, "nginx:1.27")
        .str(3, "sleep")
        .str(3, "10")
        .msg(6, Enc::default().varint(3, 80).str(4, "TCP"))
        .msg(
            8,
            Enc::default().msg(
                1,
                Enc::default()
                    .str(1, "cpu")
                    .msg(2, Enc::default().str(1, "100m")),
            ),
        );
    let template = Enc::default()
        .msg(1, Enc::default().entry(11, "app", "web"))
        .msg(2, Enc::default().msg(2, container));
    let strategy = Enc::default().str(1, "RollingUpdate").msg(
        2,
        Enc::default()
            .msg(1, Enc::default().varint(1, 1).str(3, "25%"))
            .msg(2, Enc::default().varint(1, 0).varint(2, 1)),
    );
    let spec = Enc::default()
        .varint(1, 3)
        .msg(2, Enc::default().entry(1, "app", "web"))
        .msg(3, template)
        .msg(4, strategy);
    let obj = decode(&envelope(
        "apps/v1",
        "Deployment",
        Enc::default().msg(1, meta("d")).msg(2, spec),
    ))
    .unwrap();
    let spec = &obj["spec"];
    assert_eq!(spec["replicas"], 3);
    assert_eq!(spec["selector"], json!({"matchLabels": {"app": "web"}}));
    let c = &spec["template"]["spec"]["containers"][0];
    assert_eq!(c["command"], json!(["sleep", "10"]));
    assert_eq!(
        c["ports"],
        json!([{"containerPort": 80, "protocol": "TCP"}])
    );
    assert_eq!(c["resources"], json!({"limits": {"cpu": "100m"}}));
    assert_eq!(
        spec["strategy"]["rollingUpdate"],
        json!({"maxUnavailable": "25%", "maxSurge": 1})
    );
}

#[test]
fn reviews_and_list_valued_messages() {
    let user = Enc::default().str(1, "alice").msg(
        4,
        Enc::default()
            .str(1, "scopes")
            .msg(2, Enc::default().str(1, "a").str(1, "b")),
    );
    let spec = Enc::default()
        .msg(
            1,
            Enc::default()
                .str(1, "default")
                .str(2, "create")
                .str(5, "pods"),
        )
        .msg(4, Enc::default().str(1, "x"));
    let ssar = Enc::default().msg(2, spec);
    let obj = decode(&envelope(
        "authorization.k8s.io/v1",
        "SelfSubjectAccessReview",
        ssar,
    ))
    .unwrap();
    assert_eq!(
        obj["spec"]["resourceAttributes"],
        json!({"namespace": "default", "verb": "create", "resource": "pods"})
    );
    let status = Enc::default().msg(1, user);
    let review = decode(&envelope(
        "authentication.k8s.io/v1",
        "SelfSubjectReview",
        Enc::default().msg(2, status),
    ))
    .unwrap();
    assert_eq!(
        review["status"]["userInfo"],
        json!({"username": "alice", "extra": {"scopes": ["a", "b"]}})
    );
}

#[test]
fn negative_numbers_raw_json_and_unknown_fields() {
    // int32 -1 is sign-extended to ten bytes; field 99 is not in the table and is skipped.
    let spec = Enc::default().varint(2, u64::MAX).str(99, "future");
    let obj = decode(&envelope(
        "coordination.k8s.io/v1",
        "Lease",
        Enc::default().msg(1, meta("l")).msg(2, spec),
    ))
    .unwrap();
    assert_eq!(obj["spec"], json!({"leaseDurationSeconds": -1}));

    let managed = Enc::default()
        .str(1, "kubectl")
        .str(2, "Update")
        .str(6, "FieldsV1")
        .msg(7, Enc::default().str(1, r#"{"f:data":{}}"#));
    let cm = Enc::default().msg(1, Enc::default().str(1, "c").msg(17, managed));
    let obj = decode(&envelope("v1", "ConfigMap", cm)).unwrap();
    assert_eq!(
        obj["metadata"]["managedFields"][0]["fieldsV1"],
        json!({"f:data": {}})
    );
}

#[test]
fn bad_bodies() {
    assert!(decode(b"{}").is_err());
    let err = decode(&envelope("route.openshift.io/v1", "Route", Enc::default())).unwrap_err();
    assert!(err.unknown_kind);
    let mut truncated = envelope("v1", "ConfigMap", Enc::default().msg(1, meta("c")));
    truncated.truncate(truncated.len() - 3);
    assert!(!decode(&truncated).unwrap_err().unknown_kind);
    // A string field carrying a varint.
    let wrong = Enc::default().msg(1, Enc::default().varint(1, 5));
    assert!(decode(&envelope("v1", "ConfigMap", wrong)).is_err());
    let no_kind = [MAGIC, &Enc::default().msg(2, Enc::default()).0].concat();
    assert!(decode(&no_kind).is_err());
}

#[test]
fn zero_values_as_upstream_json() {
    // Upstream writes every non-pointer field: empty strings, zero numbers, false, empty
    // times. The JSON form omits them, but keeps a meaningful zero such as `replicas: 0`.
    let template = Enc::default()
        .msg(
            1,
            Enc::default()
                .str(1, "")
                .msg(8, Enc::default())
                .varint(7, 0),
        )
        .msg(
            2,
            Enc::default().msg(2, Enc::default().str(1, "c").varint(16, 0).str(5, "")),
        );
    let spec = Enc::default().varint(1, 0).msg(3, template).varint(7, 0);
    let obj = decode(&envelope(
        "apps/v1",
        "Deployment",
        Enc::default()
            .msg(1, meta("d"))
            .msg(2, spec)
            .msg(3, Enc::default()),
    ))
    .unwrap();
    assert_eq!(
        obj["spec"],
        json!({"replicas": 0, "template": {"metadata": {}, "spec": {"containers": [{"name": "c"}]}}})
    );
    assert_eq!(obj["status"], json!({}));
}

/// kubectl and client-go send the built-in kinds in protobuf: every stored Kubernetes kind the
/// scheme serves, and its list, has its message.
#[test]
fn every_served_kubernetes_kind_has_messages() {
    for def in crate::Scheme::builtin().resources() {
        // Definitions and APIServices reach the server as JSON (kubectl sends them as
        // unstructured objects).
        if !def.stored
            || def.group.ends_with(".openshift.io")
            || def.group.ends_with(".oxshift.io")
            || def.group == "apiextensions.k8s.io"
            || def.group == "apiregistration.k8s.io"
        {
            continue;
        }
        for kind in [def.kind.to_string(), format!("{}List", def.kind)] {
            let name = super::message_name(&def.api_version(), &kind);
            assert!(
                super::schema::messages().contains_key(name.as_str()),
                "no message {name}"
            );
        }
    }
}

/// Embedded messages Go inlines in JSON (an ingress rule's value, a volume's source) are
/// flattened into their parent.
#[test]
fn inline_messages_are_flattened() {
    let path = Enc::default().str(1, "/").str(3, "Prefix");
    let rule = Enc::default()
        .str(1, "a.example.com")
        .msg(2, Enc::default().msg(1, Enc::default().msg(1, path)));
    let obj = decode(&envelope(
        "networking.k8s.io/v1",
        "Ingress",
        Enc::default()
            .msg(1, meta("i"))
            .msg(2, Enc::default().msg(3, rule)),
    ))
    .unwrap();
    assert_eq!(
        obj["spec"]["rules"],
        json!([{"host": "a.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix"}]}}])
    );
}
