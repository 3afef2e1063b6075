//! Three shards of one kind behind twemproxy (Debian's `nutcracker`), the way README.md configures
//! it, so redis-benchmark can measure cachet and redis-server scaled out through the same proxy.

use crate::servers::{Binaries, Kind, Server, free_port, wait_for_pong};
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

/// A nutcracker and its shards, all stopped when dropped.
pub struct Proxy {
    pub port: u16,
    child: Child,
    dir: PathBuf,
    _shards: Vec<Server>,
}

impl Proxy {
    /// Starts `shards` servers of `kind` and a nutcracker in front of them; returns once the
    /// proxy answers PING.
    pub fn start(kind: Kind, binaries: &Binaries, shards: usize) -> Result<Proxy> {
        let servers: Vec<Server> = (0..shards).map(|_| Server::start(kind, binaries, &[])).collect::<Result<_>>()?;
        let port = free_port()?;
        let dir = std::env::temp_dir().join(format!("cachet-bench-{}-nutcracker-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(dir.join("nutcracker.yml"), config(port, &servers))?;
        let child = Command::new("nutcracker")
            .arg("--conf-file")
            .arg(dir.join("nutcracker.yml"))
            .arg("--output")
            .arg(dir.join("nutcracker.log"))
            .args(["--stats-addr", "127.0.0.1", "--stats-port", &free_port()?.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("could not start nutcracker: install Debian's nutcracker (apt-get install nutcracker)")?;
        let mut proxy = Proxy { port, child, dir, _shards: servers };
        proxy.wait_for_pong()?;
        Ok(proxy)
    }

    fn wait_for_pong(&mut self) -> Result<()> {
        let log = self.dir.join("nutcracker.log");
        wait_for_pong("nutcracker", self.port, &mut self.child, Instant::now())
            .with_context(|| format!("nutcracker's log:\n{}", std::fs::read_to_string(&log).unwrap_or_default()))?;
        Ok(())
    }
}

/// README.md's configuration for `servers`.
fn config(port: u16, servers: &[Server]) -> String {
    let shards: String = servers.iter().enumerate().map(|(i, s)| format!("    - 127.0.0.1:{}:1 shard{i}\n", s.port)).collect();
    format!(
        "pool:\n  listen: 127.0.0.1:{port}\n  redis: true\n  hash: fnv1a_64\n  hash_tag: \"{{}}\"\n  distribution: ketama\n  auto_eject_hosts: true\n  server_failure_limit: 2\n  server_retry_timeout: 2000\n  timeout: 2000\n  servers:\n{shards}"
    )
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
