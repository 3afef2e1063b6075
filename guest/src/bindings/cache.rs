//! The glue between the WIT `cache` and `streams` interfaces and [`crate::client`]: conversions only.

use super::Component;
use super::cachet::engine::streams as host;
use super::exports::cachet::engine::cache as wit;
use crate::client::{self, Op, Outcome};
use crate::resp::Node;

/// The host's pool, as the client logic sees pools.
struct HostPool(host::Pool);

impl client::Stream for host::Stream {
    fn read(&self, max: u32) -> Result<Vec<u8>, client::StreamError> {
        host::Stream::read(self, max).map_err(stream_error)
    }
    fn write(&self, data: &[u8]) -> Result<(), client::StreamError> {
        host::Stream::write(self, data).map_err(stream_error)
    }
    fn drain(&self) -> Result<(), client::StreamError> {
        host::Stream::drain(self).map_err(stream_error)
    }
    fn fresh(&self) -> bool {
        host::Stream::fresh(self)
    }
}

impl client::Pool for HostPool {
    type Stream = host::Stream;
    fn acquire(&self) -> Result<host::Stream, client::StreamError> {
        self.0.acquire(None).map_err(stream_error)
    }
    fn release(&self, stream: host::Stream) {
        self.0.release(stream);
    }
    fn discard(&self, stream: host::Stream) {
        self.0.discard(stream);
    }
}

fn stream_error(e: host::StreamError) -> client::StreamError {
    use client::StreamErrorKind as K;
    let kind = match e.kind {
        host::ErrorKind::Timeout => K::Timeout,
        host::ErrorKind::Closed => K::Closed,
        host::ErrorKind::Connect => K::Connect,
        host::ErrorKind::Exhausted => K::Exhausted,
        host::ErrorKind::Incomplete => K::Incomplete,
        host::ErrorKind::LimitOverrun => K::LimitOverrun,
        host::ErrorKind::Unsupported => K::Unsupported,
        host::ErrorKind::Io => K::Io,
    };
    client::StreamError { kind, message: e.message }
}

pub struct CacheResource(client::Cache<HostPool>);

impl wit::Guest for Component {
    type Cache = CacheResource;
}

type Result<T, E = wit::Error> = std::result::Result<T, E>;

impl CacheResource {
    fn run(&self, op: Op) -> Result<Outcome> {
        self.0.run(op).map_err(error)
    }
}

impl wit::GuestCache for CacheResource {
    fn new(pool: host::Pool, options: wit::Options) -> Self {
        super::install_log();
        let options = client::Options {
            username: options.username,
            password: options.password,
            database: options.database,
            client_name: options.client_name,
            protocol: options.protocol,
            retries: options.retries,
        };
        CacheResource(client::Cache::new(HostPool(pool), options))
    }

    fn get(&self, key: Vec<u8>) -> Result<Option<Vec<u8>>> {
        self.run(Op::Get(key)).and_then(value)
    }

    fn get_or_fail(&self, key: Vec<u8>) -> Result<Vec<u8>> {
        self.run(Op::GetOrFail(key)).and_then(value).map(Option::unwrap_or_default)
    }

    fn set(&self, key: Vec<u8>, value: Vec<u8>, ttl: Option<u64>) -> Result<()> {
        self.run(Op::Set(key, value, ttl)).map(drop)
    }

    fn get_or_set(&self, key: Vec<u8>, value: Vec<u8>, ttl: Option<u64>) -> Result<Vec<u8>> {
        self.run(Op::GetOrSet(key, value, ttl)).and_then(self::value).map(Option::unwrap_or_default)
    }

    fn remove(&self, keys: Vec<Vec<u8>>) -> Result<bool> {
        self.run(Op::Remove(keys)).and_then(flag)
    }

    fn update_timeout(&self, key: Vec<u8>, ttl: Option<u64>) -> Result<bool> {
        self.run(Op::UpdateTimeout(key, ttl)).and_then(flag)
    }

    fn mget(&self, keys: Vec<Vec<u8>>) -> Result<Vec<Option<Vec<u8>>>> {
        match self.run(Op::Mget(keys))? {
            Outcome::Values(values) => Ok(values),
            other => Err(unexpected(other)),
        }
    }

    fn mset(&self, pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Result<()> {
        self.run(Op::Mset(pairs)).map(drop)
    }

    fn incr(&self, key: Vec<u8>, by: i64) -> Result<i64> {
        self.run(Op::Incr(key, by)).and_then(integer)
    }

    fn exists(&self, keys: Vec<Vec<u8>>) -> Result<u64> {
        self.run(Op::Exists(keys)).and_then(integer).map(|n| n.max(0) as u64)
    }

    fn call(&self, args: Vec<Vec<u8>>) -> Result<wit::Reply> {
        match self.run(Op::Call(args))? {
            Outcome::Reply(nodes) => Ok(nodes.into_iter().map(node).collect()),
            other => Err(unexpected(other)),
        }
    }

    fn batch(&self, ops: Vec<wit::Op>) -> Vec<Result<wit::Outcome>> {
        let ops = ops.into_iter().map(op).collect();
        self.0.batch(ops).into_iter().map(|r| r.map(outcome).map_err(error)).collect()
    }
}

fn value(outcome: Outcome) -> Result<Option<Vec<u8>>> {
    match outcome {
        Outcome::Value(v) => Ok(v),
        other => Err(unexpected(other)),
    }
}

fn flag(outcome: Outcome) -> Result<bool> {
    match outcome {
        Outcome::Flag(f) => Ok(f),
        other => Err(unexpected(other)),
    }
}

fn integer(outcome: Outcome) -> Result<i64> {
    match outcome {
        Outcome::Integer(n) => Ok(n),
        other => Err(unexpected(other)),
    }
}

fn unexpected(outcome: Outcome) -> wit::Error {
    wit::Error { kind: wit::ErrorKind::Protocol, message: format!("unexpected result {outcome:?}") }
}

fn op(op: wit::Op) -> Op {
    match op {
        wit::Op::Get(key) => Op::Get(key),
        wit::Op::GetOrFail(key) => Op::GetOrFail(key),
        wit::Op::Set((key, value, ttl)) => Op::Set(key, value, ttl),
        wit::Op::GetOrSet((key, value, ttl)) => Op::GetOrSet(key, value, ttl),
        wit::Op::Remove(keys) => Op::Remove(keys),
        wit::Op::UpdateTimeout((key, ttl)) => Op::UpdateTimeout(key, ttl),
        wit::Op::Mget(keys) => Op::Mget(keys),
        wit::Op::Mset(pairs) => Op::Mset(pairs),
        wit::Op::Incr((key, by)) => Op::Incr(key, by),
        wit::Op::Exists(keys) => Op::Exists(keys),
        wit::Op::Call(args) => Op::Call(args),
    }
}

fn outcome(outcome: Outcome) -> wit::Outcome {
    match outcome {
        Outcome::Value(v) => wit::Outcome::Value(v),
        Outcome::Values(v) => wit::Outcome::Values(v),
        Outcome::Done => wit::Outcome::Done,
        Outcome::Flag(f) => wit::Outcome::Flag(f),
        Outcome::Integer(n) => wit::Outcome::Integer(n),
        Outcome::Reply(nodes) => wit::Outcome::Reply(nodes.into_iter().map(node).collect()),
    }
}

fn node(node: Node) -> wit::Node {
    match node {
        Node::Nil => wit::Node::Nil,
        Node::Simple(s) => wit::Node::Simple(s),
        Node::Error(s) => wit::Node::Error(s),
        Node::Integer(n) => wit::Node::Integer(n),
        Node::Bulk(b) => wit::Node::Bulk(b),
        Node::Double(d) => wit::Node::Double(d),
        Node::Boolean(b) => wit::Node::Boolean(b),
        Node::BigNumber(s) => wit::Node::BigNumber(s),
        Node::Verbatim(format, text) => wit::Node::Verbatim((format, text)),
        Node::Array(n) => wit::Node::Array(n),
        Node::Map(n) => wit::Node::Map(n),
        Node::Set(n) => wit::Node::Set(n),
        Node::Push(n) => wit::Node::Push(n),
    }
}

fn error(e: client::Error) -> wit::Error {
    use client::ErrorKind as K;
    let kind = match e.kind {
        K::Connection => wit::ErrorKind::Connection,
        K::Timeout => wit::ErrorKind::Timeout,
        K::Exhausted => wit::ErrorKind::Exhausted,
        K::Server => wit::ErrorKind::Server,
        K::NotFound => wit::ErrorKind::NotFound,
        K::Protocol => wit::ErrorKind::Protocol,
        K::Invalid => wit::ErrorKind::Invalid,
    };
    wit::Error { kind, message: e.message }
}
