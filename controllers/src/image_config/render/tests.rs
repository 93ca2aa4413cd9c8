//! The renderings compared byte for byte with the documentation's examples (the seed's §9.2).

use super::*;

fn icsp(source: &str, mirrors: &[&str]) -> MirrorSet {
    MirrorSet {
        source: source.into(),
        mirrors: mirrors.iter().map(|m| m.to_string()).collect(),
        kind: MirrorKind::ContentSource,
        never_contact_source: false,
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn mirrors_of_content_source_policies_as_the_documentation_shows_them() {
    // The ImageContentSourcePolicy `ubi8repo` of §9.2.6, in its order.
    let sets = [
        icsp(
            "registry.access.redhat.com/ubi8/ubi-minimal",
            &[
                "example.io/example/ubi-minimal",
                "example.com/example/ubi-minimal",
            ],
        ),
        icsp(
            "registry.redhat.io/openshift4",
            &["mirror.example.com/redhat"],
        ),
        icsp("registry.redhat.io", &["mirror.example.com"]),
        icsp(
            "registry.example.com/example/myimage",
            &["mirror.example.net/image"],
        ),
        icsp("registry.example.com/example", &["mirror.example.net"]),
        icsp(
            "registry.example.com",
            &["mirror.example.net/registry-example-com"],
        ),
    ];
    let expected = r#"unqualified-search-registries = ["registry.access.redhat.com", "docker.io"]
short-name-mode = ""

[[registry]]
  prefix = ""
  location = "registry.access.redhat.com/ubi8/ubi-minimal"
  mirror-by-digest-only = true

  [[registry.mirror]]
    location = "example.io/example/ubi-minimal"

  [[registry.mirror]]
    location = "example.com/example/ubi-minimal"

[[registry]]
  prefix = ""
  location = "registry.example.com"
  mirror-by-digest-only = true

  [[registry.mirror]]
    location = "mirror.example.net/registry-example-com"

[[registry]]
  prefix = ""
  location = "registry.example.com/example"
  mirror-by-digest-only = true

  [[registry.mirror]]
    location = "mirror.example.net"

[[registry]]
  prefix = ""
  location = "registry.example.com/example/myimage"
  mirror-by-digest-only = true

  [[registry.mirror]]
    location = "mirror.example.net/image"

[[registry]]
  prefix = ""
  location = "registry.redhat.io"
  mirror-by-digest-only = true

  [[registry.mirror]]
    location = "mirror.example.com"

[[registry]]
  prefix = ""
  location = "registry.redhat.io/openshift4"
  mirror-by-digest-only = true

  [[registry.mirror]]
    location = "mirror.example.com/redhat"
"#;
    assert_eq!(
        registries_conf(&RegistrySources::default(), &sets),
        expected
    );
}

#[test]
fn a_blocked_source_keeps_its_mirrors() {
    // §9.2.2.1: the payload repository mirrored, then blocked.
    let sets = [icsp(
        "quay.io/openshift-payload",
        &["internal-mirror.io/openshift-payload"],
    )];
    let sources = RegistrySources {
        blocked: strings(&["quay.io/openshift-payload"]),
        ..Default::default()
    };
    // The documentation prints the same keys; its `[[registry.mirror]]` lacks the
    // encoder's indentation.
    let expected = r#"unqualified-search-registries = ["registry.access.redhat.com", "docker.io"]
short-name-mode = ""

[[registry]]
  prefix = ""
  location = "quay.io/openshift-payload"
  blocked = true
  mirror-by-digest-only = true

  [[registry.mirror]]
    location = "internal-mirror.io/openshift-payload"
"#;
    assert_eq!(registries_conf(&sources, &sets), expected);
}

#[test]
fn blocked_and_insecure_registries_get_entries_of_their_own() {
    // §9.2.2 and §9.2.3: the documentation shows the first entry of each (older releases
    // printed no `short-name-mode`).
    let blocked = RegistrySources {
        blocked: strings(&["untrusted.com", "reg1.io/myrepo/myapp:latest"]),
        ..Default::default()
    };
    let text = registries_conf(&blocked, &[]);
    assert!(
        text.contains(
            "\n[[registry]]\n  prefix = \"\"\n  location = \"untrusted.com\"\n  blocked = true\n"
        ),
        "{text}"
    );
    let insecure = RegistrySources {
        insecure: strings(&["insecure.com", "reg4.io/myrepo/myapp:latest"]),
        ..Default::default()
    };
    let text = registries_conf(&insecure, &[]);
    assert!(
        text.starts_with(
            "unqualified-search-registries = [\"registry.access.redhat.com\", \"docker.io\"]\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "\n[[registry]]\n  prefix = \"\"\n  location = \"insecure.com\"\n  insecure = true\n"
        ),
        "{text}"
    );
    // Wildcards are prefixes, and reach the mirrors under them.
    let sets = [icsp("a.example.com/x", &["m.example.com/x"])];
    let wild = RegistrySources {
        insecure: strings(&["*.example.com"]),
        ..Default::default()
    };
    let text = registries_conf(&wild, &sets);
    assert!(
        text.contains("  location = \"a.example.com/x\"\n  insecure = true\n"),
        "{text}"
    );
    assert!(
        text.contains("    location = \"m.example.com/x\"\n    insecure = true\n"),
        "{text}"
    );
    assert!(
        text.ends_with("\n[[registry]]\n  prefix = \"*.example.com\"\n  insecure = true\n"),
        "{text}"
    );
}

#[test]
fn search_registries_have_a_file_of_their_own() {
    let sources = RegistrySources {
        search: strings(&["reg1.io", "reg2.io", "reg3.io"]),
        ..Default::default()
    };
    assert_eq!(
        search_registries_conf(&sources).as_deref(),
        Some("unqualified-search-registries = ['reg1.io', 'reg2.io', 'reg3.io']\n")
    );
    assert_eq!(search_registries_conf(&RegistrySources::default()), None);
}

#[test]
fn the_allow_list_rejects_everything_else() {
    // Example 9.1, from the §9.2.3 configuration it was printed from.
    let sources = RegistrySources {
        allowed: strings(&[
            "example.com",
            "quay.io",
            "registry.redhat.io",
            "insecure.com",
            "reg4.io/myrepo/myapp:latest",
            "image-registry.openshift-image-registry.svc:5000",
        ]),
        insecure: strings(&["insecure.com", "reg4.io/myrepo/myapp:latest"]),
        ..Default::default()
    };
    let accept = r#"[{"type":"insecureAcceptAnything"}]"#;
    let scopes = format!(
        r#"{{"example.com":{accept},"image-registry.openshift-image-registry.svc:5000":{accept},"insecure.com":{accept},"quay.io":{accept},"reg4.io/myrepo/myapp:latest":{accept},"registry.redhat.io":{accept}}}"#
    );
    assert_eq!(
        policy_json(&sources, None),
        format!(
            r#"{{"default":[{{"type":"reject"}}],"transports":{{"atomic":{scopes},"docker":{scopes},"docker-daemon":{{"":{accept}}}}}}}"#
        )
    );
    let blocked = RegistrySources {
        blocked: strings(&["untrusted.com"]),
        ..Default::default()
    };
    let reject = r#"[{"type":"reject"}]"#;
    assert_eq!(
        policy_json(&blocked, None),
        format!(
            r#"{{"default":{accept},"transports":{{"atomic":{{"untrusted.com":{reject}}},"docker":{{"untrusted.com":{reject}}},"docker-daemon":{{"":{accept}}}}}}}"#
        )
    );
    assert_eq!(
        policy_json(&RegistrySources::default(), None),
        format!(r#"{{"default":{accept},"transports":{{"docker-daemon":{{"":{accept}}}}}}}"#)
    );
}

#[test]
fn the_trust_policy_is_rendered_under_the_registry_sources() {
    let key = include_bytes!("../../../../trust/src/testdata/signer.gpg");
    let key_data = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(key)
    };
    let spec = serde_json::json!({
        "default": [{"type": "insecureAcceptAnything"}],
        "transports": {"docker": {
            "quay.io/team": [{"type": "signedBy", "keyType": "GPGKeys", "keyData": key_data,
                              "signedIdentity": {"type": "matchRepository"}}],
            "evil.io": [{"type": "insecureAcceptAnything"}],
        }},
        "lookaside": {"quay.io/team": "http://127.0.0.1:8080/sigstore"},
    });
    let trust = trust::TrustPolicy::parse(&spec).unwrap();
    let signed = format!(
        r#"[{{"keyData":"{key_data}","keyType":"GPGKeys","signedIdentity":{{"type":"matchRepository"}},"type":"signedBy"}}]"#
    );
    let accept = r#"[{"type":"insecureAcceptAnything"}]"#;
    let reject = r#"[{"type":"reject"}]"#;
    let blocked = RegistrySources {
        blocked: strings(&["evil.io"]),
        ..Default::default()
    };
    assert_eq!(
        policy_json(&blocked, Some(&trust)),
        format!(
            r#"{{"default":{accept},"transports":{{"atomic":{{"evil.io":{reject}}},"docker":{{"evil.io":{reject},"quay.io/team":{signed}}},"docker-daemon":{{"":{accept}}}}}}}"#
        )
    );
    let allowed = RegistrySources {
        allowed: strings(&["quay.io"]),
        ..Default::default()
    };
    let rendered: serde_json::Value =
        serde_json::from_str(&policy_json(&allowed, Some(&trust))).unwrap();
    assert_eq!(rendered["default"], serde_json::json!([{"type": "reject"}]));
    let docker = &rendered["transports"]["docker"];
    assert_eq!(
        docker["quay.io"],
        serde_json::json!([{"type": "insecureAcceptAnything"}])
    );
    assert_eq!(docker["quay.io/team"][0]["type"], "signedBy");
    assert!(docker.get("evil.io").is_none(), "{docker}");
    assert_eq!(
        sigstore_yaml(Some(&trust)).unwrap(),
        "docker:\n  \"quay.io/team\":\n    lookaside: \"http://127.0.0.1:8080/sigstore\"\n"
    );
    assert_eq!(sigstore_yaml(None), None);
}
