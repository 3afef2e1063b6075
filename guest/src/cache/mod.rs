//! The cache client behind the WIT `cache` interface: requests become commands, written to a
//! stream from the host's pool in one batch, and the replies read back in order.
//!
//! The streams are the host's (see the WIT `streams` interface); this module sees them through
//! the `Pool` and `Stream` traits of its `streams` module, so the logic is plain Rust that also
//! builds natively. The requests and their results are the crate's shared vocabulary
//! ([`crate::request`]), which the engine also runs directly for hosts that embed the keyspace.
//!
//! What happens when the stream fails part-way:
//! - a request that cannot become a command fails at once and is never sent;
//! - a pool that lends no stream fails the batch: the host's pool has already tried to connect as
//!   often as it is configured to;
//! - a stream that broke before any request went out (while a fresh connection was being set up)
//!   sends them all again on another stream, up to `retries` times;
//! - every retry goes out on a newly opened stream, never an idle one: whatever broke the first
//!   (a server restart, CLIENT KILL, a network cut) has most likely broken the idle ones too;
//! - a stream that broke after the requests went out keeps the replies that arrived; of the rest,
//!   those that cannot safely run twice fail saying they may or may not have run, and the others
//!   go again, up to `retries` times;
//! - a timeout, a reply that is not RESP, or a server refusing the set-up fails what is left
//!   without trying again: the requests may still run, or no other stream would do better.

mod reply_reader;
pub(crate) mod connection_settings;
pub(crate) mod conveyor;
pub(crate) mod packed;
pub(crate) mod streams;

#[cfg(test)]
mod scripted_pool;

use crate::request::{CommandArgs, Error, ErrorKind, Op, Outcome};
use crate::resp::{Node, encode_command};
use connection_settings::ConnectionSettings;
use reply_reader::Reader;
use smallvec::SmallVec;
use std::cell::Cell;
use streams::{Pool, Stream};

/// A cache client over one pool.
pub(crate) struct Cache<P: Pool> {
    pool: P,
    settings: ConnectionSettings,
    set_up: SetUp,
    /// What the last batch allocated for its requests and replies, kept for the next batch.
    buffers: Cell<Buffers>,
}

/// A batch's buffers: the bytes of its requests, and the list each reply is decoded into.
#[derive(Default)]
struct Buffers {
    requests: Vec<u8>,
    nodes: Vec<Node>,
}

/// The session set-up a fresh connection is sent (the settings' HELLO/AUTH, SELECT, ...), encoded
/// once per client.
struct SetUp {
    encoded: Vec<u8>,
    commands: usize,
}

/// Why a round on one stream stopped before every request was answered.
enum Interrupted {
    /// The stream broke before any request was sent: all may be tried on another.
    Unsent(Error),
    /// The stream broke; requests not yet answered may be tried on another if repeatable.
    Broken(Error),
    /// Nothing more can be done for the requests left (timeout, bad reply, set-up refused).
    Fatal(Error),
    /// No frame began before the stream's timeout while reading exactly: nothing more is done,
    /// but the stream is in step and goes back to the pool.
    Quiet(Error),
}

/// A request's result, once it has one.
type Slot = Option<Result<Outcome, Error>>;

/// The requests of a round that still need a result, by position; a batch of up to sixteen
/// lists them without allocating.
type Todo = SmallVec<[usize; 16]>;

/// What a request fails with when it may have run and cannot be repeated.
pub(crate) const MAY_HAVE_RUN: &str =
    "the connection broke after the request was sent: it may or may not have run, so it was not sent again";

impl<P: Pool> Cache<P> {
    pub fn new(pool: P, settings: ConnectionSettings) -> Self {
        let (encoded, commands) = settings.encoded_set_up();
        Cache { pool, settings, set_up: SetUp { encoded, commands }, buffers: Cell::default() }
    }

    /// Runs a single request.
    pub fn run(&self, op: Op) -> Result<Outcome, Error> {
        self.batch(vec![op]).pop().unwrap_or_else(|| Err(Error::new(ErrorKind::Invalid, "no result")))
    }

    /// Runs the requests in one round trip, each with its own result (see the module's rules for
    /// what happens when the stream fails).
    pub fn batch(&self, ops: Vec<Op>) -> Vec<Result<Outcome, Error>> {
        let (commands, mut results) = commands(&ops);
        let mut attempt = 0;
        loop {
            let todo = unanswered(&results);
            if todo.is_empty() {
                break;
            }
            let (error, may_retry) = match self.round(&ops, &commands, &todo, &mut results, attempt > 0) {
                Ok(()) => continue,
                Err(Interrupted::Fatal(error) | Interrupted::Quiet(error)) => (error, false),
                Err(Interrupted::Unsent(error)) => (error, true),
                Err(Interrupted::Broken(error)) => {
                    give_up_unrepeatable(&ops, &mut results);
                    (error, true)
                }
            };
            if may_retry && attempt < self.settings.retries {
                attempt += 1;
                crate::log::debug(&format!("connection broke ({}); trying again", error.message));
                continue;
            }
            for slot in results.iter_mut().filter(|r| r.is_none()) {
                *slot = Some(Err(error.clone()));
            }
        }
        results.into_iter().map(|r| r.unwrap_or_else(|| Err(Error::new(ErrorKind::Invalid, "no result")))).collect()
    }

    /// One stream (a newly opened one for a retry): set it up if new, send every request still
    /// to do, read their replies.
    fn round(&self, ops: &[Op], commands: &[Option<CommandArgs<'_>>], todo: &[usize], results: &mut [Slot], retry: bool) -> Result<(), Interrupted> {
        let stream = if retry { self.pool.acquire_new() } else { self.pool.acquire() };
        let stream = stream.map_err(|e| Interrupted::Fatal(e.into()))?;
        let Buffers { mut requests, nodes } = self.buffers.take();
        let mut reader = Reader::new(todo.iter().any(|&i| ops[i].reads_exactly()), nodes);
        let answered = self
            .set_up(&stream, &mut reader)
            .and_then(|()| send_and_read(&stream, &mut reader, &mut requests, ops, commands, todo, results));
        if requests.capacity() <= KEPT_REQUEST_BUFFER {
            self.buffers.set(Buffers { requests, nodes: reader.into_nodes() });
        }
        match answered {
            Ok(()) | Err(Interrupted::Quiet(_)) => self.pool.release(stream),
            Err(_) => self.pool.discard(stream),
        }
        answered
    }

    /// Sends a fresh connection's set-up (HELLO/AUTH, SELECT, CLIENT SETNAME) and checks each
    /// answer: a refusal (wrong password, bad database) fails the requests with the server's text.
    /// No request has been sent yet, so a stream that breaks here leaves them all unsent.
    fn set_up(&self, stream: &P::Stream, reader: &mut Reader) -> Result<(), Interrupted> {
        let SetUp { encoded, commands } = &self.set_up;
        if *commands == 0 || !stream.fresh() {
            return Ok(());
        }
        let unsent = |interrupted| match interrupted {
            Interrupted::Broken(error) => Interrupted::Unsent(error),
            other => other,
        };
        stream.write(encoded).and_then(|()| stream.drain()).map_err(|e| Interrupted::Unsent(e.into()))?;
        for _ in 0..*commands {
            if let [Node::Error(message)] = reader.reply(stream).map_err(unsent)?.as_slice() {
                return Err(Interrupted::Fatal(Error::new(ErrorKind::Server, message.clone())));
            }
        }
        Ok(())
    }
}

/// Each request's command, and a result already for those that have none.
fn commands(ops: &[Op]) -> (Vec<Option<CommandArgs<'_>>>, Vec<Slot>) {
    let mut commands = Vec::with_capacity(ops.len());
    let mut results = Vec::with_capacity(ops.len());
    for op in ops {
        let (command, result) = match op.command() {
            Err(_) if *op == Op::Receive => (None, None),
            Ok(command) => (Some(command), None),
            Err(error) => (None, Some(Err(error))),
        };
        commands.push(command);
        results.push(result);
    }
    (commands, results)
}

/// The requests that have no result yet.
fn unanswered(results: &[Slot]) -> Todo {
    let mut todo = Todo::new();
    for (i, result) in results.iter().enumerate() {
        if result.is_none() {
            todo.push(i);
        }
    }
    todo
}

/// What the buffer of a batch's requests starts with: a few small requests (a lone caller's GET,
/// sixteen callers' GETs and SETs of short values) fit without the buffer growing on the way.
const SEND_BUFFER: usize = 2048;

/// The largest request buffer kept for the next batch: one that grew for large values is let go.
const KEPT_REQUEST_BUFFER: usize = 64 * 1024;

/// Writes the requests still to do in one go (encoded into `requests`, emptied first) and reads
/// their replies in order.
fn send_and_read(
    stream: &impl Stream,
    reader: &mut Reader,
    requests: &mut Vec<u8>,
    ops: &[Op],
    commands: &[Option<CommandArgs<'_>>],
    todo: &[usize],
    results: &mut [Slot],
) -> Result<(), Interrupted> {
    requests.clear();
    requests.reserve(SEND_BUFFER);
    for command in todo.iter().filter_map(|&i| commands[i].as_ref()) {
        encode_command(requests, command);
    }
    reader.send(stream, requests)?;
    for &i in todo {
        let mut reply = if ops[i].expects_reply() { reader.reply(stream)? } else { Vec::new() };
        results[i] = Some(ops[i].outcome(&mut reply));
        reader.recycle(reply);
    }
    Ok(())
}

/// After a broken connection: requests that were sent and cannot safely run twice are failed
/// rather than silently repeated.
fn give_up_unrepeatable(ops: &[Op], results: &mut [Slot]) {
    for (slot, op) in results.iter_mut().zip(ops) {
        if slot.is_none() && !op.repeatable() {
            *slot = Some(Err(Error::new(ErrorKind::Connection, MAY_HAVE_RUN)));
        }
    }
}

#[cfg(test)]
mod tests;
