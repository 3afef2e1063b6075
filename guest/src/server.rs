//! The engine behind the server world: connections come and go, bytes are fed in, replies come
//! out, and a timer runs background work. No I/O happens here; the host does all of it.

use crate::client::{Error as ClientError, ErrorKind as ClientErrorKind, Op, Outcome};
use crate::commands::{self, Ctx};
use crate::config::{Config, ConfigError};
use crate::keyspace::Keyspace;
use crate::resp::{Args, Limits, Parsed, Reply, ReplyDecoder, parse_request};
use crate::rng::Rng;
use crate::session::{Peer, PeerKind, Session, Sessions};
use smallvec::SmallVec;

/// The Redis version cachet answers as (HELLO, INFO): the one whose commands and replies it follows.
pub const REDIS_VERSION: &str = "7.2.4";

/// Redis's answer to a client from another machine while protected mode is on.
const PROTECTED_MODE_REFUSAL: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// The time, read once per call from the host's clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Now {
    /// Milliseconds since the Unix epoch.
    pub wall_ms: u64,
    /// Nanoseconds on the host's monotonic clock.
    pub mono_ns: u64,
}

/// Counters INFO reports (the keyspace keeps its own).
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub connections_received: u64,
    pub rejected_connections: u64,
    pub commands_processed: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    /// Commands per second, averaged over the last samples the timer took.
    pub ops_per_sec: u64,
    ops_samples: OpsSamples,
}

impl Stats {
    /// CONFIG RESETSTAT: every counter back to zero.
    pub fn reset(&mut self) {
        *self = Stats::default();
    }
}

#[derive(Debug, Default, Clone)]
struct OpsSamples {
    last_ns: u64,
    last_commands: u64,
    rates: [u64; 16],
    next: usize,
}

/// Facts fixed when the engine starts.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    /// 40 hex characters, new for every engine, as Redis's `run_id`.
    pub run_id: String,
    pub started: Now,
}

/// What one [`Engine::feed`] produced for a connection.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub consumed: usize,
    pub wanted: usize,
    pub reply: Vec<u8>,
    pub close: bool,
    /// Stopped early with a large reply; the rest of the input still waits.
    pub more: bool,
    pub session: Option<Vec<u8>>,
}

/// What one [`Engine::tick`] asks of the host.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tick {
    pub next_deadline_ns: u64,
    pub close: Vec<u64>,
}

/// Once a call's replies reach this size, the engine stops running commands and lets the host
/// write them before it continues: a client pipelining many reads of large values cannot make the
/// server buffer all their replies at once.
pub const REPLY_CHUNK: usize = 4 * 1024 * 1024;

/// Commands whose keys are read ahead together.
const WARM_BATCH: usize = 16;

/// Databases with fewer keys stay in the processor's cache: reading ahead would only cost time.
const WARM_ABOVE_KEYS: usize = 16 * 1024;

/// At most this many keys are sampled by one run of active expiry, so one tick stays short.
const EXPIRE_SAMPLES_PER_TICK: usize = 2_000;

pub struct Engine {
    keyspace: Keyspace,
    config: Config,
    stats: Stats,
    rng: Rng,
    info: ServerInfo,
    sessions: Sessions,
    next_client_id: u64,
    /// The session requests from [`Engine::run_op`] run on: no connection, never listed.
    embedded: Option<Session>,
}

impl Engine {
    pub fn new(seed: u64, now: Now) -> Self {
        let mut rng = Rng::new(seed);
        let config = Config::default();
        let keyspace = Keyspace::new(config.databases, rng.next_u64());
        let run_id = (0..40).map(|_| char::from_digit(rng.below(16) as u32, 16).unwrap_or('0')).collect();
        Engine {
            keyspace,
            config,
            stats: Stats::default(),
            rng,
            info: ServerInfo { run_id, started: now },
            sessions: Sessions::default(),
            next_client_id: 1,
            embedded: None,
        }
    }

    /// Settings from the host, before the first connection (see [`Config::apply_startup`]).
    pub fn configure(&mut self, settings: &[(String, String)]) -> Result<(), ConfigError> {
        for (name, value) in settings {
            self.config.apply_startup(name, value)?;
        }
        if self.keyspace.databases() != self.config.databases {
            self.keyspace = Keyspace::new(self.config.databases, self.rng.next_u64());
        }
        Ok(())
    }

    pub fn databases(&self) -> usize {
        self.config.databases
    }

    /// Fixes the settings that cannot change while the keyspace is in use (`databases`).
    pub fn freeze_config(&mut self) {
        self.config.frozen = true;
    }

    /// Runs one request for a host that calls the engine directly rather than through a
    /// connection (the key-value interfaces): the request becomes the command a client would send,
    /// run in database `db` exactly as a client's command is, and its reply is decoded. So both
    /// paths share one keyspace and one set of rules — expiry, memory limits, error texts.
    pub fn run_op(&mut self, db: usize, op: &Op, now: Now) -> Result<Outcome, ClientError> {
        let args = op.command()?;
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_ref()).collect();
        let mut session = self.embedded.take().unwrap_or_else(|| {
            let peer = Peer { kind: PeerKind::Unix, address: "embedded".into(), local_address: String::new() };
            Session::new(0, 0, peer, now.wall_ms, now.mono_ns)
        });
        session.db = db;
        let mut reply = Vec::new();
        self.keyspace.set_clock(now.wall_ms);
        self.execute(&mut session, &args, &mut reply, now);
        self.embedded = Some(session);
        let nodes = ReplyDecoder::new(Limits::default()).decode(&reply).ok().and_then(|(nodes, _)| nodes);
        let nodes = nodes.ok_or_else(|| ClientError::new(ClientErrorKind::Protocol, "the engine's reply could not be read"))?;
        op.outcome(nodes)
    }

    /// Registers a new connection, restoring its session when the host kept one. Returns the reply
    /// to send before closing when the connection is refused.
    pub fn open(&mut self, connection: u64, peer: Peer, saved: Option<&[u8]>, now: Now) -> Option<Vec<u8>> {
        self.config.frozen = true;
        self.stats.connections_received += 1;
        if self.sessions.len() as u64 >= self.config.maxclients {
            self.stats.rejected_connections += 1;
            return Some(b"-ERR max number of clients reached\r\n".to_vec());
        }
        if self.refuses_outsider(&peer) {
            self.stats.rejected_connections += 1;
            return Some(PROTECTED_MODE_REFUSAL.as_bytes().to_vec());
        }
        let mut session = Session::new(connection, self.next_client_id, peer, now.wall_ms, now.mono_ns);
        session.authenticated = self.config.requirepass.is_empty();
        self.next_client_id += 1;
        if let Some(saved) = saved
            && session.restore(saved, self.config.databases)
        {
            self.next_client_id = self.next_client_id.max(session.client_id + 1);
        }
        self.sessions.insert(connection, Box::new(session));
        None
    }

    /// Protected mode: with no password set, only clients on this machine are served.
    fn refuses_outsider(&self, peer: &Peer) -> bool {
        self.config.protected_mode && self.config.requirepass.is_empty() && !peer.is_local()
    }

    pub fn close(&mut self, connection: u64) {
        self.sessions.remove(&connection);
    }

    pub fn connected_clients(&self) -> usize {
        self.sessions.len()
    }

    /// Runs every complete command at the start of `data`, the input the host holds for one
    /// connection, and reports how much of it was used.
    pub fn feed(&mut self, connection: u64, data: &[u8], now: Now) -> Output {
        // Replies are usually about as long as the requests: one allocation instead of a series
        // of doublings.
        let mut out = Output { reply: Vec::with_capacity(data.len().clamp(64, 64 * 1024)), ..Output::default() };
        self.keyspace.set_clock(now.wall_ms);
        let Some(mut session) = self.sessions.remove(&connection) else {
            out.consumed = data.len();
            out.close = true;
            out.reply = b"-ERR internal error: this connection is not open\r\n".to_vec();
            return out;
        };
        let limits = Limits {
            max_bulk_len: usize::try_from(self.config.proto_max_bulk_len).unwrap_or(usize::MAX),
            ..Limits::default()
        };
        // With a database larger than the processor's cache, the keys of the next commands are
        // read ahead, a batch at a time; `warmed` is where the batch read ahead last ends.
        let read_ahead = self.keyspace.len(session.db) >= WARM_ABOVE_KEYS;
        let mut warmed = 0;
        while !session.close_after_reply {
            if out.reply.len() >= REPLY_CHUNK && out.consumed < data.len() {
                out.more = true;
                break;
            }
            if read_ahead && out.consumed >= warmed {
                warmed = out.consumed + self.warm(&session, &data[out.consumed..], &limits);
            }
            match parse_request(&data[out.consumed..], &limits) {
                Ok(Parsed::Command(args, used)) => {
                    out.consumed += used;
                    match &args {
                        Args::Borrowed(args) => self.execute(&mut session, args, &mut out.reply, now),
                        Args::Owned(_) => self.execute(&mut session, &args.slices(), &mut out.reply, now),
                    }
                }
                Ok(Parsed::Skip(used)) => out.consumed += used,
                Ok(Parsed::Incomplete(wanted)) => {
                    if wanted as u64 > self.config.client_query_buffer_limit {
                        crate::log::warn(&format!(
                            "closing client {} ({}): its query buffer would exceed client-query-buffer-limit",
                            session.client_id, session.peer.address
                        ));
                        session.close_after_reply = true;
                    } else {
                        out.wanted = wanted;
                    }
                    break;
                }
                Err(error) => {
                    Reply::new(&mut out.reply, session.resp3()).error(&format!("ERR {error}"));
                    crate::log::info(&format!(
                        "protocol error from client {} ({}): {error}",
                        session.client_id, session.peer.address
                    ));
                    out.consumed = data.len();
                    session.close_after_reply = true;
                }
            }
        }
        self.stats.net_input_bytes += out.consumed as u64;
        self.stats.net_output_bytes += out.reply.len() as u64;
        out.close = session.close_after_reply;
        if session.changed {
            session.changed = false;
            out.session = Some(session.encode());
        }
        self.sessions.insert(connection, session);
        out
    }

    /// Reads ahead the memory of the keys the next [`WARM_BATCH`] commands in `input` will use
    /// (see [`Keyspace::warm`]), and returns how many bytes of input they take. The commands are
    /// parsed again when they run: parsing is cheap next to a wait for main memory.
    fn warm(&self, session: &Session, input: &[u8], limits: &Limits) -> usize {
        let mut keys: SmallVec<[&[u8]; WARM_BATCH]> = SmallVec::new();
        let mut offset = 0;
        for _ in 0..WARM_BATCH {
            match parse_request(&input[offset..], limits) {
                Ok(Parsed::Command(Args::Borrowed(args), used)) => {
                    if args.len() > 1 && commands::lookup(args[0]).is_some_and(|c| c.keys.0 == 1) {
                        keys.push(args[1]);
                    }
                    offset += used;
                }
                Ok(Parsed::Command(_, used) | Parsed::Skip(used)) => offset += used,
                Ok(Parsed::Incomplete(_)) | Err(_) => break,
            }
        }
        if keys.len() > 1 {
            self.keyspace.warm(session.db, &keys);
        }
        offset.max(1)
    }

    fn execute(&mut self, session: &mut Session, args: &[&[u8]], buf: &mut Vec<u8>, now: Now) {
        let resp3 = session.resp3();
        let mut ctx = Ctx {
            keyspace: &mut self.keyspace,
            config: &mut self.config,
            stats: &mut self.stats,
            rng: &mut self.rng,
            session,
            others: &self.sessions,
            info: &self.info,
            reply: Reply::new(buf, resp3),
            now,
        };
        let command = commands::dispatch(&mut ctx, args);
        session.last_command = command.map_or("NULL", |c| c.name);
        session.last_active_ns = now.mono_ns;
        self.stats.commands_processed += 1;
    }

    /// Background work: active expiry, closing idle clients, and the ops/sec estimate.
    pub fn tick(&mut self, now: Now) -> Tick {
        self.keyspace.set_clock(now.wall_ms);
        self.keyspace.expire_cycle(&mut self.rng, now.wall_ms, EXPIRE_SAMPLES_PER_TICK);
        self.sample_ops(now);
        let mut close = Vec::new();
        if self.config.timeout > 0 {
            let limit_ns = self.config.timeout.saturating_mul(1_000_000_000);
            for (id, session) in &self.sessions {
                // UDP senders have no connection to close; the host forgets them when idle.
                let idle = now.mono_ns.saturating_sub(session.last_active_ns);
                if session.peer.kind != PeerKind::Udp && idle > limit_ns {
                    close.push(*id);
                }
            }
            for id in &close {
                self.sessions.remove(id);
            }
        }
        Tick { next_deadline_ns: now.mono_ns + 1_000_000_000 / self.config.hz.max(1), close }
    }

    fn sample_ops(&mut self, now: Now) {
        let samples = &mut self.stats.ops_samples;
        let elapsed = now.mono_ns.saturating_sub(samples.last_ns);
        if elapsed < 100_000_000 {
            return;
        }
        let done = self.stats.commands_processed - samples.last_commands;
        samples.rates[samples.next] = done * 1_000_000_000 / elapsed.max(1);
        samples.next = (samples.next + 1) % samples.rates.len();
        samples.last_ns = now.mono_ns;
        samples.last_commands = self.stats.commands_processed;
        self.stats.ops_per_sec = samples.rates.iter().sum::<u64>() / samples.rates.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::REPLY_CHUNK;
    use crate::commands::test_support::TestClient;

    /// The fuzzer's command corpus, fed to the engine as raw client input: whatever arrives, the
    /// engine answers and never panics.
    #[test]
    fn fuzz_corpus_as_raw_input() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/commands");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).expect("the fuzz corpus is in the repository") {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            let mut c = TestClient::new();
            let out = c.engine.feed(1, &data, c.now);
            assert!(out.consumed <= data.len());
            seen += 1;
        }
        assert!(seen > 10, "only {seen} corpus files");
    }

    /// Long pipelines run every command once and in order, whatever stops the input (an
    /// incomplete command, QUIT, a protocol error) and wherever it falls: with a database large
    /// enough that keys are read ahead a batch at a time, and without.
    #[test]
    fn long_pipelines_run_in_order_across_batches() {
        let client_with_keys = |keys: usize| {
            let mut c = TestClient::new();
            for i in 0..keys {
                c.engine.keyspace.set(0, format!("filler:{i}").as_bytes(), crate::keyspace::Value::from_bytes(b"x"), None);
            }
            c
        };
        let incr = b"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n";
        let counts = |n: usize| (1..=n).map(|i| format!(":{i}\r\n")).collect::<String>();
        for keys in [0, super::WARM_ABOVE_KEYS + 1] {
            let mut c = client_with_keys(keys);
            let mut input: Vec<u8> = incr.iter().copied().cycle().take(incr.len() * 37).collect();
            input.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$1");
            let out = c.engine.feed(1, &input, c.now);
            assert_eq!(String::from_utf8_lossy(&out.reply), counts(37));
            assert_eq!(out.consumed, incr.len() * 37);
            assert!(out.wanted > input.len() - out.consumed && !out.close);

            let quit = &b"*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n"[..];
            let bad = &b"*1\r\n:1\r\n"[..];
            for (tail, reply_end) in [(quit, "+OK\r\n"), (bad, "-ERR Protocol error: expected '$', got ':'\r\n")] {
                let mut c = client_with_keys(keys);
                let mut input: Vec<u8> = incr.iter().copied().cycle().take(incr.len() * 20).collect();
                input.extend_from_slice(tail);
                input.extend_from_slice(incr);
                let out = c.engine.feed(1, &input, c.now);
                let reply = String::from_utf8_lossy(&out.reply).into_owned();
                assert_eq!(reply, counts(20) + reply_end);
                assert!(out.close);
            }
        }
    }

    #[test]
    fn large_pipelined_replies_come_in_chunks() {
        let mut c = TestClient::new();
        let value = "x".repeat(1024 * 1024);
        c.run(&["SET", "big", &value]);
        let get = b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n";
        let input: Vec<u8> = get.iter().copied().cycle().take(get.len() * 20).collect();
        let mut offset = 0;
        let mut replies = 0;
        let mut calls = 0;
        while offset < input.len() {
            let out = c.engine.feed(1, &input[offset..], c.now);
            assert!(out.reply.len() <= REPLY_CHUNK + value.len() + 16, "one call's reply stays bounded");
            assert_eq!(out.more, offset + out.consumed < input.len());
            replies += out.reply.len() / (value.len() + "$1048576\r\n\r\n".len());
            offset += out.consumed;
            calls += 1;
        }
        assert_eq!(replies, 20);
        assert!(calls >= 5, "{calls} calls");
    }
}
