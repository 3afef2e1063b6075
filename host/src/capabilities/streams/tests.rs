//! The `streams` functions as the component calls them, on a stream lent from a pool to a real
//! TCP peer on loopback that the test drives byte by byte.

use super::wit::{ErrorKind, ExchangeError, HostPool, HostStream, StreamError};
use super::{Connection, Endpoint, Pool, PoolOptions, PooledStream};
use crate::capabilities::{Clock, HostState};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wasmtime::component::Resource;

/// A stream lent to the component's side, and the peer at its other end.
struct Lent {
    state: HostState,
    stream: u32,
    peer: TcpStream,
}

impl Lent {
    async fn new() -> Lent {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let port = listener.local_addr().expect("its address").port();
        let options = PoolOptions { stream_timeout: Duration::from_secs(10), ..PoolOptions::default() };
        let mut state = HostState::new(Clock::new(), None);
        let pool = state.lend_pool(Pool::new(Endpoint::Tcp { host: "127.0.0.1".into(), port }, options)).expect("the pool is lent");
        let stream = HostPool::acquire(&mut state, pool, None).await.expect("no trap").expect("a stream");
        let (peer, _) = listener.accept().await.expect("the pool connected");
        Lent { state, stream: stream.rep(), peer }
    }

    async fn peer_sends(&mut self, bytes: &[u8]) {
        self.peer.write_all(bytes).await.expect("the peer writes");
    }

    async fn peer_closes(&mut self) {
        self.peer.shutdown().await.expect("the peer closes");
    }

    async fn read(&mut self, max: u32) -> Result<Vec<u8>, StreamError> {
        HostStream::read(&mut self.state, borrowed(self.stream), max).await.expect("no trap")
    }

    async fn read_exact(&mut self, n: u32) -> Result<Vec<u8>, StreamError> {
        HostStream::read_exact(&mut self.state, borrowed(self.stream), n).await.expect("no trap")
    }

    async fn read_until(&mut self, separator: &[u8], limit: u32) -> Result<Vec<u8>, StreamError> {
        HostStream::read_until(&mut self.state, borrowed(self.stream), separator.to_vec(), limit).await.expect("no trap")
    }

    async fn exchange(&mut self, data: &[u8], max: u32) -> Result<Vec<u8>, ExchangeError> {
        HostStream::exchange(&mut self.state, borrowed(self.stream), data.to_vec(), max).await.expect("no trap")
    }

    /// Exactly `n` bytes the stream sent.
    async fn peer_receives(&mut self, n: usize) -> Vec<u8> {
        let mut received = vec![0; n];
        self.peer.read_exact(&mut received).await.expect("the peer reads");
        received
    }
}

/// A handle to the lent stream, as the component passes it to each call.
fn borrowed(stream: u32) -> Resource<PooledStream> {
    Resource::new_borrow(stream)
}

#[tokio::test]
async fn read_exact_waits_for_every_byte_and_leaves_the_rest() {
    let mut lent = Lent::new().await;
    lent.peer_sends(b"abc").await;
    lent.peer_sends(b"defgh").await;
    assert_eq!(lent.read_exact(6).await.unwrap(), b"abcdef");
    assert_eq!(lent.read_exact(2).await.unwrap(), b"gh");
}

#[tokio::test]
async fn read_exact_cut_short_returns_what_came() {
    let mut lent = Lent::new().await;
    lent.peer_sends(b"abc").await;
    lent.peer_closes().await;
    let error = lent.read_exact(10).await.unwrap_err();
    assert_eq!((error.kind, error.message.as_str(), error.partial.as_slice()), (ErrorKind::Incomplete, "the stream ended after 3 of 10 bytes", &b"abc"[..]));
}

#[tokio::test]
async fn read_until_returns_each_line_with_its_separator() {
    let mut lent = Lent::new().await;
    lent.peer_sends(b"+PO").await;
    lent.peer_sends(b"NG\r").await;
    lent.peer_sends(b"\n:12\r\n$3").await;
    assert_eq!(lent.read_until(b"\r\n", 64).await.unwrap(), b"+PONG\r\n");
    assert_eq!(lent.read_until(b"\r\n", 64).await.unwrap(), b":12\r\n");
    lent.peer_sends(b"\r\nabc\r\n").await;
    assert_eq!(lent.read_until(b"\r\n", 64).await.unwrap(), b"$3\r\n");
    assert_eq!(lent.read_exact(5).await.unwrap(), b"abc\r\n", "a bulk body after its length line");
}

#[tokio::test]
async fn read_until_stops_at_its_limit() {
    let mut lent = Lent::new().await;
    lent.peer_sends(b"abcdefgh").await;
    let error = lent.read_until(b"\r\n", 4).await.unwrap_err();
    assert_eq!((error.kind, error.message.as_str(), error.partial.as_slice()), (ErrorKind::LimitOverrun, "no separator within 4 bytes", &b"abcd"[..]));
    assert_eq!(lent.read_exact(4).await.unwrap(), b"efgh", "the bytes past the limit are still there");
}

#[tokio::test]
async fn read_until_returns_what_came_when_the_peer_closes() {
    let mut lent = Lent::new().await;
    lent.peer_sends(b"abc").await;
    lent.peer_closes().await;
    let error = lent.read_until(b"\r\n", 64).await.unwrap_err();
    assert_eq!((error.kind, error.partial.as_slice()), (ErrorKind::Closed, &b"abc"[..]));
    assert!(error.message.ends_with("closed the connection"), "{}", error.message);
}

#[tokio::test]
async fn read_until_refuses_an_empty_separator() {
    let mut lent = Lent::new().await;
    let error = lent.read_until(b"", 64).await.unwrap_err();
    assert_eq!((error.kind, error.message.as_str()), (ErrorKind::Io, "read-until needs a non-empty separator"));
}

/// What was queued goes first, then the exchange's own bytes; the read returns what the peer
/// sent, up to `max`, and leaves the rest for the next read.
#[tokio::test]
async fn exchange_sends_everything_then_reads() {
    let mut lent = Lent::new().await;
    HostStream::write(&mut lent.state, borrowed(lent.stream), b"*1\r\n$4\r\nPING\r\n".to_vec()).await.expect("no trap").expect("queued");
    lent.peer_sends(b"+PONG\r\n+PONG\r\n").await;
    assert_eq!(lent.exchange(b"*1\r\n$4\r\nPING\r\n", 7).await.unwrap(), b"+PONG\r\n");
    assert_eq!(lent.peer_receives(28).await, b"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n");
    assert_eq!(lent.read(64).await.unwrap(), b"+PONG\r\n");
}

/// The two halves fail apart: a stream that cannot send says so, one that sent says the reading
/// failed.
#[tokio::test]
async fn exchange_says_which_half_failed() {
    let mut lent = Lent::new().await;
    lent.peer_closes().await;
    let Err(ExchangeError::Reading(error)) = lent.exchange(b"PING\r\n", 64).await else { panic!("the send reaches the socket; the read finds it closed") };
    assert_eq!(error.kind, ErrorKind::Closed, "{}", error.message);
    assert_eq!(lent.peer_receives(6).await, b"PING\r\n");

    HostStream::close(&mut lent.state, borrowed(lent.stream)).expect("no trap");
    let Err(ExchangeError::Sending(error)) = lent.exchange(b"PING\r\n", 64).await else { panic!("a closed stream cannot send") };
    assert_eq!(error.kind, ErrorKind::Closed, "{}", error.message);
}

#[tokio::test]
async fn close_ends_the_connection_for_both_sides() {
    let mut lent = Lent::new().await;
    HostStream::close(&mut lent.state, borrowed(lent.stream)).expect("no trap");
    let mut rest = Vec::new();
    lent.peer.read_to_end(&mut rest).await.expect("the peer reads to the end");
    assert!(rest.is_empty(), "the peer sees the connection end");
    let error = lent.read(16).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::Closed, "{}", error.message);
    HostStream::drop(&mut lent.state, Resource::new_own(lent.stream)).expect("the handle is dropped");
}

/// A retry's stream: a new connection even when a released one is idle, which stays idle.
#[tokio::test]
async fn acquire_new_opens_a_connection_even_with_one_idle() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let port = listener.local_addr().expect("its address").port();
    let pool = Pool::new(Endpoint::Tcp { host: "127.0.0.1".into(), port }, PoolOptions::default());
    pool.acquire(None).await.expect("a stream").release();
    let (_first, _) = listener.accept().await.expect("the pool connected");
    let _retry = pool.acquire_new(None).await.expect("a new stream");
    let (_second, _) = listener.accept().await.expect("the pool connected again");
    assert_eq!((pool.stats().created, pool.stats().idle), (2, 1));
}

/// A connection just released, to a peer at the other end of a loopback listener.
async fn released_connection() -> (Connection, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let port = listener.local_addr().expect("its address").port();
    let endpoint = Endpoint::Tcp { host: "127.0.0.1".into(), port };
    let mut connection = Connection::connect(&endpoint, &PoolOptions::default(), None).await.expect("connected");
    let (peer, _) = listener.accept().await.expect("accepted");
    connection.idle_since = Instant::now();
    (connection, peer)
}

/// In steady use a connection's check asks the event loop, not the socket: nothing arrived, so
/// it works; once the loop has seen the server's close, it is broken.
#[tokio::test]
async fn a_connection_just_released_is_checked_through_the_event_loop() {
    let (mut connection, peer) = released_connection().await;
    assert!(!connection.is_broken(), "nothing arrived");
    drop(peer);
    connection.seen_readable().await;
    assert!(connection.is_broken(), "the server closed it");
}

/// Bytes the server sent unasked leave a connection out of step, seen the same way.
#[tokio::test]
async fn a_connection_just_released_with_unasked_bytes_is_broken() {
    let (mut connection, mut peer) = released_connection().await;
    peer.write_all(b"-ERR closing\r\n").await.expect("the peer writes");
    connection.seen_readable().await;
    assert!(connection.is_broken(), "the server sent something unasked");
}

/// A connection idle for longer is asked of the socket itself: the server's close is found
/// although this runtime's event loop has not run since (no await in between).
#[tokio::test]
async fn a_connection_idle_for_a_while_is_checked_on_the_socket() {
    let (mut connection, peer) = released_connection().await;
    connection.idle_since = Instant::now() - Duration::from_secs(1);
    assert!(!connection.is_broken(), "nothing arrived");
    drop(peer);
    assert!(connection.is_broken(), "the server closed it");
}
