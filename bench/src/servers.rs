//! Starting the two servers under test on free loopback ports, and reading their memory.

use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Cachet,
    Redis,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Cachet => "cachet",
            Kind::Redis => "redis",
        }
    }
}

/// A server process, killed when dropped.
pub struct Server {
    pub kind: Kind,
    pub port: u16,
    /// The port redis-benchmark is pointed at: `port`, or the TLS listener's.
    pub bench_port: u16,
    child: Child,
    /// From process start to the first PONG.
    pub startup: Duration,
}

pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Where `cargo build --release` puts the cachet binary.
pub fn default_cachet_binary() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/cachet")
}

impl Server {
    pub fn start(kind: Kind, cachet: &Path, extra: &[&str]) -> Result<Server> {
        let port = free_port()?;
        let port_text = port.to_string();
        let mut command = match kind {
            Kind::Cachet => {
                let mut c = Command::new(cachet);
                c.args(["serve", "--bind", "127.0.0.1", "--port", &port_text, "--log-level", "warn"]);
                c
            }
            Kind::Redis => {
                let mut c = Command::new("redis-server");
                c.args(["--bind", "127.0.0.1", "--port", &port_text, "--save", "", "--appendonly", "no", "--loglevel", "warning"]);
                c
            }
        };
        command.args(extra).stdout(Stdio::null()).stderr(Stdio::null());
        let started = Instant::now();
        let child = command.spawn().with_context(|| match kind {
            Kind::Cachet => format!("could not start {}: run `cargo build --release` first", cachet.display()),
            Kind::Redis => "could not start redis-server: install Debian's redis-server".to_string(),
        })?;
        let mut server = Server { kind, port, bench_port: port, child, startup: Duration::ZERO };
        server.startup = server.wait_for_pong(started)?;
        Ok(server)
    }

    fn wait_for_pong(&mut self, started: Instant) -> Result<Duration> {
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(mut conn) = TcpStream::connect(("127.0.0.1", self.port)) {
                let mut reply = [0u8; 7];
                if conn.write_all(b"PING\r\n").is_ok() && conn.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n" {
                    return Ok(started.elapsed());
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                bail!("{} exited with {status} before answering PING", self.kind.name());
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        bail!("{} did not answer PING within 30 s", self.kind.name())
    }

    /// Resident memory of the process, in bytes.
    pub fn rss(&self) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .context("no VmRSS")?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()?;
        Ok(kb * 1024)
    }

    /// A field of INFO, e.g. `used_memory`.
    pub fn info_field(&self, name: &str) -> Result<u64> {
        let mut conn = TcpStream::connect(("127.0.0.1", self.port))?;
        conn.write_all(b"INFO memory\r\n")?;
        let mut text = String::new();
        let mut buf = [0u8; 65536];
        while !text.contains(&format!("{name}:")) || !text.ends_with("\r\n") {
            let n = conn.read(&mut buf)?;
            if n == 0 {
                break;
            }
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        let value = text.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).context("INFO field missing")?;
        Ok(value.trim().parse()?)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
