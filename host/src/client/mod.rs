//! The Rust client: `Client::open(url)` and the cache calls, run by the component's cache adapter
//! over pooled connections the host provides.
//!
//! Requests issued concurrently are pipelined: every request goes into one queue, and each worker
//! (one per connection it may use) takes everything queued at once and sends it as one batch, so
//! throughput grows with the number of callers instead of waiting on round trips.

mod component;
mod single_flight;
mod value;

pub use crate::capabilities::streams::{
    Connection, Endpoint, InProcessServer, Pool, PoolOptions, PoolStats, PooledStream, StreamError, StreamErrorKind,
};
pub use cachet_url::{Backoff, CertReqs, ClientConfig, ConnectionSettings, Reconnect, Target, TlsSettings, UrlError};
pub use value::{DEFAULT_TTL, Error, ErrorKind, Ttl, Value};

use crate::runtime::{CacheError, CacheOptions, ClientInstance, Op, Outcome, Runtime};
use bytes::Bytes;
use component::{flag, integer, reply, value, values};
use crate::server::InProcess;
use single_flight::Flights;
use std::sync::{Arc, RwLock};
use tokio::sync::{Mutex, mpsc, oneshot};

/// The most requests sent in one batch.
const MAX_BATCH: usize = 1024;

/// Requests queued before callers wait for room.
const QUEUE_LEN: usize = 16 * 1024;

/// The most workers (pipelined connections in flight) a client runs; more rarely helps.
const MAX_WORKERS: usize = 8;

type Reply = Result<Outcome, CacheError>;

struct Job {
    op: Op,
    reply: oneshot::Sender<Result<Reply, Error>>,
}

/// A cache client. Clones share connections; the last one dropped closes them.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

struct Shared {
    queue: RwLock<Option<mpsc::Sender<Job>>>,
    pool: Pool,
    flights: Flights,
    config: ClientConfig,
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
        let (queue, jobs) = mpsc::channel(QUEUE_LEN);
        let jobs = Arc::new(Mutex::new(jobs));
        for _ in 0..config.pool.max_connections.clamp(1, MAX_WORKERS) {
            reactor.spawn(work(runtime.clone(), pool.clone(), options.clone(), jobs.clone()));
        }
        let shared = Shared { queue: RwLock::new(Some(queue)), pool, flights: Flights::default(), config };
        Ok(Client { shared: Arc::new(shared) })
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
        if let Ok(mut queue) = self.shared.queue.write() {
            queue.take();
        }
        self.shared.pool.clear_idle();
    }

    /// Closes the idle connections, so the next requests connect afresh.
    pub fn reconnect(&self) {
        self.shared.pool.clear_idle();
    }

    /// Queues one request; the receiver gets its result once a worker has run it.
    async fn submit(&self, op: Op) -> Result<oneshot::Receiver<Result<Reply, Error>>, Error> {
        let queue = self.shared.queue.read().ok().and_then(|q| q.clone());
        let Some(queue) = queue else { return Err(closed()) };
        let (reply, answer) = oneshot::channel();
        queue.send(Job { op, reply }).await.map_err(|_| closed())?;
        Ok(answer)
    }

    /// Runs one request through the shared queue.
    async fn run(&self, op: Op) -> Result<Outcome, Error> {
        receive(self.submit(op).await?).await
    }

    pub async fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>, Error> {
        value(self.run(Op::Get(key.as_ref().to_vec())).await?)
    }

    /// The value, or `default` when there is none.
    pub async fn get_or(&self, key: impl AsRef<[u8]>, default: impl Into<Bytes>) -> Result<Bytes, Error> {
        Ok(self.get(key).await?.unwrap_or_else(|| default.into()))
    }

    /// The value, or an error of kind [`ErrorKind::NotFound`].
    pub async fn get_or_fail(&self, key: impl AsRef<[u8]>) -> Result<Bytes, Error> {
        value(self.run(Op::GetOrFail(key.as_ref().to_vec())).await?).map(Option::unwrap_or_default)
    }

    /// The value as text; an error if it is not UTF-8.
    pub async fn get_string(&self, key: impl AsRef<[u8]>) -> Result<Option<String>, Error> {
        let Some(bytes) = self.get(key).await? else { return Ok(None) };
        String::from_utf8(bytes.to_vec()).map(Some).map_err(|_| Error::new(ErrorKind::Invalid, "the value is not UTF-8 text"))
    }

    /// The value parsed (`i64`, `f64`, ...); an error if it does not parse.
    pub async fn get_parsed<T: std::str::FromStr>(&self, key: impl AsRef<[u8]>) -> Result<Option<T>, Error> {
        let Some(text) = self.get_string(key).await? else { return Ok(None) };
        text.parse().map(Some).map_err(|_| Error::new(ErrorKind::Invalid, format!("the value '{text}' does not parse as the type asked for")))
    }

    pub async fn set(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>, ttl: impl Into<Ttl>) -> Result<(), Error> {
        self.run(Op::Set((key.as_ref().to_vec(), value.as_ref().to_vec(), ttl.into().millis()))).await.map(drop)
    }

    /// The cached value, or `value` stored (atomically: of concurrent callers one value wins and
    /// all get it).
    pub async fn get_or_set(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>, ttl: impl Into<Ttl>) -> Result<Bytes, Error> {
        let op = Op::GetOrSet((key.as_ref().to_vec(), value.as_ref().to_vec(), ttl.into().millis()));
        self::value(self.run(op).await?).map(Option::unwrap_or_default)
    }

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

    /// True only if every key existed (and was removed).
    pub async fn remove<K: AsRef<[u8]>>(&self, keys: impl IntoIterator<Item = K>) -> Result<bool, Error> {
        flag(self.run(Op::Remove(owned(keys))).await?)
    }

    /// Sets a new time to live ([`Ttl::Never`] removes expiry); false when the key does not exist.
    pub async fn update_timeout(&self, key: impl AsRef<[u8]>, ttl: impl Into<Ttl>) -> Result<bool, Error> {
        flag(self.run(Op::UpdateTimeout((key.as_ref().to_vec(), ttl.into().millis()))).await?)
    }

    pub async fn mget<K: AsRef<[u8]>>(&self, keys: impl IntoIterator<Item = K>) -> Result<Vec<Option<Bytes>>, Error> {
        values(self.run(Op::Mget(owned(keys))).await?)
    }

    /// Stores every pair, without expiry (as MSET does).
    pub async fn mset<K: AsRef<[u8]>, V: AsRef<[u8]>>(&self, pairs: impl IntoIterator<Item = (K, V)>) -> Result<(), Error> {
        let pairs = pairs.into_iter().map(|(k, v)| (k.as_ref().to_vec(), v.as_ref().to_vec())).collect();
        self.run(Op::Mset(pairs)).await.map(drop)
    }

    /// Adds `by` to the integer at `key` (0 when absent) and returns the new value.
    pub async fn incr(&self, key: impl AsRef<[u8]>, by: i64) -> Result<i64, Error> {
        integer(self.run(Op::Incr((key.as_ref().to_vec(), by))).await?)
    }

    /// How many of the keys exist.
    pub async fn exists<K: AsRef<[u8]>>(&self, keys: impl IntoIterator<Item = K>) -> Result<u64, Error> {
        integer(self.run(Op::Exists(owned(keys))).await?).map(|n| n.max(0) as u64)
    }

    /// Any command, e.g. `client.call(["HSET", "h", "f", "v"])`.
    pub async fn call<A: AsRef<[u8]>>(&self, args: impl IntoIterator<Item = A>) -> Result<Value, Error> {
        reply(self.run(Op::Call(owned(args))).await?)
    }

    /// Runs several requests at once; each has its own result. All are queued before any is
    /// awaited, so they travel together.
    pub async fn batch(&self, requests: Vec<Request>) -> Vec<Result<Value, Error>> {
        let mut answers = Vec::with_capacity(requests.len());
        for request in requests {
            answers.push(self.submit(request.0).await);
        }
        let mut results = Vec::with_capacity(answers.len());
        for answer in answers {
            let outcome = match answer {
                Ok(answer) => receive(answer).await,
                Err(error) => Err(error),
            };
            results.push(outcome.map(Value::from));
        }
        results
    }
}

#[cfg(feature = "serde")]
impl Client {
    /// The value decoded from JSON.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, key: impl AsRef<[u8]>) -> Result<Option<T>, Error> {
        let Some(bytes) = self.get(key).await? else { return Ok(None) };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| Error::new(ErrorKind::Invalid, format!("the value is not the JSON expected: {e}")))
    }

    /// Stores the value as JSON.
    pub async fn set_json<T: serde::Serialize>(&self, key: impl AsRef<[u8]>, value: &T, ttl: impl Into<Ttl>) -> Result<(), Error> {
        let json = serde_json::to_vec(value).map_err(|e| Error::new(ErrorKind::Invalid, format!("the value cannot be written as JSON: {e}")))?;
        self.set(key, json, ttl).await
    }
}

/// One request of a [`Client::batch`].
pub struct Request(Op);

impl Request {
    pub fn get(key: impl AsRef<[u8]>) -> Request {
        Request(Op::Get(key.as_ref().to_vec()))
    }

    pub fn set(key: impl AsRef<[u8]>, value: impl AsRef<[u8]>, ttl: impl Into<Ttl>) -> Request {
        Request(Op::Set((key.as_ref().to_vec(), value.as_ref().to_vec(), ttl.into().millis())))
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
}

async fn receive(answer: oneshot::Receiver<Result<Reply, Error>>) -> Result<Outcome, Error> {
    match answer.await {
        Ok(Ok(reply)) => reply.map_err(Error::from),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(closed()),
    }
}

fn owned<A: AsRef<[u8]>>(items: impl IntoIterator<Item = A>) -> Vec<Vec<u8>> {
    items.into_iter().map(|a| a.as_ref().to_vec()).collect()
}

fn closed() -> Error {
    Error::new(ErrorKind::Closed, "the client is closed")
}

/// One worker: takes everything queued, runs it as one batch in its component instance, answers
/// each caller. A worker whose instance failed makes a fresh one for the next batch.
async fn work(runtime: Arc<Runtime>, pool: Pool, options: CacheOptions, queue: Arc<Mutex<mpsc::Receiver<Job>>>) {
    let mut instance: Option<ClientInstance> = None;
    loop {
        let jobs = {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else { return };
            // Callers answered by the last batch are queueing their next requests right now: one
            // yield lets them join this batch instead of waiting a round trip for the next one.
            tokio::task::yield_now().await;
            let mut jobs = vec![first];
            while jobs.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            jobs
        };
        if instance.is_none() {
            match runtime.instantiate_client(pool.clone(), &options).await {
                Ok(fresh) => instance = Some(fresh),
                Err(error) => {
                    fail_all(jobs, &format!("the client component could not start: {error:#}"));
                    continue;
                }
            }
        }
        let Some(running) = instance.as_mut() else { continue };
        let (ops, replies): (Vec<Op>, Vec<_>) = jobs.into_iter().map(|j| (j.op, j.reply)).unzip();
        match running.batch(&ops).await {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(Ok(result));
                }
            }
            Err(error) => {
                tracing::error!("the client component failed: {error:#}");
                instance = None;
                for reply in replies {
                    let _ = reply.send(Err(Error::new(ErrorKind::Engine, format!("the client component failed: {error:#}"))));
                }
            }
        }
    }
}

fn fail_all(jobs: Vec<Job>, message: &str) {
    for job in jobs {
        let _ = job.reply.send(Err(Error::new(ErrorKind::Engine, message)));
    }
}
