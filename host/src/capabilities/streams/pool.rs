//! Pools of connections to one endpoint, in the two kinds users of async Redis clients know:
//! non-blocking (asking for one more than `max_connections` is an error at once) and blocking
//! (callers wait up to `timeout` for a free one). Idle connections are reused most recently used
//! first, so the rest age out and are closed by a periodic check.
//!
//! A pool can also lend one of its connections for a caller's sole use ([`Pool::dedicated`]): a
//! pool of one that holds a permit of its lender, so `max_connections` bounds shared and dedicated
//! connections together.

use super::connection::{Connection, StreamError, StreamErrorKind};
use super::endpoint::Endpoint;
use super::tls;
pub use cachet_url::PoolOptions;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};
use tokio_rustls::TlsConnector;

/// A pool's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub in_use: usize,
    pub idle: usize,
    /// Callers that had to wait for a connection (blocking pools).
    pub waits: u64,
    /// Callers that gave up waiting.
    pub timeouts: u64,
    /// Connections opened.
    pub created: u64,
    /// Idle connections closed for age.
    pub reaped: u64,
}

/// Connections to one endpoint. Cheap to clone; connections close when the last clone goes.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Endpoint,
    options: PoolOptions,
    /// Made once from `options.tls`; an error (a CA file missing, say) fails every connect.
    tls: Option<Result<TlsConnector, StreamError>>,
    permits: Arc<Semaphore>,
    /// Most recently used last.
    idle: Mutex<Vec<Connection>>,
    waits: AtomicU64,
    timeouts: AtomicU64,
    created: AtomicU64,
    reaped: AtomicU64,
    /// Set for a dedicated pool: the pool it was lent from.
    lender: Option<Lender>,
}

/// What a dedicated pool holds of the pool that lent it a connection.
struct Lender {
    pool: Pool,
    /// One of the lender's `max_connections`, held for as long as the dedicated pool lives.
    _permit: OwnedSemaphorePermit,
    /// Its one connection was handed out: a dedicated pool never opens a second one, whose
    /// session (transaction, database, subscriptions) would silently differ.
    lent: AtomicBool,
    /// Applied to the connection each time it is handed out (blocking commands wait longer).
    stream_timeout: Mutex<Duration>,
}

/// A connection taken from a pool. Dropping it closes the connection (`discard`); `release`
/// returns it for reuse.
pub struct PooledStream {
    pub(super) connection: Connection,
    _permit: OwnedSemaphorePermit,
    pool: Pool,
}

impl Pool {
    /// A pool; the idle check runs on the current tokio runtime for as long as the pool lives.
    pub fn new(endpoint: Endpoint, options: PoolOptions) -> Pool {
        let inner = Arc::new(Inner {
            permits: Arc::new(Semaphore::new(options.max_connections.max(1))),
            tls: options.tls.as_ref().map(tls::connector),
            endpoint,
            options,
            idle: Mutex::new(Vec::new()),
            waits: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            created: AtomicU64::new(0),
            reaped: AtomicU64::new(0),
            lender: None,
        });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(reap_idle(Arc::downgrade(&inner)));
        }
        Pool { inner }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    pub fn options(&self) -> &PoolOptions {
        &self.inner.options
    }

    /// A connection: an idle one that still works, else a new one. `wait` overrides a blocking
    /// pool's timeout.
    pub async fn acquire(&self, wait: Option<Duration>) -> Result<PooledStream, StreamError> {
        let permit = self.permit(wait).await?;
        let connection = match &self.inner.lender {
            Some(lender) => self.dedicated_connection(lender).await?,
            None => match self.healthy_idle() {
                Some(connection) => connection,
                None => Box::pin(self.connect()).await?,
            },
        };
        Ok(PooledStream { connection, _permit: permit, pool: self.clone() })
    }

    /// The most recently used idle connection that still works; broken ones are closed.
    fn healthy_idle(&self) -> Option<Connection> {
        std::iter::from_fn(|| self.pop_idle()).find_map(|mut connection| (!connection.is_broken()).then_some(connection))
    }

    /// A pool of one connection for a caller's sole use, taken from this pool's `max_connections`:
    /// a blocking pool waits up to `wait` (else its `timeout`) for room, a non-blocking one fails at
    /// once. The connection is an idle one of this pool, else a new one; see [`Pool::give_back`].
    pub async fn dedicated(&self, wait: Option<Duration>) -> Result<Pool, StreamError> {
        let permit = self.permit(wait).await?;
        let options = PoolOptions { max_connections: 1, blocking: false, ..self.inner.options.clone() };
        let lender = Lender {
            pool: self.clone(),
            _permit: permit,
            lent: AtomicBool::new(false),
            stream_timeout: Mutex::new(options.stream_timeout),
        };
        let inner = Inner {
            permits: Arc::new(Semaphore::new(1)),
            endpoint: self.inner.endpoint.clone(),
            options,
            // Its connection comes from the lender, which connects with its own TLS settings.
            tls: None,
            idle: Mutex::new(Vec::new()),
            waits: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            created: AtomicU64::new(0),
            reaped: AtomicU64::new(0),
            lender: Some(lender),
        };
        Ok(Pool { inner: Arc::new(inner) })
    }

    /// A dedicated pool's connection: the one it holds, or, the first time, one of its lender's.
    async fn dedicated_connection(&self, lender: &Lender) -> Result<Connection, StreamError> {
        let mut connection = match self.pop_idle() {
            Some(connection) => connection,
            None if lender.lent.swap(true, Ordering::AcqRel) => {
                return Err(StreamError::new(
                    StreamErrorKind::Closed,
                    format!(
                        "the dedicated connection to {} broke, and with it its session (transaction, database, subscriptions): take a new one",
                        self.inner.endpoint
                    ),
                ));
            }
            None => match lender.pool.healthy_idle() {
                Some(connection) => connection,
                None => Box::pin(lender.pool.connect()).await?,
            },
        };
        connection.set_timeout(lender.stream_timeout.lock().map_or(self.inner.options.stream_timeout, |t| *t));
        Ok(connection)
    }

    /// For a dedicated pool: how long its connection's reads and writes may wait from the next
    /// time it is handed out (a blocking command waits for as long as it blocks, and more).
    pub fn set_stream_timeout(&self, timeout: Duration) {
        if let Some(lender) = &self.inner.lender
            && let Ok(mut current) = lender.stream_timeout.lock()
        {
            *current = timeout;
        }
    }

    /// For a dedicated pool whose connection is back in its session's first state (what it was
    /// lent in): returns it to the lender for others to use. Without this, the connection closes
    /// with the dedicated pool.
    pub fn give_back(&self) {
        let Some(lender) = &self.inner.lender else { return };
        if let Some(mut connection) = self.pop_idle() {
            connection.set_timeout(lender.pool.inner.options.stream_timeout);
            if let Ok(mut idle) = lender.pool.inner.idle.lock() {
                idle.push(connection);
            }
        }
    }

    /// A newly opened connection, never an idle one: for a retry after a connection broke, when
    /// the idle ones may have broken the same way (a server restart, CLIENT KILL). Idle
    /// connections found broken on the way are closed.
    pub async fn acquire_new(&self, wait: Option<Duration>) -> Result<PooledStream, StreamError> {
        if self.inner.lender.is_some() {
            // A dedicated pool has one connection; its session cannot move to another.
            return self.acquire(wait).await;
        }
        let permit = self.permit(wait).await?;
        if let Ok(mut idle) = self.inner.idle.lock() {
            idle.retain_mut(|connection| !connection.is_broken());
        }
        let connection = Box::pin(self.connect()).await?;
        Ok(PooledStream { connection, _permit: permit, pool: self.clone() })
    }

    async fn permit(&self, wait: Option<Duration>) -> Result<OwnedSemaphorePermit, StreamError> {
        let options = &self.inner.options;
        match self.inner.permits.clone().try_acquire_owned() {
            Ok(permit) => return Ok(permit),
            Err(TryAcquireError::Closed) => return Err(StreamError::new(StreamErrorKind::Closed, "the pool is closed")),
            Err(TryAcquireError::NoPermits) if !options.blocking => {
                return Err(StreamError::new(
                    StreamErrorKind::Exhausted,
                    format!(
                        "all {} connections to {} are in use: raise max_connections or use a blocking pool",
                        options.max_connections, self.inner.endpoint
                    ),
                ));
            }
            Err(TryAcquireError::NoPermits) => {}
        }
        self.inner.waits.fetch_add(1, Ordering::Relaxed);
        let wait = wait.unwrap_or(options.timeout);
        match tokio::time::timeout(wait, self.inner.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(StreamError::new(StreamErrorKind::Closed, "the pool is closed")),
            Err(_) => {
                self.inner.timeouts.fetch_add(1, Ordering::Relaxed);
                Err(StreamError::new(
                    StreamErrorKind::Timeout,
                    format!(
                        "no connection to {} became free within {wait:?}: all {} are in use (raise max_connections or timeout)",
                        self.inner.endpoint, options.max_connections
                    ),
                ))
            }
        }
    }

    fn pop_idle(&self) -> Option<Connection> {
        self.inner.idle.lock().ok()?.pop()
    }

    /// Opens a connection, trying `connect_attempts` times with the pauses the reconnect policy
    /// gives in between. TLS settings that cannot work fail at once: trying again would not help.
    /// Callers box the future: connecting (a TLS handshake among it) makes a future of a few
    /// kilobytes, which an `acquire` that finds an idle connection should not carry and copy.
    async fn connect(&self) -> Result<Connection, StreamError> {
        let options = &self.inner.options;
        let tls = match &self.inner.tls {
            Some(Ok(connector)) => Some(connector),
            Some(Err(error)) => return Err(error.clone()),
            None => None,
        };
        let attempts = options.connect_attempts.max(1);
        let mut attempt = 1;
        loop {
            match Connection::connect(&self.inner.endpoint, options, tls).await {
                Ok(connection) => {
                    self.inner.created.fetch_add(1, Ordering::Relaxed);
                    return Ok(connection);
                }
                Err(error) if attempt >= attempts => {
                    let message = format!("{} (after {attempts} attempt{})", error.message, if attempts == 1 { "" } else { "s" });
                    return Err(StreamError { message, ..error });
                }
                Err(error) => tracing::debug!("connection attempt {attempt} failed: {error}"),
            }
            tokio::time::sleep(options.reconnect.pause(attempt, jitter())).await;
            attempt += 1;
        }
    }

    /// Closes every idle connection: the next requests connect afresh.
    pub fn clear_idle(&self) {
        if let Ok(mut idle) = self.inner.idle.lock() {
            idle.clear();
        }
    }

    pub fn stats(&self) -> PoolStats {
        let idle = self.inner.idle.lock().map_or(0, |i| i.len());
        let free = self.inner.permits.available_permits();
        PoolStats {
            in_use: self.inner.options.max_connections.max(1).saturating_sub(free),
            idle,
            waits: self.inner.waits.load(Ordering::Relaxed),
            timeouts: self.inner.timeouts.load(Ordering::Relaxed),
            created: self.inner.created.load(Ordering::Relaxed),
            reaped: self.inner.reaped.load(Ordering::Relaxed),
        }
    }
}

impl PooledStream {
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.connection
    }

    /// Never released to the pool yet.
    pub fn is_fresh(&self) -> bool {
        self.connection.fresh
    }

    /// Returns the connection for reuse.
    pub fn release(self) {
        let PooledStream { mut connection, _permit, pool } = self;
        connection.fresh = false;
        connection.idle_since = Instant::now();
        if let Ok(mut idle) = pool.inner.idle.lock() {
            idle.push(connection);
        }
        // The permit is dropped after the connection is idle, so a waiter finds it.
    }

    /// Closes the connection (it broke or its state is unknown).
    pub fn discard(self) {}
}

/// A number in [0, 1) that spreads reconnecting clients apart; it need not be strong.
fn jitter() -> f64 {
    getrandom::u64().map_or(0.5, |n| (n >> 11) as f64 / (1u64 << 53) as f64)
}

/// Every `idle_check_interval`, closes idle connections older than `max_idle_time`. Ends with the
/// pool.
async fn reap_idle(pool: Weak<Inner>) {
    let interval = match pool.upgrade() {
        Some(inner) => inner.options.idle_check_interval.max(Duration::from_millis(10)),
        None => return,
    };
    loop {
        tokio::time::sleep(interval).await;
        let Some(inner) = pool.upgrade() else { return };
        let max_idle = inner.options.max_idle_time;
        let Ok(mut idle) = inner.idle.lock() else { return };
        let before = idle.len();
        idle.retain(|c| c.idle_since.elapsed() < max_idle);
        let reaped = before - idle.len();
        if reaped > 0 {
            inner.reaped.fetch_add(reaped as u64, Ordering::Relaxed);
            tracing::debug!("closed {reaped} idle connection(s) to {}", inner.endpoint);
        }
    }
}
