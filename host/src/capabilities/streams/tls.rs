//! TLS for the client's connections (`rediss://`, `valkeys://`): rustls with the ring provider
//! the server's listener uses, the system's CAs or a given CA file, an optional client
//! certificate, and redis-py's `ssl_cert_reqs` / `ssl_check_hostname` to loosen the checks.

use super::connection::{StreamError, StreamErrorKind};
use crate::server::tls::certificates;
use cachet_url::TlsSettings;
use std::sync::Arc;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use tokio_rustls::rustls::crypto::{CryptoProvider, ring, verify_tls12_signature, verify_tls13_signature};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::rustls::{AlertDescription, CertificateError, ClientConfig, DigitallySignedStruct, Error, RootCertStore, SignatureScheme, version};

/// The connector for a pool's TLS settings, or what is wrong with them (a file missing or not
/// PEM, a key that does not go with its certificate, no CA to trust).
pub fn connector(settings: &TlsSettings) -> Result<TlsConnector, StreamError> {
    let provider = Arc::new(ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&version::TLS13, &version::TLS12])
        .map_err(|e| invalid(format!("setting up TLS 1.2 and 1.3: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = if settings.verifies() {
        let roots = Arc::new(roots(settings)?);
        let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| invalid(format!("checking server certificates: {e}")))?;
        if settings.check_hostname { webpki } else { Arc::new(AnyName(webpki)) }
    } else {
        tracing::warn!("ssl_cert_reqs=none: the server's certificate is not checked, so anyone on the path can read and change the traffic");
        Arc::new(NoCheck(provider))
    };
    let builder = builder.dangerous().with_custom_certificate_verifier(verifier);
    let config = match (&settings.cert_file, &settings.key_file) {
        (Some(cert_file), Some(key_file)) => {
            let chain = certificates(cert_file).map_err(|e| invalid(format!("ssl_certfile: {e:#}")))?;
            let key = PrivateKeyDer::from_pem_file(key_file)
                .map_err(|e| invalid(format!("ssl_keyfile: reading a private key (PEM) from {}: {e}", key_file.display())))?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                invalid(format!("the key in {} does not go with the certificate in {}: {e}", key_file.display(), cert_file.display()))
            })?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The name the server's certificate must carry: the URL's host, a DNS name or an IP address.
pub fn server_name(host: &str) -> Result<ServerName<'static>, StreamError> {
    ServerName::try_from(host.to_string()).map_err(|e| invalid(format!("'{host}' cannot be checked against a certificate: {e}")))
}

/// Says what a failed handshake means and what to do about it.
pub fn handshake_failed(endpoint: &str, error: &std::io::Error) -> StreamError {
    let cause = error.get_ref().and_then(|e| e.downcast_ref::<Error>());
    let hint = match cause {
        Some(Error::InvalidCertificate(CertificateError::UnknownIssuer | CertificateError::BadSignature)) => {
            ": the server's certificate is not signed by a CA this client trusts (give its CA with ssl_ca_certs)"
        }
        Some(Error::InvalidCertificate(CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. })) => {
            ": the server's certificate does not name the host in the URL (connect by a name it carries, or ssl_check_hostname=false)"
        }
        Some(Error::AlertReceived(AlertDescription::CertificateRequired | AlertDescription::HandshakeFailure)) => {
            ": the server may want a client certificate (give ssl_certfile and ssl_keyfile)"
        }
        Some(Error::InvalidMessage(_) | Error::InappropriateMessage { .. }) => {
            ": the server does not seem to speak TLS on this port (use redis:// for a plain port)"
        }
        _ => "",
    };
    StreamError::new(StreamErrorKind::Connect, format!("TLS handshake with {endpoint} failed: {error}{hint}"))
}

fn invalid(message: String) -> StreamError {
    StreamError::new(StreamErrorKind::Connect, format!("TLS settings: {message}"))
}

/// The CAs in `ssl_ca_certs`, else the system's.
fn roots(settings: &TlsSettings) -> Result<RootCertStore, StreamError> {
    let mut roots = RootCertStore::empty();
    if let Some(ca_file) = &settings.ca_certs {
        for certificate in certificates(ca_file).map_err(|e| invalid(format!("ssl_ca_certs: {e:#}")))? {
            roots.add(certificate).map_err(|e| invalid(format!("ssl_ca_certs {} holds a certificate that is not a usable CA: {e}", ca_file.display())))?;
        }
        return Ok(roots);
    }
    let found = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(invalid(format!(
            "no CA certificates found on this system ({} errors): install ca-certificates, or give the server's CA with ssl_ca_certs",
            found.errors.len()
        )));
    }
    Ok(roots)
}

/// `ssl_check_hostname=false`: the chain must still lead to a trusted CA; only the name is not
/// checked (webpki checks the chain first, so a name error means the chain was good).
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(Error::InvalidCertificate(CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. })) => {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `ssl_cert_reqs=none`: any certificate is taken. The handshake's signatures are still checked
/// against the certificate given, so the session is encrypted, but not known to reach the server.
#[derive(Debug)]
struct NoCheck(Arc<CryptoProvider>);

impl ServerCertVerifier for NoCheck {
    fn verify_server_cert(&self, _: &CertificateDer<'_>, _: &[CertificateDer<'_>], _: &ServerName<'_>, _: &[u8], _: UnixTime) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
