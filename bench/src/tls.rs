//! GET and SET over TLS: both servers with a TLS listener, the same certificate (made for the
//! run: a CA and a certificate for 127.0.0.1) and no client certificates, driven by
//! `redis-benchmark --tls`.

use crate::servers::{Binaries, Kind, Server, free_port};
use anyhow::{Context, Result};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use std::path::PathBuf;

/// Where the run's PEM files are.
pub struct Certificates {
    dir: PathBuf,
}

impl Certificates {
    pub fn make() -> Result<Certificates> {
        let dir = std::env::temp_dir().join(format!("cachet-bench-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // Distinct names: a certificate whose issuer is its own subject reads as self-signed.
        ca_params.distinguished_name.push(DnType::CommonName, "cachet-bench CA");
        let ca_key = KeyPair::generate()?;
        let ca = ca_params.self_signed(&ca_key)?;
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(vec!["127.0.0.1".to_string()])?;
        params.distinguished_name.push(DnType::CommonName, "127.0.0.1");
        let certificate = params.signed_by(&key, &ca, &ca_key)?;
        std::fs::write(dir.join("ca.crt"), ca.pem())?;
        std::fs::write(dir.join("server.crt"), certificate.pem())?;
        std::fs::write(dir.join("server.key"), key.serialize_pem())?;
        Ok(Certificates { dir })
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }

    /// Starts `kind` with a TLS listener; redis-benchmark will be pointed at it.
    pub fn start(&self, kind: Kind, binaries: &Binaries) -> Result<Server> {
        let port = free_port()?.to_string();
        let (cert, key, ca) = (self.path("server.crt"), self.path("server.key"), self.path("ca.crt"));
        // Both servers take the same names; Redis 7.0 wants a CA file even when it asks clients for nothing.
        let flags = ["--tls-port", &port, "--tls-cert-file", &cert, "--tls-key-file", &key, "--tls-ca-cert-file", &ca, "--tls-auth-clients", "no"];
        let mut server = Server::start(kind, binaries, &flags)?;
        server.bench_port = port.parse()?;
        Ok(server)
    }

    /// SET and GET at pipeline depths 1 and 16, over TLS.
    pub fn scenarios(&self, requests: usize) -> Vec<(String, Vec<String>)> {
        let n = requests.to_string();
        let ca = self.path("ca.crt");
        ["1", "16"]
            .iter()
            .map(|depth| {
                let args = ["--tls", "--cacert", &ca, "-t", "set,get", "-n", &n, "-c", "50", "-P", depth];
                (format!("--tls -c 50 -P {depth}"), args.iter().map(|s| s.to_string()).collect())
            })
            .collect()
    }
}

impl Drop for Certificates {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
