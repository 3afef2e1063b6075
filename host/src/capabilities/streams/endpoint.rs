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

/// A server inside this process: a connection to it is calls into its engine, not a socket.
pub trait InProcessServer: Send + Sync {
    /// The name it goes by in `mem://name`.
    fn name(&self) -> &str;
    /// A new connection to it.
    fn connect(self: Arc<Self>) -> io::Result<Box<dyn InProcessLink>>;
}

/// One connection to an in-process server.
pub trait InProcessLink: Send + Sync {
    /// Runs `data` as the connection's input, at once; what the server answers can then be taken
    /// with [`InProcessLink::receive`].
    fn send(&self, data: &[u8]) -> io::Result<()>;
    /// Moves the output waiting for the connection to the end of `into` and says how many bytes it
    /// moved. Fails with `UnexpectedEof` once the server has closed the connection and nothing is
    /// left to take.
    fn receive(&self, into: &mut bytes::BytesMut) -> io::Result<usize>;
    /// Completes when output may have arrived for the connection, or it was closed.
    fn arrival(&self) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>>;
    /// Closes the connection.
    fn close(&self);
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
