//! What a `rediss://` (or `valkeys://`) URL says about TLS, in redis-py's option names.

use std::path::PathBuf;

/// Whether the server's certificate is checked (`ssl_cert_reqs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CertReqs {
    /// No check at all: anyone on the path can read and change the traffic. For tests only.
    None,
    /// As Python's `ssl` does on a client: the same as `Required`.
    Optional,
    /// The certificate must chain to a trusted CA (the default).
    #[default]
    Required,
}

/// A TLS client's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM file of the CAs to trust instead of the system's (`ssl_ca_certs`).
    pub ca_certs: Option<PathBuf>,
    /// This client's certificate chain, PEM (`ssl_certfile`), for servers that ask for one.
    pub cert_file: Option<PathBuf>,
    /// Its private key, PEM (`ssl_keyfile`).
    pub key_file: Option<PathBuf>,
    pub cert_reqs: CertReqs,
    /// Whether the certificate must name the host of the URL (`ssl_check_hostname`).
    pub check_hostname: bool,
}

/// The system's CAs, full verification.
impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings { ca_certs: None, cert_file: None, key_file: None, cert_reqs: CertReqs::Required, check_hostname: true }
    }
}

impl TlsSettings {
    /// Whether the server's certificate chain is checked at all.
    pub fn verifies(&self) -> bool {
        self.cert_reqs != CertReqs::None
    }
}
