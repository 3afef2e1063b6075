//! The Rust client: `Client::open(url)` and the cache calls, run by the component's cache adapter
//! over pooled connections the host provides.
//!
//! Requests issued concurrently are pipelined: every request goes into one queue, and each worker
//! (one per connection it may use) takes everything queued at once and sends it, and goes on
//! sending what is queued while earlier replies are outstanding (see [`worker`]), so throughput
//! grows with the number of callers instead of waiting on round trips.
//!
//! Only commands that leave a connection's session as they found it share those connections (see
//! [`routing`]): transactions, blocking commands, pub/sub and anything else stateful run on a
//! connection of their own, lent by the same pool, so `max_connections` bounds them all.

mod calls;
mod cluster;
mod component;
mod convert;
mod dedicated;
mod job_queue;
mod multi_host;
mod near_cache;
mod pipeline;
mod pubsub;
mod routing;
mod sentinel;
mod single_flight;
mod transaction;
mod value;
mod worker;

pub use convert::{FromValue, ToArg};
pub use dedicated::Dedicated;
pub use pipeline::Pipeline;
pub use near_cache::{NearCache, NearCacheOptions, NearCacheStats, Tracking};
pub use pubsub::{Link, Message, Subscriber};
pub use transaction::{TRANSACTION_ATTEMPTS, Transaction};

pub use crate::capabilities::streams::{
    Connection, Endpoint, InProcessServer, Pool, PoolOptions, PoolStats, PooledStream, StreamError, StreamErrorKind,
};
pub use cachet_url::{Backoff, CertReqs, ClientConfig, ConnectionSettings, Reconnect, Target, TlsSettings, UrlError};
pub use value::{DEFAULT_TTL, Error, ErrorKind, Ttl, Value};
pub use cluster::{ClusterClient, ClusterConfig, Shard, key_slot};
pub use sentinel::{FAILOVER_PATIENCE, SentinelClient, SentinelConfig};

use crate::runtime::{CacheError, CacheOptions, Op, Outcome, Runtime};
use bytes::Bytes;
use component::reply;
use crate::server::InProcess;
use routing::{Route, route};
use single_flight::Flights;
use smallvec::{SmallVec, smallvec};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use job_queue::{Job, JobQueue, Ops};
use worker::work;

/// Requests queued before callers wait for room.
const QUEUE_LEN: usize = 16 * 1024;

/// The most workers (shared, pipelined connections in flight) a client runs; more rarely helps,
/// since each carries every request queued while it waited, and more while its replies come. The
/// rest of `max_connections` is left for dedicated connections.
pub const MAX_PIPELINED_CONNECTIONS: usize = 8;

type Reply = Result<Outcome, CacheError>;

/// A job's replies, in the order of its requests; most jobs are one request.
type Replies = SmallVec<[Reply; 1]>;

/// A cache client. Clones share connections; the last one dropped closes them.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    /// How long a request may take, from the call to its reply.
    response_timeout: Duration,
}

struct Shared {
    queue: Arc<JobQueue>,
    pool: Pool,
    flights: Flights,
    config: ClientConfig,
    runtime: Arc<Runtime>,
    options: CacheOptions,
}

/// The last clone of a client gone, its workers finish what is queued and end.
impl Drop for Shared {
    fn drop(&mut self) {
        self.queue.close();
    }
}

impl Client {
    /// A client for `url` (see [`ClientConfig::parse`] for the forms). Connections are opened when
    /// first needed, on the tokio runtime this is called from.
    pub async fn open(url: &str) -> Result<Client, Error> {
        let config = ClientConfig::parse(url).map_err(|e| Error::new(ErrorKind::Invalid, e.0))?;
        Self::with_config(config).await
    }

    pub async fn with_config(config: ClientConfig) -> Result<Client, Error> {
        let Ok(reactor) = tokio::runtime::Handle::try_current() else {
            return Err(Error::new(ErrorKind::Invalid, "cachet's client runs on tokio: open it from within a tokio runtime"));
        };
        let runtime = Runtime::shared().map_err(|e| Error::new(ErrorKind::Engine, format!("{e:#}")))?;
        let endpoint = match &config.target {
            Target::Tcp { host, port } => Endpoint::Tcp { host: host.clone(), port: *port },
            Target::Unix(path) => Endpoint::Unix(path.clone()),
            Target::Memory(name) => Endpoint::Memory(
                InProcess::open(name, runtime.clone()).map_err(|e| Error::new(ErrorKind::Engine, format!("{e:#}")))?,
            ),
        };
        let pool = Pool::new(endpoint, config.pool.clone());
        let options = CacheOptions::from(&config.connection);
        let queue = Arc::new(JobQueue::new(QUEUE_LEN));
        for worker in 0..config.pool.max_connections.clamp(1, MAX_PIPELINED_CONNECTIONS) {
            reactor.spawn(work(queue.enlist(worker), runtime.clone(), pool.clone(), options.clone()));
        }
        let response_timeout = config.connection.response_timeout;
        let shared = Shared { queue, pool, flights: Flights::default(), config, runtime, options };
        Ok(Client { shared: Arc::new(shared), response_timeout })
    }

    /// This client with another response timeout: `client.with_timeout(Duration::from_secs(60))
    /// .call(["DEBUG", "SLEEP", "30"])`. It shares the connections of the original.
    pub fn with_timeout(&self, response_timeout: Duration) -> Client {
        Client { shared: self.shared.clone(), response_timeout }
    }

    /// Opens a client, runs `body` with it, and closes it.
    pub async fn scoped<T>(url: &str, body: impl AsyncFnOnce(&Client) -> T) -> Result<T, Error> {
        let client = Client::open(url).await?;
        let result = body(&client).await;
        client.close();
        Ok(result)
    }

    pub fn config(&self) -> &ClientConfig {
        &self.shared.config
    }

    pub fn pool_stats(&self) -> PoolStats {
        self.shared.pool.stats()
    }

    /// Stops taking requests and closes idle connections; requests already queued still finish.
    /// Later calls fail with [`ErrorKind::Closed`].
    pub fn close(&self) {
        self.shared.queue.close();
        self.shared.pool.clear_idle();
    }

    /// Whether [`Client::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.shared.queue.is_closed()
    }

    /// Closes the idle connections, so the next requests connect afresh.
    pub fn reconnect(&self) {
        self.shared.pool.clear_idle();
    }

    /// Runs requests in order on one shared connection, in one round trip unless the connection
    /// breaks; each has its own result. The whole waits at most the response timeout.
    async fn run_all(&self, ops: Vec<Op>) -> Vec<Result<Outcome, Error>> {
        let count = ops.len();
        match self.queue_and_wait(Ops::from_vec(ops)).await {
            Ok(replies) => replies.into_iter().map(|r| r.map_err(Error::from)).collect(),
            Err(error) => vec![Err(error); count],
        }
    }

    /// Queues one job and waits for its replies, at most the response timeout.
    async fn queue_and_wait(&self, ops: Ops) -> Result<Replies, Error> {
        let (reply, answer) = oneshot::channel();
        let queued = async {
            self.shared.queue.push(Job { ops, reply }).await.map_err(|_| closed())?;
            answer.await.map_err(|_| closed())?
        };
        tokio::time::timeout(self.response_timeout, queued).await.unwrap_or_else(|_| Err(timed_out(self.response_timeout)))
    }

    /// Runs one request through the shared connections.
    async fn run(&self, op: Op) -> Result<Outcome, Error> {
        let mut replies = self.queue_and_wait(smallvec![op]).await?;
        replies.pop().map_or_else(|| Err(closed()), |reply| reply.map_err(Error::from))
    }

    calls::cache_calls!();

    /// The cached value, or the result of `produce` stored and returned. Concurrent calls for the
    /// same key in this process run `produce` once and share its result (or its error).
    pub async fn get_or_set_with<V, E, F, Fut>(&self, key: impl AsRef<[u8]>, ttl: impl Into<Ttl>, produce: F) -> Result<Bytes, Error>
    where
        V: AsRef<[u8]>,
        E: std::fmt::Display,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let key = key.as_ref();
        if let Some(found) = self.get(key).await? {
            return Ok(found);
        }
        let ttl = ttl.into();
        self.shared
            .flights
            .run(key, async {
                let produced = produce().await.map_err(|e| Error::new(ErrorKind::Producer, e.to_string()))?;
                self.get_or_set(key, produced, ttl).await
            })
            .await
    }

    /// [`Client::get_or_set_with`] with a synchronous producer.
    pub async fn get_or_set_with_sync<V, E>(&self, key: impl AsRef<[u8]>, ttl: impl Into<Ttl>, produce: impl FnOnce() -> Result<V, E>) -> Result<Bytes, Error>
    where
        V: AsRef<[u8]>,
        E: std::fmt::Display,
    {
        self.get_or_set_with(key, ttl, || std::future::ready(produce())).await
    }

    /// Any command, e.g. `client.call(["HSET", "h", "f", "v"])`. Blocking commands (BLPOP, ...) run
    /// on a connection of their own and wait as long as they block; commands that change the
    /// connection's session (MULTI, SELECT, SUBSCRIBE, ...) are refused with the API to use instead.
    pub async fn call<A: AsRef<[u8]>>(&self, args: impl IntoIterator<Item = A>) -> Result<Value, Error> {
        let args = owned(args);
        match route(&args) {
            Route::Shared => reply(self.run(Op::Call(args)).await?),
            Route::Blocking(_) => self.dedicated().await?.call(args).await,
            Route::Stateful(why) => Err(Error::new(ErrorKind::Invalid, why)),
        }
    }

    /// [`Client::call`], its reply converted to `T`: `let n: i64 = client.call_as(["HLEN", "h"]).await?`.
    pub async fn call_as<T: FromValue, A: AsRef<[u8]>>(&self, args: impl IntoIterator<Item = A>) -> Result<T, Error> {
        T::from_value(self.call(args).await?)
    }

    /// Runs several requests in order on one connection, in one round trip (a pipeline); each has
    /// its own result. Requests `call` would refuse or send elsewhere fail here without being sent.
    pub async fn batch(&self, requests: Vec<Request>) -> Vec<Result<Value, Error>> {
        let mut results: Vec<Option<Result<Value, Error>>> = requests.iter().map(Request::refusal).collect();
        let ops: Vec<Op> = requests.into_iter().zip(&results).filter(|(_, refused)| refused.is_none()).map(|(r, _)| r.0).collect();
        let mut answers = self.run_all(ops).await.into_iter();
        for slot in results.iter_mut().filter(|slot| slot.is_none()) {
            *slot = Some(answers.next().unwrap_or_else(|| Err(closed())).map(Value::from));
        }
        results.into_iter().map(|r| r.unwrap_or_else(|| Err(closed()))).collect()
    }

    /// A pipeline to fill and run: `client.pipeline().set("a", "1", Ttl::Never).call(["INCR", "a"])
    /// .run().await`.
    pub fn pipeline(&self) -> Pipeline<'_> {
        Pipeline::new(self)
    }
}

/// One request of a [`Client::batch`].
#[derive(Clone)]
pub struct Request(Op);

impl Request {
    pub fn get(key: impl AsRef<[u8]>) -> Request {
        Request(Op::Get(key.as_ref().to_vec()))
    }

    pub fn set(key: impl AsRef<[u8]>, value: impl ToArg, ttl: impl Into<Ttl>) -> Request {
        Request(Op::Set((key.as_ref().to_vec(), value.to_arg(), ttl.into().millis())))
    }

    pub fn incr(key: impl AsRef<[u8]>, by: i64) -> Request {
        Request(Op::Incr((key.as_ref().to_vec(), by)))
    }

    pub fn remove<K: AsRef<[u8]>>(keys: impl IntoIterator<Item = K>) -> Request {
        Request(Op::Remove(owned(keys)))
    }

    pub fn call<A: AsRef<[u8]>>(args: impl IntoIterator<Item = A>) -> Request {
        Request(Op::Call(owned(args)))
    }

    /// Why this request cannot go on a shared connection, if it cannot.
    fn refusal(&self) -> Option<Result<Value, Error>> {
        let Op::Call(args) = &self.0 else { return None };
        match route(args) {
            Route::Shared => None,
            Route::Blocking(_) => Some(Err(Error::new(
                ErrorKind::Invalid,
                "a blocking command in a pipeline would hold every request behind it: run it with Client::call, which gives it a connection of its own",
            ))),
            Route::Stateful(why) => Some(Err(Error::new(ErrorKind::Invalid, why))),
        }
    }

    /// Whether it changes the session of the connection it runs on.
    fn changes_session(&self) -> bool {
        matches!(&self.0, Op::Call(args) if matches!(route(args), Route::Stateful(_)))
    }
}

/// A request's caller stopped waiting; it may have been sent, and may still run.
fn timed_out(after: Duration) -> Error {
    Error::new(ErrorKind::Timeout, format!("no reply within {after:?} (response_timeout): the request may or may not have run"))
}

pub(crate) fn owned<A: AsRef<[u8]>>(items: impl IntoIterator<Item = A>) -> Vec<Vec<u8>> {
    items.into_iter().map(|a| a.as_ref().to_vec()).collect()
}

fn closed() -> Error {
    Error::new(ErrorKind::Closed, "the client is closed")
}
