//! TLS for `cachet serve --tls-port`: the host ends TLS and the engine sees the plaintext, as from
//! any TCP client. rustls with TLS 1.2 and 1.3 only; certificates and keys from PEM files, named
//! as Redis names them (`tls-cert-file`, `tls-key-file`, `tls-ca-cert-file`, `tls-auth-clients`).

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::{CryptoProvider, ring};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig, version};

/// A client that has not finished its handshake by then is dropped: it cannot hold a connection
/// slot (nor a task) by opening connections and saying nothing.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether clients must present a certificate the CA signed (`tls-auth-clients`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientAuth {
    /// Redis's default: a client without a valid certificate is refused.
    #[default]
    Yes,
    No,
    /// A certificate is checked when a client gives one.
    Optional,
}

impl ClientAuth {
    pub fn parse(text: &str) -> Result<ClientAuth> {
        match text.to_ascii_lowercase().as_str() {
            "yes" => Ok(ClientAuth::Yes),
            "no" => Ok(ClientAuth::No),
            "optional" => Ok(ClientAuth::Optional),
            _ => bail!("tls-auth-clients takes yes, no or optional, not '{text}'"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ClientAuth::Yes => "yes",
            ClientAuth::No => "no",
            ClientAuth::Optional => "optional",
        }
    }
}

/// The TLS listener's settings.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// 0: no TLS listener.
    pub port: u16,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub ca_cert_file: Option<PathBuf>,
    pub auth_clients: ClientAuth,
}

impl TlsOptions {
    /// What CONFIG GET reports for them.
    pub fn facts(&self) -> Vec<(String, String)> {
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        vec![
            ("tls-port".into(), self.port.to_string()),
            ("tls-cert-file".into(), path(&self.cert_file)),
            ("tls-key-file".into(), path(&self.key_file)),
            ("tls-ca-cert-file".into(), path(&self.ca_cert_file)),
            ("tls-auth-clients".into(), self.auth_clients.name().into()),
        ]
    }
}

/// What CONFIG SET answers when new TLS files cannot be used, in Redis's words; the reason goes to
/// the log.
pub const RELOAD_FAILED: &str = "Unable to update TLS configuration. Check server logs.";

/// The TLS settings in force and the acceptor made from them. CONFIG SET of `tls-cert-file`,
/// `tls-key-file`, `tls-ca-cert-file` or `tls-auth-clients` reads the files again and replaces
/// both, for the handshakes that follow; connections already made keep the configuration they
/// were made with. When the new files cannot be used, nothing changes.
pub struct TlsState {
    current: Mutex<(TlsOptions, Option<TlsAcceptor>)>,
}

impl TlsState {
    /// With a TLS port, reads the files now: a server does not start with unusable ones.
    pub fn new(options: TlsOptions) -> Result<Arc<TlsState>> {
        let acceptor = if options.port != 0 { Some(acceptor(&options)?) } else { None };
        Ok(Arc::new(TlsState { current: Mutex::new((options, acceptor)) }))
    }

    /// What ends TLS for a new connection: the latest acceptor.
    pub fn acceptor(&self) -> Option<TlsAcceptor> {
        self.lock().1.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (TlsOptions, Option<TlsAcceptor>)> {
        self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The settings with `changes` applied, and the acceptor they make when TLS is on.
    fn changed(current: &TlsOptions, changes: &[(String, String)]) -> Result<(TlsOptions, Option<TlsAcceptor>)> {
        let mut options = current.clone();
        let path = |value: &str| (!value.is_empty()).then(|| PathBuf::from(value));
        for (name, value) in changes {
            match name.as_str() {
                "tls-cert-file" => options.cert_file = path(value),
                "tls-key-file" => options.key_file = path(value),
                "tls-ca-cert-file" => options.ca_cert_file = path(value),
                "tls-auth-clients" => options.auth_clients = ClientAuth::parse(value)?,
                _ => bail!("'{name}' is not a setting the host applies"),
            }
        }
        let acceptor = if options.port != 0 { Some(acceptor(&options)?) } else { None };
        Ok((options, acceptor))
    }
}

impl crate::capabilities::HostSettings for TlsState {
    fn apply(&self, changes: &[(String, String)]) -> std::result::Result<(), String> {
        let mut current = self.lock();
        match Self::changed(&current.0, changes) {
            Ok(new) => {
                if new.1.is_some() {
                    tracing::info!("TLS configuration reloaded: new connections use it");
                }
                *current = new;
                Ok(())
            }
            Err(error) => {
                let names: Vec<&str> = changes.iter().map(|(name, _)| name.as_str()).collect();
                tracing::warn!("could not apply new {}: {error:#}; keeping the previous TLS configuration", names.join(", "));
                Err(RELOAD_FAILED.to_string())
            }
        }
    }

    fn current(&self) -> Vec<(String, String)> {
        self.lock().0.facts().into_iter().filter(|(name, _)| name != "tls-port").collect()
    }
}

/// Reads the certificates and key and makes the acceptor, or says which file is wrong and why.
pub fn acceptor(options: &TlsOptions) -> Result<TlsAcceptor> {
    let provider = Arc::new(ring::default_provider());
    let cert_file = options.cert_file.as_deref().context("--tls-port needs --tls-cert-file: the server's certificate chain, in PEM")?;
    let key_file = options.key_file.as_deref().context("--tls-port needs --tls-key-file: the server's private key, in PEM")?;
    let chain = certificates(cert_file)?;
    let key = PrivateKeyDer::from_pem_file(key_file).with_context(|| format!("reading a private key (PEM) from tls-key-file {}", key_file.display()))?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&version::TLS13, &version::TLS12])
        .context("setting up TLS 1.2 and 1.3")?;
    let builder = match (options.auth_clients, options.ca_cert_file.as_deref()) {
        (ClientAuth::No, _) => builder.with_no_client_auth(),
        (auth, Some(ca_file)) => builder.with_client_cert_verifier(client_verifier(ca_file, auth, provider)?),
        (auth, None) => bail!(
            "tls-auth-clients {} needs --tls-ca-cert-file to check client certificates against; give one, or --tls-auth-clients no",
            auth.name()
        ),
    };
    let config = builder
        .with_single_cert(chain, key)
        .with_context(|| format!("the key in {} does not go with the certificate in {}", key_file.display(), cert_file.display()))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The certificates in a PEM file (also the client's `ssl_ca_certs` and `ssl_certfile`).
pub(crate) fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let read = || format!("reading certificates (PEM) from {}", path.display());
    let chain = CertificateDer::pem_file_iter(path).with_context(read)?.collect::<Result<Vec<_>, _>>().with_context(read)?;
    if chain.is_empty() {
        bail!("{} holds no certificate: expected PEM blocks 'BEGIN CERTIFICATE'", path.display());
    }
    Ok(chain)
}

fn client_verifier(ca_file: &Path, auth: ClientAuth, provider: Arc<CryptoProvider>) -> Result<Arc<dyn tokio_rustls::rustls::server::danger::ClientCertVerifier>> {
    let mut roots = RootCertStore::empty();
    for certificate in certificates(ca_file)? {
        roots.add(certificate).with_context(|| format!("tls-ca-cert-file {} holds a certificate that is not a usable CA", ca_file.display()))?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
    let verifier = if auth == ClientAuth::Optional { verifier.allow_unauthenticated() } else { verifier };
    verifier.build().with_context(|| format!("checking client certificates against {}", ca_file.display()))
}
