//! kubectl's typed create commands, which send protobuf bodies: each one creates what it
//! names, decoded by the server's protobuf reader.

use e2e::Cluster;

/// kubectl's typed `create` commands POST protobuf; the objects come out as upstream's JSON.
pub fn typed_create_commands_send_protobuf(c: Cluster) {
    let steps: &[&[&str]] = &[
        &[
            "create",
            "configmap",
            "c1",
            "--from-literal=a=1",
            "--from-literal=b=",
        ],
        &[
            "create",
            "secret",
            "generic",
            "s1",
            "--from-literal=password=hunter2",
        ],
        &["create", "namespace", "team-a"],
        &["create", "serviceaccount", "robot"],
        &[
            "create",
            "deployment",
            "web",
            "--image=nginx:1.27",
            "--replicas=0",
            "--port=80",
        ],
        &[
            "create",
            "job",
            "once",
            "--image=busybox",
            "--",
            "sleep",
            "5",
        ],
        &["create", "service", "clusterip", "web", "--tcp=80:8080"],
        &[
            "create",
            "role",
            "reader",
            "--verb=get,list",
            "--resource=pods",
        ],
        &[
            "create",
            "rolebinding",
            "reader",
            "--role=reader",
            "--user=bob",
        ],
        &[
            "create",
            "clusterrole",
            "node-reader",
            "--verb=get",
            "--resource=nodes",
        ],
        &[
            "create",
            "clusterrolebinding",
            "node-reader",
            "--clusterrole=node-reader",
            "--group=ops",
        ],
        &["create", "quota", "q1", "--hard=pods=10,requests.cpu=2"],
    ];
    for args in steps {
        let out = c.kubectl_ok(args);
        assert!(out.ends_with(" created\n"), "{args:?}: {out}");
    }
    let get = |args: &[&str]| c.kubectl_ok(args);
    assert_eq!(
        get(&["get", "cm", "c1", "-o", "jsonpath={.data}"]),
        r#"{"a":"1","b":""}"#
    );
    assert_eq!(
        get(&["get", "secret", "s1", "-o", "jsonpath={.data.password}"]),
        "aHVudGVyMg=="
    );
    // An explicit zero survives; empty fields are omitted as upstream's JSON does.
    let deploy: serde_json::Value =
        serde_json::from_str(&get(&["get", "deploy", "web", "-o", "json"])).unwrap();
    assert_eq!(deploy["spec"]["replicas"], 0);
    let container = &deploy["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "nginx:1.27");
    // The protocol left out is defaulted, as upstream defaults it.
    assert_eq!(
        container["ports"],
        serde_json::json!([{"containerPort": 80, "protocol": "TCP"}])
    );
    assert!(deploy["metadata"].get("generateName").is_none(), "{deploy}");
    assert_eq!(
        get(&[
            "get",
            "job",
            "once",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].command}"
        ]),
        r#"["sleep","5"]"#
    );
    assert_eq!(
        get(&[
            "get",
            "svc",
            "web",
            "-o",
            "jsonpath={.spec.ports[0].targetPort}"
        ]),
        "8080"
    );
    assert_eq!(
        get(&[
            "get",
            "rolebinding",
            "reader",
            "-o",
            "jsonpath={.subjects[0].name}/{.roleRef.name}"
        ]),
        "bob/reader"
    );
    assert_eq!(
        get(&[
            "get",
            "quota",
            "q1",
            "-o",
            "jsonpath={.spec.hard.requests\\.cpu}"
        ]),
        "2"
    );
    assert!(get(&["get", "ns", "team-a"]).contains("Active"));
    // Server-side errors still read as upstream's.
    let err = c.kubectl_err(&["create", "configmap", "c1"]);
    assert!(
        err.contains(r#"error: failed to create configmap: configmaps "c1" already exists"#),
        "{err}"
    );
}
