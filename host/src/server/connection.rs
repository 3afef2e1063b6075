//! One stream connection (TCP or Unix socket): read what arrived, hand it to the engine, write the
//! reply, repeat.
//!
//! Reads go into one scratch buffer shared by every connection of the thread; a connection only
//! keeps bytes of its own while a command is incomplete. So thousands of idle clients cost a task and
//! a socket each, not a buffer each.

use super::engine::FeedResult;
use super::{Shared, Shutdown};
use crate::runtime::Peer;
use std::cell::RefCell;
use std::io;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

/// The largest read at once.
const SCRATCH_SIZE: usize = 64 * 1024;

/// Buffers above this size are given back once the command they held is done.
const KEEP_BUFFER: usize = 64 * 1024;

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; SCRATCH_SIZE]);
}

/// A socket that can be polled for readability and read without blocking.
pub trait Socket: AsyncWrite + Unpin {
    fn readable(&self) -> impl Future<Output = io::Result<()>>;
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize>;
}

impl Socket for TcpStream {
    fn readable(&self) -> impl Future<Output = io::Result<()>> {
        TcpStream::readable(self)
    }
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        TcpStream::try_read(self, buf)
    }
}

impl Socket for UnixStream {
    fn readable(&self) -> impl Future<Output = io::Result<()>> {
        UnixStream::readable(self)
    }
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        UnixStream::try_read(self, buf)
    }
}

/// What one read brought.
enum Read {
    /// The engine ran what was complete; this is its answer.
    Fed(FeedResult),
    /// Nothing to do yet (no data after all, or not enough for the awaited frame).
    Wait,
    /// The peer closed its side or the socket failed.
    Gone,
}

/// Serves one connection until the peer leaves, the engine closes it, or the server shuts down.
pub async fn serve<S: Socket>(shared: Shared, mut stream: S, peer: Peer, mut shutdown: Shutdown) {
    let opened = shared.engine.borrow_mut().open(peer);
    let (id, kick) = match opened {
        Ok(registered) => registered,
        Err(refusal) => {
            let _ = stream.write_all(&refusal).await;
            return;
        }
    };
    let mut pending = Vec::new();
    let mut wanted = 0;
    loop {
        tokio::select! {
            ready = stream.readable() => if ready.is_err() { break },
            _ = kick.notified() => break,
            _ = shutdown.changed() => break,
        }
        let mut out = match read_and_feed(&shared, id, &stream, &mut pending, &mut wanted) {
            Read::Fed(out) => out,
            Read::Wait => continue,
            Read::Gone => break,
        };
        // The engine may stop early with a large reply; write it, then let it continue with the
        // input it has not consumed yet.
        let finished = loop {
            if !out.reply.is_empty() && stream.write_all(&out.reply).await.is_err() {
                break true;
            }
            if out.close {
                break true;
            }
            if !out.more {
                break false;
            }
            out = feed_pending(&shared, id, &mut pending, &mut wanted);
        };
        if finished {
            break;
        }
    }
    let _ = stream.shutdown().await;
    shared.engine.borrow_mut().close(id);
}

fn read_and_feed(shared: &Shared, id: u64, stream: &impl Socket, pending: &mut Vec<u8>, wanted: &mut usize) -> Read {
    SCRATCH.with_borrow_mut(|scratch| {
        let n = match stream.try_read(scratch) {
            Ok(0) => return Read::Gone,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Read::Wait,
            Err(_) => return Read::Gone,
        };
        let fresh = &scratch[..n];
        if !pending.is_empty() || n < *wanted {
            pending.extend_from_slice(fresh);
        }
        let data: &[u8] = if pending.is_empty() { fresh } else { pending };
        if data.len() < *wanted {
            return Read::Wait;
        }
        let out = shared.engine.borrow_mut().feed(id, data);
        *wanted = out.wanted;
        keep_unconsumed(pending, fresh, out.consumed);
        Read::Fed(out)
    })
}

/// Feeds the input kept from earlier reads, without reading.
fn feed_pending(shared: &Shared, id: u64, pending: &mut Vec<u8>, wanted: &mut usize) -> FeedResult {
    let out = shared.engine.borrow_mut().feed(id, pending);
    *wanted = out.wanted;
    keep_unconsumed(pending, &[], out.consumed);
    out
}

/// Leaves in `pending` the input the engine has not consumed yet.
fn keep_unconsumed(pending: &mut Vec<u8>, fresh: &[u8], consumed: usize) {
    if pending.is_empty() {
        pending.extend_from_slice(&fresh[consumed.min(fresh.len())..]);
    } else {
        pending.drain(..consumed.min(pending.len()));
        if pending.is_empty() && pending.capacity() > KEEP_BUFFER {
            *pending = Vec::new();
        }
    }
}
