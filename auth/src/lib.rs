pub mod pki;
pub mod rbac;
