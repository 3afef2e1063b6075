//! An in-memory pool for the cache client's tests. Each stream it lends plays a script: the bytes its
//! "server" answers and where it fails. The pool keeps every stream's traffic and what happened to
//! it, so a test can check exactly which requests went out on which stream.

use super::streams::{ExchangeError, Pool, Stream, StreamError, StreamErrorKind};
use crate::resp::{Limits, Parsed, parse_request};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// What one stream does, step by step.
#[derive(Default)]
pub(super) struct Script {
    fresh: bool,
    /// What successive reads find; a read past the end finds the stream closed.
    incoming: VecDeque<Result<Vec<u8>, StreamError>>,
    /// The drain (counted from 0) that fails, and how.
    failing_drain: Option<(usize, StreamError)>,
}

impl Script {
    /// A stream already set up: the pool has lent it before.
    pub fn reused() -> Script {
        Script::default()
    }

    /// A new connection, which the cache client sets up before its first request.
    pub fn fresh() -> Script {
        Script { fresh: true, ..Script::default() }
    }

    /// The server's next bytes.
    pub fn answers(mut self, bytes: impl AsRef<[u8]>) -> Script {
        self.incoming.push_back(Ok(bytes.as_ref().to_vec()));
        self
    }

    /// The read after the answers so far fails.
    pub fn then_fails(mut self, kind: StreamErrorKind) -> Script {
        self.incoming.push_back(Err(failure(kind)));
        self
    }

    /// The `nth` drain (from 0) fails: nothing it was to send arrives.
    pub fn drain_fails(mut self, nth: usize, kind: StreamErrorKind) -> Script {
        self.failing_drain = Some((nth, failure(kind)));
        self
    }
}

/// The error a scripted step fails with; its message names the kind, for assertions.
pub(super) fn failure(kind: StreamErrorKind) -> StreamError {
    StreamError::new(kind, format!("scripted {kind:?}"))
}

/// How a read was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ReadCall {
    UpTo(u32),
    /// The read of an exchange, which sent first.
    AfterSending(u32),
    Exactly(u32),
    Line,
}

/// What became of a lent stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Event {
    Acquired(usize),
    /// Lent by `acquire_new`: a newly opened stream.
    AcquiredNew(usize),
    Released(usize),
    Discarded(usize),
}

/// One stream's traffic.
#[derive(Default)]
struct Traffic {
    sent: Vec<u8>,
    reads: Vec<ReadCall>,
}

pub(super) struct ScriptedStream {
    index: usize,
    fresh: bool,
    incoming: RefCell<VecDeque<Result<Vec<u8>, StreamError>>>,
    queued: RefCell<Vec<u8>>,
    drains: RefCell<usize>,
    failing_drain: Option<(usize, StreamError)>,
    traffic: Rc<RefCell<Traffic>>,
}

impl ScriptedStream {
    /// The next step of the script; past its end the stream is closed.
    fn next_incoming(&self) -> Result<Vec<u8>, StreamError> {
        self.incoming.borrow_mut().pop_front().unwrap_or_else(|| Err(failure(StreamErrorKind::Closed)))
    }

    /// Puts back bytes a read did not take.
    fn keep(&self, rest: Vec<u8>) {
        if !rest.is_empty() {
            self.incoming.borrow_mut().push_front(Ok(rest));
        }
    }
}

impl Stream for ScriptedStream {
    fn read(&self, max: u32) -> Result<Vec<u8>, StreamError> {
        self.traffic.borrow_mut().reads.push(ReadCall::UpTo(max));
        let mut data = self.next_incoming()?;
        self.keep(data.split_off(data.len().min(max as usize)));
        Ok(data)
    }

    fn read_exact(&self, n: u32) -> Result<Vec<u8>, StreamError> {
        self.traffic.borrow_mut().reads.push(ReadCall::Exactly(n));
        let mut data = Vec::new();
        while data.len() < n as usize {
            match self.next_incoming() {
                Ok(more) => data.extend(more),
                Err(error) if error.kind == StreamErrorKind::Closed => {
                    return Err(StreamError::new(StreamErrorKind::Incomplete, format!("the stream ended after {} of {n} bytes", data.len())));
                }
                Err(error) => return Err(error),
            }
        }
        self.keep(data.split_off(n as usize));
        Ok(data)
    }

    fn read_until(&self, separator: &[u8], limit: u32) -> Result<Vec<u8>, StreamError> {
        self.traffic.borrow_mut().reads.push(ReadCall::Line);
        let mut data = Vec::new();
        loop {
            if let Some(at) = data.windows(separator.len()).position(|w| w == separator) {
                self.keep(data.split_off(at + separator.len()));
                return Ok(data);
            }
            if data.len() > limit as usize {
                return Err(StreamError::new(StreamErrorKind::LimitOverrun, "no separator within the limit"));
            }
            match self.next_incoming() {
                Ok(more) => data.extend(more),
                Err(error) => {
                    self.keep(data);
                    return Err(error);
                }
            }
        }
    }

    fn write(&self, data: &[u8]) -> Result<(), StreamError> {
        self.queued.borrow_mut().extend_from_slice(data);
        Ok(())
    }

    fn drain(&self) -> Result<(), StreamError> {
        let queued = std::mem::take(&mut *self.queued.borrow_mut());
        let nth = self.drains.replace_with(|n| *n + 1);
        match &self.failing_drain {
            Some((failing, error)) if *failing == nth => Err(error.clone()),
            _ => {
                self.traffic.borrow_mut().sent.extend(queued);
                Ok(())
            }
        }
    }

    fn exchange(&self, data: &[u8], max: u32) -> Result<Vec<u8>, ExchangeError> {
        self.write(data).and_then(|()| self.drain()).map_err(ExchangeError::Sending)?;
        let read = self.read(max).map_err(ExchangeError::Reading);
        if let Some(last) = self.traffic.borrow_mut().reads.last_mut() {
            *last = ReadCall::AfterSending(max);
        }
        read
    }

    fn fresh(&self) -> bool {
        self.fresh
    }
}

/// Lends the scripted streams in order; asking for more than were scripted fails the test.
#[derive(Default)]
pub(super) struct ScriptedPool {
    lendings: RefCell<VecDeque<Result<Script, StreamError>>>,
    traffic: RefCell<Vec<Rc<RefCell<Traffic>>>>,
    events: RefCell<Vec<Event>>,
}

impl ScriptedPool {
    pub fn new(scripts: impl IntoIterator<Item = Script>) -> ScriptedPool {
        let pool = ScriptedPool::default();
        pool.lendings.borrow_mut().extend(scripts.into_iter().map(Ok));
        pool
    }

    /// A pool whose next acquire fails.
    pub fn refusing(kind: StreamErrorKind) -> ScriptedPool {
        let pool = ScriptedPool::default();
        pool.lendings.borrow_mut().push_back(Err(failure(kind)));
        pool
    }

    /// The commands stream `index` carried, each as its words joined by spaces.
    pub fn sent(&self, index: usize) -> Vec<String> {
        let traffic = self.traffic.borrow();
        let sent = &traffic[index].borrow().sent;
        commands(sent)
    }

    pub fn reads(&self, index: usize) -> Vec<ReadCall> {
        self.traffic.borrow()[index].borrow().reads.clone()
    }

    pub fn events(&self) -> Vec<Event> {
        self.events.borrow().clone()
    }
}

impl ScriptedPool {
    /// The next scripted stream, recorded as lent with `event`.
    fn lend(&self, event: fn(usize) -> Event) -> Result<ScriptedStream, StreamError> {
        let next = self.lendings.borrow_mut().pop_front();
        let lent = self.events.borrow().iter().filter(|e| matches!(e, Event::Acquired(_) | Event::AcquiredNew(_))).count();
        let script = next.unwrap_or_else(|| panic!("the cache client asked for one stream more than the {lent} scripted"))?;
        let index = self.traffic.borrow().len();
        let traffic = Rc::new(RefCell::new(Traffic::default()));
        self.traffic.borrow_mut().push(traffic.clone());
        self.events.borrow_mut().push(event(index));
        Ok(ScriptedStream {
            index,
            fresh: script.fresh,
            incoming: RefCell::new(script.incoming),
            queued: RefCell::new(Vec::new()),
            drains: RefCell::new(0),
            failing_drain: script.failing_drain,
            traffic,
        })
    }
}

impl Pool for &ScriptedPool {
    type Stream = ScriptedStream;

    fn acquire(&self) -> Result<ScriptedStream, StreamError> {
        self.lend(Event::Acquired)
    }

    fn acquire_new(&self) -> Result<ScriptedStream, StreamError> {
        self.lend(Event::AcquiredNew)
    }

    fn release(&self, stream: ScriptedStream) {
        self.events.borrow_mut().push(Event::Released(stream.index));
    }

    fn discard(&self, stream: ScriptedStream) {
        self.events.borrow_mut().push(Event::Discarded(stream.index));
    }
}

/// Splits the bytes sent into commands, each as its words joined by spaces.
fn commands(mut sent: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    while !sent.is_empty() {
        let Ok(Parsed::Command(args, used)) = parse_request(sent, &Limits::default()) else {
            panic!("the cache client sent something that is not a whole command: {:?}", String::from_utf8_lossy(sent));
        };
        let words: Vec<String> = args.slices().iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        found.push(words.join(" "));
        sent = &sent[used..];
    }
    found
}
