//! The glue between the WIT `cache` and `streams` interfaces and [`crate::cache`]: the one place
//! where their types and the cache client's meet, as `From` conversions, and nothing else.

use super::Component;
use super::cachet::engine::streams as host;
use super::exports::cachet::engine::cache as wit;
use crate::cache::Cache;
use crate::cache::connection_settings::ConnectionSettings;
use crate::cache::conveyor::Conveyor;
use std::cell::RefCell;
use crate::cache::packed;
use crate::cache::streams::{self, ExchangeError, StreamError, StreamErrorKind};
use crate::request::{Error, ErrorKind, Op, Outcome};
use crate::resp::Node;

/// The host's pool, as the cache client sees pools.
struct HostPool(host::Pool);

impl streams::Stream for host::Stream {
    fn read(&self, max: u32) -> Result<Vec<u8>, StreamError> {
        host::Stream::read(self, max).map_err(StreamError::from)
    }
    fn read_exact(&self, n: u32) -> Result<Vec<u8>, StreamError> {
        host::Stream::read_exact(self, n).map_err(StreamError::from)
    }
    fn read_until(&self, separator: &[u8], limit: u32) -> Result<Vec<u8>, StreamError> {
        host::Stream::read_until(self, separator, limit).map_err(StreamError::from)
    }
    fn write(&self, data: &[u8]) -> Result<(), StreamError> {
        host::Stream::write(self, data).map_err(StreamError::from)
    }
    fn drain(&self) -> Result<(), StreamError> {
        host::Stream::drain(self).map_err(StreamError::from)
    }
    fn exchange(&self, data: &[u8], max: u32) -> Result<Vec<u8>, ExchangeError> {
        host::Stream::exchange(self, data, max).map_err(|e| match e {
            host::ExchangeError::Sending(e) => ExchangeError::Sending(e.into()),
            host::ExchangeError::Reading(e) => ExchangeError::Reading(e.into()),
        })
    }
    fn fresh(&self) -> bool {
        host::Stream::fresh(self)
    }
}

impl streams::Pool for HostPool {
    type Stream = host::Stream;
    fn acquire(&self) -> Result<host::Stream, StreamError> {
        self.0.acquire(None).map_err(StreamError::from)
    }
    fn acquire_new(&self) -> Result<host::Stream, StreamError> {
        self.0.acquire_new(None).map_err(StreamError::from)
    }
    fn release(&self, stream: host::Stream) {
        self.0.release(stream);
    }
    fn discard(&self, stream: host::Stream) {
        self.0.discard(stream);
    }
}

pub struct CacheResource(Cache<HostPool>);

pub struct ConveyorResource(RefCell<Conveyor>);

impl wit::Guest for Component {
    type Cache = CacheResource;
    type Conveyor = ConveyorResource;
}

type Result<T, E = wit::Error> = std::result::Result<T, E>;

impl wit::GuestCache for CacheResource {
    fn new(pool: host::Pool, options: wit::Options) -> Self {
        super::install_log();
        CacheResource(Cache::new(HostPool(pool), options.into()))
    }

    fn get(&self, key: Vec<u8>) -> Result<Option<Vec<u8>>> {
        Ok(self.0.run(Op::Get(key))?.into_value()?)
    }

    fn get_or_fail(&self, key: Vec<u8>) -> Result<Vec<u8>> {
        Ok(self.0.run(Op::GetOrFail(key))?.into_value()?.unwrap_or_default())
    }

    fn set(&self, key: Vec<u8>, value: Vec<u8>, ttl: Option<u64>) -> Result<()> {
        Ok(self.0.run(Op::Set(key, value, ttl))?.into_done()?)
    }

    fn get_or_set(&self, key: Vec<u8>, value: Vec<u8>, ttl: Option<u64>) -> Result<Vec<u8>> {
        Ok(self.0.run(Op::GetOrSet(key, value, ttl))?.into_value()?.unwrap_or_default())
    }

    fn remove(&self, keys: Vec<Vec<u8>>) -> Result<bool> {
        Ok(self.0.run(Op::Remove(keys))?.into_flag()?)
    }

    fn update_timeout(&self, key: Vec<u8>, ttl: Option<u64>) -> Result<bool> {
        Ok(self.0.run(Op::UpdateTimeout(key, ttl))?.into_flag()?)
    }

    fn mget(&self, keys: Vec<Vec<u8>>) -> Result<Vec<Option<Vec<u8>>>> {
        Ok(self.0.run(Op::Mget(keys))?.into_values()?)
    }

    fn mset(&self, pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Result<()> {
        Ok(self.0.run(Op::Mset(pairs))?.into_done()?)
    }

    fn incr(&self, key: Vec<u8>, by: i64) -> Result<i64> {
        Ok(self.0.run(Op::Incr(key, by))?.into_integer()?)
    }

    fn exists(&self, keys: Vec<Vec<u8>>) -> Result<u64> {
        Ok(self.0.run(Op::Exists(keys))?.into_integer()?.max(0) as u64)
    }

    fn call(&self, args: Vec<Vec<u8>>) -> Result<wit::Reply> {
        Ok(self.0.run(Op::Call(args))?.into_reply()?.into_iter().map(wit::Node::from).collect())
    }

    fn batch(&self, ops: Vec<wit::Op>) -> Vec<Result<wit::Outcome>> {
        let ops = ops.into_iter().map(Op::from).collect();
        self.0.batch(ops).into_iter().map(|r| r.map(wit::Outcome::from).map_err(wit::Error::from)).collect()
    }

    fn batch_packed(&self, ops: Vec<u8>) -> Vec<u8> {
        let results = match packed::read_ops(&ops) {
            Ok(ops) => self.0.batch(ops),
            Err(malformed) => vec![Err(malformed)],
        };
        packed::write_results(&results)
    }
}

impl wit::GuestConveyor for ConveyorResource {
    fn new(options: wit::Options) -> Self {
        super::install_log();
        ConveyorResource(RefCell::new(Conveyor::new(&options.into())))
    }

    fn set_up(&self) -> Vec<u8> {
        self.0.borrow_mut().set_up()
    }

    fn setting_up(&self) -> u32 {
        self.0.borrow().setting_up() as u32
    }

    fn send(&self, ops: Vec<u8>) -> Result<wit::Sent> {
        let ops = packed::read_ops(&ops)?;
        let mut bytes = Vec::new();
        let answered = self.0.borrow_mut().send(ops, &mut bytes);
        Ok(wit::Sent { bytes, results: packed::write_results(&answered) })
    }

    fn receive(&self, data: Vec<u8>) -> wit::Received {
        let received = self.0.borrow_mut().receive(&data);
        wit::Received { results: packed::write_results(&received.results), broken: received.broken.map(wit::Error::from) }
    }

    fn abandon(&self, error: wit::Error) -> Vec<u8> {
        packed::write_abandoned(&self.0.borrow_mut().abandon(&error.into()))
    }
}

impl From<host::StreamError> for StreamError {
    fn from(e: host::StreamError) -> Self {
        use StreamErrorKind as K;
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
        StreamError::new(kind, e.message)
    }
}

impl From<wit::Options> for ConnectionSettings {
    fn from(o: wit::Options) -> Self {
        ConnectionSettings {
            username: o.username,
            password: o.password,
            database: o.database,
            client_name: o.client_name,
            protocol: o.protocol,
            retries: o.retries,
            extra_set_up: o.extra_set_up,
            no_evict: o.no_evict,
            no_touch: o.no_touch,
        }
    }
}

impl From<wit::Op> for Op {
    fn from(op: wit::Op) -> Self {
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
            wit::Op::Send(args) => Op::Send(args),
            wit::Op::Receive => Op::Receive,
        }
    }
}

impl From<Outcome> for wit::Outcome {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Value(v) => wit::Outcome::Value(v),
            Outcome::Values(v) => wit::Outcome::Values(v),
            Outcome::Done => wit::Outcome::Done,
            Outcome::Flag(f) => wit::Outcome::Flag(f),
            Outcome::Integer(n) => wit::Outcome::Integer(n),
            Outcome::Reply(nodes) => wit::Outcome::Reply(nodes.into_iter().map(wit::Node::from).collect()),
        }
    }
}

impl From<Node> for wit::Node {
    fn from(node: Node) -> Self {
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
}

impl From<wit::Error> for Error {
    fn from(e: wit::Error) -> Self {
        let kind = match e.kind {
            wit::ErrorKind::Connection => ErrorKind::Connection,
            wit::ErrorKind::Timeout => ErrorKind::Timeout,
            wit::ErrorKind::Exhausted => ErrorKind::Exhausted,
            wit::ErrorKind::Server => ErrorKind::Server,
            wit::ErrorKind::NotFound => ErrorKind::NotFound,
            wit::ErrorKind::Protocol => ErrorKind::Protocol,
            wit::ErrorKind::Invalid => ErrorKind::Invalid,
        };
        Error::new(kind, e.message)
    }
}

impl From<Error> for wit::Error {
    fn from(e: Error) -> Self {
        let kind = match e.kind {
            ErrorKind::Connection => wit::ErrorKind::Connection,
            ErrorKind::Timeout => wit::ErrorKind::Timeout,
            ErrorKind::Exhausted => wit::ErrorKind::Exhausted,
            ErrorKind::Server => wit::ErrorKind::Server,
            ErrorKind::NotFound => wit::ErrorKind::NotFound,
            ErrorKind::Protocol => wit::ErrorKind::Protocol,
            ErrorKind::Invalid => wit::ErrorKind::Invalid,
        };
        wit::Error { kind, message: e.message }
    }
}
