//! OpenAPI v3, generated from the scheme: the `/openapi/v3` index and one document per group
//! version, with every resource's paths and operations (`x-kubernetes-action`,
//! `x-kubernetes-group-version-kind`, upstream's query parameters; PATCH carries
//! `fieldValidation`, which tells kubectl to leave validation to the server).
//!
//! The kinds carry upstream's field-level schemas (`api::schemas`: k8s-openapi's for the
//! Kubernetes kinds, openshift/api's for the OpenShift ones), annotated with the scheme's
//! strategic-merge lists (`x-kubernetes-patch-merge-key`); kinds without a typed schema are
//! open objects (`x-kubernetes-preserve-unknown-fields`). `/openapi/v2` is the same
//! content as one Swagger 2.0 document (its definitions also in protobuf, `protobuf.rs`,
//! for kubectl's validation of `List` files).
//!
//! - `documents.rs`: the documents and the index; `paths.rs` a resource's paths and
//!   operations; `components.rs` the kinds' schemas;
//! - `swagger.rs`: `/openapi/v2`; `protobuf.rs` its protobuf form.

mod components;
mod documents;
mod paths;
pub(crate) mod protobuf;
mod swagger;
#[cfg(test)]
mod tests;

pub use components::{component_schemas, schema_name};
pub use documents::{documents, group_version_document, index, serialized};
pub use paths::{gv_path, parse_gv_path};
pub use swagger::swagger;
