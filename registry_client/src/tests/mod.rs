//! Tests against a registry of our own (answers no real registry gives: wrong digests, huge
//! manifests, slow or failing answers) and against Debian's docker-registry (distribution
//! 2.8) on loopback, open, behind htpasswd and behind token authentication.

mod fake;
mod real;
mod support;
