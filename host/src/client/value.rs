//! Replies as Rust values, and the errors and time-to-live type of the client API. How the
//! component's results become them is in [`super::component`].

use bytes::Bytes;
use std::time::Duration;

/// A server's reply.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Nil,
    /// A status such as `OK`.
    Status(String),
    /// An error inside a reply (EXEC, a batch); a top-level error is an [`Error`] instead.
    Error(String),
    Int(i64),
    Bulk(Bytes),
    Double(f64),
    Bool(bool),
    BigNumber(String),
    Verbatim { format: String, text: Bytes },
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Set(Vec<Value>),
    Push(Vec<Value>),
}

impl Value {
    /// The bytes of a bulk, status or verbatim string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bulk(b) | Value::Verbatim { text: b, .. } => Some(b),
            Value::Status(s) => Some(s.as_bytes()),
            _ => None,
        }
    }
}

/// How long a stored value lives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Ttl {
    /// Five minutes ([`DEFAULT_TTL`]).
    #[default]
    Default,
    After(Duration),
    /// No expiry.
    Never,
}

/// The time to live of [`Ttl::Default`].
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

impl Ttl {
    pub(crate) fn millis(self) -> Option<u64> {
        match self {
            Ttl::Default => Some(DEFAULT_TTL.as_millis() as u64),
            Ttl::After(d) => Some((d.as_millis() as u64).max(1)),
            Ttl::Never => None,
        }
    }
}

impl From<Duration> for Ttl {
    fn from(d: Duration) -> Self {
        Ttl::After(d)
    }
}

/// Seconds.
impl From<u64> for Ttl {
    fn from(seconds: u64) -> Self {
        Ttl::After(Duration::from_secs(seconds))
    }
}

/// `None`: no expiry.
impl From<Option<Duration>> for Ttl {
    fn from(d: Option<Duration>) -> Self {
        d.map_or(Ttl::Never, Ttl::After)
    }
}

/// What kind of failure a client call met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The server could not be reached or the connection broke.
    Connection,
    /// No answer in time, or no free connection in time.
    Timeout,
    /// Every connection of a non-blocking pool is in use.
    Exhausted,
    /// The server answered with an error (`WRONGTYPE ...`, `ERR ...`).
    Server,
    /// `get_or_fail` found no value.
    NotFound,
    /// The server's reply made no sense.
    Protocol,
    /// The request or its arguments are wrong.
    Invalid,
    /// The client was closed.
    Closed,
    /// A `get_or_set_with` producer failed.
    Producer,
    /// The client component failed; the request may not have been sent.
    Engine,
    /// A transaction gave up: its watched keys kept changing.
    Aborted,
}

/// A failed client call: what kind of failure and what happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into() }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
