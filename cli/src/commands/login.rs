//! `oc login`: gets a token from the server's OAuth server as the real `oc` does (metadata
//! document, the challenging client answered with Basic credentials after `X-CSRF-Token`,
//! an authorization code with PKCE S256, the code exchanged at the token endpoint), or takes
//! `--token`; then records server, user and project in the kubeconfig under upstream's names.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Digest;

use super::Globals;
use crate::client::{self, Overrides, ServerTls, send};
use crate::error::CliError;
use crate::kubeconfig::{self, Kubeconfig};

#[derive(Debug, Default, clap::Args)]
pub struct LoginArgs {
    /// The server to log in to (default: the current context's).
    pub server: Option<String>,
    /// Username, will prompt if not provided.
    #[arg(long, short = 'u')]
    pub username: Option<String>,
    /// Password, will prompt if not provided.
    #[arg(long, short = 'p')]
    pub password: Option<String>,
}

const CLIENT: &str = "openshift-challenging-client";

/// `https://host:8443` from what a user types (`host`, `host:6443`, `https://host`).
pub fn normalize(server: &str) -> String {
    let server = server.trim().trim_end_matches('/');
    let with_scheme = match server.contains("://") {
        true => server.to_string(),
        false => format!("https://{server}"),
    };
    let host = with_scheme.split("://").nth(1).unwrap_or_default();
    let has_port = host
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok());
    match has_port {
        true => with_scheme,
        false => format!("{with_scheme}:8443"),
    }
}

/// Asks on stdout and reads a line of stdin, as upstream's prompts do.
fn prompt(label: &str) -> Result<String, CliError> {
    use std::io::Write;
    print!("{label}: ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| CliError::msg(e.to_string()))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Like `prompt`, without echoing what is typed when reading from a terminal.
fn prompt_secret(label: &str) -> Result<String, CliError> {
    use std::io::{IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return prompt(label);
    }
    print!("{label}: ");
    let _ = std::io::stdout().flush();
    rpassword::read_password().map_err(|e| CliError::msg(e.to_string()))
}

/// When the server's certificate is signed by an authority the client does not trust, a user
/// at a terminal is asked whether to go on without checking it (the answer is the new
/// `insecure`); elsewhere the refusal stands.
async fn confirm_untrusted(tls: &ServerTls) -> Result<bool, CliError> {
    use std::io::IsTerminal;
    if tls.insecure {
        return Ok(true);
    }
    let probe = client::anonymous(tls, None).await?;
    let refusal = match send(&probe, Method::GET, "/version", &[], None).await {
        Ok(_) => return Ok(false),
        Err(e) if client::is_unknown_authority(&e) => e,
        Err(e) => return Err(e),
    };
    if !std::io::stdin().is_terminal() {
        return Err(refusal);
    }
    println!(
        "The server uses a certificate signed by an unknown authority.\nYou can bypass the certificate check, but any data you send to the server could be intercepted by others."
    );
    match prompt("Use insecure connections? (y/n)")?.trim() {
        "y" | "Y" | "yes" => {
            println!();
            Ok(true)
        }
        _ => Err(refusal),
    }
}

/// The path and query of a URL (requests go to the server the client was made for).
fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    match rest.find('/') {
        Some(i) => rest[i..].to_string(),
        None => "/".into(),
    }
}

/// The query parameters of a URL (or of its fragment).
fn params(url: &str) -> Vec<(String, String)> {
    let query = url.split_once(['?', '#']).map_or("", |(_, q)| q);
    query
        .split(['&', '#'])
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), decode(v)))
        .collect()
}

fn decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A token for `user` from the OAuth server of `tls.server`.
async fn request_token(tls: &ServerTls, user: &str, password: &str) -> Result<String, CliError> {
    let anonymous = client::anonymous(tls, None).await?;
    let metadata = send(
        &anonymous,
        Method::GET,
        "/.well-known/oauth-authorization-server",
        &[],
        None,
    )
    .await?;
    let (authorize, token_endpoint, issuer) = match metadata.json() {
        Ok(m) => (
            m["authorization_endpoint"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            m["token_endpoint"].as_str().unwrap_or_default().to_string(),
            m["issuer"].as_str().unwrap_or(&tls.server).to_string(),
        ),
        Err(_) => (
            format!("{}/oauth/authorize", tls.server),
            format!("{}/oauth/token", tls.server),
            tls.server.clone(),
        ),
    };
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    let redirect = format!("{issuer}/oauth/token/implicit");
    let url = format!(
        "{}?response_type=code&client_id={CLIENT}&redirect_uri={}&code_challenge={challenge}&code_challenge_method=S256",
        path_of(&authorize),
        client::encode(&redirect)
    );
    let csrf = ("X-CSRF-Token", "1".to_string());
    let first = send(
        &anonymous,
        Method::GET,
        &url,
        std::slice::from_ref(&csrf),
        None,
    )
    .await?;
    let basic = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
    let answer = match first.status {
        StatusCode::UNAUTHORIZED => {
            send(
                &anonymous,
                Method::GET,
                &url,
                &[csrf, ("Authorization", basic)],
                None,
            )
            .await?
        }
        _ => first,
    };
    if answer.status == StatusCode::UNAUTHORIZED {
        return Err(CliError::msg(
            "Login failed (401 Unauthorized)\nVerify you have provided correct credentials.",
        ));
    }
    let location = answer
        .headers
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Some(location) = location.filter(|_| answer.status == StatusCode::FOUND) else {
        return Err(CliError::msg(format!(
            "unexpected response from the OAuth server: {} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body).trim()
        )));
    };
    let found = params(&location);
    let get = |k: &str| found.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if let Some(error) = get("error") {
        return Err(CliError::msg(get("error_description").unwrap_or(error)));
    }
    let code = get("code").ok_or_else(|| CliError::msg("the OAuth server sent no code"))?;
    let form = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&client_id={CLIENT}&code_verifier={verifier}",
        client::encode(&code),
        client::encode(&redirect)
    );
    let token = send(
        &anonymous,
        Method::POST,
        &path_of(&token_endpoint),
        &[],
        Some(("application/x-www-form-urlencoded", form.into_bytes())),
    )
    .await?;
    if !token.status.is_success() {
        let body: Value = serde_json::from_slice(&token.body).unwrap_or_default();
        return Err(CliError::msg(
            body["error_description"]
                .as_str()
                .unwrap_or("the token request failed")
                .to_string(),
        ));
    }
    let body: Value = serde_json::from_slice(&token.body)
        .map_err(|e| CliError::msg(format!("the token endpoint sent invalid JSON: {e}")))?;
    body["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| CliError::msg("the token endpoint sent no token"))
}

/// The TLS settings to reach `server`: the flags, else what the kubeconfig already trusts
/// for it.
fn tls_for(server: &str, o: &Overrides, config: &Kubeconfig) -> Result<ServerTls, CliError> {
    let known = config.cluster(&kubeconfig::cluster_nickname(server));
    let ca_pem = match &o.certificate_authority {
        Some(path) => Some(client::read_pem(path)?),
        None => known
            .and_then(|c| c["certificate-authority-data"].as_str())
            .and_then(|d| STANDARD.decode(d).ok()),
    };
    let insecure = o.insecure
        || (o.certificate_authority.is_none()
            && known.is_some_and(|c| c["insecure-skip-tls-verify"] == true));
    Ok(ServerTls {
        server: server.to_string(),
        ca_pem: if insecure { None } else { ca_pem },
        insecure,
    })
}

pub async fn login(g: &Globals, args: &LoginArgs) -> Result<(), CliError> {
    let mut config = g.kubeconfig()?;
    let current_server = config
        .current_context()
        .and_then(|c| config.context(c))
        .and_then(|c| c["cluster"].as_str())
        .and_then(|c| config.cluster(c))
        .and_then(|c| c["server"].as_str())
        .map(str::to_string);
    let server = args
        .server
        .clone()
        .or_else(|| g.overrides.server.clone())
        .or(current_server)
        .map(|s| normalize(&s))
        .ok_or_else(|| CliError::msg("a server URL is required: oc login <server>"))?;
    let mut tls = tls_for(&server, &g.overrides, &config)?;
    if confirm_untrusted(&tls).await? && !tls.insecure {
        tls.insecure = true;
        tls.ca_pem = None;
    }
    let (token, by_password) = match &g.overrides.token {
        Some(token) => (token.clone(), false),
        None => {
            let user = match &args.username {
                Some(u) => u.clone(),
                None => prompt("Username")?,
            };
            let password = match &args.password {
                Some(p) => p.clone(),
                None => prompt_secret("Password")?,
            };
            (request_token(&tls, &user, &password).await?, true)
        }
    };
    let authenticated = client::anonymous(&tls, Some(&token)).await?;
    let me = send(
        &authenticated,
        Method::GET,
        "/apis/user.openshift.io/v1/users/~",
        &[],
        None,
    )
    .await?
    .json()?;
    let user = me["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let cluster = kubeconfig::cluster_nickname(&server);
    let mut cluster_entry = json!({"server": server});
    match (&tls.ca_pem, tls.insecure) {
        (_, true) => cluster_entry["insecure-skip-tls-verify"] = json!(true),
        (Some(pem), false) => {
            cluster_entry["certificate-authority-data"] = json!(STANDARD.encode(pem));
            cluster_entry["insecure-skip-tls-verify"] = Value::Null;
        }
        (None, false) => {}
    }
    config.upsert("clusters", "cluster", &cluster, cluster_entry);
    let user_entry = kubeconfig::user_nickname(&user, &server);
    config.upsert("users", "user", &user_entry, json!({"token": token}));

    // The project: the one this user last used on this server if still visible, else
    // `default`, else the first.
    let overrides = Overrides {
        server: Some(server.clone()),
        token: Some(token.clone()),
        insecure: tls.insecure,
        certificate_authority: g.overrides.certificate_authority.clone(),
        ..Default::default()
    };
    let temporary = Kubeconfig {
        path: config.path.clone(),
        doc: config.doc.clone(),
    };
    let session = client::session(&temporary, &overrides).await?;
    let names = super::project::names(&session).await?;
    let previous = config
        .current_context()
        .and_then(|c| config.context(c))
        .filter(|c| c["user"] == user_entry.as_str() && c["cluster"] == cluster.as_str())
        .and_then(|c| c["namespace"].as_str())
        .map(str::to_string);
    let namespace = previous
        .filter(|p| names.contains(p))
        .or_else(|| names.iter().find(|n| *n == "default").cloned())
        .or_else(|| names.first().cloned())
        .unwrap_or_else(|| "default".into());
    let context = kubeconfig::context_nickname(&namespace, &server, &user);
    config.upsert(
        "contexts",
        "context",
        &context,
        json!({"cluster": cluster, "namespace": namespace, "user": user_entry}),
    );
    config.set_current_context(&context);
    config.save()?;
    match by_password {
        true => println!("Login successful.\n"),
        false => println!("Logged into \"{server}\" as \"{user}\" using the token provided.\n"),
    }
    print!("{}", super::project::overview(&names, &namespace, None));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_and_urls() {
        assert_eq!(normalize("localhost"), "https://localhost:8443");
        assert_eq!(normalize("https://h:6443/"), "https://h:6443");
        assert_eq!(normalize("10.0.0.1:443"), "https://10.0.0.1:443");
        assert_eq!(path_of("https://h:1/oauth/authorize"), "/oauth/authorize");
        let p = params("https://h/cb?code=a%2Bb&state=x");
        assert_eq!(p[0], ("code".into(), "a+b".into()));
        assert_eq!(client::encode("https://h/x"), "https%3A%2F%2Fh%2Fx");
    }
}
