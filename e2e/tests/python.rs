//! The Python `kubernetes` client against the real `oxshift start`, on each storage backend.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use e2e::{Backend, Cluster};

fn python_client(c: &Cluster) {
    let out = Command::new(e2e::python())
        .arg(e2e::e2e_dir().join("python/client_e2e.py"))
        .arg(c.kubeconfig())
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python client failed:\n{}\n{}\n--- server log ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        c.log()
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("python client: ok"));
}

#[test]
fn python_client_on_the_embedded_store() {
    python_client(&Cluster::start(Backend::Embedded));
}

#[cfg(feature = "etcd")]
#[test]
fn python_client_on_etcd() {
    python_client(&Cluster::start(Backend::Etcd));
}
