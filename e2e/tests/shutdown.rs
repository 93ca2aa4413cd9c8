//! Stopping the server (SIGTERM) as upstream does: watches end cleanly, so clients see a
//! finished response (and informers watch again) rather than a broken connection, and the
//! process exits promptly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use e2e::{Backend, Cluster};

#[test]
fn a_stopping_server_ends_its_watches_cleanly() {
    let mut c = Cluster::start(Backend::Embedded);
    let mut watch = c
        .kubectl_command(&[
            "get",
            "--raw",
            "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=600",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    // The watch is live once an object created after it arrives through it (after, perhaps,
    // the namespace's `kube-root-ca.crt`, published by a controller at any moment).
    c.kubectl_ok(&["create", "configmap", "seen"]);
    let seen = lines
        .by_ref()
        .map(Result::unwrap)
        .find(|l| l.contains("\"seen\""));
    assert!(seen.is_some(), "the watch ended before the object arrived");
    let stopping = Instant::now();
    c.stop();
    assert!(
        stopping.elapsed() < Duration::from_secs(9),
        "the server took {:?} to stop",
        stopping.elapsed()
    );
    let status = watch.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut watch.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        status.success() && stderr.is_empty(),
        "the watch did not end cleanly: {status} {stderr}"
    );
}
