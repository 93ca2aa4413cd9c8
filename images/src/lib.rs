//! OpenShift's image model without I/O: pull specs (`reference`), the tag history of image
//! streams (`tags`), tag ordering (`priority`) and an Image's metadata from its manifest and
//! config (`metadata`), the entries of mirror sets (`mirrors`). Objects are JSON values in the API's v1 shape, as the server stores
//! them.

pub mod digest;
pub mod metadata;
pub mod mirrors;
pub mod priority;
pub mod reference;
pub mod tags;

pub use priority::prioritize_tags;
pub use reference::{DockerImageReference, ParseError};
