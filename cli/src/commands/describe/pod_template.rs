//! The pod template as kubectl describes it inside workloads: labels, service account,
//! containers (image, ports, command, resources, probes, environment, mounts), volumes,
//! priority class, node selectors and tolerations.

use serde_json::Value;

use super::text::{annotations, labels, str_of};

fn list(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// An int-or-string as Go prints it.
pub fn int_or_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub fn describe(out: &mut String, template: &Value) {
    out.push_str("Pod Template:\n");
    let meta = &template["metadata"];
    let spec = &template["spec"];
    labels(out, "  Labels", &meta["labels"]);
    if meta["annotations"]
        .as_object()
        .is_some_and(|a| !a.is_empty())
    {
        annotations(out, "  Annotations", &meta["annotations"]);
    }
    if let Some(sa) = spec["serviceAccountName"]
        .as_str()
        .filter(|s| !s.is_empty())
    {
        out.push_str(&format!("  Service Account:\t{sa}\n"));
    }
    if !list(&spec["initContainers"]).is_empty() {
        containers(out, "Init Containers", list(&spec["initContainers"]), None);
    }
    containers(out, "Containers", list(&spec["containers"]), None);
    volumes(out, list(&spec["volumes"]), "  ");
    if let Some(p) = spec["priorityClassName"].as_str().filter(|s| !s.is_empty()) {
        out.push_str(&format!("  Priority Class Name:\t{p}\n"));
    }
    labels(out, "  Node-Selectors", &spec["nodeSelector"]);
    tolerations(out, "  Tolerations", list(&spec["tolerations"]));
}

/// The containers of a template (`pod` none, indented under `Pod Template:`) or of a pod
/// (with their statuses, and environment values the pod resolves).
pub fn containers(out: &mut String, label: &str, containers: &[Value], pod: Option<&Value>) {
    let (space, name_indent) = match pod {
        Some(_) => ("", ""),
        None => ("  ", " "),
    };
    match containers.is_empty() {
        true => out.push_str(&format!("{space}{label}:\t<none>\n")),
        false => out.push_str(&format!("{space}{label}:\n")),
    }
    let statuses_field = match label {
        "Init Containers" => "initContainerStatuses",
        _ => "containerStatuses",
    };
    for c in containers {
        let name = str_of(&c["name"]);
        let status = pod.and_then(|p| {
            list(&p["status"][statuses_field])
                .iter()
                .find(|s| str_of(&s["name"]) == name)
        });
        out.push_str(&format!("  {name_indent}{name}:\n"));
        if let Some(s) = status {
            out.push_str(&format!(
                "    Container ID:\t{}\n",
                str_of(&s["containerID"])
            ));
        }
        out.push_str(&format!("    Image:\t{}\n", str_of(&c["image"])));
        if let Some(s) = status {
            out.push_str(&format!("    Image ID:\t{}\n", str_of(&s["imageID"])));
        }
        let ports = list(&c["ports"]);
        let numbers = |field: &str| -> String {
            ports
                .iter()
                .map(|p| {
                    format!(
                        "{}/{}",
                        p[field].as_i64().unwrap_or(0),
                        str_of(&p["protocol"])
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        for (one, many, text) in [
            ("Port", "Ports", numbers("containerPort")),
            ("Host Port", "Host Ports", numbers("hostPort")),
        ] {
            let shown = if text.is_empty() { "<none>" } else { &text };
            match text.contains(',') {
                true => out.push_str(&format!("    {many}:\t{shown}\n")),
                false => out.push_str(&format!("    {one}:\t{shown}\n")),
            }
        }
        for (label, field) in [("Command", "command"), ("Args", "args")] {
            let items = list(&c[field]);
            if !items.is_empty() {
                out.push_str(&format!("    {label}:\n"));
                for item in items {
                    for line in str_of(item).split('\n') {
                        out.push_str(&format!("      {line}\n"));
                    }
                }
            }
        }
        if let Some(s) = status {
            super::container_state::describe(out, s);
        }
        for (label, field) in [("Limits", "limits"), ("Requests", "requests")] {
            let mut entries: Vec<(&String, &Value)> = c["resources"][field]
                .as_object()
                .into_iter()
                .flatten()
                .collect();
            if entries.is_empty() {
                continue;
            }
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push_str(&format!("    {label}:\n"));
            for (name, quantity) in entries {
                out.push_str(&format!("      {name}:\t{}\n", int_or_string(quantity)));
            }
        }
        for (label, field) in [
            ("Liveness", "livenessProbe"),
            ("Readiness", "readinessProbe"),
            ("Startup", "startupProbe"),
        ] {
            if c[field].is_object() {
                out.push_str(&format!("    {label}:\t{}\n", probe(&c[field])));
            }
        }
        let env_from = list(&c["envFrom"]);
        if !env_from.is_empty() {
            out.push_str("    Environment Variables from:\n");
            for e in env_from {
                let (from, source) = match e["configMapRef"].is_object() {
                    true => ("ConfigMap", &e["configMapRef"]),
                    false => ("Secret", &e["secretRef"]),
                };
                let optional = source["optional"].as_bool().unwrap_or(false);
                let name = str_of(&source["name"]);
                match str_of(&e["prefix"]) {
                    "" => out.push_str(&format!("      {name}\t{from}\tOptional: {optional}\n")),
                    prefix => out.push_str(&format!(
                        "      {name}\t{from} with prefix '{prefix}'\tOptional: {optional}\n"
                    )),
                }
            }
        }
        environment(out, c, pod);
        let mut mounts: Vec<&Value> = list(&c["volumeMounts"]).iter().collect();
        match mounts.is_empty() {
            true => out.push_str("    Mounts:\t<none>\n"),
            false => out.push_str("    Mounts:\n"),
        }
        mounts.sort_by(|a, b| str_of(&a["mountPath"]).cmp(str_of(&b["mountPath"])));
        for m in mounts {
            let mut flags = vec![match m["readOnly"].as_bool().unwrap_or(false) {
                true => "ro".to_string(),
                false => "rw".to_string(),
            }];
            if let Some(sub) = m["subPath"].as_str().filter(|s| !s.is_empty()) {
                flags.push(format!("path={sub:?}"));
            }
            out.push_str(&format!(
                "      {} from {} ({})\n",
                str_of(&m["mountPath"]),
                str_of(&m["name"]),
                flags.join(",")
            ));
        }
    }
}

fn environment(out: &mut String, container: &Value, pod: Option<&Value>) {
    let env = list(&container["env"]);
    match env.is_empty() {
        true => out.push_str("    Environment:\t<none>\n"),
        false => out.push_str("    Environment:\n"),
    }
    for e in env {
        let name = str_of(&e["name"]);
        let from = &e["valueFrom"];
        if !from.is_object() {
            for (i, line) in str_of(&e["value"]).split('\n').enumerate() {
                match i {
                    0 => out.push_str(&format!("      {name}:\t{line}\n")),
                    _ => out.push_str(&format!("      \t{line}\n")),
                }
            }
            continue;
        }
        let optional = |r: &Value| r["optional"].as_bool().unwrap_or(false);
        if from["fieldRef"].is_object() {
            let f = &from["fieldRef"];
            let value = pod.map(|p| field_value(p, &f["fieldPath"])).unwrap_or("");
            out.push_str(&format!(
                "      {name}:\t{value} ({}:{})\n",
                str_of(&f["apiVersion"]),
                str_of(&f["fieldPath"])
            ));
        } else if from["resourceFieldRef"].is_object() {
            let r = &from["resourceFieldRef"];
            let resource = str_of(&r["resource"]);
            let mut value = resource_value(container, r);
            if value == "0" && matches!(resource, "limits.cpu" | "limits.memory") {
                value = "node allocatable".into();
            }
            out.push_str(&format!("      {name}:\t{value} ({resource})\n"));
        } else if from["secretKeyRef"].is_object() {
            let r = &from["secretKeyRef"];
            out.push_str(&format!(
                "      {name}:\t<set to the key '{}' in secret '{}'>\tOptional: {}\n",
                str_of(&r["key"]),
                str_of(&r["name"]),
                optional(r)
            ));
        } else if from["configMapKeyRef"].is_object() {
            let r = &from["configMapKeyRef"];
            out.push_str(&format!(
                "      {name}:\t<set to the key '{}' of config map '{}'>\tOptional: {}\n",
                str_of(&r["key"]),
                str_of(&r["name"]),
                optional(r)
            ));
        }
    }
}

/// A field of the pod an environment variable refers to, as kubectl resolves it: its
/// scheme converts only the name and namespace field labels, the others read as empty.
fn field_value<'a>(pod: &'a Value, path: &Value) -> &'a str {
    match str_of(path) {
        "metadata.name" => str_of(&pod["metadata"]["name"]),
        "metadata.namespace" => str_of(&pod["metadata"]["namespace"]),
        _ => "",
    }
}

/// A container's request or limit in units of the reference's divisor, rounded up (CPU in
/// thousandths, as upstream's helper counts it).
fn resource_value(container: &Value, r: &Value) -> String {
    let resource = str_of(&r["resource"]);
    let Some((kind, name)) = resource.split_once('.') else {
        return String::new();
    };
    let quantity = |text: &str| api::quota::amount::Amount::parse(text).map(|a| a.milli);
    let amount = quantity(str_of(&container["resources"][kind][name])).unwrap_or(0);
    let divisor = quantity(&int_or_string(&r["divisor"]))
        .filter(|d| *d != 0)
        .unwrap_or(1000);
    let units = amount / divisor + i128::from(amount % divisor != 0);
    units.to_string()
}

/// `http-get http://:8080/healthz delay=0s timeout=1s period=10s #success=1 #failure=3`.
fn probe(p: &Value) -> String {
    let n = |f: &str| p[f].as_i64().unwrap_or(0);
    let attrs = format!(
        "delay={}s timeout={}s period={}s #success={} #failure={}",
        n("initialDelaySeconds"),
        n("timeoutSeconds"),
        n("periodSeconds"),
        n("successThreshold"),
        n("failureThreshold")
    );
    if p["exec"].is_object() {
        let command: Vec<&str> = list(&p["exec"]["command"]).iter().map(str_of).collect();
        return format!("exec [{}] {attrs}", command.join(" "));
    }
    if p["httpGet"].is_object() {
        let h = &p["httpGet"];
        let scheme = str_of(&h["scheme"]).to_lowercase();
        let port = int_or_string(&h["port"]);
        let host = match port.is_empty() {
            true => str_of(&h["host"]).to_string(),
            false => format!("{}:{port}", str_of(&h["host"])),
        };
        let prefix = match scheme.is_empty() {
            true => String::new(),
            false => format!("{scheme}:"),
        };
        return format!("http-get {prefix}//{host}{} {attrs}", str_of(&h["path"]));
    }
    if p["tcpSocket"].is_object() {
        let t = &p["tcpSocket"];
        return format!(
            "tcp-socket {}:{} {attrs}",
            str_of(&t["host"]),
            int_or_string(&t["port"])
        );
    }
    if p["grpc"].is_object() {
        let g = &p["grpc"];
        return format!(
            "grpc <pod>:{} {} {attrs}",
            g["port"].as_i64().unwrap_or(0),
            str_of(&g["service"])
        );
    }
    format!("unknown {attrs}")
}

/// The volumes, under `space` (two spaces in a template, none in a pod).
pub fn volumes(out: &mut String, volumes: &[Value], space: &str) {
    if volumes.is_empty() {
        out.push_str(&format!("{space}Volumes:\t<none>\n"));
        return;
    }
    out.push_str(&format!("{space}Volumes:\n"));
    let name_indent = if space.is_empty() { "" } else { " " };
    for v in volumes {
        out.push_str(&format!("  {name_indent}{}:\n", str_of(&v["name"])));
        if v["emptyDir"].is_object() {
            let limit = v["emptyDir"]["sizeLimit"]
                .as_str()
                .filter(|s| !s.is_empty() && *s != "0")
                .unwrap_or("<unset>");
            out.push_str(&format!(
                "    Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n    Medium:\t{}\n    SizeLimit:\t{limit}\n",
                str_of(&v["emptyDir"]["medium"])
            ));
        } else if v["configMap"].is_object() {
            let c = &v["configMap"];
            out.push_str(&format!(
                "    Type:\tConfigMap (a volume populated by a ConfigMap)\n    Name:\t{}\n    Optional:\t{}\n",
                str_of(&c["name"]),
                c["optional"].as_bool().unwrap_or(false)
            ));
        } else if v["secret"].is_object() {
            let s = &v["secret"];
            out.push_str(&format!(
                "    Type:\tSecret (a volume populated by a Secret)\n    SecretName:\t{}\n    Optional:\t{}\n",
                str_of(&s["secretName"]),
                s["optional"].as_bool().unwrap_or(false)
            ));
        } else if v["persistentVolumeClaim"].is_object() {
            let c = &v["persistentVolumeClaim"];
            out.push_str(&format!(
                "    Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n    ClaimName:\t{}\n    ReadOnly:\t{}\n",
                str_of(&c["claimName"]),
                c["readOnly"].as_bool().unwrap_or(false)
            ));
        } else if v["hostPath"].is_object() {
            let h = &v["hostPath"];
            let kind = h["type"].as_str().unwrap_or("<none>");
            out.push_str(&format!(
                "    Type:\tHostPath (bare host directory volume)\n    Path:\t{}\n    HostPathType:\t{kind}\n",
                str_of(&h["path"])
            ));
        } else if v["downwardAPI"].is_object() {
            out.push_str("    Type:\tDownwardAPI (a volume populated by information about the pod)\n    Items:\n");
            for item in list(&v["downwardAPI"]["items"]) {
                for (source, field) in [("fieldRef", "fieldPath"), ("resourceFieldRef", "resource")]
                {
                    if item[source].is_object() {
                        out.push_str(&format!(
                            "      {} -> {}\n",
                            str_of(&item[source][field]),
                            str_of(&item["path"])
                        ));
                    }
                }
            }
        } else if v["projected"].is_object() {
            projected(out, &v["projected"]);
        } else {
            out.push_str("  <unknown>\n");
        }
    }
}

/// A projected volume's sources; kubectl prints the optional flags as Go prints a `*bool`.
fn projected(out: &mut String, p: &Value) {
    out.push_str(
        "    Type:\tProjected (a volume that contains injected data from multiple sources)\n",
    );
    let optional = |o: &Value| match o.as_bool() {
        Some(b) => b.to_string(),
        None => "<nil>".to_string(),
    };
    for source in list(&p["sources"]) {
        if source["secret"].is_object() {
            let s = &source["secret"];
            out.push_str(&format!(
                "    SecretName:\t{}\n    SecretOptionalName:\t{}\n",
                str_of(&s["name"]),
                optional(&s["optional"])
            ));
        } else if source["downwardAPI"].is_object() {
            out.push_str("    DownwardAPI:\ttrue\n");
        } else if source["configMap"].is_object() {
            let c = &source["configMap"];
            out.push_str(&format!(
                "    ConfigMapName:\t{}\n    ConfigMapOptional:\t{}\n",
                str_of(&c["name"]),
                optional(&c["optional"])
            ));
        } else if source["serviceAccountToken"].is_object() {
            out.push_str(&format!(
                "    TokenExpirationSeconds:\t{}\n",
                source["serviceAccountToken"]["expirationSeconds"]
                    .as_i64()
                    .unwrap_or(0)
            ));
        }
    }
}

/// `key=value:Effect op=Exists for 300s` per toleration, sorted by key, as kubectl lists them.
pub fn tolerations(out: &mut String, title: &str, tolerations: &[Value]) {
    out.push_str(&format!("{title}:\t"));
    if tolerations.is_empty() {
        out.push_str("<none>\n");
        return;
    }
    let mut sorted: Vec<&Value> = tolerations.iter().collect();
    sorted.sort_by(|a, b| str_of(&a["key"]).cmp(str_of(&b["key"])));
    for (i, t) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        let (key, value, effect) = (str_of(&t["key"]), str_of(&t["value"]), str_of(&t["effect"]));
        out.push_str(key);
        if !value.is_empty() {
            out.push_str(&format!("={value}"));
        }
        if !effect.is_empty() {
            out.push_str(&format!(":{effect}"));
        }
        if t["operator"] == "Exists" && value.is_empty() {
            match key.is_empty() && effect.is_empty() {
                true => out.push_str("op=Exists"),
                false => out.push_str(" op=Exists"),
            }
        }
        if let Some(seconds) = t["tolerationSeconds"].as_i64() {
            out.push_str(&format!(" for {seconds}s"));
        }
        out.push('\n');
    }
}
