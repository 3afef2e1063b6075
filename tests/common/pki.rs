//! Certificates made for one test run with rcgen: a CA, a server certificate for 127.0.0.1 and
//! localhost, one for another name only (`misnamed`), a client certificate, and a second CA that
//! signed a client certificate (`stranger`) nobody trusts and a server certificate for 127.0.0.1
//! (`other-server`, for certificates replaced at run time).

use super::temp_dir;
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use std::path::{Path, PathBuf};

/// PEM files of one test's certificates.
pub struct Pki {
    pub dir: PathBuf,
}

impl Pki {
    pub fn new(name: &str) -> Pki {
        let dir = temp_dir(name);
        let (ca, ca_key) = authority("cachet test CA");
        let (other_ca, other_key) = authority("another CA");
        write_signed(&dir, "server", &["127.0.0.1", "localhost"], ExtendedKeyUsagePurpose::ServerAuth, &ca, &ca_key);
        write_signed(&dir, "client", &[], ExtendedKeyUsagePurpose::ClientAuth, &ca, &ca_key);
        write_signed(&dir, "misnamed", &["cache.example"], ExtendedKeyUsagePurpose::ServerAuth, &ca, &ca_key);
        write_signed(&dir, "stranger", &[], ExtendedKeyUsagePurpose::ClientAuth, &other_ca, &other_key);
        write_signed(&dir, "other-server", &["127.0.0.1", "localhost"], ExtendedKeyUsagePurpose::ServerAuth, &other_ca, &other_key);
        std::fs::write(dir.join("ca.crt"), ca.pem()).expect("write");
        std::fs::write(dir.join("other-ca.crt"), other_ca.pem()).expect("write");
        Pki { dir }
    }

    pub fn path(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }

    /// redis-server settings for a TLS port on `port` with this server certificate, not asking
    /// clients for a certificate, and presenting the client certificate on the connections the
    /// server opens itself (to its primary, to other cluster nodes, whose bus always asks for
    /// one). As `(name, value)` pairs: flags on a command line, lines in a config file.
    pub fn redis_settings(&self, port: u16) -> Vec<(&'static str, String)> {
        vec![
            ("tls-port", port.to_string()),
            ("tls-cert-file", self.path("server.crt")),
            ("tls-key-file", self.path("server.key")),
            ("tls-ca-cert-file", self.path("ca.crt")),
            ("tls-client-cert-file", self.path("client.crt")),
            ("tls-client-key-file", self.path("client.key")),
            ("tls-auth-clients", "no".into()),
        ]
    }

    /// [`Pki::redis_settings`] as redis-server flags.
    pub fn redis_flags(&self, port: u16) -> Vec<String> {
        self.redis_settings(port).into_iter().flat_map(|(name, value)| [format!("--{name}"), value]).collect()
    }

    /// `serve` flags for a TLS listener on `port` with this server certificate.
    pub fn serve_flags(&self, port: u16) -> Vec<String> {
        vec!["--tls-port".into(), port.to_string(), "--tls-cert-file".into(), self.path("server.crt"), "--tls-key-file".into(), self.path("server.key")]
    }
}

fn authority(name: &str) -> (rcgen::Certificate, KeyPair) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().expect("key");
    (params.self_signed(&key).expect("CA certificate"), key)
}

fn write_signed(dir: &Path, name: &str, names: &[&str], purpose: ExtendedKeyUsagePurpose, ca: &rcgen::Certificate, ca_key: &KeyPair) {
    let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).expect("params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![purpose];
    let key = KeyPair::generate().expect("key");
    let certificate = params.signed_by(&key, ca, ca_key).expect("signed certificate");
    std::fs::write(dir.join(format!("{name}.crt")), certificate.pem()).expect("write");
    std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).expect("write");
}

