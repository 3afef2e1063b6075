//! The cache client: requests become commands, written to a stream from the host's pool in one
//! batch, and the replies read back in order.
//!
//! The streams are the host's (see the WIT `streams` interface); this module sees them through
//! the [`Pool`] and [`Stream`] traits, so the logic is plain Rust that also builds natively.

mod ops;
mod setup;

pub use ops::{Error, ErrorKind, Op, Outcome, Ttl};
pub use setup::Options;

use crate::resp::{Limits, ReplyDecoder, encode_command};
use std::borrow::Cow;

/// The kinds of failure a stream reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamErrorKind {
    Timeout,
    Closed,
    Connect,
    Exhausted,
    Incomplete,
    LimitOverrun,
    Unsupported,
    Io,
}

#[derive(Clone, Debug)]
pub struct StreamError {
    pub kind: StreamErrorKind,
    pub message: String,
}

impl From<StreamError> for Error {
    fn from(e: StreamError) -> Self {
        let kind = match e.kind {
            StreamErrorKind::Timeout => ErrorKind::Timeout,
            StreamErrorKind::Exhausted => ErrorKind::Exhausted,
            StreamErrorKind::Unsupported => ErrorKind::Invalid,
            _ => ErrorKind::Connection,
        };
        Error::new(kind, e.message)
    }
}

/// A connection from the host's pool.
pub trait Stream {
    fn read(&self, max: u32) -> Result<Vec<u8>, StreamError>;
    fn write(&self, data: &[u8]) -> Result<(), StreamError>;
    fn drain(&self) -> Result<(), StreamError>;
    /// Not yet set up (never released to the pool).
    fn fresh(&self) -> bool;
}

/// The host's pool of connections to one server.
pub trait Pool {
    type Stream: Stream;
    fn acquire(&self) -> Result<Self::Stream, StreamError>;
    fn release(&self, stream: Self::Stream);
    fn discard(&self, stream: Self::Stream);
}

/// How much to read at once.
const READ_SIZE: u32 = 64 * 1024;

/// A cache client over one pool.
pub struct Cache<P: Pool> {
    pool: P,
    options: Options,
}

/// Why a round on one stream stopped before every request was answered.
enum Interrupted {
    /// The stream broke before any request was sent: all may be tried on another.
    Unsent(Error),
    /// The stream broke; requests not yet answered may be tried on another if repeatable.
    Broken(Error),
    /// Nothing more can be done for the requests left (bad reply, set-up refused).
    Fatal(Error),
}

impl<P: Pool> Cache<P> {
    pub fn new(pool: P, options: Options) -> Self {
        Cache { pool, options }
    }

    /// Runs a single request.
    pub fn run(&self, op: Op) -> Result<Outcome, Error> {
        self.batch(vec![op]).pop().unwrap_or_else(|| Err(Error::new(ErrorKind::Invalid, "no result")))
    }

    /// Runs the requests in one round trip, each with its own result. When the connection breaks,
    /// the requests not answered yet go again on a fresh one (up to `retries` times), except those
    /// that may already have run and are not safe to repeat: those fail with a message saying so.
    pub fn batch(&self, ops: Vec<Op>) -> Vec<Result<Outcome, Error>> {
        let mut results: Vec<Option<Result<Outcome, Error>>> = vec![None; ops.len()];
        let mut commands = Vec::with_capacity(ops.len());
        for (slot, op) in results.iter_mut().zip(&ops) {
            match op.command() {
                Ok(command) => commands.push(Some(command)),
                Err(error) => {
                    *slot = Some(Err(error));
                    commands.push(None);
                }
            }
        }
        let mut attempt = 0;
        loop {
            let todo: Vec<usize> = (0..ops.len()).filter(|&i| results[i].is_none()).collect();
            if todo.is_empty() {
                break;
            }
            let error = match self.round(&ops, &commands, &todo, &mut results) {
                Ok(()) => continue,
                Err(Interrupted::Fatal(error)) => error,
                Err(Interrupted::Unsent(error) | Interrupted::Broken(error)) if attempt >= self.options.retries => error,
                Err(Interrupted::Unsent(error)) => {
                    attempt += 1;
                    crate::log::debug(&format!("connection broke before sending ({}); trying again", error.message));
                    continue;
                }
                Err(Interrupted::Broken(error)) => {
                    attempt += 1;
                    crate::log::debug(&format!("connection broke ({}); trying again", error.message));
                    self.give_up_unrepeatable(&ops, &mut results);
                    continue;
                }
            };
            for slot in results.iter_mut().filter(|r| r.is_none()) {
                *slot = Some(Err(error.clone()));
            }
        }
        results.into_iter().map(|r| r.unwrap_or_else(|| Err(Error::new(ErrorKind::Invalid, "no result")))).collect()
    }

    /// One stream: set it up if new, send every request still to do, read their replies.
    fn round(
        &self,
        ops: &[Op],
        commands: &[Option<Vec<Cow<'_, [u8]>>>],
        todo: &[usize],
        results: &mut [Option<Result<Outcome, Error>>],
    ) -> Result<(), Interrupted> {
        let stream = self.pool.acquire().map_err(|e| Interrupted::Fatal(e.into()))?;
        let mut reader = Reader::new();
        if stream.fresh()
            && let Err(interrupted) = self.set_up(&stream, &mut reader)
        {
            self.pool.discard(stream);
            return Err(match interrupted {
                Interrupted::Broken(error) => Interrupted::Unsent(error),
                other => other,
            });
        }
        let mut out = Vec::new();
        for &i in todo {
            if let Some(command) = &commands[i] {
                encode_command(&mut out, command);
            }
        }
        if let Err(e) = stream.write(&out).and_then(|()| stream.drain()) {
            self.pool.discard(stream);
            return Err(Interrupted::Broken(e.into()));
        }
        for &i in todo {
            match reader.reply(&stream) {
                Ok(reply) => results[i] = Some(ops[i].outcome(reply)),
                Err(interrupted) => {
                    self.pool.discard(stream);
                    return Err(interrupted);
                }
            }
        }
        self.pool.release(stream);
        Ok(())
    }

    /// Sends a fresh connection's set-up (HELLO/AUTH, SELECT, CLIENT SETNAME) and checks each
    /// answer: a refusal (wrong password, bad database) fails the requests with the server's text.
    fn set_up(&self, stream: &P::Stream, reader: &mut Reader) -> Result<(), Interrupted> {
        let commands = self.options.set_up_commands();
        if commands.is_empty() {
            return Ok(());
        }
        let mut out = Vec::new();
        for command in &commands {
            encode_command(&mut out, command);
        }
        stream.write(&out).and_then(|()| stream.drain()).map_err(|e| Interrupted::Broken(e.into()))?;
        for _ in &commands {
            if let [crate::resp::Node::Error(message)] = reader.reply(stream)?.as_slice() {
                return Err(Interrupted::Fatal(Error::new(ErrorKind::Server, message.clone())));
            }
        }
        Ok(())
    }

    /// After a broken connection: requests that were sent and cannot safely run twice are failed
    /// rather than silently repeated.
    fn give_up_unrepeatable(&self, ops: &[Op], results: &mut [Option<Result<Outcome, Error>>]) {
        for (slot, op) in results.iter_mut().zip(ops) {
            if slot.is_none() && !op.repeatable() {
                *slot = Some(Err(Error::new(
                    ErrorKind::Connection,
                    "the connection broke after the request was sent: it may or may not have run, so it was not sent again",
                )));
            }
        }
    }
}

/// Reads replies from one stream.
struct Reader {
    decoder: ReplyDecoder,
    buffer: Vec<u8>,
}

impl Reader {
    fn new() -> Self {
        Reader { decoder: ReplyDecoder::new(Limits::default()), buffer: Vec::new() }
    }

    fn reply(&mut self, stream: &impl Stream) -> Result<Vec<crate::resp::Node>, Interrupted> {
        loop {
            let decoded = self.decoder.decode_buffer(&mut self.buffer).map_err(|e| {
                Interrupted::Fatal(Error::new(ErrorKind::Protocol, format!("the server sent invalid RESP: {}", e.0)))
            })?;
            if let Some(reply) = decoded {
                return Ok(reply);
            }
            let data = stream.read(READ_SIZE).map_err(|e| match e.kind {
                // A request that timed out may still run: not repeated.
                StreamErrorKind::Timeout => Interrupted::Fatal(e.into()),
                _ => Interrupted::Broken(e.into()),
            })?;
            self.buffer.extend_from_slice(&data);
        }
    }
}
