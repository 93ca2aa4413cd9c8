//! Image imports: the import controller (`controller`) asks the API to import every spec tag
//! whose generation is newer than its last import, and the scheduled importer
//! (`scheduled`) re-imports tags with `importPolicy.scheduled` about once per interval.
//! Both post ImageStreamImports as upstream's controllers do; the decisions are in `decide`.

pub mod controller;
pub mod decide;
pub mod scheduled;

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use serde_json::Value;

use crate::Error;

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: "image.openshift.io".into(),
        version: "v1".into(),
        api_version: "image.openshift.io/v1".into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

pub fn streams() -> ApiResource {
    resource("ImageStream", "imagestreams")
}

/// Posts `isi`; a stream gone or changed since it was read is not an error (the next event
/// brings it back if it still needs importing).
pub async fn post(client: &Client, isi: Value) -> Result<(), Error> {
    let ns = isi["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &ns,
        &resource("ImageStreamImport", "imagestreamimports"),
    );
    let obj: DynamicObject = serde_json::from_value(isi)
        .map_err(|_| Error::Invalid("an image import request that does not encode".into()))?;
    match api.create(&PostParams::default(), &obj).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}
