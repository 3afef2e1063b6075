//! Where a pool's connections go.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone)]
pub enum Endpoint {
    Tcp { host: String, port: u16 },
    Unix(PathBuf),
    /// A cachet keyspace in this process (`mem://`).
    Memory(Arc<dyn InProcessServer>),
}

/// A server inside this process, reached through a socket pair rather than the network.
pub trait InProcessServer: Send + Sync {
    /// The name it goes by in `mem://name`.
    fn name(&self) -> &str;
    /// A new connection to it.
    fn connect(&self) -> io::Result<tokio::net::UnixStream>;
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Endpoint::Tcp { host, port } => write!(f, "{host}:{port}"),
            Endpoint::Unix(path) => write!(f, "{}", path.display()),
            Endpoint::Memory(server) => write!(f, "mem://{}", server.name()),
        }
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}
