//! Service cluster IPs (from the service network, `172.30.0.0/16` as OpenShift's default) and
//! node ports (30000-32767), allocated when a service is created and kept across updates.
//!
//! A value is free when no stored service uses it. Each allocation is also reserved in the
//! store (`/registry/oxshift.io/serviceallocations/<kind>/<value>`, created only if absent),
//! so two API servers allocating at the same moment cannot hand out the same value; a
//! reservation whose service is gone (or never came) is taken over once it is a minute old.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::ApiServer;
use crate::error::{ApiError, from_storage};

const RESERVATIONS: &str = "/registry/oxshift.io/serviceallocations/";
/// How long a reservation is honoured without its service (the service is stored right after
/// the reservation; a minute is far beyond that).
const RESERVATION_GRACE_SECONDS: i64 = 60;

/// What a service may be given.
#[derive(Clone, Copy)]
enum Pool {
    ClusterIp,
    NodePort,
}

impl Pool {
    fn name(self) -> &'static str {
        match self {
            Pool::ClusterIp => "clusterip",
            Pool::NodePort => "nodeport",
        }
    }

    /// The pool's values, in the order tried from a random start.
    fn size(self) -> u32 {
        match self {
            // 172.30.0.2 .. 172.30.255.254 (.1 is the `kubernetes` service's by convention).
            Pool::ClusterIp => 65533,
            Pool::NodePort => 2768,
        }
    }

    fn value(self, i: u32) -> String {
        match self {
            Pool::ClusterIp => {
                let n = i + 2;
                format!("172.30.{}.{}", n / 256, n % 256)
            }
            Pool::NodePort => (30000 + i).to_string(),
        }
    }

    fn exhausted(self) -> ApiError {
        match self {
            Pool::ClusterIp => {
                ApiError::Internal("failed to allocate a serviceIP: range is full".into())
            }
            Pool::NodePort => {
                ApiError::Internal("failed to allocate a nodePort: range is full".into())
            }
        }
    }
}

fn needs_cluster_ip(spec: &Value) -> bool {
    spec["type"] != "ExternalName" && spec["clusterIP"] != "None"
}

fn needs_node_ports(spec: &Value) -> bool {
    matches!(spec["type"].as_str(), Some("NodePort" | "LoadBalancer"))
}

/// Every cluster IP and node port the stored services use, and who uses them.
async fn in_use(server: &ApiServer) -> Result<(HashSet<String>, HashSet<String>), ApiError> {
    let def = server
        .scheme
        .lookup("", "v1", "services")
        .ok_or_else(|| ApiError::Internal("services are not served".into()))?;
    let listed = server
        .store
        .list(&def.key_prefix(), storage::ListOptions::default())
        .await
        .map_err(|e| from_storage(e, crate::object::target(def, "")))?;
    let (mut ips, mut ports) = (HashSet::new(), HashSet::new());
    for kv in listed.kvs {
        let Ok(svc) = crate::object::from_store(&kv) else {
            continue;
        };
        for ip in svc["spec"]["clusterIPs"].as_array().into_iter().flatten() {
            ips.extend(ip.as_str().map(str::to_string));
        }
        ips.extend(svc["spec"]["clusterIP"].as_str().map(str::to_string));
        for p in svc["spec"]["ports"].as_array().into_iter().flatten() {
            ports.extend(p["nodePort"].as_i64().map(|n| n.to_string()));
        }
    }
    Ok((ips, ports))
}

/// Reserves a free value of `pool` for `holder` (`namespace/name`).
async fn reserve(
    server: &ApiServer,
    pool: Pool,
    used: &HashSet<String>,
    holder: &str,
    dry_run: bool,
) -> Result<String, ApiError> {
    let start = rand::random::<u32>() % pool.size();
    for offset in 0..pool.size() {
        let value = pool.value((start + offset) % pool.size());
        if used.contains(&value) {
            continue;
        }
        if dry_run {
            return Ok(value);
        }
        let key = format!("{RESERVATIONS}{}/{value}", pool.name());
        let record = json!({"holder": holder, "time": jiff::Timestamp::now().as_second()});
        let bytes = bytes::Bytes::from(record.to_string());
        match server.store.create(&key, bytes.clone()).await {
            Ok(_) => return Ok(value),
            Err(storage::Error::KeyExists { .. }) => {
                // Held: by a service being created now, or a stale reservation.
                let Ok((Some(kv), _)) = server.store.get(&key, None).await else {
                    continue;
                };
                let old: Value = serde_json::from_slice(&kv.value).unwrap_or_default();
                let age = jiff::Timestamp::now().as_second() - old["time"].as_i64().unwrap_or(0);
                if age > RESERVATION_GRACE_SECONDS
                    && server
                        .store
                        .update(&key, bytes, kv.mod_revision)
                        .await
                        .is_ok()
                {
                    return Ok(value);
                }
            }
            Err(e) => return Err(ApiError::Internal(format!("allocating {value}: {e}"))),
        }
    }
    Err(pool.exhausted())
}

/// Gives a service what its type needs: a cluster IP (with its IP family fields) and node
/// ports, kept from `before` on updates, allocated when missing.
pub async fn assign(
    server: &ApiServer,
    svc: &mut Value,
    before: Option<&Value>,
    dry_run: bool,
) -> Result<(), ApiError> {
    let holder = format!(
        "{}/{}",
        crate::object::meta_str(svc, "namespace"),
        crate::object::meta_str(svc, "name")
    );
    if let Some(old) = before {
        let old_ip = &old["spec"]["clusterIP"];
        if svc["spec"]["clusterIP"].is_null() && old_ip.is_string() {
            svc["spec"]["clusterIP"] = old_ip.clone();
            svc["spec"]["clusterIPs"] = old["spec"]["clusterIPs"].clone();
        }
        let old_ports = old["spec"]["ports"].as_array().cloned().unwrap_or_default();
        for p in svc["spec"]["ports"].as_array_mut().into_iter().flatten() {
            if p["nodePort"].is_null()
                && let Some(same) = old_ports.iter().find(|o| o["port"] == p["port"])
                && same["nodePort"].is_i64()
            {
                p["nodePort"] = same["nodePort"].clone();
            }
        }
    }
    let spec = svc["spec"].clone();
    let wants_ip = needs_cluster_ip(&spec) && spec["clusterIP"].as_str().is_none_or(str::is_empty);
    let wants_ports = needs_node_ports(&spec)
        && spec["ports"]
            .as_array()
            .is_some_and(|ports| ports.iter().any(|p| p["nodePort"].is_null()));
    let chosen_ip = spec["clusterIP"]
        .as_str()
        .filter(|ip| before.is_none() && !ip.is_empty() && *ip != "None")
        .map(str::to_string);
    if wants_ip || wants_ports || chosen_ip.is_some() {
        let (ips, mut ports) = in_use(server).await?;
        // An address the user chose must be free.
        if let Some(ip) = chosen_ip
            && ips.contains(&ip)
        {
            return Err(ApiError::Invalid {
                kind: "Service".into(),
                target: crate::object::target(
                    server
                        .scheme
                        .lookup("", "v1", "services")
                        .ok_or_else(|| ApiError::Internal("services are not served".into()))?,
                    crate::object::meta_str(svc, "name"),
                ),
                causes: vec![api::status::StatusCause {
                    reason: "FieldValueInvalid".into(),
                    message: format!(
                        "Invalid value: []string{{\"{ip}\"}}: failed to allocate IP {ip}: provided IP is already allocated"
                    ),
                    field: "spec.clusterIPs".into(),
                }],
            });
        }
        if wants_ip {
            let ip = reserve(server, Pool::ClusterIp, &ips, &holder, dry_run).await?;
            svc["spec"]["clusterIP"] = json!(ip);
            svc["spec"]["clusterIPs"] = json!([ip]);
        }
        if wants_ports {
            for p in svc["spec"]["ports"].as_array_mut().into_iter().flatten() {
                if p["nodePort"].is_null() {
                    let port = reserve(server, Pool::NodePort, &ports, &holder, dry_run).await?;
                    ports.insert(port.clone());
                    p["nodePort"] = json!(port.parse::<u16>().unwrap_or_default());
                }
            }
        }
    }
    if svc["spec"]["clusterIP"]
        .as_str()
        .is_some_and(|ip| ip != "None")
    {
        let spec = &mut svc["spec"];
        if spec["clusterIPs"].is_null() {
            spec["clusterIPs"] = json!([spec["clusterIP"]]);
        }
        if spec["ipFamilies"].is_null() {
            spec["ipFamilies"] = json!(["IPv4"]);
        }
        if spec["ipFamilyPolicy"].is_null() {
            spec["ipFamilyPolicy"] = json!("SingleStack");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Pool;

    #[test]
    fn pools_cover_their_ranges() {
        assert_eq!(Pool::ClusterIp.value(0), "172.30.0.2");
        assert_eq!(
            Pool::ClusterIp.value(Pool::ClusterIp.size() - 1),
            "172.30.255.254"
        );
        assert_eq!(Pool::NodePort.value(0), "30000");
        assert_eq!(Pool::NodePort.value(Pool::NodePort.size() - 1), "32767");
    }
}
