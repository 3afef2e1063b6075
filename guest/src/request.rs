//! The requests of the WIT `cache` interface and their results: what command each becomes and
//! what its reply means. The cache client sends them to a server; the engine runs them against its
//! own keyspace for hosts that embed it (the key-value interfaces). Both depend on this module,
//! which depends only on the RESP codec.

use crate::resp::Node;
use smallvec::{SmallVec, smallvec};
use std::borrow::Cow;

/// A request's time to live in milliseconds; `None` stores without expiry.
pub type TtlMs = Option<u64>;

/// A request's command, borrowing its keys and values. Up to five arguments (a SET with a TTL)
/// are held inline: a batch of small requests then allocates nothing per request for them.
pub type CommandArgs<'a> = SmallVec<[Cow<'a, [u8]>; 5]>;

/// One request of a batch.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Get(Vec<u8>),
    GetOrFail(Vec<u8>),
    Set(Vec<u8>, Vec<u8>, TtlMs),
    GetOrSet(Vec<u8>, Vec<u8>, TtlMs),
    Remove(Vec<Vec<u8>>),
    UpdateTimeout(Vec<u8>, TtlMs),
    Mget(Vec<Vec<u8>>),
    Mset(Vec<(Vec<u8>, Vec<u8>)>),
    Incr(Vec<u8>, i64),
    Exists(Vec<Vec<u8>>),
    Call(Vec<Vec<u8>>),
    /// A command whose reply is not read here: its answers come as [`Op::Receive`]s (SUBSCRIBE,
    /// whose confirmations and messages are frames of their own).
    Send(Vec<Vec<u8>>),
    /// Reads the next frame the server sends, sending nothing.
    Receive,
}

/// A request's result.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Value(Option<Vec<u8>>),
    Values(Vec<Option<Vec<u8>>>),
    Done,
    Flag(bool),
    Integer(i64),
    Reply(Vec<Node>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    Connection,
    Timeout,
    Exhausted,
    Server,
    NotFound,
    Protocol,
    Invalid,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into() }
    }
}

impl Outcome {
    /// The value of a `get`, `get-or-fail` or `get-or-set`.
    pub fn into_value(self) -> Result<Option<Vec<u8>>, Error> {
        match self {
            Outcome::Value(v) => Ok(v),
            other => Err(other.unexpected()),
        }
    }

    /// The values of an `mget`.
    pub fn into_values(self) -> Result<Vec<Option<Vec<u8>>>, Error> {
        match self {
            Outcome::Values(values) => Ok(values),
            other => Err(other.unexpected()),
        }
    }

    /// The answer of a `set` or `mset`.
    pub fn into_done(self) -> Result<(), Error> {
        match self {
            Outcome::Done => Ok(()),
            other => Err(other.unexpected()),
        }
    }

    /// The answer of a `remove` or `update-timeout`.
    pub fn into_flag(self) -> Result<bool, Error> {
        match self {
            Outcome::Flag(f) => Ok(f),
            other => Err(other.unexpected()),
        }
    }

    /// The number an `incr` or `exists` answers.
    pub fn into_integer(self) -> Result<i64, Error> {
        match self {
            Outcome::Integer(n) => Ok(n),
            other => Err(other.unexpected()),
        }
    }

    /// The reply to a `call`.
    pub fn into_reply(self) -> Result<Vec<Node>, Error> {
        match self {
            Outcome::Reply(nodes) => Ok(nodes),
            other => Err(other.unexpected()),
        }
    }

    fn unexpected(&self) -> Error {
        Error::new(ErrorKind::Protocol, format!("the request got a result of another kind: {self:?}"))
    }
}

/// Commands that can run twice with the same effect and answer, so a request cut off by a broken
/// connection may be sent again without the caller seeing it happen twice.
const REPEATABLE: &[&str] = &[
    "GET", "MGET", "EXISTS", "TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME", "TYPE", "STRLEN", "GETRANGE",
    "SUBSTR", "KEYS", "SCAN", "DBSIZE", "PING", "ECHO", "TIME", "INFO", "RANDOMKEY", "SET", "MSET",
];

impl Op {
    /// The command that carries this request, borrowing the request's keys and values so they
    /// are copied only once, into the outgoing bytes. `Err` when it cannot be sent at all.
    pub fn command(&self) -> Result<CommandArgs<'_>, Error> {
        let word = |w: &'static [u8]| Cow::Borrowed(w);
        Ok(match self {
            Op::Get(key) | Op::GetOrFail(key) => smallvec![word(b"GET"), key.into()],
            Op::Set(key, value, ttl) => with_ttl(smallvec![word(b"SET"), key.into(), value.into()], *ttl),
            Op::GetOrSet(key, value, ttl) => {
                with_ttl(smallvec![word(b"SET"), key.into(), value.into(), word(b"NX"), word(b"GET")], *ttl)
            }
            Op::Remove(keys) => prefixed("DEL", keys)?,
            Op::UpdateTimeout(key, Some(ms)) => smallvec![word(b"PEXPIRE"), key.into(), number(*ms)],
            // PERSIST answers 0 both for a missing key and for one without expiry; GETEX tells
            // them apart.
            Op::UpdateTimeout(key, None) => smallvec![word(b"GETEX"), key.into(), word(b"PERSIST")],
            Op::Mget(keys) => prefixed("MGET", keys)?,
            Op::Mset(pairs) if pairs.is_empty() => return Err(invalid("mset needs at least one key and value")),
            Op::Mset(pairs) => {
                let mut args: CommandArgs<'_> = smallvec![word(b"MSET")];
                for (key, value) in pairs {
                    args.push(key.into());
                    args.push(value.into());
                }
                args
            }
            Op::Incr(key, by) => smallvec![word(b"INCRBY"), key.into(), number(*by)],
            Op::Exists(keys) => prefixed("EXISTS", keys)?,
            Op::Call(args) | Op::Send(args) if args.is_empty() => return Err(invalid("call needs a command name")),
            Op::Call(args) | Op::Send(args) => args.iter().map(Cow::from).collect(),
            Op::Receive => return Err(invalid("receive sends no command: it reads from a connection to a server")),
        })
    }

    /// Whether a request that may already have reached the server can be sent again.
    pub fn repeatable(&self) -> bool {
        match self {
            Op::Get(_) | Op::GetOrFail(_) | Op::Set(..) | Op::GetOrSet(..) => true,
            Op::Mget(_) | Op::Mset(_) | Op::Exists(_) | Op::UpdateTimeout(..) => true,
            Op::Remove(_) | Op::Incr(..) | Op::Send(_) | Op::Receive => false,
            Op::Call(args) => args.first().is_some_and(|name| {
                REPEATABLE.iter().any(|r| r.as_bytes().eq_ignore_ascii_case(name))
            }),
        }
    }

    /// What the server's reply means for this request. The nodes the outcome keeps are taken out
    /// of `reply`, so the list can be reused for the next reply.
    pub fn outcome(&self, reply: &mut Vec<Node>) -> Result<Outcome, Error> {
        if let [Node::Error(message)] = reply.as_slice() {
            return Err(Error::new(ErrorKind::Server, message.clone()));
        }
        match self {
            Op::Call(_) | Op::Receive => return Ok(Outcome::Reply(std::mem::take(reply))),
            Op::Send(_) => return Ok(Outcome::Done),
            _ => {}
        }
        let name = self.name();
        let unexpected = || Error::new(ErrorKind::Protocol, format!("the server's reply to {name} is not of the expected type"));
        let single = if reply.len() == 1 { reply.pop() } else { None };
        Ok(match (self, single) {
            (Op::Get(_), Some(node)) => Outcome::Value(value(node).ok_or_else(unexpected)?),
            (Op::GetOrFail(key), Some(node)) => match value(node).ok_or_else(unexpected)? {
                Some(v) => Outcome::Value(Some(v)),
                None => return Err(Error::new(ErrorKind::NotFound, format!("no value for key '{}'", String::from_utf8_lossy(key)))),
            },
            (Op::Set(..) | Op::Mset(_), Some(Node::Simple(_))) => Outcome::Done,
            (Op::GetOrSet(_, given, _), Some(node)) => match value(node).ok_or_else(unexpected)? {
                Some(existing) => Outcome::Value(Some(existing)),
                None => Outcome::Value(Some(given.clone())),
            },
            (Op::Remove(keys), Some(Node::Integer(n))) => Outcome::Flag(n as usize == keys.len()),
            (Op::UpdateTimeout(_, Some(_)), Some(Node::Integer(n))) => Outcome::Flag(n == 1),
            (Op::UpdateTimeout(_, None), Some(node)) => Outcome::Flag(value(node).ok_or_else(unexpected)?.is_some()),
            (Op::Incr(..) | Op::Exists(_), Some(Node::Integer(n))) => Outcome::Integer(n),
            (Op::Mget(_), None) => Outcome::Values(values(reply).ok_or_else(unexpected)?),
            _ => return Err(unexpected()),
        })
    }

    fn name(&self) -> &'static str {
        match self {
            Op::Get(_) => "get",
            Op::GetOrFail(_) => "get-or-fail",
            Op::Set(..) => "set",
            Op::GetOrSet(..) => "get-or-set",
            Op::Remove(_) => "remove",
            Op::UpdateTimeout(..) => "update-timeout",
            Op::Mget(_) => "mget",
            Op::Mset(_) => "mset",
            Op::Incr(..) => "incr",
            Op::Exists(_) => "exists",
            Op::Call(_) => "call",
            Op::Send(_) => "send",
            Op::Receive => "receive",
        }
    }

    /// Whether the server answers it with a reply of its own, read in turn.
    pub fn expects_reply(&self) -> bool {
        !matches!(self, Op::Send(_))
    }

    /// Whether it belongs to a session of frames the server sends unasked (pub/sub): its replies
    /// are read exactly, so that no byte of a later frame is taken from the connection.
    pub fn reads_exactly(&self) -> bool {
        matches!(self, Op::Send(_) | Op::Receive)
    }
}

fn invalid(message: &str) -> Error {
    Error::new(ErrorKind::Invalid, message)
}

fn with_ttl(mut args: CommandArgs<'_>, ttl: TtlMs) -> CommandArgs<'_> {
    if let Some(ms) = ttl {
        args.push(Cow::Borrowed(b"PX"));
        args.push(number(ms.max(1)));
    }
    args
}

fn number(n: impl std::fmt::Display) -> Cow<'static, [u8]> {
    Cow::Owned(n.to_string().into_bytes())
}

fn prefixed<'a>(name: &'static str, keys: &'a [Vec<u8>]) -> Result<CommandArgs<'a>, Error> {
    if keys.is_empty() {
        return Err(invalid(&format!("{} needs at least one key", name.to_ascii_lowercase())));
    }
    let mut args = CommandArgs::with_capacity(keys.len() + 1);
    args.push(Cow::Borrowed(name.as_bytes()));
    args.extend(keys.iter().map(Cow::from));
    Ok(args)
}

/// A string value or its absence.
fn value(node: Node) -> Option<Option<Vec<u8>>> {
    match node {
        Node::Bulk(data) => Some(Some(data)),
        Node::Simple(text) => Some(Some(text.into_bytes())),
        Node::Nil => Some(None),
        _ => None,
    }
}

/// The elements of a flat array of values (MGET).
fn values(reply: &mut Vec<Node>) -> Option<Vec<Option<Vec<u8>>>> {
    let mut nodes = reply.drain(..);
    let Some(Node::Array(n)) = nodes.next() else { return None };
    let found: Option<Vec<_>> = nodes.map(value).collect();
    found.filter(|v| v.len() == n as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Node {
        Node::Bulk(s.as_bytes().to_vec())
    }

    #[test]
    fn commands() {
        let cmd = |op: Op| op.command().unwrap().iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>().join(" ");
        assert_eq!(cmd(Op::Set(b"k".to_vec(), b"v".to_vec(), Some(300_000))), "SET k v PX 300000");
        assert_eq!(cmd(Op::GetOrSet(b"k".to_vec(), b"v".to_vec(), None)), "SET k v NX GET");
        assert_eq!(cmd(Op::UpdateTimeout(b"k".to_vec(), None)), "GETEX k PERSIST");
        assert_eq!(cmd(Op::Incr(b"n".to_vec(), -2)), "INCRBY n -2");
        assert_eq!(Op::Remove(vec![]).command().unwrap_err().kind, ErrorKind::Invalid);
        assert_eq!(Op::Call(vec![]).command().unwrap_err().kind, ErrorKind::Invalid);
    }

    #[test]
    fn outcomes() {
        let get_or_set = Op::GetOrSet(b"k".to_vec(), b"new".to_vec(), None);
        assert_eq!(get_or_set.outcome(&mut vec![Node::Nil]), Ok(Outcome::Value(Some(b"new".to_vec()))));
        assert_eq!(get_or_set.outcome(&mut vec![bulk("old")]), Ok(Outcome::Value(Some(b"old".to_vec()))));
        let remove = Op::Remove(vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(remove.outcome(&mut vec![Node::Integer(1)]), Ok(Outcome::Flag(false)));
        assert_eq!(remove.outcome(&mut vec![Node::Integer(2)]), Ok(Outcome::Flag(true)));
        let mget = Op::Mget(vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(mget.outcome(&mut vec![Node::Array(2), bulk("x"), Node::Nil]), Ok(Outcome::Values(vec![Some(b"x".to_vec()), None])));
        let missing = Op::GetOrFail(b"k".to_vec()).outcome(&mut vec![Node::Nil]).unwrap_err();
        assert_eq!((missing.kind, missing.message.as_str()), (ErrorKind::NotFound, "no value for key 'k'"));
        let wrongtype = Op::Incr(b"k".to_vec(), 1).outcome(&mut vec![Node::Error("WRONGTYPE x".into())]).unwrap_err();
        assert_eq!(wrongtype.kind, ErrorKind::Server);
        assert_eq!(Op::Get(b"k".to_vec()).outcome(&mut vec![Node::Integer(1)]).unwrap_err().kind, ErrorKind::Protocol);
    }

    #[test]
    fn only_repeatable_requests_are_retried() {
        assert!(Op::Get(b"k".to_vec()).repeatable());
        assert!(!Op::Incr(b"k".to_vec(), 1).repeatable());
        assert!(Op::Call(vec![b"ping".to_vec()]).repeatable());
        assert!(!Op::Call(vec![b"LPUSH".to_vec(), b"l".to_vec()]).repeatable());
    }
}
