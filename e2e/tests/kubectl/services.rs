//! Service addresses as kubectl sees them: cluster IPs and node ports assigned, kept across
//! updates, and refused when in use.

use e2e::{Backend, Cluster};

#[test]
fn services_get_cluster_ips_and_node_ports() {
    let c = Cluster::start(Backend::Embedded);
    c.kubectl_ok(&["create", "service", "clusterip", "a", "--tcp=80:8080"]);
    c.kubectl_ok(&["create", "service", "clusterip", "b", "--tcp=443"]);
    c.kubectl_ok(&["create", "service", "nodeport", "n", "--tcp=80"]);
    c.kubectl_ok(&[
        "create",
        "service",
        "clusterip",
        "headless",
        "--clusterip=None",
    ]);
    let field = |name: &str, path: &str| {
        c.kubectl_ok(&["get", "service", name, "-o", &format!("jsonpath={path}")])
    };
    let (a, b) = (
        field("a", "{.spec.clusterIP}"),
        field("b", "{.spec.clusterIP}"),
    );
    assert!(
        a.starts_with("172.30.") && b.starts_with("172.30.") && a != b,
        "{a} {b}"
    );
    assert_eq!(
        field(
            "a",
            "{.spec.clusterIPs} {.spec.ipFamilies} {.spec.ipFamilyPolicy} {.spec.sessionAffinity} {.spec.type} {.spec.internalTrafficPolicy}"
        ),
        format!(r#"["{a}"] ["IPv4"] SingleStack None ClusterIP Cluster"#)
    );
    let node_port: u16 = field("n", "{.spec.ports[0].nodePort}").parse().unwrap();
    assert!((30000..=32767).contains(&node_port));
    assert_eq!(field("headless", "{.spec.clusterIP}"), "None");
    let table = c.kubectl_ok(&["get", "service", "a", "n", "--no-headers"]);
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().take(5).collect())
        .collect();
    let n_ip = field("n", "{.spec.clusterIP}");
    let n_ports = format!("80:{node_port}/TCP");
    assert_eq!(
        rows,
        [
            vec!["a", "ClusterIP", a.as_str(), "<none>", "80/TCP"],
            vec!["n", "NodePort", n_ip.as_str(), "<none>", n_ports.as_str()],
        ]
    );
    // An update without the address keeps it; an address in use is refused.
    let mut obj: serde_json::Value =
        serde_json::from_str(&c.kubectl_ok(&["get", "service", "a", "-o", "json"])).unwrap();
    let spec = obj["spec"].as_object_mut().unwrap();
    spec.remove("clusterIP");
    spec.remove("clusterIPs");
    let file = c.file("a.json", &obj.to_string());
    c.kubectl_ok(&["replace", "-f", &file]);
    assert_eq!(field("a", "{.spec.clusterIP}"), a);
    assert_eq!(
        c.kubectl_err(&[
            "create",
            "service",
            "clusterip",
            "c",
            "--tcp=80",
            &format!("--clusterip={a}")
        ]),
        format!(
            "error: failed to create ClusterIP service: Service \"c\" is invalid: spec.clusterIPs: Invalid value: []string{{\"{a}\"}}: failed to allocate IP {a}: provided IP is already allocated\n"
        )
    );
}
