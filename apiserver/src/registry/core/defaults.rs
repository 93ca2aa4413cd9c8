//! Upstream's defaults of the core kinds and of every pod template: what the strategies of
//! namespaces, secrets, services, pods and the workload kinds apply to each write.

use serde_json::{Value, json};

/// The elements of the list `obj[key]`, if it has one. (Indexing a `Value` mutably would
/// insert a `null` where the field is absent, and that `null` would be stored.)
pub fn items<'a>(obj: &'a mut Value, key: &str) -> impl Iterator<Item = &'a mut Value> {
    obj.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
}

/// `obj[key]` if it is an object.
pub fn object_at<'a>(obj: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    obj.get_mut(key).filter(|v| v.is_object())
}

/// Sets `obj[key]` to `value` when it is absent.
pub fn default(obj: &mut Value, key: &str, value: Value) {
    if let Some(map) = obj.as_object_mut() {
        map.entry(key).or_insert(value);
    }
}

/// A service's type, session affinity, traffic policies and port protocols and targets.
pub fn service_defaults(spec: Option<&mut Value>) {
    let Some(spec) = spec.filter(|s| s.is_object()) else {
        return;
    };
    default(spec, "type", json!("ClusterIP"));
    default(spec, "sessionAffinity", json!("None"));
    let kind = spec["type"].as_str().unwrap_or_default().to_string();
    if kind != "ExternalName" {
        default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if kind == "NodePort" || kind == "LoadBalancer" {
        default(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    for port in items(spec, "ports") {
        default(port, "protocol", json!("TCP"));
        let number = port["port"].clone();
        default(port, "targetPort", number);
    }
}

/// A deployment's replica count, history, progress deadline and rolling-update strategy.
pub fn deployment_defaults(spec: Option<&mut Value>) {
    let Some(spec) = spec.filter(|s| s.is_object()) else {
        return;
    };
    default(spec, "replicas", json!(1));
    default(spec, "revisionHistoryLimit", json!(10));
    default(spec, "progressDeadlineSeconds", json!(600));
    default(spec, "strategy", json!({"type": "RollingUpdate"}));
    let strategy = &mut spec["strategy"];
    default(strategy, "type", json!("RollingUpdate"));
    if strategy["type"] == "RollingUpdate" {
        default(strategy, "rollingUpdate", json!({}));
        default(
            &mut strategy["rollingUpdate"],
            "maxUnavailable",
            json!("25%"),
        );
        default(&mut strategy["rollingUpdate"], "maxSurge", json!("25%"));
    }
}

/// `Always` for images without a tag or tagged `latest`, else `IfNotPresent`.
pub fn pull_policy(image: &str) -> &'static str {
    let last = image.rsplit('/').next().unwrap_or(image);
    if last.contains('@') {
        return "IfNotPresent";
    }
    match last.split_once(':') {
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

/// What upstream defaults in pods but not in pod templates (`SetDefaults_Pod`): service links
/// on, and a container's missing requests set to its limits (so the scheduler and quota count
/// a limit-only container at its limits).
pub fn pod_defaults(spec: Option<&mut Value>) {
    let Some(spec) = spec.filter(|s| s.is_object()) else {
        return;
    };
    default(spec, "enableServiceLinks", json!(true));
    for list in ["containers", "initContainers"] {
        for c in items(spec, list) {
            let Some(resources) = object_at(c, "resources") else {
                continue;
            };
            let limits = match resources.get("limits").and_then(Value::as_object) {
                Some(limits) if !limits.is_empty() => limits.clone(),
                _ => continue,
            };
            if !resources["requests"].is_object() {
                resources["requests"] = json!({});
            }
            for (name, amount) in limits {
                default(&mut resources["requests"], &name, amount);
            }
        }
    }
}

/// A pod spec's scheduling, DNS and termination settings, and its containers' pull policy,
/// termination message, port protocols, probe timings and field references.
pub fn pod_spec_defaults(spec: Option<&mut Value>, restart_always: bool) {
    let Some(spec) = spec.filter(|s| s.is_object()) else {
        return;
    };
    if restart_always {
        default(spec, "restartPolicy", json!("Always"));
    }
    default(spec, "terminationGracePeriodSeconds", json!(30));
    default(spec, "dnsPolicy", json!("ClusterFirst"));
    default(spec, "securityContext", json!({}));
    default(spec, "schedulerName", json!("default-scheduler"));
    for list in ["containers", "initContainers"] {
        for c in items(spec, list) {
            let policy = pull_policy(c["image"].as_str().unwrap_or_default());
            default(c, "imagePullPolicy", json!(policy));
            default(c, "terminationMessagePath", json!("/dev/termination-log"));
            default(c, "terminationMessagePolicy", json!("File"));
            default(c, "resources", json!({}));
            for port in items(c, "ports") {
                default(port, "protocol", json!("TCP"));
            }
            for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                let Some(p) = object_at(c, probe) else {
                    continue;
                };
                default(p, "timeoutSeconds", json!(1));
                default(p, "periodSeconds", json!(10));
                default(p, "successThreshold", json!(1));
                default(p, "failureThreshold", json!(3));
                if let Some(get) = object_at(p, "httpGet") {
                    default(get, "scheme", json!("HTTP"));
                }
            }
            for env in items(c, "env") {
                if let Some(field) = env
                    .pointer_mut("/valueFrom/fieldRef")
                    .filter(|f| f.is_object())
                {
                    default(field, "apiVersion", json!("v1"));
                }
            }
        }
    }
    for volume in items(spec, "volumes") {
        for source in ["configMap", "secret"] {
            if let Some(source) = object_at(volume, source) {
                default(source, "defaultMode", json!(420));
            }
        }
    }
}

/// A secret's `stringData` is write-only: merged into `data` (base64, overriding keys of the
/// same name) and dropped; the type defaults to `Opaque`.
pub fn secret_defaults(obj: &mut Value) {
    use base64::Engine;
    if let Some(Value::Object(strings)) = obj.as_object_mut().and_then(|o| o.remove("stringData")) {
        if !obj["data"].is_object() {
            obj["data"] = json!({});
        }
        for (k, v) in strings {
            let text = v.as_str().unwrap_or_default();
            obj["data"][k] = json!(base64::engine::general_purpose::STANDARD.encode(text));
        }
    }
    if obj["type"].as_str().is_none_or(str::is_empty) {
        obj["type"] = json!("Opaque");
    }
}

/// A namespace starts `Active`, carries the `kubernetes` finalizer, and is labelled with its
/// own name (`kubernetes.io/metadata.name`), as upstream.
pub fn namespace_defaults(obj: &mut Value) {
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if !obj["metadata"]["labels"].is_object() {
        obj["metadata"]["labels"] = json!({});
    }
    obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
    if !obj["spec"].is_object() {
        obj["spec"] = json!({});
    }
    if !obj["spec"]["finalizers"].is_array() {
        obj["spec"]["finalizers"] = json!(["kubernetes"]);
    }
    obj["status"] = json!({"phase": "Active"});
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::scheme::ResourceDef;

    fn strategy(def: &ResourceDef) -> &'static dyn crate::registry::strategy::Strategy {
        crate::registry::Registry::new(&api::Scheme::builtin()).strategy_of(def)
    }

    fn prepare_create(def: &ResourceDef, obj: &mut Value) {
        strategy(def).prepare_create(obj);
    }

    fn prepare_update(def: &ResourceDef, obj: &mut Value) {
        strategy(def).prepare(obj);
    }

    #[test]
    fn workloads_and_services_get_upstreams_defaults() {
        let scheme = api::Scheme::builtin();
        let deployments = *scheme.lookup("apps", "v1", "deployments").unwrap();
        let mut d = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "nginx", "ports": [{"containerPort": 80}],
             "readinessProbe": {"httpGet": {"port": 80}}},
            {"name": "b", "image": "quay.io/x/y:1.2"}]}}}});
        prepare_create(&deployments, &mut d);
        assert_eq!(d["spec"]["replicas"], 1);
        assert_eq!(
            d["spec"]["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        );
        let pod = &d["spec"]["template"]["spec"];
        assert_eq!(pod["restartPolicy"], "Always");
        assert_eq!(pod["containers"][0]["imagePullPolicy"], "Always");
        assert_eq!(pod["containers"][1]["imagePullPolicy"], "IfNotPresent");
        assert_eq!(pod["containers"][0]["ports"][0]["protocol"], "TCP");
        // What the defaults do not set stays absent (no `null` is stored in its place).
        assert!(pod.get("volumes").is_none() && pod.get("initContainers").is_none());
        let b = pod["containers"][1].as_object().unwrap();
        assert!(
            !b.contains_key("ports") && !b.contains_key("livenessProbe") && !b.contains_key("env")
        );
        assert_eq!(
            pod["containers"][0]["readinessProbe"],
            json!({"httpGet": {"port": 80, "scheme": "HTTP"}, "timeoutSeconds": 1,
                "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
        );
        let services = *scheme.lookup("", "v1", "services").unwrap();
        let mut s = json!({"spec": {"ports": [{"port": 80}]}});
        prepare_create(&services, &mut s);
        assert_eq!(s["spec"]["type"], "ClusterIP");
        assert_eq!(
            s["spec"]["ports"][0],
            json!({"port": 80, "protocol": "TCP", "targetPort": 80})
        );
        // A replica count the user chose stays.
        let mut three = json!({"spec": {"replicas": 3}});
        prepare_update(&deployments, &mut three);
        assert_eq!(three["spec"]["replicas"], 3);
        assert_eq!(
            super::pull_policy("registry:5000/x/y@sha256:ab"),
            "IfNotPresent"
        );
        assert_eq!(super::pull_policy("registry:5000/x/y"), "Always");
    }

    #[test]
    fn secrets_fold_string_data_and_default_their_type() {
        let def = *api::Scheme::builtin().lookup("", "v1", "secrets").unwrap();
        let mut secret = json!({"metadata": {"name": "s"}, "data": {"a": "eA==", "b": "eQ=="},
            "stringData": {"b": "hunter2", "c": "z"}});
        prepare_create(&def, &mut secret);
        assert_eq!(
            secret["data"],
            json!({"a": "eA==", "b": "aHVudGVyMg==", "c": "eg=="})
        );
        assert!(secret.get("stringData").is_none());
        assert_eq!(secret["type"], "Opaque");
        let mut typed = json!({"type": "kubernetes.io/tls", "stringData": {"x": "1"}});
        prepare_update(&def, &mut typed);
        assert_eq!(typed["type"], "kubernetes.io/tls");
        assert_eq!(typed["data"]["x"], "MQ==");
    }

    #[test]
    fn namespaces_start_active_and_labelled() {
        let def = *api::Scheme::builtin()
            .lookup("", "v1", "namespaces")
            .unwrap();
        let mut ns = json!({"metadata": {"name": "team-a"}});
        prepare_create(&def, &mut ns);
        assert_eq!(ns["status"]["phase"], "Active");
        assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
        assert_eq!(
            ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
            "team-a"
        );
    }

    #[test]
    fn pods_link_services_default_requests_to_limits_and_start_pending() {
        let scheme = api::Scheme::builtin();
        let pods = *scheme.lookup("", "v1", "pods").unwrap();
        let mut pod = json!({"spec": {"containers": [
            {"name": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"},
                "requests": {"cpu": "500m"}}},
            {"name": "b"}]}});
        prepare_create(&pods, &mut pod);
        strategy(&pods).complete_create(&mut pod);
        let spec = &pod["spec"];
        assert_eq!(spec["enableServiceLinks"], true);
        assert_eq!(
            spec["containers"][0]["resources"]["requests"],
            json!({"cpu": "500m", "memory": "1Gi"})
        );
        assert_eq!(spec["containers"][1]["resources"], json!({}));
        assert_eq!(
            pod["status"],
            json!({"phase": "Pending", "qosClass": "Burstable"})
        );
        // A user's choice stays; templates get none of the pod's own defaults.
        let mut unlinked = json!({"spec": {"enableServiceLinks": false, "containers": []}});
        prepare_update(&pods, &mut unlinked);
        assert_eq!(unlinked["spec"]["enableServiceLinks"], false);
        let templates = *scheme.lookup("", "v1", "podtemplates").unwrap();
        let mut template = json!({"template": {"spec": {"containers": [
            {"name": "a", "resources": {"limits": {"cpu": "1"}}}]}}});
        prepare_create(&templates, &mut template);
        let spec = &template["template"]["spec"];
        assert!(spec.get("enableServiceLinks").is_none());
        assert!(spec["containers"][0]["resources"].get("requests").is_none());
    }
}
