//! One connection's requests and replies for a host that moves the bytes itself: requests become
//! bytes to write, bytes read become results, in the order the requests were sent. No I/O happens
//! here, so a host can send new requests while earlier replies are still on their way (continuous
//! pipelining) instead of waiting for a whole batch's replies before it sends the next batch.
//!
//! The rules are [`super::Cache::batch`]'s: a fresh connection's set-up is answered before any
//! request goes out, a refused set-up or a reply that is not RESP fails what is waiting, and after
//! a connection broke only requests that are safe to repeat may go out again.

use super::MAY_HAVE_RUN;
use super::connection_settings::ConnectionSettings;
use crate::request::{Error, ErrorKind, Op, Outcome};
use crate::resp::{Limits, Node, ReplyDecoder, encode_command};
use std::collections::VecDeque;

/// A request's turn in the line of replies.
enum Waiting {
    /// A set-up command's reply: checked, then dropped.
    SetUp,
    /// A request's reply.
    Reply(Op),
    /// A request answered without the server (it could not become a command), waiting for those
    /// sent before it.
    Answered(Result<Outcome, Error>),
}

/// What became of a request still waiting when its connection was given up.
#[derive(Debug, PartialEq)]
pub(crate) enum Abandoned {
    /// Its final result.
    Final(Result<Outcome, Error>),
    /// Safe to repeat: it may go out again on another connection.
    Again,
}

/// What [`Conveyor::receive`] made of the bytes it was given.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Received {
    /// The results of the requests now answered, in the order they were sent.
    pub results: Vec<Result<Outcome, Error>>,
    /// Why the connection cannot go on, when it cannot; every request that was waiting has failed
    /// in `results` (with this error, if the server's reply to it did not come).
    pub broken: Option<Error>,
}

pub(crate) struct Conveyor {
    set_up: Vec<u8>,
    set_up_commands: usize,
    waiting: VecDeque<Waiting>,
    /// Set-up replies still to come.
    setting_up: usize,
    decoder: ReplyDecoder,
    /// Bytes received and not yet decoded start at `start`.
    buffer: Vec<u8>,
    start: usize,
}

impl Conveyor {
    pub fn new(settings: &ConnectionSettings) -> Self {
        let (set_up, set_up_commands) = settings.encoded_set_up();
        Conveyor {
            set_up,
            set_up_commands,
            waiting: VecDeque::new(),
            setting_up: 0,
            decoder: ReplyDecoder::new(Limits::default()),
            buffer: Vec::new(),
            start: 0,
        }
    }

    /// The bytes that set a fresh connection up, to be written before any request; empty when the
    /// settings need no set-up.
    pub fn set_up(&mut self) -> Vec<u8> {
        self.setting_up += self.set_up_commands;
        self.waiting.extend((0..self.set_up_commands).map(|_| Waiting::SetUp));
        self.set_up.clone()
    }

    /// How many set-up replies are still to come.
    pub fn setting_up(&self) -> usize {
        self.setting_up
    }

    /// Appends the commands of `ops` to `bytes`, and answers those that cannot be sent (when no
    /// reply is awaited before them; otherwise `receive` answers them in their turn).
    pub fn send(&mut self, ops: Vec<Op>, bytes: &mut Vec<u8>) -> Vec<Result<Outcome, Error>> {
        for op in ops {
            let refusal = if op.reads_exactly() {
                Some(Error::new(ErrorKind::Invalid, "pub/sub frames are read on a connection of their own, not on a shared one"))
            } else {
                op.command().map(|command| encode_command(bytes, &command)).err()
            };
            self.waiting.push_back(match refusal {
                Some(error) => Waiting::Answered(Err(error)),
                None => Waiting::Reply(op),
            });
        }
        let mut results = Vec::new();
        self.take_answered(&mut results);
        results
    }

    /// Decodes the replies in `data` (with what earlier calls left undecoded).
    pub fn receive(&mut self, data: &[u8]) -> Received {
        if self.start == self.buffer.len() {
            self.buffer.clear();
            self.start = 0;
        }
        self.buffer.extend_from_slice(data);
        let mut received = Received::default();
        if let Err(error) = self.decode(&mut received.results) {
            self.fail_all(&error, &mut received.results);
            received.broken = Some(error);
        } else if self.waiting.is_empty() && self.start < self.buffer.len() {
            // Bytes nobody asked for: the connection is out of step.
            received.broken = Some(Error::new(ErrorKind::Protocol, "the server sent a reply to no request"));
            self.reset();
        }
        received
    }

    /// Gives up the connection after `error` (it broke, or timed out): every request still
    /// waiting, in order, failed or to be sent again. The conveyor is then ready for a fresh
    /// connection.
    pub fn abandon(&mut self, error: &Error) -> Vec<Abandoned> {
        let abandoned = std::mem::take(&mut self.waiting)
            .into_iter()
            .filter_map(|waiting| match waiting {
                Waiting::SetUp => None,
                Waiting::Answered(result) => Some(Abandoned::Final(result)),
                // A request that timed out may still run; a broken connection may have taken it.
                Waiting::Reply(_) if error.kind == ErrorKind::Timeout => Some(Abandoned::Final(Err(error.clone()))),
                Waiting::Reply(op) if op.repeatable() => Some(Abandoned::Again),
                Waiting::Reply(_) => Some(Abandoned::Final(Err(Error::new(ErrorKind::Connection, MAY_HAVE_RUN)))),
            })
            .collect();
        self.reset();
        abandoned
    }

    /// Decodes replies for the requests at the front of the line, for as long as whole replies
    /// are there.
    fn decode(&mut self, results: &mut Vec<Result<Outcome, Error>>) -> Result<(), Error> {
        loop {
            self.take_answered(results);
            let Some(front) = self.waiting.front() else { return Ok(()) };
            let (reply, consumed) = self
                .decoder
                .decode(&self.buffer[self.start..])
                .map_err(|e| Error::new(ErrorKind::Protocol, format!("the server sent invalid RESP: {}", e.0)))?;
            self.start += consumed;
            let Some(mut reply) = reply else { return Ok(()) };
            match front {
                Waiting::SetUp => {
                    self.setting_up -= 1;
                    if let [Node::Error(message)] = reply.as_slice() {
                        return Err(Error::new(ErrorKind::Server, message.clone()));
                    }
                }
                Waiting::Reply(op) => results.push(op.outcome(&mut reply)),
                Waiting::Answered(_) => unreachable!("answered requests were taken first"),
            }
            self.waiting.pop_front();
            self.decoder.recycle(reply);
        }
    }

    /// Moves the answers at the front of the line into `results`.
    fn take_answered(&mut self, results: &mut Vec<Result<Outcome, Error>>) {
        while let Some(Waiting::Answered(_)) = self.waiting.front() {
            if let Some(Waiting::Answered(result)) = self.waiting.pop_front() {
                results.push(result);
            }
        }
    }

    /// Fails every request still waiting with `error`, in order.
    fn fail_all(&mut self, error: &Error, results: &mut Vec<Result<Outcome, Error>>) {
        for waiting in std::mem::take(&mut self.waiting) {
            match waiting {
                Waiting::SetUp => {}
                Waiting::Reply(_) => results.push(Err(error.clone())),
                Waiting::Answered(result) => results.push(result),
            }
        }
        self.reset();
    }

    fn reset(&mut self) {
        self.waiting.clear();
        self.setting_up = 0;
        self.decoder = ReplyDecoder::new(Limits::default());
        self.buffer = Vec::new();
        self.start = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Vec<u8> {
        k.as_bytes().to_vec()
    }

    fn sent(conveyor: &mut Conveyor, ops: Vec<Op>) -> (String, Vec<Result<Outcome, Error>>) {
        let mut bytes = Vec::new();
        let results = conveyor.send(ops, &mut bytes);
        (String::from_utf8(bytes).unwrap(), results)
    }

    fn value(v: &str) -> Result<Outcome, Error> {
        Ok(Outcome::Value(Some(key(v))))
    }

    #[test]
    fn requests_sent_while_replies_are_outstanding_are_answered_in_order() {
        let mut conveyor = Conveyor::new(&ConnectionSettings::default());
        let (bytes, answered) = sent(&mut conveyor, vec![Op::Get(key("a"))]);
        assert_eq!((bytes.as_str(), answered), ("*2\r\n$3\r\nGET\r\n$1\r\na\r\n", vec![]));
        assert_eq!(conveyor.receive(b"$1\r\n").results, vec![], "half a reply answers nothing");
        let (_, answered) = sent(&mut conveyor, vec![Op::Set(key("b"), key("2"), None), Op::Incr(key("n"), 1)]);
        assert!(answered.is_empty());
        let received = conveyor.receive(b"x\r\n+OK\r\n:");
        assert_eq!(received, Received { results: vec![value("x"), Ok(Outcome::Done)], broken: None });
        assert_eq!(conveyor.receive(b"7\r\n").results, vec![Ok(Outcome::Integer(7))]);
    }

    #[test]
    fn a_request_that_cannot_be_sent_is_answered_in_its_turn() {
        let mut conveyor = Conveyor::new(&ConnectionSettings::default());
        let (_, answered) = sent(&mut conveyor, vec![Op::Remove(vec![])]);
        assert_eq!(answered.len(), 1, "nothing waits before it");
        assert_eq!(answered[0].as_ref().unwrap_err().kind, ErrorKind::Invalid);
        let (_, answered) = sent(&mut conveyor, vec![Op::Get(key("a")), Op::Call(vec![]), Op::Receive]);
        assert!(answered.is_empty(), "they wait for the GET's reply");
        let results = conveyor.receive(b"$-1\r\n").results;
        assert_eq!(results.len(), 3);
        assert_eq!(results[0], Ok(Outcome::Value(None)));
        assert_eq!(results[1].as_ref().unwrap_err().kind, ErrorKind::Invalid);
        assert!(results[2].as_ref().unwrap_err().message.contains("pub/sub"), "{:?}", results[2]);
    }

    #[test]
    fn a_fresh_connection_is_set_up_first_and_a_refusal_breaks_it() {
        let settings = ConnectionSettings { password: Some("pw".into()), database: 2, ..ConnectionSettings::default() };
        let mut conveyor = Conveyor::new(&settings);
        assert_eq!(String::from_utf8(conveyor.set_up()).unwrap(), "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n");
        assert_eq!(conveyor.setting_up(), 2);
        assert_eq!(conveyor.receive(b"+OK\r\n"), Received::default());
        assert_eq!(conveyor.setting_up(), 1);
        let refused = conveyor.receive(b"-ERR DB index is out of range\r\n");
        assert_eq!(refused.broken, Some(Error::new(ErrorKind::Server, "ERR DB index is out of range")));
        assert_eq!(conveyor.setting_up(), 0);
        let (_, answered) = sent(&mut conveyor, vec![Op::Get(key("a"))]);
        assert!(answered.is_empty());
        assert_eq!(conveyor.receive(b"$1\r\nv\r\n").results, vec![value("v")], "ready for a fresh connection");
    }

    #[test]
    fn invalid_resp_fails_everything_waiting() {
        let mut conveyor = Conveyor::new(&ConnectionSettings::default());
        sent(&mut conveyor, vec![Op::Get(key("a")), Op::Get(key("b"))]);
        let received = conveyor.receive(b"$1\r\nv\r\n?what\r\n");
        assert_eq!(received.results.len(), 2);
        assert_eq!(received.results[0], value("v"));
        assert_eq!(received.results[1].as_ref().unwrap_err().kind, ErrorKind::Protocol);
        assert_eq!(received.broken.map(|e| e.kind), Some(ErrorKind::Protocol));
    }

    #[test]
    fn bytes_nobody_asked_for_break_the_connection() {
        let mut conveyor = Conveyor::new(&ConnectionSettings::default());
        sent(&mut conveyor, vec![Op::Get(key("a"))]);
        let received = conveyor.receive(b"$1\r\nv\r\n+OK\r\n");
        assert_eq!(received.results, vec![value("v")]);
        assert_eq!(received.broken.map(|e| e.kind), Some(ErrorKind::Protocol));
    }

    #[test]
    fn after_a_break_only_repeatable_requests_go_again() {
        let mut conveyor = Conveyor::new(&ConnectionSettings::default());
        sent(&mut conveyor, vec![Op::Get(key("a")), Op::Incr(key("n"), 1), Op::Set(key("b"), key("1"), None), Op::Remove(vec![])]);
        let broke = Error::new(ErrorKind::Connection, "the connection broke");
        let abandoned = conveyor.abandon(&broke);
        let may_have_run = Abandoned::Final(Err(Error::new(ErrorKind::Connection, MAY_HAVE_RUN)));
        assert!(matches!(&abandoned[3], Abandoned::Final(Err(e)) if e.kind == ErrorKind::Invalid), "{abandoned:?}");
        assert_eq!(abandoned[..3], [Abandoned::Again, may_have_run, Abandoned::Again]);
    }

    #[test]
    fn after_a_timeout_nothing_goes_again() {
        let mut conveyor = Conveyor::new(&ConnectionSettings::default());
        sent(&mut conveyor, vec![Op::Get(key("a"))]);
        conveyor.receive(b"$5\r\nhal");
        let timeout = Error::new(ErrorKind::Timeout, "no answer");
        assert_eq!(conveyor.abandon(&timeout), [Abandoned::Final(Err(timeout))]);
        sent(&mut conveyor, vec![Op::Get(key("b"))]);
        assert_eq!(conveyor.receive(b"$1\r\nw\r\n").results, vec![value("w")], "the half reply is gone with the connection");
    }
}
