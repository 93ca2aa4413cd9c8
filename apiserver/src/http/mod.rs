//! Cross-cutting HTTP concerns of every request, each one layer or one function: bounded
//! request bodies, panics answered as a Status, the request deadline, and the in-flight
//! limits.

pub mod body;
pub mod in_flight;
pub mod recover;
pub mod timeout;
