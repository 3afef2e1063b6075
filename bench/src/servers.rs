//! Starting the servers under test (cachet, Debian's redis-server and, when given, a valkey-server)
//! on free loopback ports, and reading their INFO and memory.

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
    Valkey,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Cachet => "cachet",
            Kind::Redis => "redis",
            Kind::Valkey => "valkey",
        }
    }
}

/// Where the servers' binaries are: cachet's is built by this workspace, redis-server is found on
/// PATH, and Valkey is measured only when its binary is named (`--valkey` or `CACHET_BENCH_VALKEY`).
#[derive(Clone, Debug)]
pub struct Binaries {
    pub cachet: PathBuf,
    pub valkey: Option<PathBuf>,
}

impl Binaries {
    /// The servers measured: cachet first, then each peer there is a binary for.
    pub fn kinds(&self) -> Vec<Kind> {
        let mut kinds = vec![Kind::Cachet, Kind::Redis];
        kinds.extend(self.valkey.as_ref().map(|_| Kind::Valkey));
        kinds
    }

    /// The command that starts a server of `kind`, before its arguments.
    fn command(&self, kind: Kind) -> Result<Command> {
        Ok(Command::new(match kind {
            Kind::Cachet => self.cachet.as_path(),
            Kind::Redis => Path::new("redis-server"),
            Kind::Valkey => self.valkey.as_deref().context("no valkey-server was named: pass --valkey PATH or set CACHET_BENCH_VALKEY")?,
        }))
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

/// Waits until `port` answers PING, sent as a RESP array (which twemproxy needs too); fails when
/// `child` exits first, or after 30 s. Returns the time since `started`.
pub fn wait_for_pong(name: &str, port: u16, child: &mut Child, started: Instant) -> Result<Duration> {
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok(mut conn) = TcpStream::connect(("127.0.0.1", port)) {
            let mut reply = [0u8; 7];
            if conn.write_all(b"*1\r\n$4\r\nPING\r\n").is_ok() && conn.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n" {
                return Ok(started.elapsed());
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            bail!("{name} exited with {status} before answering PING");
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    bail!("{name} did not answer PING within 30 s")
}

/// Where `cargo build --release` puts the cachet binary.
pub fn default_cachet_binary() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/cachet")
}

impl Server {
    pub fn start(kind: Kind, binaries: &Binaries, extra: &[&str]) -> Result<Server> {
        Self::start_on(free_port()?, kind, binaries, extra)
    }

    /// Starts a server of `kind` listening on `port` (which must be free).
    pub fn start_on(port: u16, kind: Kind, binaries: &Binaries, extra: &[&str]) -> Result<Server> {
        let port_text = port.to_string();
        let mut command = binaries.command(kind)?;
        match kind {
            Kind::Cachet => command.args(["serve", "--bind", "127.0.0.1", "--port", &port_text, "--log-level", "warn"]),
            // valkey-server takes redis-server's flags.
            Kind::Redis | Kind::Valkey => {
                command.args(["--bind", "127.0.0.1", "--port", &port_text, "--save", "", "--appendonly", "no", "--loglevel", "warning"])
            }
        };
        command.args(extra).stdout(Stdio::null()).stderr(Stdio::null());
        let program = command.get_program().to_string_lossy().into_owned();
        let started = Instant::now();
        let child = command.spawn().with_context(|| match kind {
            Kind::Cachet => format!("could not start {}: run `cargo build --release` first", binaries.cachet.display()),
            Kind::Redis => "could not start redis-server: install Debian's redis-server".to_string(),
            Kind::Valkey => format!("could not start {program}: see README.md for how to get valkey-server"),
        })?;
        let mut server = Server { kind, port, bench_port: port, child, startup: Duration::ZERO };
        server.startup = server.wait_for_pong(started)?;
        Ok(server)
    }

    fn wait_for_pong(&mut self, started: Instant) -> Result<Duration> {
        wait_for_pong(self.kind.name(), self.port, &mut self.child, started)
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

    /// A number of INFO's memory section, e.g. `used_memory`.
    pub fn info_field(&self, name: &str) -> Result<u64> {
        let value = self.info_text(name)?;
        value.parse().with_context(|| format!("INFO's {name} is not a number: {value}"))
    }

    /// A field of INFO's memory section as text, e.g. `mem_allocator`.
    pub fn info_text(&self, name: &str) -> Result<String> {
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
        let value = text.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).with_context(|| format!("INFO has no {name}"))?;
        Ok(value.trim().to_string())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
