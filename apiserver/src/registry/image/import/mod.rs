//! ImageStreamImports: images read from registries into a stream (upstream's
//! `imagestreamimport/rest.go`). The request is checked, each image and repository imported
//! (`importer`, over a `source::RegistrySource`), and — when `spec.import` — the stream's spec
//! tags, history and conditions updated and the Images created, all from one read of the
//! stream and written once, so a failed import leaves nothing half written.

pub mod apply;
pub mod client_source;
pub mod importer;
pub mod mirrors;
pub mod source;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use images::DockerImageReference;
use serde_json::{Value, json};

use super::allowlist::AllowList;
use super::config::image_config;
use super::{access, secrets, tag_sources};
use crate::error::ApiError;
use crate::registry::object::{self, target};
use crate::registry::rest::{Call, Rest};
use crate::registry::validation::{Bad, FieldErrors, index};
use importer::{Imported, Importer, Request};

pub struct ImageStreamImports;

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or_default()
}

/// Upstream's checks of an import request.
fn validate(isi: &Value) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let images = isi["spec"]["images"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let repository = &isi["spec"]["repository"];
    for (i, image) in images.iter().enumerate() {
        let path = index("spec.images", i);
        let kind = text(&image["from"], "kind");
        if kind != "DockerImage" {
            errors.invalid(
                &format!("{path}.from.kind"),
                Bad::Str(kind),
                "only DockerImage is supported",
            );
            continue;
        }
        let name = text(&image["from"], "name");
        if name.is_empty() {
            errors.required(&format!("{path}.from.name"), "");
        } else if name != "*"
            && let Err(e) = DockerImageReference::parse(name)
        {
            errors.invalid(&format!("{path}.from.name"), Bad::Str(name), &e.to_string());
        }
        if image["to"].is_object() && text(&image["to"], "name").is_empty() {
            errors.invalid(
                &format!("{path}.to.name"),
                Bad::Str(""),
                "the name of the target tag must be specified",
            );
        }
    }
    if repository.is_object() {
        let name = text(&repository["from"], "name");
        if name.is_empty() {
            errors.required(
                "spec.repository.from.name",
                "container image references require a name",
            );
        } else {
            match DockerImageReference::parse(name) {
                Err(e) => {
                    errors.invalid("spec.repository.from.name", Bad::Str(name), &e.to_string())
                }
                Ok(r) if !r.tag.is_empty() || !r.id.is_empty() => errors.invalid(
                    "spec.repository.from.name",
                    Bad::Str(name),
                    "you must specify an image repository, not a tag or ID",
                ),
                Ok(_) => {}
            }
        }
    } else if images.is_empty() {
        errors.invalid(
            "spec.images",
            Bad::Go("null".into()),
            "you must specify at least one image or a repository import",
        );
    }
    errors
}

/// Only users who may create images import from any registry; others from allowed ones.
async fn check_registries(call: &Call<'_>, isi: &Value) -> Result<(), ApiError> {
    let user = call.user()?;
    if access::allowed(call.server, user, "create", ("images", ""), "", "").await {
        return Ok(());
    }
    let allow = AllowList::new(&image_config(call.server).await?);
    let mut errors = FieldErrors::default();
    let mut check = |path: String, name: &str, insecure: bool| {
        if let Ok(r) = DockerImageReference::parse(name)
            && let Err(e) = allow.check(&r, insecure)
        {
            let (host, port) = r.registry_host_port(insecure);
            errors.forbidden(
                &path,
                &format!("importing images from registry \"{host}:{port}\" is forbidden: {e}"),
            );
        }
    };
    for (i, image) in isi["spec"]["images"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let insecure = image["importPolicy"]["insecure"] == true;
        check(
            format!("{}.from.name", index("spec.images", i)),
            text(&image["from"], "name"),
            insecure,
        );
    }
    let repository = &isi["spec"]["repository"];
    if repository.is_object() {
        let insecure = repository["importPolicy"]["insecure"] == true;
        check(
            "spec.repository.from.name".into(),
            text(&repository["from"], "name"),
            insecure,
        );
    }
    errors.into_result(call.def, isi)
}

/// The image's status as the response shows it: manifest and config only when asked.
/// Images imported at once from one request: registries answer a few requests in parallel
/// much faster than one after another.
const CONCURRENT_IMPORTS: usize = 8;

/// How many times an import's results are applied again to a stream written meanwhile.
const APPLY_RETRIES: usize = 5;

/// Imports each request, a few at a time, the outcomes in the requests' order.
async fn import_all(importer: &Importer<'_>, requests: &[Request]) -> Vec<Imported> {
    use futures::StreamExt;
    // The futures are made here, so no closure is held across the awaits.
    let pending: Vec<_> = requests.iter().map(|r| importer.import(r)).collect();
    futures::stream::iter(pending)
        .buffered(CONCURRENT_IMPORTS)
        .collect()
        .await
}

fn shown(imported: &Imported, tag: Option<&str>, include_manifest: bool) -> Value {
    let strip = |mut image: Value| {
        if !include_manifest && let Some(map) = image.as_object_mut() {
            map.remove("dockerImageManifest");
            map.remove("dockerImageConfig");
        }
        image
    };
    let mut status = json!({"status": imported.status});
    if let Some(image) = &imported.image {
        status["image"] = strip(image.clone());
    }
    if let Some(tag) = tag {
        status["tag"] = json!(tag);
    }
    if !imported.manifests.is_empty() {
        status["manifests"] = Value::Array(imported.manifests.iter().cloned().map(strip).collect());
    }
    status
}

#[async_trait]
impl Rest for ImageStreamImports {
    async fn create(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        let user = call.user()?;
        let ns = call.namespace.unwrap_or_default();
        let mut isi = call.object(&body)?;
        let name = object::check_identity(call.def, &mut isi, Some(ns), None)?;
        validate(&isi).into_result(call.def, &isi)?;
        isi["status"] = json!({});
        check_registries(call, &isi).await?;

        let stream = tag_sources::fetch_stream(call.server, ns, &name).await?;
        let (wanted_rv, wanted_uid) = (
            object::meta_str(&isi, "resourceVersion"),
            object::meta_str(&isi, "uid"),
        );
        let streams_def = super::stream_def(call.server)?;
        match &stream {
            None if !wanted_rv.is_empty() || !wanted_uid.is_empty() => {
                return Err(ApiError::NotFound(target(streams_def, &name)));
            }
            Some(s)
                if !wanted_rv.is_empty()
                    && text(&s["metadata"], "resourceVersion") != wanted_rv =>
            {
                return Err(ApiError::ConflictBecause {
                    target: target(call.def, &name),
                    reason: format!(
                        "the image stream was updated from {wanted_rv:?} to {:?}",
                        text(&s["metadata"], "resourceVersion")
                    ),
                });
            }
            Some(s) if !wanted_uid.is_empty() && text(&s["metadata"], "uid") != wanted_uid => {
                return Err(ApiError::NotFound(target(streams_def, &name)));
            }
            _ => {}
        }
        let pinned = !wanted_rv.is_empty();

        // The server's configured source, else its own client (loopback registries only).
        let source = call
            .server
            .image_source
            .clone()
            .unwrap_or_else(client_source::shared);
        let mirrors = mirrors::Mirrors::of_cluster(call.server).await?;
        let config = super::config::image_config(call.server).await?;
        let trusted_cas = super::config::trusted_cas(call.server, &config).await?;
        let mirrored = mirrors::Mirrored {
            inner: source.as_ref(),
            mirrors,
            insecure: config.insecure,
        };
        let importer = Importer {
            source: match mirrored.mirrors.is_empty() {
                true => source.as_ref(),
                false => &mirrored,
            },
            options: source::Options {
                credentials: secrets::pull_secrets(call.server, ns)
                    .await?
                    .iter()
                    .flat_map(secrets::credentials)
                    .collect(),
                timeout: std::time::Duration::from_secs(60),
                trusted_cas,
                ..Default::default()
            },
        };
        let insecure_stream = stream.as_ref().is_some_and(|s| {
            s["metadata"]["annotations"]["openshift.io/image.insecureRepository"] == "true"
        });
        let mut results: Vec<apply::Outcome> = Vec::new();
        let mut statuses = Vec::new();
        let (mut wanted, mut requests) = (Vec::new(), Vec::new());
        for image in isi["spec"]["images"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let tag = text(&image["to"], "name").to_string();
            let spec = stream
                .as_ref()
                .and_then(|s| images::tags::spec_tag(s, &tag));
            let annotation = |k: &str| {
                spec.map(|t| text(&t["annotations"], k).to_string())
                    .unwrap_or_default()
            };
            let request = Request {
                from: text(&image["from"], "name").to_string(),
                insecure: insecure_stream || image["importPolicy"]["insecure"] == true,
                mode: text(&image["importPolicy"], "importMode").to_string(),
                prefer_arch: annotation("importer.image.openshift.io/prefer-arch"),
                prefer_os: annotation("importer.image.openshift.io/prefer-os"),
            };
            wanted.push((image, tag));
            requests.push(request);
        }
        let imports = import_all(&importer, &requests).await;
        for (((image, tag), request), imported) in wanted.into_iter().zip(requests).zip(imports) {
            statuses.push(shown(
                &imported,
                image["to"].is_object().then_some(tag.as_str()),
                image["includeManifest"] == true,
            ));
            if image["to"].is_object() {
                results.push(apply::Outcome {
                    tag,
                    from: request.from,
                    spec: image,
                    imported,
                });
            }
        }
        if !statuses.is_empty() {
            isi["status"]["images"] = Value::Array(statuses);
        }
        let repository = isi["spec"]["repository"].clone();
        if repository.is_object() {
            let from = text(&repository["from"], "name").to_string();
            let insecure = insecure_stream || repository["importPolicy"]["insecure"] == true;
            let include = repository["includeManifest"] == true;
            isi["status"]["repository"] = match importer.repository_tags(&from, insecure).await {
                Err(failed) => json!({"status": failed.status}),
                Ok((tags, rest)) => {
                    let mut images = Vec::new();
                    let mut failures = 0;
                    let requests: Vec<Request> = tags
                        .iter()
                        .map(|tag| Request {
                            from: format!("{from}:{tag}"),
                            insecure,
                            mode: text(&repository["importPolicy"], "importMode").to_string(),
                            ..Default::default()
                        })
                        .collect();
                    let imports = import_all(&importer, &requests).await;
                    for ((tag, request), imported) in tags.into_iter().zip(requests).zip(imports) {
                        failures += usize::from(!imported.succeeded());
                        images.push(shown(&imported, Some(&tag), include));
                        results.push(apply::Outcome {
                            tag,
                            from: request.from,
                            spec: repository.clone(),
                            imported,
                        });
                    }
                    let status = match failures {
                        0 => json!({"metadata": {}, "status": "Success"}),
                        n => {
                            let message = match n {
                                1 => "one of the images from this repository failed to import"
                                    .to_string(),
                                n => format!(
                                    "{n} of the images from this repository failed to import"
                                ),
                            };
                            json!({"metadata": {}, "status": "Failure", "reason": "ImportFailed", "message": message})
                        }
                    };
                    let mut out = json!({"status": status, "images": images});
                    if !rest.is_empty() {
                        out["additionalTags"] = json!(rest);
                    }
                    out
                }
            };
        }
        if isi["spec"]["import"] != true {
            return Ok(call.out.respond(StatusCode::CREATED, call.def, isi));
        }
        // A stream written meanwhile (a controller's import of another tag, a tag added) is
        // read again and the same results applied to it, unless the request named the
        // version it read: the images imported do not depend on the stream.
        let mut stream = stream;
        let mut retries = 0;
        let written = loop {
            let created = stream.is_none();
            match apply::apply(call.server, user, ns, &name, stream, &results).await {
                Err(ApiError::Conflict(_) | ApiError::ConflictBecause { .. })
                    if !pinned && retries < APPLY_RETRIES => {}
                Err(ApiError::AlreadyExists(_))
                    if created && !pinned && retries < APPLY_RETRIES => {}
                done => break done?,
            }
            retries += 1;
            stream = tag_sources::fetch_stream(call.server, ns, &name).await?;
        };
        isi["status"]["import"] = written;
        Ok(call.out.respond(StatusCode::CREATED, call.def, isi))
    }
}
