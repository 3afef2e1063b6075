//! One connection to a server, with the reads and writes the `streams` capability offers: read up
//! to n bytes, exactly n, or up to a separator within a limit; buffered writes and a drain; and an
//! exchange, which sends and then reads.
//! Every wait is bounded by the stream timeout.

use super::endpoint::{Endpoint, InProcessLink};
use super::tls;
use bytes::BytesMut;
use cachet_url::PoolOptions;
use std::io;
use std::pin::Pin;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, Interest, ReadBuf};
use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// A stream's failures are the WIT `stream-error` itself: the component receives them as they are.
pub use crate::capabilities::bindings::cachet::engine::streams::{ErrorKind as StreamErrorKind, ExchangeError, StreamError};

impl StreamError {
    pub fn new(kind: StreamErrorKind, message: impl Into<String>) -> Self {
        StreamError { kind, message: message.into(), partial: Vec::new() }
    }
}

enum Io {
    Tcp(TcpStream),
    /// `rediss://`: TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
    Unix(UnixStream),
    /// A server in this process: writes are calls into its engine.
    InProcess(Box<dyn InProcessLink>),
}

/// How long after its release an idle connection's check trusts the event loop's view of it.
const RECENTLY_IDLE: Duration = Duration::from_millis(1);

/// A connection and its buffers.
pub struct Connection {
    io: Io,
    read_buffer: BytesMut,
    write_buffer: Vec<u8>,
    buffer_size: usize,
    timeout: Duration,
    endpoint: String,
    /// Never released to the pool yet: its session is not set up.
    pub(super) fresh: bool,
    pub(super) idle_since: Instant,
}

impl Connection {
    /// Connects once, TLS handshake included, within `connect_timeout`. `tls` is the pool's
    /// connector when its endpoint is a TLS one.
    pub async fn connect(endpoint: &Endpoint, options: &PoolOptions, tls: Option<&TlsConnector>) -> Result<Connection, StreamError> {
        let (connect_timeout, timeout, buffer_size) = (options.connect_timeout, options.stream_timeout, options.buffer_size);
        let connecting = async {
            let failed = |error: io::Error| StreamError::new(StreamErrorKind::Connect, format!("could not connect to {endpoint}: {error}"));
            match (endpoint, tls) {
                (Endpoint::Tcp { host, port }, tls) => {
                    let stream = TcpStream::connect((host.as_str(), *port)).await.map_err(failed)?;
                    stream.set_nodelay(true).map_err(failed)?;
                    let Some(connector) = tls else { return Ok(Io::Tcp(stream)) };
                    let name = tls::server_name(host)?;
                    let stream = connector.connect(name, stream).await.map_err(|e| tls::handshake_failed(&endpoint.to_string(), &e))?;
                    Ok(Io::Tls(Box::new(stream)))
                }
                (_, Some(_)) => Err(StreamError::new(StreamErrorKind::Unsupported, format!("TLS needs a TCP endpoint, not {endpoint}"))),
                (Endpoint::Unix(path), None) => Ok(Io::Unix(UnixStream::connect(path).await.map_err(failed)?)),
                (Endpoint::Memory(server), None) => Ok(Io::InProcess(server.clone().connect().map_err(failed)?)),
            }
        };
        let io = match tokio::time::timeout(connect_timeout, connecting).await {
            Ok(Ok(io)) => io,
            Ok(Err(error)) => return Err(error),
            Err(_) => {
                let message = match tls {
                    Some(_) => format!(
                        "could not connect to {endpoint} and finish the TLS handshake within {connect_timeout:?} (connect_timeout); \
                         a port without TLS never answers the handshake"
                    ),
                    None => format!("could not connect to {endpoint} within {connect_timeout:?} (connect_timeout)"),
                };
                return Err(StreamError::new(StreamErrorKind::Timeout, message));
            }
        };
        Ok(Connection {
            io,
            read_buffer: BytesMut::with_capacity(buffer_size),
            write_buffer: Vec::new(),
            buffer_size,
            timeout,
            endpoint: endpoint.to_string(),
            fresh: true,
            idle_since: Instant::now(),
        })
    }

    /// Up to `max` bytes: what is buffered, else what one read brings.
    pub async fn read(&mut self, max: usize) -> Result<Vec<u8>, StreamError> {
        if self.read_buffer.is_empty() {
            self.fill().await.map_err(|e| self.lost(e))?;
        }
        let n = max.min(self.read_buffer.len());
        Ok(self.read_buffer.split_to(n).to_vec())
    }

    /// Exactly `n` bytes; when the stream ends first, an `Incomplete` error carries what came.
    pub async fn read_exact(&mut self, n: usize) -> Result<Vec<u8>, StreamError> {
        while self.read_buffer.len() < n {
            if let Err(error) = self.fill().await {
                let mut error = self.lost(error);
                if error.kind == StreamErrorKind::Closed {
                    error.kind = StreamErrorKind::Incomplete;
                    error.message = format!("the stream ended after {} of {n} bytes", self.read_buffer.len());
                }
                error.partial = self.read_buffer.split().to_vec();
                return Err(error);
            }
        }
        Ok(self.read_buffer.split_to(n).to_vec())
    }

    /// The bytes up to and including `separator`, reading at most `limit` bytes for them.
    pub async fn read_until(&mut self, separator: &[u8], limit: usize) -> Result<Vec<u8>, StreamError> {
        if separator.is_empty() {
            return Err(StreamError::new(StreamErrorKind::Io, "read-until needs a non-empty separator"));
        }
        let mut searched = 0;
        loop {
            let window = &self.read_buffer[..self.read_buffer.len().min(limit)];
            if let Some(at) = window[searched..].windows(separator.len()).position(|w| w == separator) {
                return Ok(self.read_buffer.split_to(searched + at + separator.len()).to_vec());
            }
            if self.read_buffer.len() >= limit {
                let mut error = StreamError::new(StreamErrorKind::LimitOverrun, format!("no separator within {limit} bytes"));
                error.partial = self.read_buffer.split_to(limit).to_vec();
                return Err(error);
            }
            searched = self.read_buffer.len().saturating_sub(separator.len() - 1);
            if let Err(error) = self.fill().await {
                let mut error = self.lost(error);
                error.partial = self.read_buffer.split().to_vec();
                return Err(error);
            }
        }
    }

    /// Queues bytes; once the queue holds a buffer's worth they are sent.
    pub async fn write(&mut self, data: &[u8]) -> Result<(), StreamError> {
        self.write_buffer.extend_from_slice(data);
        if self.write_buffer.len() >= self.buffer_size {
            self.drain().await?;
        }
        Ok(())
    }

    /// Sends everything queued, waiting (up to the stream timeout) while the peer is slow.
    pub async fn drain(&mut self) -> Result<(), StreamError> {
        if self.write_buffer.is_empty() {
            return Ok(());
        }
        let sending = async {
            match &mut self.io {
                Io::Tcp(s) => s.write_all(&self.write_buffer).await,
                Io::Tls(s) => {
                    s.write_all(&self.write_buffer).await?;
                    s.flush().await
                }
                Io::Unix(s) => s.write_all(&self.write_buffer).await,
                Io::InProcess(link) => link.send(&self.write_buffer),
            }
        };
        let result = tokio::time::timeout(self.timeout, sending).await;
        self.write_buffer.clear();
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(self.lost(error)),
            Err(_) => Err(self.timed_out("sending")),
        }
    }

    /// Sends `data` after whatever is queued, then reads as [`read`](Self::read) does.
    pub async fn exchange(&mut self, data: &[u8], max: usize) -> Result<Vec<u8>, ExchangeError> {
        self.write(data).await.map_err(ExchangeError::Sending)?;
        self.drain().await.map_err(ExchangeError::Sending)?;
        self.read(max).await.map_err(ExchangeError::Reading)
    }

    /// How long each later read or write may wait.
    pub(super) fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Shuts the connection down; later reads and writes fail.
    pub fn close(&mut self) {
        let _ = match &self.io {
            Io::Tcp(s) => socket2::SockRef::from(s).shutdown(std::net::Shutdown::Both),
            Io::Tls(s) => socket2::SockRef::from(s.get_ref().0).shutdown(std::net::Shutdown::Both),
            Io::Unix(s) => socket2::SockRef::from(s).shutdown(std::net::Shutdown::Both),
            Io::InProcess(link) => {
                link.close();
                Ok(())
            }
        };
    }

    /// Whether the server closed this idle connection (or sent something unasked, which leaves
    /// it out of step): checked before an idle connection is reused.
    ///
    /// A TCP or Unix connection released within [`RECENTLY_IDLE`] is asked of the runtime's event
    /// loop first: the socket is peeked at only if the loop saw it become readable since the last
    /// read, so a connection in steady use costs no system call here. One idle for longer is
    /// always peeked at, since the loop may not have run since the server closed it (a runtime
    /// busy in the caller's code).
    pub fn is_broken(&mut self) -> bool {
        if !self.read_buffer.is_empty() {
            return true;
        }
        let recently_idle = self.idle_since.elapsed() < RECENTLY_IDLE;
        let mut probe = [std::mem::MaybeUninit::<u8>::uninit(); 1];
        let mut peek = |socket: socket2::SockRef<'_>| socket.peek(&mut probe);
        let peeked = match &mut self.io {
            Io::Tcp(s) if recently_idle => s.try_io(Interest::READABLE, || peek(socket2::SockRef::from(&*s))),
            Io::Unix(s) if recently_idle => s.try_io(Interest::READABLE, || peek(socket2::SockRef::from(&*s))),
            Io::Tcp(s) => peek(socket2::SockRef::from(&*s)),
            // The socket holds TLS records the server may send unasked (session tickets): a read
            // that cannot wait takes those in and finds whether any data, or the end, came.
            Io::Tls(s) => {
                let mut byte = [0u8; 1];
                let mut probe = ReadBuf::new(&mut byte);
                return !Pin::new(s.as_mut()).poll_read(&mut Context::from_waker(Waker::noop()), &mut probe).is_pending();
            }
            Io::Unix(s) => peek(socket2::SockRef::from(&*s)),
            Io::InProcess(link) => return !matches!(link.receive(&mut BytesMut::new()), Ok(0)),
        };
        !matches!(peeked, Err(ref e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    /// Waits until the runtime's event loop has seen this TCP connection become readable.
    #[cfg(test)]
    pub(super) async fn seen_readable(&self) {
        if let Io::Tcp(s) = &self.io {
            s.readable().await.expect("the connection is registered");
        }
    }

    async fn fill(&mut self) -> io::Result<()> {
        if self.read_buffer.capacity() - self.read_buffer.len() < self.buffer_size / 4 {
            self.read_buffer.reserve(self.buffer_size);
        }
        let reading = async {
            match &mut self.io {
                Io::Tcp(s) => read_some(s, &mut self.read_buffer).await,
                Io::Tls(s) => read_some(s, &mut self.read_buffer).await,
                Io::Unix(s) => read_some(s, &mut self.read_buffer).await,
                Io::InProcess(link) => receive_some(link.as_ref(), &mut self.read_buffer).await,
            }
        };
        match tokio::time::timeout(self.timeout, reading).await {
            Ok(Ok(0)) => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed")),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "timed out")),
        }
    }

    /// Describes a failed read or write.
    fn lost(&self, error: io::Error) -> StreamError {
        match error.kind() {
            io::ErrorKind::TimedOut => self.timed_out("waiting for a reply"),
            io::ErrorKind::UnexpectedEof => StreamError::new(StreamErrorKind::Closed, format!("{} closed the connection", self.endpoint)),
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionAborted => {
                StreamError::new(StreamErrorKind::Closed, format!("the connection to {} broke: {error}", self.endpoint))
            }
            _ => StreamError::new(StreamErrorKind::Io, format!("the connection to {} failed: {error}", self.endpoint)),
        }
    }

    fn timed_out(&self, doing: &str) -> StreamError {
        StreamError::new(StreamErrorKind::Timeout, format!("{} did not answer within {:?} while {doing} (stream_timeout)", self.endpoint, self.timeout))
    }
}

async fn read_some(stream: &mut (impl AsyncRead + Unpin), buffer: &mut BytesMut) -> io::Result<usize> {
    stream.read_buf(buffer).await
}

/// Output from an in-process server: what is waiting, else the next that arrives.
async fn receive_some(link: &dyn InProcessLink, buffer: &mut BytesMut) -> io::Result<usize> {
    loop {
        let arrival = link.arrival();
        match link.receive(buffer) {
            Ok(0) => arrival.await,
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
            done => return done,
        }
    }
}
