//! The network side of `cachet serve`: listeners for TCP (plain and TLS), Unix sockets and UDP, the event loop
//! that serves every stream connection, and the timer that runs the engine's background work.
//!
//! Everything runs on one thread. The engine call for a read is a few hundred nanoseconds; handing
//! requests to another thread would cost more than that, so the loop calls the engine directly.

mod event_loop;
mod in_process;
mod supervisor;
mod timer;
pub(crate) mod tls;
mod udp;

pub use in_process::InProcess;
pub use supervisor::Supervisor;
pub use tls::{ClientAuth, TlsOptions, TlsState};
pub use udp::MAX_DATAGRAM;

use crate::runtime::{Peer, PeerKind, Runtime};
use anyhow::{Context, Result, bail};
use std::cell::RefCell;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, UdpSocket, UnixListener};
use tokio::sync::watch;

/// Where to listen and how the engine is configured.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Addresses to listen on for TCP (and UDP, when enabled).
    pub bind: Vec<String>,
    /// TCP port; 0 disables TCP, as in Redis.
    pub port: u16,
    pub unix_socket: Option<PathBuf>,
    /// Permissions of the Unix socket file, e.g. 0o700.
    pub unix_socket_perm: Option<u32>,
    /// UDP port; `None` disables UDP.
    pub udp_port: Option<u16>,
    /// How long a UDP sender's session lives without datagrams.
    pub udp_idle_timeout: Duration,
    /// `tcp-keepalive`, in seconds (0 disables).
    pub tcp_keepalive: u64,
    /// The TLS listener (port 0: none).
    pub tls: TlsOptions,
    /// Settings for the engine, as CONFIG SET names them.
    pub engine_settings: Vec<(String, String)>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            bind: vec!["127.0.0.1".into()],
            port: 6379,
            unix_socket: None,
            unix_socket_perm: None,
            udp_port: None,
            udp_idle_timeout: Duration::from_secs(300),
            tcp_keepalive: 300,
            tls: TlsOptions::default(),
            engine_settings: Vec::new(),
        }
    }
}

/// What every task of the server shares.
#[derive(Clone)]
struct Shared {
    supervisor: Rc<RefCell<Supervisor>>,
    tcp_keepalive: u64,
}

/// Where listeners hand new connections to the event loop.
type Arrivals = tokio::sync::mpsc::UnboundedSender<event_loop::Arrival>;

type Shutdown = watch::Receiver<bool>;

/// A server with its sockets bound, ready to run.
pub struct Server {
    runtime: Arc<Runtime>,
    options: ServerOptions,
    tcp: Vec<TcpListener>,
    /// TLS listeners, and the settings and acceptor that end TLS on their connections.
    tls: Vec<TcpListener>,
    tls_state: Arc<TlsState>,
    unix: Option<(UnixListener, PathBuf)>,
    udp: Vec<UdpSocket>,
}

impl Server {
    /// Binds every listener the options ask for. Fails with a message naming the address when one
    /// cannot be bound, before anything is served.
    pub async fn bind(runtime: Arc<Runtime>, options: ServerOptions) -> Result<Server> {
        let mut tcp = Vec::new();
        let mut tls = Vec::new();
        let mut udp = Vec::new();
        let tls_state = TlsState::new(options.tls.clone())?;
        for host in &options.bind {
            if options.port != 0 {
                let addr = socket_addr(host, options.port)?;
                tcp.push(TcpListener::bind(addr).await.with_context(|| listen_hint("TCP", &addr.to_string()))?);
            }
            if options.tls.port != 0 {
                let addr = socket_addr(host, options.tls.port)?;
                tls.push(TcpListener::bind(addr).await.with_context(|| listen_hint("TLS", &addr.to_string()))?);
            }
            if let Some(port) = options.udp_port {
                let addr = socket_addr(host, port)?;
                udp.push(UdpSocket::bind(addr).await.with_context(|| listen_hint("UDP", &addr.to_string()))?);
            }
        }
        let unix = match &options.unix_socket {
            Some(path) => Some((bind_unix(path, options.unix_socket_perm)?, path.clone())),
            None => None,
        };
        if tcp.is_empty() && tls.is_empty() && unix.is_none() && udp.is_empty() {
            bail!("nothing to listen on: give a TCP or TLS port, a Unix socket path or a UDP port");
        }
        Ok(Server { runtime, options, tcp, tls, tls_state, unix, udp })
    }

    /// The TCP addresses actually bound.
    pub fn tcp_addrs(&self) -> Vec<SocketAddr> {
        self.tcp.iter().filter_map(|l| l.local_addr().ok()).collect()
    }

    /// The TLS addresses actually bound.
    pub fn tls_addrs(&self) -> Vec<SocketAddr> {
        self.tls.iter().filter_map(|l| l.local_addr().ok()).collect()
    }

    pub fn udp_addrs(&self) -> Vec<SocketAddr> {
        self.udp.iter().filter_map(|s| s.local_addr().ok()).collect()
    }

    /// Serves until `stop` completes, then stops accepting, lets every connection finish what it
    /// has read, and returns. Must be called from a current-thread tokio runtime.
    pub async fn run(self, stop: impl Future<Output = ()>) -> Result<()> {
        let mut settings = self.options.engine_settings.clone();
        settings.extend(self.facts());
        let mut supervisor = Supervisor::new(self.runtime.clone(), settings)?;
        supervisor.set_host_settings(self.tls_state.clone());
        let shared = Shared { supervisor: Rc::new(RefCell::new(supervisor)), tcp_keepalive: self.options.tcp_keepalive };
        let (stop_tx, stop_rx) = watch::channel(false);
        let local = tokio::task::LocalSet::new();
        let served = local
            .run_until(async {
                let mut tasks = Vec::new();
                let (arrivals, arrived) = tokio::sync::mpsc::unbounded_channel();
                let event_loop = tokio::task::spawn_local(event_loop::run(shared.clone(), arrived, stop_rx.clone()));
                for listener in self.tcp {
                    tasks.push(tokio::task::spawn_local(accept_tcp(shared.clone(), listener, None, arrivals.clone(), stop_rx.clone())));
                }
                for listener in self.tls {
                    let tls = Some(self.tls_state.clone());
                    tasks.push(tokio::task::spawn_local(accept_tcp(shared.clone(), listener, tls, arrivals.clone(), stop_rx.clone())));
                }
                if let Some((listener, path)) = self.unix {
                    tasks.push(tokio::task::spawn_local(accept_unix(listener, path, arrivals.clone(), stop_rx.clone())));
                }
                drop(arrivals);
                for socket in self.udp {
                    let idle = self.options.udp_idle_timeout;
                    tasks.push(tokio::task::spawn_local(udp::serve(shared.clone(), socket, idle, stop_rx.clone())));
                }
                tasks.push(tokio::task::spawn_local(run_timer(shared.clone(), self.runtime.clone(), stop_rx.clone())));
                // The event loop ends early only when the engine has failed for good.
                tokio::pin!(event_loop);
                let served = tokio::select! {
                    _ = stop => None,
                    ended = &mut event_loop => Some(ended),
                };
                tracing::info!("shutting down: no new connections; finishing what clients sent");
                let _ = stop_tx.send(true);
                for task in tasks {
                    let _ = task.await;
                }
                let served = match served {
                    Some(ended) => ended,
                    None => event_loop.await,
                };
                served.unwrap_or_else(|panic| Err(anyhow::anyhow!("the event loop stopped: {panic}")))
            })
            .await;
        // The event loop wrote what it could and closed every connection before it ended.
        tokio::time::timeout(Duration::from_secs(5), local).await.ok();
        if let Some(path) = &self.options.unix_socket {
            let _ = std::fs::remove_file(path);
        }
        tracing::info!("cachet stopped");
        served
    }

    /// Facts about this process that INFO and CONFIG GET report.
    fn facts(&self) -> Vec<(String, String)> {
        let mut facts = vec![
            ("port".to_string(), self.options.port.to_string()),
            ("bind".to_string(), self.options.bind.join(" ")),
            ("process-id".to_string(), std::process::id().to_string()),
            ("os".to_string(), format!("{} {}", std::env::consts::OS, std::env::consts::ARCH)),
            ("tcp-keepalive".to_string(), self.options.tcp_keepalive.to_string()),
        ];
        if let Some(first) = self.tcp.first().and_then(|l| l.local_addr().ok()) {
            facts[0].1 = first.port().to_string();
        }
        let mut tls = self.options.tls.facts();
        if let Some(first) = self.tls.first().and_then(|l| l.local_addr().ok()) {
            tls[0].1 = first.port().to_string();
        }
        facts.extend(tls);
        if let Ok(exe) = std::env::current_exe() {
            facts.push(("executable".into(), exe.display().to_string()));
        }
        if let Ok(dir) = std::env::current_dir() {
            facts.push(("dir".into(), dir.display().to_string()));
        }
        if let Some(path) = &self.options.unix_socket {
            facts.push(("unixsocket".into(), path.display().to_string()));
            facts.push(("unixsocketperm".into(), format!("{:o}", self.options.unix_socket_perm.unwrap_or(0))));
        }
        if let Some(port) = self.options.udp_port {
            let bound = self.udp.first().and_then(|s| s.local_addr().ok()).map_or(port, |a| a.port());
            facts.push(("udp-port".into(), bound.to_string()));
        }
        facts
    }
}

fn socket_addr(host: &str, port: u16) -> Result<SocketAddr> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip: std::net::IpAddr = host.parse().with_context(|| format!("'{host}' is not an IP address to bind to"))?;
    Ok(SocketAddr::new(ip, port))
}

fn listen_hint(kind: &str, addr: &str) -> String {
    format!("could not listen on {kind} {addr}: is another server using it? Choose another with --port/--bind")
}

fn bind_unix(path: &std::path::Path, perm: Option<u32>) -> Result<UnixListener> {
    // A socket file left by a server that did not stop cleanly would make bind fail; remove it,
    // but only if it is a socket.
    use std::os::unix::fs::FileTypeExt;
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && meta.file_type().is_socket()
    {
        let _ = std::fs::remove_file(path);
    }
    let listener = UnixListener::bind(path)
        .with_context(|| format!("could not listen on Unix socket {}", path.display()))?;
    if let Some(mode) = perm {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("could not set permissions {mode:o} on {}", path.display()))?;
    }
    Ok(listener)
}

/// Accepts TCP connections and hands them to the event loop; with TLS, once each has finished its
/// handshake (in a task of its own, bounded by [`tls::HANDSHAKE_TIMEOUT`], so a slow or silent
/// client holds up nobody else) with the TLS configuration of the moment it was accepted.
async fn accept_tcp(shared: Shared, listener: TcpListener, tls: Option<Arc<TlsState>>, arrivals: Arrivals, mut stop: Shutdown) {
    let local = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => break,
        };
        let (stream, addr) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                // Out of file descriptors and the like: wait a little instead of spinning.
                tracing::warn!("accepting a TCP connection failed: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        set_keepalive(&stream, shared.tcp_keepalive);
        let peer = Peer { kind: PeerKind::Tcp, address: addr.to_string(), local_address: local.clone() };
        match tls.as_ref().and_then(|tls| tls.acceptor()) {
            None => {
                if arrivals.send((Box::new(stream), peer)).is_err() {
                    break;
                }
            }
            Some(acceptor) => {
                tokio::task::spawn_local(handshake(acceptor, stream, peer, arrivals.clone()));
            }
        }
    }
}

async fn handshake(acceptor: tokio_rustls::TlsAcceptor, stream: tokio::net::TcpStream, peer: Peer, arrivals: Arrivals) {
    match tokio::time::timeout(tls::HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => {
            let _ = arrivals.send((Box::new(stream), peer));
        }
        Ok(Err(error)) => tracing::debug!("TLS handshake with {} failed: {error}", peer.address),
        Err(_) => tracing::debug!("TLS handshake with {} not done in {:?}: closed", peer.address, tls::HANDSHAKE_TIMEOUT),
    }
}

fn set_keepalive(stream: &tokio::net::TcpStream, seconds: u64) {
    if seconds == 0 {
        return;
    }
    let keepalive = socket2::TcpKeepalive::new().with_time(Duration::from_secs(seconds));
    let _ = socket2::SockRef::from(stream).set_tcp_keepalive(&keepalive);
}

async fn accept_unix(listener: UnixListener, path: PathBuf, arrivals: Arrivals, mut stop: Shutdown) {
    let local = path.display().to_string();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => break,
        };
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let peer = Peer { kind: PeerKind::Unix, address: local.clone(), local_address: local.clone() };
        if arrivals.send((Box::new(stream), peer)).is_err() {
            break;
        }
    }
}

/// Runs the engine's background work when its deadline comes, until the server stops.
async fn run_timer(shared: Shared, runtime: Arc<Runtime>, mut stop: Shutdown) {
    let moved = shared.supervisor.borrow().deadline_moved.clone();
    let deadline = || Some(shared.supervisor.borrow().deadline());
    let tick = || {
        shared.supervisor.borrow_mut().tick();
    };
    tokio::select! {
        _ = timer::run(runtime.clock(), moved, deadline, tick) => {}
        _ = stop.changed() => {}
    }
}
