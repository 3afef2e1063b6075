//! The engine's test harness, shared by the engine's tests and every command family's: it drives a
//! whole [`Engine`] over one or more connections, sending commands as a real client would (RESP
//! arrays) and returning the raw reply text, so tests assert on exactly the bytes a client receives.

use crate::engine::Engine;
use crate::session::{Peer, PeerKind};
use crate::time::Now;

/// An engine with one open connection (more with [`Harness::another`]) and a clock tests move.
pub struct Harness {
    pub engine: Engine,
    pub connection: u64,
    pub now: Now,
}

impl Harness {
    pub fn new() -> Self {
        let now = Now { wall_ms: 1_700_000_000_000, mono_ns: 1_000_000_000 };
        let mut engine = Engine::new(42);
        let peer = Peer { kind: PeerKind::Tcp, address: "127.0.0.1:40000".into(), local_address: "127.0.0.1:6379".into() };
        assert!(engine.open(now, 1, peer, None).is_none());
        Harness { engine, connection: 1, now }
    }

    /// Opens a second connection to the same engine.
    pub fn another(&mut self, connection: u64) -> u64 {
        let peer = Peer { kind: PeerKind::Tcp, address: format!("127.0.0.1:{}", 40000 + connection), local_address: "127.0.0.1:6379".into() };
        assert!(self.engine.open(self.now, connection, peer, None).is_none());
        connection
    }

    /// Runs one command and returns its reply, e.g. `"+OK\r\n"`.
    pub fn run(&mut self, args: &[&str]) -> String {
        let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.run_bytes(&bytes)
    }

    pub fn run_bytes(&mut self, args: &[&[u8]]) -> String {
        self.run_on(self.connection, args)
    }

    pub fn run_on(&mut self, connection: u64, args: &[&[u8]]) -> String {
        let mut input = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            input.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            input.extend_from_slice(arg);
            input.extend_from_slice(b"\r\n");
        }
        let out = self.engine.feed_one(self.now, connection, &input);
        assert_eq!(out.progress.map(|p| p.consumed), Some(input.len()), "the whole command is consumed");
        String::from_utf8_lossy(&out.data).into_owned()
    }

    /// Runs one command on `connection` and returns what every connection got from the call, in
    /// the order the engine gave it (pushes to other connections included).
    pub fn run_seen_by_all(&mut self, connection: u64, args: &[&str]) -> Vec<(u64, String)> {
        let mut input = Vec::new();
        crate::resp::encode_command(&mut input, args);
        let outputs = self.engine.feed(self.now, &[crate::engine::Input { id: connection, data: &input }]);
        outputs.into_iter().map(|o| (o.id, String::from_utf8_lossy(&o.data).into_owned())).collect()
    }

    /// How many connections the engine holds open.
    pub fn connected_clients(&self) -> usize {
        self.engine.sessions.len()
    }

    /// Moves both clocks forward.
    pub fn advance_ms(&mut self, ms: u64) {
        self.now.wall_ms += ms;
        self.now.mono_ns += ms * 1_000_000;
    }
}

/// The RESP text of an array of bulk strings.
pub fn array(items: &[&str]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    for item in items {
        out.push_str(&bulk(item));
    }
    out
}

/// Redis's reply to a command on a key of another type.
pub const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

/// The RESP text of a bulk string reply.
pub fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}
