//! Where a webhook's call goes: a URL's host (an address or `localhost`; names are not
//! resolved), or a service's ready endpoint, with the service's TLS name
//! (`<name>.<namespace>.svc`). Addresses other than loopback and pods' are refused here and
//! again when dialling.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use api::scheme::ResourceDef;
use serde_json::Value;

use super::Target;
use super::client::{Destination, allowed};
use crate::ApiServer;
use crate::watch::cache::WatchCaches;

/// What resolving a service needs: the services' and endpoints' watch caches (cheap to clone,
/// so that a call can outlive the request that started it, as a watch's conversions do).
#[derive(Clone)]
pub struct Resolver {
    caches: Arc<WatchCaches>,
    services: Option<ResourceDef>,
    endpoints: Option<ResourceDef>,
}

impl Resolver {
    pub fn of(server: &ApiServer) -> Resolver {
        Resolver {
            caches: server.watch_caches.clone(),
            services: server.scheme.lookup("", "v1", "services").copied(),
            endpoints: server.scheme.lookup("", "v1", "endpoints").copied(),
        }
    }

    async fn read(&self, def: Option<ResourceDef>, namespace: &str, name: &str) -> Option<Value> {
        let def = def?;
        let cache = self.caches.of(&def).await.ok()?;
        let cached = cache.get(&def.key(Some(namespace), name))?;
        serde_json::from_slice(&cached.json).ok()
    }
}

pub async fn destination(resolver: &Resolver, target: &Target) -> Result<Destination, String> {
    match target {
        Target::Url { host, port, path } => {
            let ip: IpAddr = match host.as_str() {
                "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
                h => h.parse().map_err(|_| {
                    format!(
                        "host {h:?} is not an address: only loopback and pod addresses are called"
                    )
                })?,
            };
            checked(SocketAddr::new(ip, *port), host, path)
        }
        Target::Service {
            namespace,
            name,
            port,
            path,
        } => {
            let service = resolver
                .read(resolver.services, namespace, name)
                .await
                .ok_or_else(|| format!("service \"{namespace}/{name}\" not found"))?;
            let endpoints = resolver
                .read(resolver.endpoints, namespace, name)
                .await
                .unwrap_or_default();
            let addr = endpoint(&service, &endpoints, *port)
                .ok_or_else(|| format!("no endpoints available for service \"{name}\""))?;
            checked(addr, &format!("{name}.{namespace}.svc"), path)
        }
    }
}

fn checked(addr: SocketAddr, server_name: &str, path: &str) -> Result<Destination, String> {
    if !allowed(addr.ip()) {
        return Err(format!(
            "{} is neither a loopback address nor a pod's: webhooks are only called there",
            addr.ip()
        ));
    }
    Ok(Destination {
        addr,
        server_name: server_name.to_string(),
        path: path.to_string(),
    })
}

/// The first ready address of the service's port `port`, at the endpoint port of the same
/// name (a service port's target).
pub fn endpoint(service: &Value, endpoints: &Value, port: u16) -> Option<SocketAddr> {
    let service_port = service["spec"]["ports"]
        .as_array()?
        .iter()
        .find(|p| p["port"].as_u64() == Some(u64::from(port)))?;
    let port_name = service_port["name"].as_str().unwrap_or_default();
    for subset in endpoints["subsets"].as_array().into_iter().flatten() {
        let target = subset["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"].as_str().unwrap_or_default() == port_name)
            .and_then(|p| p["port"].as_u64());
        let ip = subset["addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|a| a["ip"].as_str()?.parse::<IpAddr>().ok());
        if let (Some(target), Some(ip)) = (target, ip) {
            return Some(SocketAddr::new(ip, u16::try_from(target).ok()?));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn service_port_to_endpoint() {
        let service =
            json!({"spec": {"ports": [{"name": "https", "port": 443, "targetPort": 8443}]}});
        let endpoints = json!({"subsets": [{"addresses": [{"ip": "10.128.2.5"}],
            "ports": [{"name": "https", "port": 8443}]}]});
        assert_eq!(
            endpoint(&service, &endpoints, 443),
            Some("10.128.2.5:8443".parse().unwrap())
        );
        assert_eq!(endpoint(&service, &endpoints, 80), None);
        assert_eq!(endpoint(&service, &json!({}), 443), None);
    }
}
