//! HTTP, below the resources: the TLS listener, what a request is about (its request info),
//! content negotiation, and the cross-cutting concerns of every request, each one layer or one
//! function: bounded request bodies, panics answered as a Status, the request deadline, and
//! the in-flight limits.

pub mod body;
pub mod in_flight;
pub mod negotiation;
pub mod recover;
pub mod request_info;
pub mod serve;
pub mod timeout;
