//! Replies as Rust values, and the errors and time-to-live type of the client API.

use crate::runtime::{CacheError, CacheErrorKind, Node};
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
    /// Rebuilds the tree from the pre-order node list the component returns. Counts that claim
    /// more elements than there are nodes are cut short rather than trusted.
    pub fn from_nodes(nodes: Vec<Node>) -> Value {
        let mut nodes = nodes.into_iter();
        build(&mut nodes).unwrap_or(Value::Nil)
    }

    /// The bytes of a bulk, status or verbatim string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bulk(b) | Value::Verbatim { text: b, .. } => Some(b),
            Value::Status(s) => Some(s.as_bytes()),
            _ => None,
        }
    }
}

fn build(nodes: &mut std::vec::IntoIter<Node>) -> Option<Value> {
    Some(match nodes.next()? {
        Node::Nil => Value::Nil,
        Node::Simple(s) => Value::Status(s),
        Node::Error(s) => Value::Error(s),
        Node::Integer(n) => Value::Int(n),
        Node::Bulk(b) => Value::Bulk(Bytes::from(b)),
        Node::Double(d) => Value::Double(d),
        Node::Boolean(b) => Value::Bool(b),
        Node::BigNumber(s) => Value::BigNumber(s),
        Node::Verbatim((format, text)) => Value::Verbatim { format, text: Bytes::from(text) },
        Node::Array(n) => Value::Array(elements(nodes, n)),
        Node::Set(n) => Value::Set(elements(nodes, n)),
        Node::Push(n) => Value::Push(elements(nodes, n)),
        Node::Map(n) => {
            let mut pairs = Vec::with_capacity((n as usize).min(nodes.len() / 2));
            for _ in 0..n {
                let (Some(k), Some(v)) = (build(nodes), build(nodes)) else { break };
                pairs.push((k, v));
            }
            Value::Map(pairs)
        }
    })
}

fn elements(nodes: &mut std::vec::IntoIter<Node>, n: u32) -> Vec<Value> {
    let mut items = Vec::with_capacity((n as usize).min(nodes.len()));
    for _ in 0..n {
        match build(nodes) {
            Some(v) => items.push(v),
            None => break,
        }
    }
    items
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

impl From<CacheError> for Error {
    fn from(e: CacheError) -> Self {
        let kind = match e.kind {
            CacheErrorKind::Connection => ErrorKind::Connection,
            CacheErrorKind::Timeout => ErrorKind::Timeout,
            CacheErrorKind::Exhausted => ErrorKind::Exhausted,
            CacheErrorKind::Server => ErrorKind::Server,
            CacheErrorKind::NotFound => ErrorKind::NotFound,
            CacheErrorKind::Protocol => ErrorKind::Protocol,
            CacheErrorKind::Invalid => ErrorKind::Invalid,
        };
        Error::new(kind, e.message)
    }
}
