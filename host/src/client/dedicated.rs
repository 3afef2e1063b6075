//! A connection for one caller's sole use, for what must not share a pipelined connection: commands
//! that change the session (SELECT, CLIENT TRACKING, a hand-written MULTI), and blocking commands.
//!
//! It is a pool of one connection lent by the client's pool (so `max_connections` counts it), run
//! by a component instance of its own that never retries: a request repeated on another connection
//! would run in another session. When the lease ends, a connection whose session is as it was lent
//! goes back to the pool; any other is closed.

use super::component::reply;
use super::routing::{Route, route};
use super::{Client, Error, ErrorKind, Reply, Request, Value, owned};
use crate::capabilities::streams::Pool;
use crate::runtime::{CacheOptions, ClientInstance, Op};
use std::time::Duration;

/// How long a read may wait for a command that blocks for ever (`BLPOP key 0`).
const FOR_EVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// A leased connection; see [`Client::dedicated`].
pub struct Dedicated {
    /// `None` once the lease is unusable (a request timed out in the middle, the component failed).
    instance: Option<ClientInstance>,
    pool: Pool,
    response_timeout: Duration,
    stream_timeout: Duration,
    /// The session is no longer as it was lent: the connection is closed when the lease ends.
    changed: bool,
}

impl Client {
    /// A connection for the caller alone, taken from the pool: a blocking pool waits up to its
    /// `timeout` for one, a non-blocking pool fails at once when all `max_connections` are in use.
    /// Use it for commands that change the connection's session, which `call` refuses.
    pub async fn dedicated(&self) -> Result<Dedicated, Error> {
        let pool = self.shared.pool.dedicated(None).await.map_err(Error::from)?;
        // A request repeated on a new connection would run in a session without the lease's state.
        let options = CacheOptions { retries: 0, ..self.shared.options.clone() };
        let instance = self.shared.runtime.instantiate_client(pool.clone(), &options).await.map_err(|error| {
            Error::new(ErrorKind::Engine, format!("the client component could not start: {error:#}"))
        })?;
        Ok(Dedicated {
            instance: Some(instance),
            stream_timeout: pool.options().stream_timeout,
            pool,
            response_timeout: self.response_timeout,
            changed: false,
        })
    }
}

impl Dedicated {
    /// Any command but the pub/sub ones (see [`Client::subscriber`]); blocking commands wait for as
    /// long as they block, plus the response timeout.
    pub async fn call<A: AsRef<[u8]>>(&mut self, args: impl IntoIterator<Item = A>) -> Result<Value, Error> {
        let args = owned(args);
        let blocking = match route(&args) {
            Route::Shared => None,
            Route::Blocking(wait) => Some(wait),
            Route::Stateful(_) if is_pubsub(&args) => {
                return Err(Error::new(
                    ErrorKind::Invalid,
                    "pub/sub turns the connection into a stream of messages: use Client::subscriber",
                ));
            }
            Route::Stateful(_) => {
                self.changed = true;
                None
            }
        };
        let outcome = self.run(vec![Op::Call(args)], blocking).await?.pop().unwrap_or_else(|| Err(no_reply()));
        reply(outcome.map_err(Error::from)?)
    }

    /// Several requests in one round trip, in order; each has its own result.
    pub async fn batch(&mut self, requests: Vec<Request>) -> Vec<Result<Value, Error>> {
        let count = requests.len();
        if requests.iter().any(|r| r.changes_session()) {
            self.changed = true;
        }
        match self.run(requests.into_iter().map(|r| r.0).collect(), None).await {
            Ok(replies) => replies.into_iter().map(|r| r.map(Value::from).map_err(Error::from)).collect(),
            Err(error) => vec![Err(error); count],
        }
    }

    /// The response timeout of this lease's later requests.
    pub fn set_response_timeout(&mut self, timeout: Duration) {
        self.response_timeout = timeout;
    }

    /// The session is back as it was lent (EXEC or DISCARD ended a transaction).
    pub(super) fn restored(&mut self) {
        self.changed = false;
    }

    pub(super) fn changed(&mut self) {
        self.changed = true;
    }

    /// Runs the requests; `blocking` is how long the server may hold the reply (`Some(None)`: for
    /// ever).
    pub(super) async fn run(&mut self, ops: Vec<Op>, blocking: Option<Option<Duration>>) -> Result<Vec<Reply>, Error> {
        let (stream_timeout, deadline) = match blocking {
            None => (self.stream_timeout, Some(self.response_timeout)),
            Some(None) => (FOR_EVER, None),
            Some(Some(wait)) => (wait + self.stream_timeout, Some(wait + self.response_timeout)),
        };
        self.run_within(ops, stream_timeout, deadline).await
    }

    /// Runs pub/sub's sends and receives: each read waits at most `wait` for a frame to begin.
    pub(super) async fn receive(&mut self, ops: Vec<Op>, wait: Duration) -> Result<Vec<Reply>, Error> {
        self.changed = true;
        self.run_within(ops, wait, Some(wait + self.response_timeout)).await
    }

    /// A request that outlives `deadline` leaves the connection in the middle of a reply: the
    /// lease is then closed.
    async fn run_within(&mut self, ops: Vec<Op>, stream_timeout: Duration, deadline: Option<Duration>) -> Result<Vec<Reply>, Error> {
        let Some(instance) = self.instance.as_mut() else {
            return Err(Error::new(
                ErrorKind::Closed,
                "this dedicated connection was closed after a request on it failed: take a new one with Client::dedicated",
            ));
        };
        self.pool.set_stream_timeout(stream_timeout);
        let outcome = match deadline {
            Some(deadline) => tokio::time::timeout(deadline, instance.batch(&ops)).await.map_err(|_| deadline),
            None => Ok(instance.batch(&ops).await),
        };
        match outcome {
            Ok(Ok(replies)) => Ok(replies),
            Ok(Err(error)) => {
                self.instance = None;
                Err(Error::new(ErrorKind::Engine, format!("the client component failed: {error:#}")))
            }
            Err(deadline) => {
                self.instance = None;
                Err(Error::new(
                    ErrorKind::Timeout,
                    format!("no reply within {deadline:?} (response_timeout): the request may or may not have run; the dedicated connection is closed"),
                ))
            }
        }
    }
}

impl Drop for Dedicated {
    fn drop(&mut self) {
        if !self.changed && self.instance.is_some() {
            self.pool.give_back();
        }
    }
}

fn is_pubsub(args: &[Vec<u8>]) -> bool {
    let name = args.first().map(|n| n.to_ascii_uppercase()).unwrap_or_default();
    name.ends_with(b"SUBSCRIBE") || name == b"MONITOR"
}

fn no_reply() -> crate::runtime::CacheError {
    crate::runtime::CacheError { kind: crate::runtime::CacheErrorKind::Protocol, message: "the client component gave no reply".into() }
}
