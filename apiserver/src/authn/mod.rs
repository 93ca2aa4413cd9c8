//! Who makes a request: client certificates (read by the listener), bearer tokens
//! (service-account JWTs and OAuth access tokens), anonymity, and impersonation.

pub mod authentication;
pub mod impersonation;
