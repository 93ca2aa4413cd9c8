//! The admin kubeconfig `oxshift start` writes, in the layout kubectl and oc write.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

pub struct Kubeconfig<'a> {
    /// `https://host:port`.
    pub server: &'a str,
    pub ca_pem: &'a str,
    pub cluster: &'a str,
    pub user: &'a str,
    pub client_cert_pem: &'a str,
    pub client_key_pem: &'a str,
    pub namespace: &'a str,
}

impl Kubeconfig<'_> {
    pub fn render(&self) -> String {
        let b64 = |s: &str| STANDARD.encode(s.as_bytes());
        let context = format!("{}/{}/{}", self.namespace, self.cluster, self.user);
        format!(
            "apiVersion: v1\n\
             kind: Config\n\
             clusters:\n\
             - cluster:\n    certificate-authority-data: {ca}\n    server: {server}\n  name: {cluster}\n\
             contexts:\n\
             - context:\n    cluster: {cluster}\n    namespace: {namespace}\n    user: {user}\n  name: {context}\n\
             current-context: {context}\n\
             preferences: {{}}\n\
             users:\n\
             - name: {user}\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {key}\n",
            ca = b64(self.ca_pem),
            server = self.server,
            cluster = self.cluster,
            namespace = self.namespace,
            user = self.user,
            context = context,
            cert = b64(self.client_cert_pem),
            key = b64(self.client_key_pem),
        )
    }

    /// Writes the kubeconfig owner-only (it holds a private key).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let tmp = path.with_extension("tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(self.render().as_bytes())?;
        file.sync_all()?;
        std::fs::rename(tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_one_cluster_context_and_user() {
        let k = Kubeconfig {
            server: "https://127.0.0.1:8443",
            ca_pem: "CA",
            cluster: "127-0-0-1:8443",
            user: "system:admin",
            client_cert_pem: "CERT",
            client_key_pem: "KEY",
            namespace: "default",
        };
        let text = k.render();
        assert!(text.contains("    server: https://127.0.0.1:8443\n"));
        assert!(text.contains("current-context: default/127-0-0-1:8443/system:admin\n"));
        assert!(text.contains("client-key-data: S0VZ\n"));
    }
}
