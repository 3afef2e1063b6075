//! Transactions: MULTI/EXEC on a dedicated connection, with WATCH and optimistic retry.
//!
//! The body runs between WATCH and MULTI: it reads what it needs with [`Transaction::call`] (on the
//! watched connection, at once) and queues the writes with [`Transaction::queue`]. The queued
//! commands then go as MULTI, the commands and EXEC in one round trip. When a watched key changed
//! in between, EXEC runs nothing, and the body runs again with fresh reads.

use super::dedicated::Dedicated;
use super::routing::{Route, route};
use super::{Client, Error, ErrorKind, Value, owned};
use crate::runtime::{CacheErrorKind, Op, Outcome};
use bytes::Bytes;

/// How often the body runs before the transaction gives up on keys that keep changing.
pub const TRANSACTION_ATTEMPTS: usize = 32;

/// The commands of one attempt; see [`Client::transaction`].
pub struct Transaction<'a> {
    lease: &'a mut Dedicated,
    queued: Vec<Op>,
}

impl Client {
    /// Runs `body` and then its queued commands atomically (MULTI ... EXEC), answering EXEC's replies
    /// in order (a command that failed inside is a [`Value::Error`] there). With keys to `watch`,
    /// the transaction runs only if none of them changed after the body's reads began; otherwise
    /// the body runs again, up to [`TRANSACTION_ATTEMPTS`] times.
    ///
    /// ```no_run
    /// # async fn f(client: cachet::client::Client) -> Result<(), cachet::client::Error> {
    /// client.transaction(["counter"], async |tx| {
    ///     let now: i64 = tx.get_parsed("counter").await?.unwrap_or(0);
    ///     tx.queue(["SET", "counter", &(now * 2).to_string()]);
    ///     Ok(())
    /// }).await?;
    /// # Ok(()) }
    /// ```
    pub async fn transaction<K: AsRef<[u8]>>(
        &self,
        watch: impl IntoIterator<Item = K>,
        mut body: impl AsyncFnMut(&mut Transaction<'_>) -> Result<(), Error>,
    ) -> Result<Vec<Value>, Error> {
        let keys = owned(watch);
        let mut lease = self.dedicated().await?;
        for _ in 0..TRANSACTION_ATTEMPTS {
            if !keys.is_empty() {
                lease.changed();
                let watch = std::iter::once(b"WATCH".to_vec()).chain(keys.iter().cloned());
                lease.call(watch.collect::<Vec<_>>()).await?;
            }
            let mut attempt = Transaction { lease: &mut lease, queued: Vec::new() };
            body(&mut attempt).await?;
            let queued = attempt.queued;
            if queued.is_empty() {
                if !keys.is_empty() {
                    lease.call(["UNWATCH"]).await?;
                    lease.restored();
                }
                return Ok(Vec::new());
            }
            if let Some(replies) = exec(&mut lease, queued).await? {
                return Ok(replies);
            }
        }
        Err(Error::new(
            ErrorKind::Aborted,
            format!("the watched keys changed during each of {TRANSACTION_ATTEMPTS} attempts: the transaction did not run"),
        ))
    }
}

/// Sends MULTI, the queued commands and EXEC; `None` when a watched key changed and nothing ran.
async fn exec(lease: &mut Dedicated, queued: Vec<Op>) -> Result<Option<Vec<Value>>, Error> {
    lease.changed();
    let mut ops = Vec::with_capacity(queued.len() + 2);
    ops.push(Op::Call(vec![b"MULTI".to_vec()]));
    ops.extend(queued);
    ops.push(Op::Call(vec![b"EXEC".to_vec()]));
    let mut replies = lease.run(ops, None).await?;
    let exec = replies.pop();
    // EXEC, answered or refused, ends the transaction and every WATCH.
    lease.restored();
    match exec {
        Some(Ok(Outcome::Reply(nodes))) => match Value::from_nodes(nodes) {
            Value::Nil => Ok(None),
            Value::Array(values) => Ok(Some(values)),
            other => Err(Error::new(ErrorKind::Protocol, format!("EXEC answered {other:?}, not an array"))),
        },
        Some(Ok(other)) => Err(Error::new(ErrorKind::Protocol, format!("EXEC answered {other:?}"))),
        Some(Err(refused)) => {
            // EXECABORT: say which queued command the server refused.
            let cause = replies.into_iter().skip(1).filter_map(|r| r.err()).find(|e| e.kind == CacheErrorKind::Server);
            let message = match cause {
                Some(cause) => format!("{}: {}", refused.message, cause.message),
                None => refused.message,
            };
            Err(Error::new(ErrorKind::Server, message))
        }
        None => Err(Error::new(ErrorKind::Protocol, "no reply to EXEC")),
    }
}

impl Transaction<'_> {
    /// Runs a command now, before the transaction: the reads the queued writes depend on.
    pub async fn call<A: AsRef<[u8]>>(&mut self, args: impl IntoIterator<Item = A>) -> Result<Value, Error> {
        let args = owned(args);
        if let Route::Stateful(_) = route(&args) {
            let name = String::from_utf8_lossy(args.first().map_or(&[][..], |n| n.as_slice())).to_ascii_uppercase();
            return Err(Error::new(
                ErrorKind::Invalid,
                format!("{name} inside a transaction's body: the transaction sends WATCH, MULTI and EXEC itself; queue the writes with Transaction::queue"),
            ));
        }
        self.lease.call(args).await
    }

    pub async fn get(&mut self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>, Error> {
        match self.call([b"GET".as_slice(), key.as_ref()]).await? {
            Value::Nil => Ok(None),
            Value::Bulk(bytes) => Ok(Some(bytes)),
            other => Err(Error::new(ErrorKind::Protocol, format!("GET answered {other:?}"))),
        }
    }

    /// The value parsed (`i64`, `f64`, ...); an error if it does not parse.
    pub async fn get_parsed<T: std::str::FromStr>(&mut self, key: impl AsRef<[u8]>) -> Result<Option<T>, Error> {
        let Some(bytes) = self.get(key).await? else { return Ok(None) };
        let text = String::from_utf8_lossy(&bytes);
        text.parse().map(Some).map_err(|_| Error::new(ErrorKind::Invalid, format!("the value '{text}' does not parse as the type asked for")))
    }

    /// Queues a command to run inside MULTI/EXEC.
    pub fn queue<A: AsRef<[u8]>>(&mut self, args: impl IntoIterator<Item = A>) -> &mut Self {
        self.queued.push(Op::Call(owned(args)));
        self
    }

    /// Queues a request of a [`super::Pipeline`].
    pub(super) fn queue_request(&mut self, request: super::Request) {
        self.queued.push(request.0);
    }
}
