//! Where the client meets the component's `cache` interface: every conversion between the WIT
//! types (`options`, `outcome`, `node`, `error`) and the client's own (`ConnectionSettings`, `Value`, `Error`)
//! is here, once.

use super::calls::{Answer, unexpected};
use super::{ConnectionSettings, Error, ErrorKind, Value};
use crate::capabilities::streams::{StreamError, StreamErrorKind};
use crate::runtime::{CacheError, CacheErrorKind, CacheOptions, Node, Outcome};
use bytes::Bytes;

impl From<&ConnectionSettings> for CacheOptions {
    fn from(settings: &ConnectionSettings) -> Self {
        CacheOptions {
            username: settings.username.clone(),
            password: settings.password.clone(),
            database: settings.database,
            client_name: settings.client_name.clone(),
            protocol: settings.protocol,
            retries: settings.retries,
            extra_set_up: settings.readonly.then(|| vec![b"READONLY".to_vec()]).into_iter().chain(settings.extra_set_up.iter().cloned()).collect(),
            no_evict: settings.no_evict,
            no_touch: settings.no_touch,
        }
    }
}

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

/// A pool that could not lend a connection.
impl From<StreamError> for Error {
    fn from(e: StreamError) -> Self {
        let kind = match e.kind {
            StreamErrorKind::Timeout => ErrorKind::Timeout,
            StreamErrorKind::Exhausted => ErrorKind::Exhausted,
            _ => ErrorKind::Connection,
        };
        Error::new(kind, e.message)
    }
}

/// A batch request's result, whatever its kind.
impl From<Outcome> for Value {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Value(v) => bulk_or_nil(v),
            Outcome::Values(values) => Value::Array(values.into_iter().map(bulk_or_nil).collect()),
            Outcome::Done => Value::Status("OK".into()),
            Outcome::Flag(f) => Value::Bool(f),
            Outcome::Integer(n) => Value::Int(n),
            Outcome::Reply(nodes) => Value::from_nodes(nodes),
        }
    }
}

fn bulk_or_nil(value: Option<Vec<u8>>) -> Value {
    value.map_or(Value::Nil, |v| Value::Bulk(Bytes::from(v)))
}

/// The results of single requests, typed by what was asked; a result of another kind means the
/// component and the client disagree.
impl Answer for Outcome {
    fn bytes(self) -> Result<Option<Bytes>, Error> {
        match self {
            Outcome::Value(v) => Ok(v.map(Bytes::from)),
            other => Err(unexpected(&other)),
        }
    }

    fn list(self) -> Result<Vec<Option<Bytes>>, Error> {
        match self {
            Outcome::Values(values) => Ok(values.into_iter().map(|v| v.map(Bytes::from)).collect()),
            other => Err(unexpected(&other)),
        }
    }

    fn flag(self) -> Result<bool, Error> {
        match self {
            Outcome::Flag(f) => Ok(f),
            other => Err(unexpected(&other)),
        }
    }

    fn integer(self) -> Result<i64, Error> {
        match self {
            Outcome::Integer(n) => Ok(n),
            other => Err(unexpected(&other)),
        }
    }
}

pub(super) fn reply(outcome: Outcome) -> Result<Value, Error> {
    match outcome {
        Outcome::Reply(nodes) => Ok(Value::from_nodes(nodes)),
        other => Err(unexpected(&other)),
    }
}

impl Value {
    /// Rebuilds the tree from the pre-order node list the component returns. Counts that claim
    /// more elements than there are nodes are cut short rather than trusted.
    pub fn from_nodes(nodes: Vec<Node>) -> Value {
        let mut nodes = nodes.into_iter();
        build(&mut nodes).unwrap_or(Value::Nil)
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

