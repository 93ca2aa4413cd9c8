//! The integrated registry of `oxshift start`: Debian's docker-registry (distribution 2.8) on
//! an internal loopback port behind a front (`front/`) on the advertised one, which serves
//! OpenShift's signature extension; storing under the data directory, sending its clients to
//! the API server's token server (`auth: token`), restarted when it exits and stopped with the
//! server; the front's address is recorded as `Image cluster`'s
//! `status.internalRegistryHostname`.

mod config;
mod front;
mod process;

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use process::Supervisor;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The tokens' issuer and audience, as the registry's configuration names them.
const ISSUER: &str = "oxshift-token-server";
const SERVICE: &str = "oxshift-image-registry";
const PROGRAM: &str = "docker-registry";

#[derive(clap::Args, Debug, Clone)]
pub struct RegistryArgs {
    /// Run the integrated registry (Debian's docker-registry); default: when it is installed.
    #[arg(long = "registry", action = clap::ArgAction::Set)]
    pub enabled: Option<bool>,
    /// The registry's loopback port, where its front listens (0: any free one).
    #[arg(long, default_value_t = 0)]
    pub registry_port: u16,
}

/// What is settled before the API server is built: the ports and the token signer.
pub struct Prepared {
    dir: PathBuf,
    /// The front's, advertised.
    port: u16,
    /// docker-registry's, behind the front.
    internal_port: u16,
    signer_cert: PathBuf,
    notification_secret: String,
    /// The cluster CA, which the registry needs to trust the API server's notification
    /// endpoint.
    ca: PathBuf,
}

impl RegistryArgs {
    fn wanted(&self) -> bool {
        self.enabled.unwrap_or_else(installed)
    }
}

fn installed() -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join(PROGRAM).is_file()))
        .unwrap_or(false)
}

/// The registry's directory, port and signing key, and the API server given its token
/// server; the API server as it was when the registry is off.
pub fn prepare(
    args: &RegistryArgs,
    data_dir: &Path,
    api: apiserver::ApiServer,
) -> Result<(apiserver::ApiServer, Option<Prepared>), BoxError> {
    if !args.wanted() {
        return Ok((api, None));
    }
    let dir = data_dir.join("registry");
    storage::create_private_dir(&dir)?;
    let signer = auth::registry_tokens::RegistryTokenSigner::load_or_create(&dir)?;
    let port = match args.registry_port {
        0 => free_port()?,
        port => port,
    };
    let prepared = Prepared {
        dir,
        port,
        internal_port: free_port()?,
        signer_cert: signer.cert_path.clone(),
        notification_secret: config::random_secret(),
        ca: data_dir.join("pki").join("ca.crt"),
    };
    let api = api.with_image_registry(apiserver::image_registry::IntegratedRegistry::new(
        signer,
        ISSUER.into(),
        SERVICE.into(),
        prepared.hostname(),
        prepared.notification_secret.clone(),
    ));
    Ok((api, Some(prepared)))
}

impl Prepared {
    /// `127.0.0.1:<port>`.
    pub fn hostname(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Writes the configuration, starts the registry under supervision and its front, and
    /// records its host name; `server` is the API server's URL (the token realm's base).
    pub async fn start(
        self,
        api: &std::sync::Arc<apiserver::ApiServer>,
        server: &str,
    ) -> Result<Running, BoxError> {
        let realm = format!("{server}{}", apiserver::image_registry::TOKEN_PATH);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await?;
        let front = front::Front::new(
            front::Settings {
                upstream: ([127, 0, 0, 1], self.internal_port).into(),
                api_url: server.to_string(),
                ca_pem: std::fs::read_to_string(&self.ca)?,
                realm: realm.clone(),
                service: SERVICE.into(),
            },
            api.clone(),
        )?;
        let config = config::Config {
            storage: self.dir.join("storage"),
            port: self.internal_port,
            realm,
            issuer: ISSUER.into(),
            service: SERVICE.into(),
            root_cert_bundle: self.signer_cert.clone(),
            http_secret: config::random_secret(),
            notifications: format!("{server}{}", apiserver::image_registry::EVENTS_PATH),
            notification_secret: self.notification_secret.clone(),
        };
        let path = self.dir.join("config.yml");
        std::fs::write(&path, config.render())?;
        let log = self.dir.join("registry.log");
        let supervisor = Supervisor::start(PROGRAM, &path, &log, &self.ca)?;
        if !listening(self.internal_port).await {
            tracing::error!(log = %log.display(), "the integrated registry is not listening yet");
        }
        let front = front::spawn(listener, front);
        api.set_internal_registry_hostname(&self.hostname()).await?;
        tracing::info!(address = %self.hostname(), "integrated registry started");
        Ok(Running { supervisor, front })
    }
}

/// The running registry and its front.
pub struct Running {
    supervisor: Supervisor,
    front: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops the front, then the registry.
    pub async fn stop(self) {
        self.front.abort();
        let _ = self.front.await;
        self.supervisor.stop().await;
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Whether the registry accepts connections within a few seconds of its start.
async fn listening(port: u16) -> bool {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}
