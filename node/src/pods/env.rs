//! A container's environment as the kubelet makes it: `envFrom` first, then `env` (later
//! wins), values from ConfigMaps, Secrets and the pod's own fields, and `$(VAR)` references
//! to earlier variables expanded.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret};
use kube::Api;

/// Why a container's configuration cannot be made (`CreateContainerConfigError`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// ConfigMaps and Secrets of a pod's namespace, each read once per sync.
pub struct Lookup {
    client: kube::Client,
    config_maps: Api<ConfigMap>,
    secrets: Api<Secret>,
    namespace: String,
    cm_cache: HashMap<String, Option<BTreeMap<String, String>>>,
    secret_cache: HashMap<String, Option<BTreeMap<String, Vec<u8>>>>,
}

impl Lookup {
    pub fn new(client: kube::Client, namespace: &str) -> Lookup {
        Lookup {
            client: client.clone(),
            config_maps: Api::namespaced(client.clone(), namespace),
            secrets: Api::namespaced(client, namespace),
            namespace: namespace.to_string(),
            cm_cache: HashMap::new(),
            secret_cache: HashMap::new(),
        }
    }

    /// The client reads go through, and the pod's namespace.
    pub fn client(&self) -> (&kube::Client, &str) {
        (&self.client, &self.namespace)
    }

    /// The ConfigMap's data (binaryData as bytes turned to text), `None` if absent.
    pub async fn config_map(
        &mut self,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, ConfigError> {
        if let Some(hit) = self.cm_cache.get(name) {
            return Ok(hit.clone());
        }
        let got = self
            .config_maps
            .get_opt(name)
            .await
            .map_err(|e| ConfigError(controllers::logs::describe(&e)))?
            .map(|cm| {
                let mut data = cm.data.unwrap_or_default();
                for (k, v) in cm.binary_data.unwrap_or_default() {
                    data.insert(k, String::from_utf8_lossy(&v.0).into_owned());
                }
                data
            });
        self.cm_cache.insert(name.to_string(), got.clone());
        Ok(got)
    }

    /// The Secret's data, `None` if absent.
    pub async fn secret(
        &mut self,
        name: &str,
    ) -> Result<Option<BTreeMap<String, Vec<u8>>>, ConfigError> {
        if let Some(hit) = self.secret_cache.get(name) {
            return Ok(hit.clone());
        }
        let got = self
            .secrets
            .get_opt(name)
            .await
            .map_err(|e| ConfigError(controllers::logs::describe(&e)))?
            .map(|s| {
                let mut data: BTreeMap<String, Vec<u8>> = s
                    .data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, v.0))
                    .collect();
                for (k, v) in s.string_data.unwrap_or_default() {
                    data.insert(k, v.into_bytes());
                }
                data
            });
        self.secret_cache.insert(name.to_string(), got.clone());
        Ok(got)
    }

    pub async fn config_map_key(
        &mut self,
        name: &str,
        key: &str,
        optional: bool,
    ) -> Result<Option<String>, ConfigError> {
        match self.config_map(name).await? {
            None if optional => Ok(None),
            None => Err(ConfigError(format!("configmap \"{name}\" not found"))),
            Some(data) => match data.get(key) {
                Some(v) => Ok(Some(v.clone())),
                None if optional => Ok(None),
                None => Err(ConfigError(format!(
                    "couldn't find key {key} in ConfigMap {}/{name}",
                    self.namespace
                ))),
            },
        }
    }

    pub async fn secret_key(
        &mut self,
        name: &str,
        key: &str,
        optional: bool,
    ) -> Result<Option<Vec<u8>>, ConfigError> {
        match self.secret(name).await? {
            None if optional => Ok(None),
            None => Err(ConfigError(format!("secret \"{name}\" not found"))),
            Some(data) => match data.get(key) {
                Some(v) => Ok(Some(v.clone())),
                None if optional => Ok(None),
                None => Err(ConfigError(format!(
                    "couldn't find key {key} in Secret {}/{name}",
                    self.namespace
                ))),
            },
        }
    }
}

/// The value of a downward-API field path of the pod, as the kubelet supports them.
pub fn field_value(pod: &Pod, path: &str, pod_ip: &str) -> Result<String, ConfigError> {
    let meta = &pod.metadata;
    let spec = pod.spec.as_ref();
    let map_entry = |map: &Option<BTreeMap<String, String>>, key: &str| {
        map.as_ref()
            .and_then(|m| m.get(key))
            .cloned()
            .unwrap_or_default()
    };
    let format_map = |map: &Option<BTreeMap<String, String>>| {
        map.iter()
            .flatten()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let subscript = |prefix: &str| {
        path.strip_prefix(prefix)
            .and_then(|r| r.strip_suffix("']"))
            .map(str::to_string)
    };
    Ok(match path {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => meta.namespace.clone().unwrap_or_default(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "metadata.labels" => format_map(&meta.labels),
        "metadata.annotations" => format_map(&meta.annotations),
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
        "spec.serviceAccountName" => spec
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_default(),
        "status.podIP" | "status.podIPs" => pod_ip.to_string(),
        "status.hostIP" | "status.hostIPs" => "127.0.0.1".to_string(),
        _ => {
            if let Some(key) = subscript("metadata.labels['") {
                map_entry(&meta.labels, &key)
            } else if let Some(key) = subscript("metadata.annotations['") {
                map_entry(&meta.annotations, &key)
            } else {
                return Err(ConfigError(format!("unsupported fieldPath: {path}")));
            }
        }
    })
}

/// `$(NAME)` replaced by the variable's value when it is defined, `$$` by `$`; anything else
/// left as written (upstream's `expansion.Expand`).
pub fn expand(text: &str, vars: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(end) = inner.find(')')
        {
            let name = &inner[..end];
            match vars.get(name) {
                Some(v) => out.push_str(v),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The container's environment, in order.
pub async fn environment(
    pod: &Pod,
    container: &Container,
    pod_ip: &str,
    lookup: &mut Lookup,
) -> Result<Vec<(String, String)>, ConfigError> {
    let mut order: Vec<String> = Vec::new();
    let mut vars: HashMap<String, String> = HashMap::new();
    let set = |name: String,
               value: String,
               order: &mut Vec<String>,
               vars: &mut HashMap<String, String>| {
        if !vars.contains_key(&name) {
            order.push(name.clone());
        }
        vars.insert(name, value);
    };
    for from in container.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        if let Some(cm) = &from.config_map_ref {
            let optional = cm.optional.unwrap_or(false);
            match lookup.config_map(&cm.name).await? {
                Some(data) => {
                    for (k, v) in data {
                        set(format!("{prefix}{k}"), v, &mut order, &mut vars);
                    }
                }
                None if optional => {}
                None => return Err(ConfigError(format!("configmap \"{}\" not found", cm.name))),
            }
        }
        if let Some(s) = &from.secret_ref {
            let optional = s.optional.unwrap_or(false);
            match lookup.secret(&s.name).await? {
                Some(data) => {
                    for (k, v) in data {
                        set(
                            format!("{prefix}{k}"),
                            String::from_utf8_lossy(&v).into_owned(),
                            &mut order,
                            &mut vars,
                        );
                    }
                }
                None if optional => {}
                None => return Err(ConfigError(format!("secret \"{}\" not found", s.name))),
            }
        }
    }
    for env in container.env.iter().flatten() {
        let value = match (&env.value, &env.value_from) {
            (_, Some(from)) => {
                if let Some(r) = &from.config_map_key_ref {
                    match lookup
                        .config_map_key(&r.name, &r.key, r.optional.unwrap_or(false))
                        .await?
                    {
                        Some(v) => v,
                        None => continue,
                    }
                } else if let Some(r) = &from.secret_key_ref {
                    match lookup
                        .secret_key(&r.name, &r.key, r.optional.unwrap_or(false))
                        .await?
                    {
                        Some(v) => String::from_utf8_lossy(&v).into_owned(),
                        None => continue,
                    }
                } else if let Some(r) = &from.field_ref {
                    field_value(pod, &r.field_path, pod_ip)?
                } else {
                    // resourceFieldRef: not supported; the variable is left out.
                    continue;
                }
            }
            (Some(v), None) => expand(v, &vars),
            (None, None) => String::new(),
        };
        set(env.name.clone(), value, &mut order, &mut vars);
    }
    Ok(order
        .into_iter()
        .map(|name| {
            let value = vars.remove(&name).unwrap_or_default();
            (name, value)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_follows_upstream() {
        let vars: HashMap<String, String> = [("A".to_string(), "x".to_string())].into();
        assert_eq!(expand("$(A)-$(B)-$$(A)-$A-$", &vars), "x-$(B)-$(A)-$A-$");
        assert_eq!(expand("$(A", &vars), "$(A");
    }

    #[test]
    fn fields_of_the_pod() {
        let mut pod = Pod::default();
        pod.metadata.name = Some("web".into());
        pod.metadata.labels = Some([("app".to_string(), "w".to_string())].into());
        assert_eq!(
            field_value(&pod, "metadata.name", "").ok().as_deref(),
            Some("web")
        );
        assert_eq!(
            field_value(&pod, "metadata.labels['app']", "")
                .ok()
                .as_deref(),
            Some("w")
        );
        assert_eq!(
            field_value(&pod, "metadata.labels", "").ok().as_deref(),
            Some("app=\"w\"")
        );
        assert_eq!(
            field_value(&pod, "status.podIP", "10.128.2.1")
                .ok()
                .as_deref(),
            Some("10.128.2.1")
        );
        assert!(field_value(&pod, "spec.nope", "").is_err());
    }
}
