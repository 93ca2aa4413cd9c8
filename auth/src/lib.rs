pub mod csr;
pub mod htpasswd;
pub mod pki;
pub mod rbac;
pub mod registry_tokens;
pub mod scopes;
pub mod service_account_tokens;
