//! The host's streams as the cache client sees them: a pool that lends streams to one server, and the
//! failures they report. The component's bindings implement these traits on the WIT `streams`
//! resources; the tests implement them in memory.

use crate::request::{Error, ErrorKind};

/// The kinds of failure a stream reports (the WIT `streams.error-kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StreamErrorKind {
    Timeout,
    Closed,
    Connect,
    Exhausted,
    Incomplete,
    LimitOverrun,
    Unsupported,
    Io,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StreamError {
    pub kind: StreamErrorKind,
    pub message: String,
}

impl StreamError {
    pub fn new(kind: StreamErrorKind, message: impl Into<String>) -> Self {
        StreamError { kind, message: message.into() }
    }
}

/// Where an exchange failed (the WIT `streams.exchange-error`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ExchangeError {
    /// While sending: the peer may have taken some, all or none of the bytes.
    Sending(StreamError),
    /// While reading, after every byte was sent.
    Reading(StreamError),
}

/// What a stream's failure means to the caller of a request.
impl From<StreamError> for Error {
    fn from(e: StreamError) -> Self {
        let kind = match e.kind {
            StreamErrorKind::Timeout => ErrorKind::Timeout,
            StreamErrorKind::Exhausted => ErrorKind::Exhausted,
            StreamErrorKind::Unsupported => ErrorKind::Invalid,
            _ => ErrorKind::Connection,
        };
        Error::new(kind, e.message)
    }
}

/// A connection from the host's pool.
pub(crate) trait Stream {
    /// Up to `max` bytes: what the host holds, else what the next read brings.
    fn read(&self, max: u32) -> Result<Vec<u8>, StreamError>;
    /// Exactly `n` bytes.
    fn read_exact(&self, n: u32) -> Result<Vec<u8>, StreamError>;
    /// The bytes up to and including `separator`, reading at most `limit`.
    fn read_until(&self, separator: &[u8], limit: u32) -> Result<Vec<u8>, StreamError>;
    fn write(&self, data: &[u8]) -> Result<(), StreamError>;
    fn drain(&self) -> Result<(), StreamError>;
    /// Sends `data` after anything queued, then reads as `read` does. The host's streams do this
    /// in one call, which is what a batch's round trip costs the most in.
    fn exchange(&self, data: &[u8], max: u32) -> Result<Vec<u8>, ExchangeError>;
    /// Not yet set up (never released to the pool).
    fn fresh(&self) -> bool;
}

/// The host's pool of connections to one server.
pub(crate) trait Pool {
    type Stream: Stream;
    fn acquire(&self) -> Result<Self::Stream, StreamError>;
    /// A newly opened stream, never an idle one (for retries: idle streams may be broken too).
    fn acquire_new(&self) -> Result<Self::Stream, StreamError>;
    fn release(&self, stream: Self::Stream);
    fn discard(&self, stream: Self::Stream);
}
