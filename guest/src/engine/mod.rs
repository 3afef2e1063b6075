//! The engine behind the server world: a state machine that is given connections, bytes and the
//! time, and gives back bytes and closes for any connection and the time it next has work to do.
//! No I/O and no clock reading happens here; the host does all of it.

use crate::blocking::Blocking;
use crate::commands::{self, Ctx};
use crate::config::{Config, ConfigError};
use crate::host_settings::HostSettings;
use crate::keyspace::Keyspace;
use crate::outbox::{Outbox, Output, Progress};
use crate::request::{self, Op, Outcome};
use crate::resp::{Args, Limits, Parsed, Reply, ReplyDecoder, parse_request};
use crate::rng::Rng;
use crate::server_facts::ServerFacts;
use crate::session::{Peer, PeerKind, Session, Sessions};
use crate::stats::Stats;
use crate::time::Now;
use crate::pause::Pause;
use crate::peer_limits::PeerLimits;
use crate::pubsub::PubSub;
use crate::tracking::Tracking;
use crate::watches::Watches;
use smallvec::SmallVec;

mod output_limits;
mod scripts;
pub use output_limits::Backlog;

/// Redis's answer to a client from another machine while protected mode is on.
const PROTECTED_MODE_REFUSAL: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// A connection's input, as the host holds it.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub id: u64,
    pub data: &'a [u8],
}

/// Once a connection's replies in one call reach this size, the engine stops running its commands
/// and lets the host write them before it continues: a client pipelining many reads of large
/// values cannot make the server buffer all their replies at once.
pub(crate) const REPLY_CHUNK: usize = 4 * 1024 * 1024;

/// Why a server with users in both places does not start (Redis refuses the same).
const ACLFILE_AND_USERS: &str = "users are defined both by `user` settings and in the ACL file; define them in one place only (the ACL file, or `user` lines in the configuration), since mixing the two is likely to lead to configuration errors and security holes";

/// Commands whose keys are read ahead together.
const WARM_BATCH: usize = 16;

/// Databases with fewer keys stay in the processor's cache: reading ahead would only cost time.
const WARM_ABOVE_KEYS: usize = 16 * 1024;

/// Index slots a tick moves while an index grows. The old array is read in order and its keys
/// land close together in the new one, so a move is cheap: 16,384 slots take about 0.09 ms
/// natively with 100,000 to 6.3 million keys, well under Redis's millisecond of rehashing per
/// tick, and a move of a million slots is done after 64 ticks.
const REHASH_PER_TICK: usize = 16 * 1024;

/// The answer a client blocked in a faulted engine gets from the engine that replaces it.
const BLOCKED_AT_FAULT: &[u8] = b"-ERR internal error: the engine faulted while this client was blocked; the cache was reset\r\n";

/// Room reserved for a served waiter's reply: a two-element array of short strings fits.
const SERVED_REPLY: usize = 64;

/// What a held connection's `wanted` says: more input never makes the host feed it again; only
/// the engine's `resume` does.
const HELD: usize = u32::MAX as usize;

/// At most this many keys are forgotten by one call to keep the tracking table within
/// `tracking-table-max-keys`; a lowered limit is reached over several ticks.
const TRACKING_EVICTIONS_PER_CALL: usize = 10_000;

/// At most this many keys are sampled by one run of active expiry, so one tick stays short.
const EXPIRE_SAMPLES_PER_TICK: usize = 2_000;

pub struct Engine {
    keyspace: Keyspace,
    config: Config,
    stats: Stats,
    rng: Rng,
    facts: ServerFacts,
    /// Whether `facts.started` holds the time of the first call yet.
    started: bool,
    sessions: Sessions,
    next_client_id: u64,
    /// The session requests from [`Engine::run_op`] run on: no connection, never listed.
    embedded: Option<Session>,
    /// Output made outside a server call (by [`Engine::run_op`]), handed over with the next one.
    outbox: Outbox,
    /// When active expiry last ran (monotonic nanoseconds).
    expired_at_ns: u64,
    /// The earliest time a connection can have been idle for `timeout` seconds, as of the last
    /// check, and the `timeout` that check used.
    idle: IdleCheck,
    /// Who WATCHes which keys (transactions).
    watches: Watches,
    /// Who subscribes to which channels.
    pubsub: PubSub,
    /// Connections in MONITOR mode.
    monitors: Vec<u64>,
    /// Which clients track which keys (CLIENT TRACKING).
    tracking: Tracking,
    /// The tracking table holds more keys than `tracking-table-max-keys` after a call's share of
    /// forgetting: the next tick goes on.
    tracking_over_limit: bool,
    /// CLIENT PAUSE, and the connections whose commands wait for its end.
    pause: Pause,
    /// Clients waiting in a blocking command, and the keys they wait for.
    blocking: Blocking,
    /// Blocked clients are being served (see [`Engine::serve_ready`]): their commands do not
    /// serve others in turn.
    serving_blocked: bool,
    /// Connections whose waiting output has reached their soft output buffer limit.
    soft_limited: Vec<u64>,
    /// Counts of new connections and failed authentications per peer address.
    peer_limits: PeerLimits,
    /// How CONFIG SET reaches the settings the host applies.
    host_settings: HostSettings,
    /// Lua scripts (EVAL).
    #[cfg(feature = "lua")]
    scripts: crate::scripting::Scripts,
    /// ACL users and the ACL LOG.
    acl: crate::acl::Acl,
}

/// What [`Engine::after_command`] needs to know of what ran.
#[derive(Clone, Copy)]
struct Ran<'a> {
    /// Where the reply to it starts in the connection's output.
    reply_start: usize,
    /// How many connections the call had closed before it.
    closes_before: usize,
    /// The command's words; `None` for a script's slice.
    args: Option<&'a [&'a [u8]]>,
    command: Option<&'static commands::Command>,
}

/// How a wait ends without being served.
#[derive(Clone, Copy)]
enum Ending {
    Timeout,
    /// CLIENT UNBLOCK ... ERROR.
    Error,
}

#[derive(Debug, Default)]
struct IdleCheck {
    deadline_ns: Option<u64>,
    timeout: u64,
}

impl Engine {
    pub fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let config = Config::default();
        let keyspace = Keyspace::new(config.databases, rng.next_u64());
        let run_id: String = (0..40).map(|_| char::from_digit(rng.below(16) as u32, 16).unwrap_or('0')).collect();
        // Keyed by the random run id rather than by a draw of its own, so that the generator's
        // sequence (eviction samples, SRANDMEMBER...) stays what it was.
        let limits_seed = run_id.bytes().fold(0u64, |seed, digit| seed.rotate_left(7) ^ u64::from(digit).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        Engine {
            keyspace,
            config,
            stats: Stats::default(),
            rng,
            facts: ServerFacts { run_id, started: Now::default(), startup_allocated: 0 },
            started: false,
            sessions: Sessions::default(),
            next_client_id: 1,
            embedded: None,
            outbox: Outbox::default(),
            expired_at_ns: 0,
            idle: IdleCheck::default(),
            watches: Watches::default(),
            pubsub: PubSub::default(),
            monitors: Vec::new(),
            tracking: Tracking::default(),
            tracking_over_limit: false,
            pause: Pause::default(),
            blocking: Blocking::default(),
            serving_blocked: false,
            soft_limited: Vec::new(),
            peer_limits: PeerLimits::new(limits_seed),
            host_settings: HostSettings::default(),
            #[cfg(feature = "lua")]
            scripts: crate::scripting::Scripts::default(),
            acl: crate::acl::Acl::new(seed),
        }
    }

    /// Settings from the host, before the first connection (see [`Config::apply_startup`]).
    ///
    /// `user` lines (`user alice on >pw ~* +@all`) define ACL users; they are applied after the
    /// other settings, so a `user default ...` line wins over `requirepass`, as in Redis. With
    /// `aclfile` the users come from that file instead (through the host), and `user` lines are
    /// refused beside it.
    pub fn configure(&mut self, settings: &[(String, String)]) -> Result<(), ConfigError> {
        let mut users = Vec::new();
        for (name, value) in settings {
            if name.eq_ignore_ascii_case("user") {
                users.push(value);
            } else {
                self.config.apply_startup(name, value)?;
            }
            if name.eq_ignore_ascii_case("requirepass") {
                self.acl.set_requirepass(&self.config.requirepass);
            }
        }
        for line in &users {
            self.acl.configure_user(line).map_err(|message| ConfigError { name: "user".into(), message })?;
        }
        if !self.config.aclfile.is_empty() {
            let refused = |message: String| ConfigError { name: "aclfile".into(), message };
            if !users.is_empty() {
                return Err(refused(ACLFILE_AND_USERS.into()));
            }
            self.acl.load_file(&self.config.aclfile).map_err(refused)?;
        }
        if self.keyspace.databases() != self.config.databases {
            self.keyspace = Keyspace::new(self.config.databases, self.rng.next_u64());
        }
        self.keyspace.events.configure(self.config.notify_keyspace_events);
        Ok(())
    }

    /// How the engine reaches the ACL file (`aclfile`), which the host opens for it.
    pub fn set_acl_file(&mut self, file: Box<dyn crate::acl::file::AclFile>) {
        self.acl.file = crate::acl::file::FileAccess::new(file);
    }

    /// Where CONFIG SET sends the settings the host applies itself (see [`crate::host_settings`]).
    pub fn set_host_settings(&mut self, apply: crate::host_settings::Apply) {
        self.host_settings = HostSettings::new(apply);
    }

    /// The users, for tests.
    #[cfg(test)]
    pub(crate) fn acl(&self) -> &crate::acl::Acl {
        &self.acl
    }

    /// A connection's session, for tests.
    #[cfg(test)]
    pub(crate) fn session(&self, connection: u64) -> Option<&Session> {
        self.sessions.get(&connection).map(|s| &**s)
    }

    pub(crate) fn databases(&self) -> usize {
        self.config.databases
    }

    /// Fixes the settings that cannot change while the keyspace is in use (`databases`).
    pub(crate) fn freeze_config(&mut self) {
        self.config.frozen = true;
    }

    /// Takes note of a call's time: the first one is when the server started.
    fn begin(&mut self, now: Now) {
        if !self.started {
            self.started = true;
            self.facts.started = now;
            self.facts.startup_allocated = crate::memory::used();
        }
        self.stats.stopwatch.new_call();
    }

    /// Runs one request for a host that calls the engine directly rather than through a
    /// connection (the key-value interfaces): the request becomes the command a client would send,
    /// run in database `db` exactly as a client's command is, and its reply is decoded. So both
    /// paths share one keyspace and one set of rules — expiry, memory limits, error texts.
    pub(crate) fn run_op(&mut self, db: usize, op: &Op, now: Now) -> Result<Outcome, request::Error> {
        self.begin(now);
        let args = op.command()?;
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_ref()).collect();
        let mut session = self.embedded.take().unwrap_or_else(|| {
            let peer = Peer { kind: PeerKind::Unix, address: "embedded".into(), local_address: String::new() };
            Session::new(0, 0, peer, now.wall_ms, now.mono_ns)
        });
        session.db = db;
        let mut reply = Vec::new();
        let mut outbox = std::mem::take(&mut self.outbox);
        self.execute(&mut session, &args, &mut reply, &mut outbox, now);
        self.outbox = outbox;
        self.embedded = Some(session);
        let nodes = ReplyDecoder::new(Limits::default()).decode(&reply).ok().and_then(|(nodes, _)| nodes);
        let mut nodes = nodes.ok_or_else(|| request::Error::new(request::ErrorKind::Protocol, "the engine's reply could not be read"))?;
        op.outcome(&mut nodes)
    }

    /// Registers a new connection, restoring its session when the host kept one. Returns the reply
    /// to send before closing when the connection is refused.
    pub fn open(&mut self, now: Now, connection: u64, peer: Peer, saved: Option<&[u8]>) -> Option<Vec<u8>> {
        self.begin(now);
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
        // A session restored after a fault is no new connection.
        if saved.is_none()
            && !self.peer_limits.admit_connection(&peer, now.mono_ns, self.config.peer_connection_limit, self.config.peer_connection_window)
        {
            self.stats.rejected_connections += 1;
            self.stats.rate_limited_connections += 1;
            return Some(crate::peer_limits::CONNECTION_REFUSAL.to_vec());
        }
        let mut session = Session::new(connection, self.next_client_id, peer, now.wall_ms, now.mono_ns);
        session.authenticated = self.acl.default_needs_no_auth();
        self.next_client_id += 1;
        if let Some(saved) = saved
            && session.restore(saved, self.config.databases)
        {
            self.next_client_id = self.next_client_id.max(session.client_id + 1);
            if session.tracking {
                // Its near cache may hold keys this engine never saw it read, so it could not be
                // told when they change: closing makes its library drop that cache and reconnect.
                crate::log::info(&format!("closing client {}: it tracked keys the faulted engine knew of", session.client_id));
                return Some(Vec::new());
            }
            if !self.acl.users.contains_key(&session.user) {
                // Its user was made by ACL SETUSER in the faulted engine: it signs in again.
                session.user = b"default".to_vec();
                session.authenticated = self.acl.default_needs_no_auth();
            }
        }
        session.acl_limited.set(self.acl.limits(&session.user));
        self.tracking.connected(session.client_id, connection);
        if session.blocked {
            // It waited in the faulted engine, which cannot answer it now; it is told, and its
            // next commands run.
            session.blocked = false;
            let out = self.outbox.to(connection);
            out.data.extend_from_slice(BLOCKED_AT_FAULT);
            out.resume = true;
            out.session = Some(session.encode());
        }
        if let Some(limit_ns) = self.idle_limit_ns()
            && session.peer.kind != PeerKind::Udp
        {
            let at = now.mono_ns.saturating_add(limit_ns);
            self.idle.deadline_ns = Some(self.idle.deadline_ns.map_or(at, |d| d.min(at)));
        }
        self.sessions.insert(connection, Box::new(session));
        None
    }

    /// Protected mode: with no password set, only clients on this machine are served.
    fn refuses_outsider(&self, peer: &Peer) -> bool {
        self.config.protected_mode && self.acl.default_user().nopass && !peer.is_local()
    }

    /// The peer went away or the host closed the connection. Returns output for other connections
    /// the departure concerns.
    pub fn close(&mut self, now: Now, connection: u64) -> Vec<Output> {
        self.begin(now);
        self.forget(connection);
        self.outbox.take_outputs()
    }

    /// Runs every complete command in each input, in order, and returns the output of the call:
    /// one per fed connection (with its [`Progress`]), and one for any other connection the
    /// commands wrote to or closed.
    pub fn feed(&mut self, now: Now, inputs: &[Input<'_>]) -> Vec<Output> {
        self.begin(now);
        self.stats.sample_ops(now);
        let mut outbox = std::mem::take(&mut self.outbox);
        self.end_pause_if_due(now, &mut outbox);
        for input in inputs {
            self.serve(&mut outbox, input, now);
        }
        self.finish_tracking(&mut outbox);
        self.check_call_output(&mut outbox, now);
        self.keyspace.free_lazily(commands::LAZY_FREE_SLICE);
        self.finish_call(outbox)
    }

    /// The outputs of a call made with `outbox` (taken from `self.outbox` at its start). The
    /// emptied outbox goes back for the next call unless something was given to the one left in
    /// its place meanwhile.
    fn finish_call(&mut self, mut outbox: Outbox) -> Vec<Output> {
        let outputs = outbox.take_outputs();
        if self.outbox.is_empty() {
            self.outbox = outbox;
        }
        outputs
    }

    /// Takes back an output's buffer once its bytes are copied out, for the outputs of later calls.
    pub fn recycle_buffer(&mut self, buffer: Vec<u8>) {
        self.outbox.recycle_buffer(buffer);
    }

    /// Takes back the emptied list a call's outputs came in, for the next call's.
    pub fn recycle_outputs(&mut self, outputs: Vec<Output>) {
        self.outbox.recycle_outputs(outputs);
    }

    /// [`Engine::feed`] for one connection, returning its output (tests and benchmarks).
    pub fn feed_one(&mut self, now: Now, id: u64, data: &[u8]) -> Output {
        let outputs = self.feed(now, &[Input { id, data }]);
        outputs.into_iter().find(|o| o.id == id).unwrap_or_default()
    }

    /// Runs the complete commands at the start of one connection's input.
    fn serve(&mut self, outbox: &mut Outbox, input: &Input<'_>, now: Now) {
        let (id, data) = (input.id, input.data);
        let Some(mut session) = self.sessions.remove(&id) else {
            // Unknown, or closed earlier in this call (CLIENT KILL): its input is dropped.
            let closed_now = outbox.has(id) && outbox.to(id).close;
            let out = outbox.to(id);
            out.progress = Some(Progress { consumed: data.len(), ..Progress::default() });
            out.close = true;
            if !closed_now {
                out.data.extend_from_slice(b"-ERR internal error: this connection is not open\r\n");
            }
            return;
        };
        // Pushes other connections made for this one earlier in the call come first; replies are
        // usually about as long as the requests: one allocation instead of a series of doublings.
        let mut reply = std::mem::take(&mut outbox.to(id).data);
        reply.reserve(data.len().clamp(64, 64 * 1024));
        let before = reply.len();
        let progress = self.run_commands(&mut session, data, &mut reply, outbox, now);
        self.stats.net_input_bytes += progress.consumed as u64;
        self.stats.net_output_bytes += (reply.len() - before) as u64;
        let over_limit = self.check_own_output(&mut session, reply.len(), now);
        let out = outbox.to(id);
        out.data = reply;
        out.progress = Some(progress);
        out.close |= session.close_after_reply;
        if over_limit {
            outbox.discard(id);
        }
        let out = outbox.to(id);
        if session.changed {
            session.changed = false;
            out.session = Some(session.encode());
        }
        if out.close {
            self.forget_session(&mut session);
        } else {
            self.sessions.insert(id, session);
        }
    }

    fn run_commands(&mut self, session: &mut Session, data: &[u8], reply: &mut Vec<u8>, outbox: &mut Outbox, now: Now) -> Progress {
        let mut progress = Progress::default();
        let limits = Limits {
            max_bulk_len: usize::try_from(self.config.proto_max_bulk_len).unwrap_or(usize::MAX),
            ..Limits::default()
        };
        // With a database larger than the processor's cache, the keys of the next commands are
        // read ahead, a batch at a time; `warmed` is where the batch read ahead last ends.
        let read_ahead = self.keyspace.len(session.db) >= WARM_ABOVE_KEYS;
        let mut warmed = 0;
        while !session.close_after_reply {
            if reply.len() >= REPLY_CHUNK && progress.consumed < data.len() {
                progress.more = true;
                break;
            }
            if read_ahead && progress.consumed >= warmed {
                warmed = progress.consumed + self.warm(session, &data[progress.consumed..], &limits);
            }
            match parse_request(&data[progress.consumed..], &limits) {
                Ok(Parsed::Command(args, used)) => {
                    if self.pause.is_active() && self.held_by_pause(session, &args.slices()) {
                        // Left unconsumed; the host feeds it again when the pause ends.
                        progress.wanted = HELD;
                        break;
                    }
                    if self.script_is_suspended() {
                        match self.script_gate(session, &args.slices(), now) {
                            scripts::Gate::Run => {}
                            scripts::Gate::Hold => {
                                progress.wanted = HELD;
                                break;
                            }
                            scripts::Gate::Refuse(error) => {
                                progress.consumed += used;
                                Reply::new(reply, session.resp3()).error(error);
                                continue;
                            }
                        }
                    }
                    progress.consumed += used;
                    match &args {
                        Args::Borrowed(args) => self.execute(session, args, reply, outbox, now),
                        Args::Owned(_) => self.execute(session, &args.slices(), reply, outbox, now),
                    }
                    if session.blocked || session.waits_for_script {
                        // Its next commands run once it is served or its script ends (the host is
                        // asked to feed them).
                        progress.wanted = HELD;
                        break;
                    }
                }
                Ok(Parsed::Skip(used)) => progress.consumed += used,
                Ok(Parsed::Incomplete(wanted)) => {
                    if wanted as u64 > self.config.client_query_buffer_limit {
                        crate::log::warn(&format!(
                            "closing client {} ({}): its query buffer would exceed client-query-buffer-limit",
                            session.client_id, session.peer.address
                        ));
                        session.close_after_reply = true;
                    } else {
                        progress.wanted = wanted;
                    }
                    break;
                }
                Err(error) => {
                    Reply::new(reply, session.resp3()).error(&format!("ERR {error}"));
                    crate::log::info(&format!(
                        "protocol error from client {} ({}): {error}",
                        session.client_id, session.peer.address
                    ));
                    progress.consumed = data.len();
                    session.close_after_reply = true;
                }
            }
        }
        progress
    }

    /// Whether CLIENT PAUSE holds this command back (never a UDP sender's: its datagram's
    /// session ends with the reply).
    fn held_by_pause(&mut self, session: &mut Session, args: &[&[u8]]) -> bool {
        if session.peer.kind == PeerKind::Udp || !commands::waits_for_pause(&self.pause, session, args) {
            return false;
        }
        session.postponed = true;
        self.pause.hold(session.connection);
        true
    }

    fn end_pause_if_due(&mut self, now: Now, outbox: &mut Outbox) {
        self.pause.end_if_due(now.mono_ns);
        if self.pause.has_released() {
            self.release_paused(outbox);
        }
    }

    /// A blocking command found nothing to serve: its client waits, and runs nothing more until it
    /// is served or its time is up.
    fn start_wait(&mut self, session: &mut Session, args: &[&[u8]], request: crate::blocking::Request) {
        let waiter = crate::blocking::Waiter { db: session.db, command: crate::blocking::Words::new(args), request };
        self.blocking.block(session.connection, waiter);
        session.blocked = true;
        session.changed = true;
        self.keyspace.keep_modified(true);
    }

    /// Runs the commands of the clients waiting for keys that changed, oldest waiter first, as
    /// long as the key can serve them. A served client gets its reply and is fed again.
    fn serve_ready(&mut self, outbox: &mut Outbox, now: Now) {
        self.serving_blocked = true;
        while let Some((db, key)) = self.blocking.next_ready() {
            // Waiters served leave the queue; those who wait on are stepped over.
            let mut index = 0;
            while let Some(connection) = self.blocking.waiting_for(db, &key, index) {
                let Some(waiter) = self.blocking.waiter(connection) else {
                    index += 1;
                    continue;
                };
                if !self.keyspace.holds(db, &key, waiter.request.wants, now.wall_ms) {
                    break;
                }
                let Some(mut session) = self.sessions.remove(&connection) else {
                    self.blocking.unblock(connection);
                    continue;
                };
                let command = self.blocking.take_command(connection);
                let mut reply = std::mem::take(&mut outbox.to(connection).data);
                reply.reserve(SERVED_REPLY);
                session.retrying = true;
                let args: SmallVec<[&[u8]; 8]> = command.iter().collect();
                self.execute(&mut session, &args, &mut reply, outbox, now);
                drop(args);
                session.retrying = false;
                if session.block_request.take().is_none() {
                    self.blocking.unblock(connection);
                    session.blocked = false;
                    session.changed = true;
                    outbox.to(connection).resume = true;
                } else {
                    self.blocking.restore_command(connection, command);
                    index += 1;
                }
                self.put_back(session, reply, outbox);
            }
        }
        self.serving_blocked = false;
    }

    /// Ends a client's wait without serving it: its command's timeout reply, or CLIENT UNBLOCK's
    /// error.
    fn end_wait(&mut self, connection: u64, ending: Ending, outbox: &mut Outbox) {
        if self.blocking.unblock(connection).is_none() {
            return;
        }
        let Some(mut session) = self.sessions.remove(&connection) else { return };
        let mut data = std::mem::take(&mut outbox.to(connection).data);
        let mut reply = crate::resp::Reply::new(&mut data, session.resp3());
        // A wait that times out answers a null array whatever the command, as redis-server 7.0.
        match ending {
            Ending::Error => reply.error("UNBLOCKED client unblocked via CLIENT UNBLOCK"),
            Ending::Timeout => reply.null_array(),
        }
        session.blocked = false;
        session.changed = true;
        outbox.to(connection).resume = true;
        self.put_back(session, data, outbox);
    }

    /// Returns a session taken out of the table to serve it outside its own input, with its
    /// output and its saved state when it changed.
    fn put_back(&mut self, mut session: Box<Session>, data: Vec<u8>, outbox: &mut Outbox) {
        let out = outbox.to(session.connection);
        out.data = data;
        if session.changed {
            session.changed = false;
            out.session = Some(session.encode());
        }
        self.sessions.insert(session.connection, session);
    }

    /// Asks the host to feed again the connections whose commands waited for the pause.
    fn release_paused(&mut self, outbox: &mut Outbox) {
        for connection in self.pause.take_released() {
            if let Some(session) = self.sessions.get_mut(&connection) {
                session.postponed = false;
            }
            outbox.to(connection).resume = true;
        }
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

    fn execute(&mut self, session: &mut Session, args: &[&[u8]], buf: &mut Vec<u8>, outbox: &mut Outbox, now: Now) {
        let ran = Ran { reply_start: buf.len(), closes_before: outbox.closes(), args: Some(args), command: None };
        let command = self.in_context(session, buf, outbox, now, |ctx| commands::dispatch(ctx, args));
        if !session.reply_mode.answers_and_advance() {
            buf.truncate(ran.reply_start);
        }
        self.after_command(session, buf, Ran { command, ..ran }, outbox, now);
        session.last_command = command.map_or("NULL", |c| c.name);
        session.last_active_ns = now.mono_ns;
        self.stats.commands_processed += 1;
        if self.script_was_killed() {
            self.resume_script(outbox, now);
        }
    }

    /// Runs `work` (a command, or a slice of a script) for `session` with the engine's state.
    fn in_context<R>(&mut self, session: &mut Session, buf: &mut Vec<u8>, outbox: &mut Outbox, now: Now, work: impl FnOnce(&mut Ctx) -> R) -> R {
        let resp3 = session.resp3();
        let mut ctx = Ctx {
            keyspace: &mut self.keyspace,
            config: &mut self.config,
            stats: &mut self.stats,
            rng: &mut self.rng,
            session,
            others: &self.sessions,
            facts: &self.facts,
            reply: Reply::new(buf, resp3),
            outbox,
            watches: &mut self.watches,
            pubsub: &mut self.pubsub,
            monitors: &mut self.monitors,
            tracking: &mut self.tracking,
            pause: &mut self.pause,
            blocking: &mut self.blocking,
            peer_limits: &mut self.peer_limits,
            host_settings: &mut self.host_settings,
            #[cfg(feature = "lua")]
            scripts: &mut self.scripts,
            acl: &mut self.acl,
            now,
        };
        if ctx.session.no_touch {
            ctx.keyspace.set_touches(false);
        }
        let result = work(&mut ctx);
        self.keyspace.set_touches(true);
        result
    }

    /// What follows a command or a script's slice: keyspace events and invalidations go out,
    /// paused and blocked clients are released or served, closed connections forgotten.
    fn after_command(&mut self, session: &mut Session, buf: &mut Vec<u8>, ran: Ran<'_>, outbox: &mut Outbox, now: Now) {
        if self.keyspace.events.any() {
            self.publish_events(Some((session, buf, ran.reply_start)), outbox);
        }
        if session.tracking && ran.args.is_some() {
            self.end_caching(session, ran.command);
        }
        if self.tracking.has_pending() {
            commands::deliver_invalidations(&mut self.tracking, &self.sessions, Some((&*session, &mut *buf)), outbox);
        }
        if self.pause.has_released() {
            self.release_paused(outbox);
        }
        if !session.retrying
            && let Some(args) = ran.args
            && let Some(request) = session.block_request.take()
        {
            self.start_wait(session, args, request);
        }
        if self.blocking.has_pending_unblocks() {
            for (connection, error) in self.blocking.take_pending_unblocks() {
                self.end_wait(connection, if error { Ending::Error } else { Ending::Timeout }, outbox);
            }
        }
        if self.blocking.has_ready() && !self.serving_blocked {
            self.serve_ready(outbox, now);
        }
        if outbox.checks_due() {
            self.check_pushed(outbox, now);
        }
        // Connections the command closed (CLIENT KILL) are gone at once for the commands after it.
        if outbox.closes() > ran.closes_before {
            for id in outbox.closed_since(ran.closes_before).to_vec() {
                self.forget(id);
            }
        }
    }

    /// CLIENT CACHING's word holds for one command (a whole transaction, inside MULTI).
    fn end_caching(&mut self, session: &Session, command: Option<&commands::Command>) {
        if command.is_none_or(|c| commands::ends_caching(c, session))
            && let Some(client) = self.tracking.client_mut(session.client_id)
        {
            client.caching = false;
        }
    }

    /// What tracking owes at the end of a call: the changes under BCAST prefixes, and the keys
    /// forgotten to keep the table within `tracking-table-max-keys`.
    fn finish_tracking(&mut self, outbox: &mut Outbox) {
        if !(self.tracking.wants_changes() || self.tracking.has_pending() || self.tracking_over_limit) {
            return;
        }
        let max = usize::try_from(self.config.tracking_table_max_keys).unwrap_or(usize::MAX);
        self.tracking_over_limit = self.tracking.shrink_to(max, TRACKING_EVICTIONS_PER_CALL);
        self.tracking.broadcast();
        if self.tracking.has_pending() {
            commands::deliver_invalidations(&mut self.tracking, &self.sessions, None, outbox);
        }
    }

    /// Publishes the keyspace notifications noted since the last time (see [`crate::notify`]).
    /// Those for `own`, the connection whose command they come from, go before that command's
    /// reply, where Redis writes them.
    #[cold]
    fn publish_events(&mut self, own: Option<(&Session, &mut Vec<u8>, usize)>, outbox: &mut Outbox) {
        let events = self.keyspace.events.take();
        let flags = self.keyspace.events.flags();
        let (me, my_resp3) = own.as_ref().map_or((None, false), |(s, _, _)| (Some(s.connection), s.resp3()));
        let sessions = &self.sessions;
        let resp3_of = |c: u64| if Some(c) == me { my_resp3 } else { sessions.get(&c).is_some_and(|s| s.resp3()) };
        let mut mine = Vec::new();
        let mut push = |c: u64, bytes: &[u8]| if Some(c) == me { mine.extend_from_slice(bytes) } else { outbox.push(c, bytes) };
        commands::publish_events(&self.pubsub, &events, flags, &resp3_of, &mut push);
        if let Some((_, buf, at)) = own
            && !mine.is_empty()
        {
            buf.splice(at..at, mine);
        }
    }

    /// Drops a connection's session, whatever it watched and whatever it subscribed to.
    fn forget(&mut self, connection: u64) {
        match self.sessions.remove(&connection) {
            Some(mut session) => {
                self.forget_session(&mut session);
                self.script_forgets(Some(session), connection);
            }
            None => self.forget_connection(connection),
        }
    }

    /// [`Engine::forget`] for a session already out of the table (the one being served).
    fn forget_session(&mut self, session: &mut Session) {
        commands::unsubscribe_all(&mut self.pubsub, session);
        self.tracking.disconnected(session.client_id);
        self.forget_connection(session.connection);
    }

    /// What is kept for a connection by its id: watches, MONITOR, a held command, a wait, an
    /// output over its soft limit.
    fn forget_connection(&mut self, connection: u64) {
        self.watches.unwatch(connection);
        self.monitors.retain(|m| *m != connection);
        self.pause.forget(connection);
        self.blocking.unblock(connection);
        self.forget_soft_limited(connection);
        self.script_forgets(None, connection);
    }

    /// Runs due background work — active expiry, closing idle clients, a slice of lazy freeing, a
    /// step of a growing index's move — and returns its output (connections closed for being
    /// idle).
    pub fn tick(&mut self, now: Now) -> Vec<Output> {
        self.begin(now);
        self.stats.sample_ops(now);
        let mut outbox = std::mem::take(&mut self.outbox);
        self.end_pause_if_due(now, &mut outbox);
        if self.script_is_suspended() {
            self.resume_script(&mut outbox, now);
            if self.script_is_suspended() {
                // Nothing else changes while a script runs: background work waits for its end.
                self.check_call_output(&mut outbox, now);
                return self.finish_call(outbox);
            }
        }
        if now.mono_ns >= self.expiry_due_ns() && !self.pause.is_active() {
            self.keyspace.expire_cycle(&mut self.rng, now.wall_ms, EXPIRE_SAMPLES_PER_TICK);
            self.expired_at_ns = now.mono_ns;
            commands::note_changes(&mut self.keyspace, &mut self.watches, &mut self.tracking, &mut self.blocking, None);
            if self.keyspace.events.any() {
                self.publish_events(None, &mut outbox);
            }
        }
        self.finish_tracking(&mut outbox);
        if self.idle_check_due(now) {
            self.close_idle(&mut outbox, now);
        }
        for connection in self.blocking.timed_out(now.mono_ns) {
            self.end_wait(connection, Ending::Timeout, &mut outbox);
        }
        self.check_soft_limits(&mut outbox, now);
        self.check_call_output(&mut outbox, now);
        self.keyspace.free_lazily(commands::LAZY_FREE_SLICE);
        if self.config.activerehashing {
            self.keyspace.rehash(REHASH_PER_TICK);
        }
        self.finish_call(outbox)
    }

    /// The monotonic time of the engine's next due work, `None` when it has none: then only input
    /// gives it something to do. The host calls [`Engine::tick`] then (or earlier; a tick with
    /// nothing due does nothing).
    ///
    /// While values wait to be freed lazily, an index grows, or a script is suspended, the answer
    /// is "now": the host spaces its ticks (by a millisecond at least), so the freeing, the move
    /// or the script goes on a slice per tick between clients' commands.
    pub fn next_deadline(&self) -> Option<u64> {
        let rehashing = self.config.activerehashing && self.keyspace.is_rehashing();
        if self.keyspace.has_lazy_free() || rehashing || self.tracking_over_limit || self.script_is_suspended() {
            return Some(0);
        }
        let expiry = self.keyspace.has_volatile().then(|| self.expiry_due_ns());
        let idle = if self.config.timeout != self.idle.timeout { Some(0) } else { self.idle.deadline_ns };
        [expiry, idle, self.pause.deadline(), self.blocking.next_deadline(), self.soft_limit_deadline()].into_iter().flatten().min()
    }

    /// Active expiry runs `hz` times a second while some key or hash field has a time to live.
    fn expiry_due_ns(&self) -> u64 {
        self.expired_at_ns.saturating_add(1_000_000_000 / self.config.hz.max(1))
    }

    fn idle_limit_ns(&self) -> Option<u64> {
        (self.config.timeout > 0).then(|| self.config.timeout.saturating_mul(1_000_000_000))
    }

    fn idle_check_due(&self, now: Now) -> bool {
        self.config.timeout != self.idle.timeout || self.idle.deadline_ns.is_some_and(|d| now.mono_ns >= d)
    }

    /// Closes the connections idle for longer than `timeout`, and finds when the next one can be.
    fn close_idle(&mut self, outbox: &mut Outbox, now: Now) {
        self.idle = IdleCheck { deadline_ns: None, timeout: self.config.timeout };
        let Some(limit_ns) = self.idle_limit_ns() else { return };
        let mut idle = Vec::new();
        for (id, session) in &self.sessions {
            // UDP senders have no connection to close; the host forgets them when idle.
            if session.peer.kind == PeerKind::Udp {
                continue;
            }
            let due = session.last_active_ns.saturating_add(limit_ns);
            if now.mono_ns > due {
                idle.push(*id);
            } else {
                self.idle.deadline_ns = Some(self.idle.deadline_ns.map_or(due + 1, |d| d.min(due + 1)));
            }
        }
        for id in idle {
            self.forget(id);
            outbox.close(id);
        }
    }
}

#[cfg(test)]
pub(crate) mod test_harness;

#[cfg(test)]
mod tests {
    use super::REPLY_CHUNK;
    use crate::engine::test_harness::Harness;

    /// The fuzzer's command corpus, fed to the engine as raw client input: whatever arrives, the
    /// engine answers and never panics.
    #[test]
    fn fuzz_corpus_as_raw_input() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/commands");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).expect("the fuzz corpus is in the repository") {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            let mut c = Harness::new();
            let out = c.engine.feed_one(c.now, 1, &data);
            assert!(out.progress.expect("fed").consumed <= data.len());
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
            let mut c = Harness::new();
            for i in 0..keys {
                c.engine.keyspace.set(0, format!("filler:{i}").as_bytes(), crate::keyspace::Value::from_bytes(b"x"), None, 0);
            }
            c
        };
        let incr = b"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n";
        let counts = |n: usize| (1..=n).map(|i| format!(":{i}\r\n")).collect::<String>();
        for keys in [0, super::WARM_ABOVE_KEYS + 1] {
            let mut c = client_with_keys(keys);
            let mut input: Vec<u8> = incr.iter().copied().cycle().take(incr.len() * 37).collect();
            input.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$1");
            let out = c.engine.feed_one(c.now, 1, &input);
            let progress = out.progress.expect("fed");
            assert_eq!(String::from_utf8_lossy(&out.data), counts(37));
            assert_eq!(progress.consumed, incr.len() * 37);
            assert!(progress.wanted > input.len() - progress.consumed && !out.close);

            let quit = &b"*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n"[..];
            let bad = &b"*1\r\n:1\r\n"[..];
            for (tail, reply_end) in [(quit, "+OK\r\n"), (bad, "-ERR Protocol error: expected '$', got ':'\r\n")] {
                let mut c = client_with_keys(keys);
                let mut input: Vec<u8> = incr.iter().copied().cycle().take(incr.len() * 20).collect();
                input.extend_from_slice(tail);
                input.extend_from_slice(incr);
                let out = c.engine.feed_one(c.now, 1, &input);
                let reply = String::from_utf8_lossy(&out.data).into_owned();
                assert_eq!(reply, counts(20) + reply_end);
                assert!(out.close);
            }
        }
    }

    /// An INFO field's value.
    fn info_field(c: &mut Harness, name: &str) -> String {
        let info = c.run(&["INFO", "memory"]);
        let line = info.lines().find_map(|l| l.strip_prefix(&format!("{name}:")));
        line.expect("the field is reported").to_string()
    }

    /// Adds `n` members (or fields) to `key` with SADD (or HSET), a batch of arguments at a time.
    fn fill(c: &mut Harness, command: &str, key: &str, n: usize) {
        for start in (0..n).step_by(10_000) {
            let mut args = vec![command.to_string(), key.to_string()];
            for i in start..(start + 10_000).min(n) {
                args.push(format!("member:{i}"));
                if command == "HSET" {
                    args.push("v".into());
                }
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            assert!(c.run(&args).starts_with(':'));
        }
    }

    /// Ticks a millisecond apart while `busy`, checking that the engine asks for each at once and
    /// that at most `limit` are needed; returns how many it took.
    fn tick_while(c: &mut Harness, busy: impl Fn(&super::Engine) -> bool, limit: usize) -> usize {
        let mut ticks = 0;
        while busy(&c.engine) {
            assert_eq!(c.engine.next_deadline(), Some(0), "a tick is asked for at once while there is work");
            c.advance_ms(1);
            c.engine.tick(c.now);
            ticks += 1;
            assert!(ticks <= limit, "the work is done within {limit} ticks");
        }
        ticks
    }

    /// Ticks until nothing waits to be freed; returns how many ticks it took.
    fn drain(c: &mut Harness) -> usize {
        tick_while(c, |engine| engine.keyspace.has_lazy_free(), 1_000)
    }

    /// A database that stops changing right after its index grew has the move finished by ticks,
    /// not by its next writes (Redis's `activerehashing`); with the setting off, no tick moves.
    #[test]
    fn ticks_finish_moving_a_grown_index() {
        let mut c = Harness::new();
        let mut keys = 0;
        while !(keys > 10_000 && c.engine.keyspace.is_rehashing()) {
            let mut args = vec!["MSET".to_string()];
            for _ in 0..100 {
                args.extend([format!("key:{keys}"), "v".to_string()]);
                keys += 1;
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            assert_eq!(c.run(&args), "+OK\r\n");
            assert!(keys < 100_000, "the index grew");
        }
        assert_eq!(c.run(&["CONFIG", "SET", "activerehashing", "no"]), "+OK\r\n");
        assert_eq!(c.engine.next_deadline(), None, "no tick is asked for the move");
        c.advance_ms(1);
        c.engine.tick(c.now);
        assert!(c.engine.keyspace.is_rehashing(), "a tick moved slots with activerehashing off");
        assert_eq!(c.run(&["CONFIG", "SET", "activerehashing", "yes"]), "+OK\r\n");
        // Fewer than 32,768 slots are left to move: two ticks' worth.
        assert!(tick_while(&mut c, |engine| engine.keyspace.is_rehashing(), 2) >= 1);
        assert_eq!(c.engine.next_deadline(), None);
        assert_eq!(c.run(&["DBSIZE"]), format!(":{keys}\r\n"));
        for key in (0..keys).step_by(97) {
            assert_eq!(c.run(&["GET", &format!("key:{key}")]), "$1\r\nv\r\n", "key:{key}");
        }
    }

    #[test]
    fn deleting_a_big_set_frees_it_in_bounded_slices_on_ticks() {
        let mut c = Harness::new();
        let members = 10 * super::commands::LAZY_FREE_SLICE;
        fill(&mut c, "SADD", "big", members);
        assert_eq!(c.engine.next_deadline(), None);
        assert_eq!(c.run(&["DEL", "big"]), ":1\r\n");
        assert_eq!(c.run(&["EXISTS", "big"]), ":0\r\n", "the key is gone at once");
        assert_eq!(info_field(&mut c, "lazyfree_pending_objects"), "1");
        assert_eq!(info_field(&mut c, "lazyfreed_objects"), "0");
        // The four calls above freed a slice each; each tick frees one more, no more, and the tick
        // after the last member finds the set empty.
        let ticks = drain(&mut c);
        assert_eq!(ticks, members / super::commands::LAZY_FREE_SLICE - 4 + 1);
        assert_eq!(c.engine.next_deadline(), None);
        assert_eq!(info_field(&mut c, "lazyfree_pending_objects"), "0");
        assert_eq!(info_field(&mut c, "lazyfreed_objects"), "1");
    }

    #[test]
    fn small_values_are_freed_at_once() {
        let mut c = Harness::new();
        fill(&mut c, "SADD", "small", crate::keyspace::LAZYFREE_THRESHOLD);
        assert_eq!(c.run(&["UNLINK", "small"]), ":1\r\n");
        assert!(!c.engine.keyspace.has_lazy_free());
        assert_eq!(info_field(&mut c, "lazyfreed_objects"), "0");
    }

    /// Whatever removes a big value — UNLINK, an overwrite, expiry, FLUSHALL — hands it to lazy
    /// freeing; FLUSHALL SYNC frees everything before it answers.
    #[test]
    fn every_way_of_removing_a_big_value_frees_it_lazily() {
        let mut c = Harness::new();
        let big = 3 * super::commands::LAZY_FREE_SLICE;
        let removals: [&[&str]; 4] = [&["UNLINK", "big"], &["SET", "big", "x"], &["PEXPIRE", "big", "1"], &["FLUSHALL"]];
        for removal in removals {
            c.run(&["DEL", "big"]);
            fill(&mut c, "HSET", "big", big);
            c.run(removal);
            c.advance_ms(5);
            assert_eq!(c.run(&["EXISTS", "big"]), if removal[0] == "SET" { ":1\r\n" } else { ":0\r\n" });
            assert_eq!(info_field(&mut c, "lazyfree_pending_objects"), "1", "after {removal:?}");
            drain(&mut c);
        }
        assert_eq!(info_field(&mut c, "lazyfreed_objects"), "4");
        fill(&mut c, "SADD", "big", big);
        assert_eq!(c.run(&["FLUSHALL", "SYNC"]), "+OK\r\n");
        assert!(!c.engine.keyspace.has_lazy_free());
        assert_eq!(info_field(&mut c, "lazyfreed_objects"), "5");
    }

    /// Over `maxmemory`, what waits to be freed is freed before anything is evicted or refused.
    #[test]
    fn memory_pressure_frees_the_queue_first() {
        let mut c = Harness::new();
        fill(&mut c, "SADD", "big", 3 * super::commands::LAZY_FREE_SLICE);
        c.run(&["SET", "small", "v"]);
        c.run(&["DEL", "big"]);
        assert!(c.engine.keyspace.has_lazy_free());
        c.run(&["CONFIG", "SET", "maxmemory", "1"]);
        let refused = c.run(&["SET", "other", "v"]);
        assert!(refused.starts_with("-OOM"), "{refused}");
        assert!(!c.engine.keyspace.has_lazy_free(), "the queue was freed in full first");
        assert_eq!(c.run(&["EXISTS", "small"]), ":1\r\n", "noeviction keeps the keys");
        c.run(&["CONFIG", "SET", "maxmemory", "0"]);
        assert_eq!(info_field(&mut c, "lazyfreed_objects"), "1");
    }

    #[test]
    fn large_pipelined_replies_come_in_chunks() {
        let mut c = Harness::new();
        let value = "x".repeat(1024 * 1024);
        c.run(&["SET", "big", &value]);
        let get = b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n";
        let input: Vec<u8> = get.iter().copied().cycle().take(get.len() * 20).collect();
        let mut offset = 0;
        let mut replies = 0;
        let mut calls = 0;
        while offset < input.len() {
            let out = c.engine.feed_one(c.now, 1, &input[offset..]);
            let progress = out.progress.expect("fed");
            assert!(out.data.len() <= REPLY_CHUNK + value.len() + 16, "one call's reply stays bounded");
            assert_eq!(progress.more, offset + progress.consumed < input.len());
            replies += out.data.len() / (value.len() + "$1048576\r\n\r\n".len());
            offset += progress.consumed;
            calls += 1;
        }
        assert_eq!(replies, 20);
        assert!(calls >= 5, "{calls} calls");
    }
}
