//! Containers' lifecycle hooks (`postStart`, `preStop`) as the kubelet runs them: an exec in
//! the container, an HTTP GET (only a failed connection fails it; any status passes), or a
//! sleep; a failure is described in the kubelet's words for its `FailedPostStartHook` or
//! `FailedPreStopHook` event.

use std::time::Duration;

use k8s_openapi::api::core::v1::LifecycleHandler;

use super::probes::{self, Target};

/// Runs `handler` for at most `limit`; on failure, the event's message. `pod` is the pod as
/// the kubelet names it in messages (`name_namespace(uid)`).
pub async fn run(
    handler: &LifecycleHandler,
    target: &Target<'_>,
    pod: &str,
    limit: Duration,
) -> Result<(), String> {
    let container = &target.container.name;
    if let Some(exec) = &handler.exec {
        let command = exec.command.clone().unwrap_or_default();
        return match target
            .runtime
            .exec_sync(target.container_id, &command, limit)
            .await
        {
            Ok((0, _)) => Ok(()),
            Ok((code, output)) => {
                let error = format!(
                    "command '{}' exited with {code}: {output}",
                    command.join(" ")
                );
                Err(exec_failure(&command, container, pod, &error, &output))
            }
            Err(e) => Err(exec_failure(&command, container, pod, &e.0, "")),
        };
    }
    if let Some(http) = &handler.http_get {
        let path = http
            .path
            .clone()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "/".into());
        let fail = |error: String| {
            format!(
                "HTTP lifecycle hook ({path}) for Container {container:?} in Pod {pod:?} failed - error: {error}"
            )
        };
        let ip = probes::host(http.host.as_deref(), target.ip).map_err(fail)?;
        let port = probes::port(&http.port, target.container).map_err(fail)?;
        if http
            .scheme
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("HTTPS"))
        {
            return Err(fail("HTTPS hooks are not supported by this node".into()));
        }
        let mut headers: Vec<(String, String)> = http
            .http_headers
            .iter()
            .flatten()
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect();
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("User-Agent"))
        {
            headers.push(("User-Agent".into(), "kube-lifecycle/1.32".into()));
        }
        let url = format!("http://{}{path}", probes::join(ip, port));
        return match tokio::time::timeout(limit, probes::http_status(ip, port, &path, &headers))
            .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(fail(format!(
                "Get {url:?}: dial tcp {}: connect: {}",
                probes::join(ip, port),
                probes::plain(&e)
            ))),
            Err(_) => Err(fail(format!("Get {url:?}: context deadline exceeded"))),
        };
    }
    if let Some(sleep) = &handler.sleep {
        let wanted = Duration::from_secs(u64::try_from(sleep.seconds).unwrap_or(0));
        tokio::time::sleep(wanted.min(limit)).await;
        return Ok(());
    }
    Err(format!(
        "Cannot run handler: invalid handler: {}",
        serde_json::to_string(handler).unwrap_or_default()
    ))
}

fn exec_failure(
    command: &[String],
    container: &str,
    pod: &str,
    error: &str,
    output: &str,
) -> String {
    format!(
        "Exec lifecycle hook ([{}]) for Container {container:?} in Pod {pod:?} failed - error: {error}, message: {output:?}",
        command.join(" ")
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::runtime::simulated::Simulated;
    use k8s_openapi::api::core::v1::{Container, HTTPGetAction};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    #[tokio::test]
    async fn failed_hooks_are_described_in_the_kubelets_words() {
        let runtime = Simulated::new();
        let container = Container {
            name: "main".into(),
            ..Default::default()
        };
        let target = Target {
            ip: "127.0.0.1".parse().unwrap(),
            container_id: "missing",
            container: &container,
            runtime: &runtime,
        };
        let command: Vec<String> = ["sh", "-c", "echo no; exit 1"].map(String::from).into();
        assert_eq!(
            exec_failure(
                &command,
                "main",
                "web_dev(u1)",
                "command 'sh -c echo no; exit 1' exited with 1: no\n",
                "no\n"
            ),
            "Exec lifecycle hook ([sh -c echo no; exit 1]) for Container \"main\" in Pod \"web_dev(u1)\" failed - error: command 'sh -c echo no; exit 1' exited with 1: no\n, message: \"no\\n\""
        );
        // Nothing listens on the port: the connection fails, and so the hook.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let http = LifecycleHandler {
            http_get: Some(HTTPGetAction {
                path: Some("/stop".into()),
                port: IntOrString::Int(port.into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let error = run(&http, &target, "web_dev(u1)", Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(
            error,
            format!(
                "HTTP lifecycle hook (/stop) for Container \"main\" in Pod \"web_dev(u1)\" failed - error: Get \"http://127.0.0.1:{port}/stop\": dial tcp 127.0.0.1:{port}: connect: connection refused"
            )
        );
        // Any answer passes, even an error status.
        let server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = server.local_addr().unwrap().port();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut s, _) = server.accept().await.unwrap();
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(b"HTTP/1.1 500 Oops\r\n\r\n").await;
        });
        let http = LifecycleHandler {
            http_get: Some(HTTPGetAction {
                port: IntOrString::Int(port.into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        run(&http, &target, "web_dev(u1)", Duration::from_secs(5))
            .await
            .unwrap();
    }
}
