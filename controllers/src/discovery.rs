//! The server's resources, as discovery lists them, for the controllers that act on every
//! kind (namespace deletion, garbage collection).

use kube::Client;
use kube::core::ApiResource;
use kube::discovery::{ApiCapabilities, Discovery, Scope};

use crate::Error;

/// A resource the controllers can act on.
#[derive(Clone, Debug)]
pub struct Resource {
    pub api: ApiResource,
    pub namespaced: bool,
    pub watch: bool,
    pub delete_collection: bool,
}

/// Every resource (preferred version of each group) that can be listed and deleted.
pub async fn deletable(client: &Client) -> Result<Vec<Resource>, Error> {
    let discovery = Discovery::new(client.clone()).run().await?;
    let mut found = Vec::new();
    for group in discovery.groups() {
        for (api, caps) in group.recommended_resources() {
            if supports(&caps, "list") && supports(&caps, "delete") {
                found.push(Resource {
                    api,
                    namespaced: caps.scope == Scope::Namespaced,
                    watch: supports(&caps, "watch"),
                    delete_collection: supports(&caps, "deletecollection"),
                });
            }
        }
    }
    Ok(found)
}

fn supports(caps: &ApiCapabilities, verb: &str) -> bool {
    caps.supports_operation(verb)
}
