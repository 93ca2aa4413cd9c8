//! TLS backends on loopback for route tests: `openssl` run in a directory of certificates,
//! and `openssl s_server -www` serving one (stopped when dropped).

use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Runs `openssl <args>` in `dir`, failing the test with its error when it fails.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `openssl s_server -www` on 127.0.0.1:`port` with `cert` and `key` (files in `dir`): it
/// answers every request with 200 and a page naming itself.
pub struct SServer(Child);

impl SServer {
    pub fn start(dir: &Path, port: u16, cert: &str, key: &str) -> SServer {
        let child = Command::new("openssl")
            .current_dir(dir)
            .args(["s_server", "-quiet", "-www", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-cert", cert, "-key", key])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start openssl s_server");
        SServer(child)
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
