//! Running commands, and what every command shares: the context it runs in, argument parsing, and
//! Redis's error texts. Each family of commands lives in a file of its own and lists its commands
//! in a `COMMANDS` table (see [`table`]); [`dispatch`] finds a command by name, checks its arity
//! and runs it.

pub(crate) mod acl;
mod bitfield;
mod bitmaps;
mod blocking;
mod client;
mod command;
mod config;
mod connection;
mod expire;
mod hash_ttl;
mod hashes;
mod hyperloglog;
mod key_flags;
mod keys;
mod lists;
mod latency;
mod memory;
mod monitor;
mod object;
mod pubsub;
#[cfg(feature = "lua")]
pub(crate) mod scripting;
#[cfg(feature = "lua")]
mod functions;
/// Without Lua, the scripting commands are unknown ones.
#[cfg(not(feature = "lua"))]
mod scripting {
    pub const COMMANDS: &[super::Command] = &[];
}
#[cfg(not(feature = "lua"))]
mod functions {
    pub const COMMANDS: &[super::Command] = &[];
}
mod server_info;
mod sets;
mod sort;
mod slowlog;
mod sorted_sets;
mod strings;
mod table;
mod tracking;
mod transactions;

pub(crate) use pubsub::{publish_events, unsubscribe_all};
pub(crate) use tracking::{deliver as deliver_invalidations, ends_caching};
pub(crate) use table::{Command, Flag, all, lookup};
pub(crate) use command::acl_categories;
pub(crate) use key_flags::acl_keys;
use table::{numbered, subcommand_number};

use crate::blocking::Blocking;
use crate::config::Config;
use crate::keyspace::{Keyspace, Value};
use crate::outbox::Outbox;
use crate::resp::Reply;
use crate::rng::Rng;
use crate::server_facts::ServerFacts;
use crate::session::Session;
use crate::stats::Stats;
use crate::time::Now;
use crate::pause::Pause;
use crate::pubsub::PubSub;
use crate::tracking::Tracking;
use crate::watches::Watches;

/// Everything a command may read or change.
pub(crate) struct Ctx<'a> {
    pub keyspace: &'a mut Keyspace,
    pub config: &'a mut Config,
    pub stats: &'a mut Stats,
    pub rng: &'a mut Rng,
    /// The client running the command.
    pub session: &'a mut Session,
    /// Every other connected client (CLIENT LIST, INFO clients).
    pub others: &'a crate::session::Sessions,
    pub facts: &'a ServerFacts,
    pub reply: Reply<'a>,
    /// Output for other connections than the one running the command.
    pub outbox: &'a mut Outbox,
    /// Who WATCHes which keys.
    pub watches: &'a mut Watches,
    /// Who subscribes to which channels.
    pub pubsub: &'a mut PubSub,
    /// Connections in MONITOR mode.
    pub monitors: &'a mut Vec<u64>,
    /// Which clients track which keys (CLIENT TRACKING).
    pub tracking: &'a mut Tracking,
    /// CLIENT PAUSE.
    pub pause: &'a mut Pause,
    /// Who waits for which keys (BLPOP and friends).
    pub blocking: &'a mut Blocking,
    /// Counts of new connections and failed authentications per peer address.
    pub peer_limits: &'a mut crate::peer_limits::PeerLimits,
    /// The host's side of the settings it applies itself (CONFIG SET tls-*).
    pub host_settings: &'a mut crate::host_settings::HostSettings,
    /// The Lua interpreter and its script cache.
    #[cfg(feature = "lua")]
    pub scripts: &'a mut crate::scripting::Scripts,
    /// Users and their permissions, and the ACL LOG.
    pub acl: &'a mut crate::acl::Acl,
    pub now: Now,
}

impl Ctx<'_> {
    /// The selected database.
    pub fn db(&self) -> usize {
        self.session.db
    }

    /// Wall-clock milliseconds: what key expiry is measured in.
    pub fn now_ms(&self) -> u64 {
        self.now.wall_ms
    }

    /// Notes keyspace notification `event` of `class` about `key` in the selected database; the
    /// engine publishes it after the command (see [`crate::notify`]).
    #[inline]
    pub fn notify(&mut self, class: u16, event: &'static str, key: &[u8]) {
        self.keyspace.events.note(class, event, self.session.db, key);
    }

    /// Closes another client's connection (CLIENT KILL); this client's own closes once its reply
    /// is written.
    pub fn kill(&mut self, connection: u64) {
        if connection == self.session.connection {
            self.session.close_after_reply = true;
        } else {
            self.outbox.close(connection);
        }
    }

    /// Writes bytes the connection did not ask for (a pub/sub message) to any connection, this one
    /// included, after whatever it has been given so far.
    pub fn push_to(&mut self, connection: u64, bytes: &[u8]) {
        if connection == self.session.connection {
            self.reply.raw(bytes);
        } else {
            self.outbox.push(connection, bytes);
        }
    }

    /// All connected clients, this one included, in CLIENT ID order.
    pub fn all_sessions(&self) -> Vec<&Session> {
        let mut all: Vec<&Session> = self.others.values().map(|s| &**s).chain([&*self.session]).collect();
        all.sort_by_key(|s| s.client_id);
        all
    }
}

/// A key as a command on one type of value sees it.
pub(crate) enum Lookup<T> {
    Missing,
    Found(T),
    /// Holds another type; WRONGTYPE has been answered.
    WrongType,
}

/// The value at `key` as the type `as_type` picks, for reading (a keyspace hit or miss).
/// Answers WRONGTYPE itself.
pub(crate) fn read_as<'a, T: ?Sized>(ctx: &'a mut Ctx, key: &[u8], as_type: fn(&Value) -> Option<&T>) -> Lookup<&'a T> {
    let (db, now) = (ctx.db(), ctx.now_ms());
    match ctx.keyspace.get(db, key, now).map(|e| as_type(&e.value)) {
        None => Lookup::Missing,
        Some(Some(value)) => Lookup::Found(value),
        Some(None) => {
            ctx.reply.error(WRONG_TYPE);
            Lookup::WrongType
        }
    }
}

/// The value at `key` as the type `as_type` picks, for a command about to change it. Answers
/// WRONGTYPE itself.
pub(crate) fn write_as<'a, T: ?Sized>(ctx: &'a mut Ctx, key: &[u8], as_type: fn(&mut Value) -> Option<&mut T>) -> Lookup<&'a mut T> {
    let (db, now) = (ctx.db(), ctx.now_ms());
    match ctx.keyspace.get_mut(db, key, now).map(|e| as_type(&mut e.value)) {
        None => Lookup::Missing,
        Some(Some(value)) => Lookup::Found(value),
        Some(None) => {
            ctx.reply.error(WRONG_TYPE);
            Lookup::WrongType
        }
    }
}

/// Runs one command (`args[0]` is its name) and writes its reply. Returns the command's table
/// entry, or `None` when the name is unknown.
pub(crate) fn dispatch(ctx: &mut Ctx, args: &[&[u8]]) -> Option<&'static Command> {
    dispatch_known(ctx, args, None)
}

/// [`dispatch`] of a command whose table entry the caller has looked up already (a script's
/// `redis.call` checks it before it runs).
fn dispatch_known(ctx: &mut Ctx, args: &[&[u8]], known: Option<Numbered>) -> Option<&'static Command> {
    let start = ctx.reply.len();
    let started_ns = ctx.stats.stopwatch.start();
    let ran = run_command(ctx, args, known);
    let nanos = ctx.stats.stopwatch.stop(started_ns);
    let error = ctx.reply.error_since(start).map(|e| e.into_owned());
    if let Some(error) = &error {
        ctx.stats.error_reply(error);
    }
    note_changes(ctx.keyspace, ctx.watches, ctx.tracking, ctx.blocking, Some(ctx.session.client_id));
    if let (Ran::Ran((command, _)), true) = (&ran, ctx.session.tracking) {
        tracking::remember_reads(ctx, command, args);
    }
    match ran {
        Ran::Unknown => None,
        Ran::Refused((command, number)) => {
            ctx.stats.command_rejected(number, command.name);
            Some(command)
        }
        Ran::Queued((command, _)) => Some(command),
        Ran::Ran((command, number)) => {
            ctx.stats.command_ran(number, command.name, error.is_some(), nanos, ctx.config.latency_tracking);
            if slow(ctx.config, nanos) {
                slowlog::log_if_slow(ctx, command, args, nanos);
                latency::record_if_slow(ctx, command, nanos);
            }
            if !ctx.monitors.is_empty() {
                monitor::show(ctx, command, args);
            }
            Some(command)
        }
    }
}

/// Tells whoever watches (WATCH), tracks (CLIENT TRACKING) or waits for (BLPOP...) a key that a
/// command, expiry or eviction changed; `by` is the client whose command did. The keyspace keeps a record of
/// changes only while somebody wants it. Always inlined: its common case, nobody interested, is a
/// test or two on every command's path.
#[inline(always)]
pub(crate) fn note_changes(keyspace: &mut Keyspace, watches: &mut Watches, tracking: &mut Tracking, blocking: &mut Blocking, by: Option<u64>) {
    if !keyspace.keeps_modified() && watches.is_empty() {
        return;
    }
    let mut modified = keyspace.take_modified();
    for (db, key) in modified.drain(..) {
        watches.touch(db, &key);
        tracking.invalidate(&key, by);
        blocking.changed(db, &key);
    }
    keyspace.keep_modified(!watches.is_empty() || tracking.wants_changes() || !blocking.is_empty());
    keyspace.recycle_modified(modified);
}

/// Whether a command line waits for CLIENT PAUSE to end: in WRITE mode, commands that write or
/// reach other clients (and EXEC of a transaction that has one).
pub(crate) fn waits_for_pause(pause: &Pause, session: &Session, args: &[&[u8]]) -> bool {
    let writes = |name: &[u8]| {
        lookup(name).is_some_and(|c| c.has_flag(Flag::Write) || matches!(c.name, "publish" | "spublish" | "pfcount"))
    };
    let exec_writes = || {
        session.transaction.as_ref().is_some_and(|t| t.queued.iter().any(|command| command.first().is_some_and(|name| writes(name))))
    };
    pause.holds(args.first().is_some_and(|name| writes(name) || (is(name, "exec") && exec_writes())))
}

/// Whether a command that took `nanos` may be slow enough for SLOWLOG or LATENCY: the common case,
/// a fast command with the default settings, costs a few comparisons and no call.
#[inline]
fn slow(config: &Config, nanos: u64) -> bool {
    let slowlog = u64::try_from(config.slowlog_log_slower_than).is_ok_and(|us| reaches(nanos, us, 1_000));
    let latency = config.latency_monitor_threshold > 0 && reaches(nanos, config.latency_monitor_threshold, 1_000_000);
    slowlog || latency
}

/// Whether `nanos` reaches `threshold` units of `unit_ns` nanoseconds; a threshold too large to
/// count in nanoseconds is never reached. Checked that way, not with `saturating_mul`, which on
/// wasm32 is a call to a 128-bit multiplication per command.
#[inline]
fn reaches(nanos: u64, threshold: u64, unit_ns: u64) -> bool {
    threshold <= u64::MAX / unit_ns && nanos >= threshold * unit_ns
}

/// A command's table entry and its number (see `table::numbered`).
type Numbered = (&'static Command, usize);

/// What became of a command.
enum Ran {
    Unknown,
    Refused(Numbered),
    Queued(Numbered),
    Ran(Numbered),
}

fn run_command(ctx: &mut Ctx, args: &[&[u8]], known: Option<Numbered>) -> Ran {
    let Some((command, number)) = known.or_else(|| numbered(args[0])) else {
        refuse_bytes(ctx, &unknown_command(args));
        return Ran::Unknown;
    };
    if !ctx.session.authenticated && !command.has_flag(Flag::NoAuth) {
        refuse(ctx, "NOAUTH Authentication required.");
        return Ran::Refused((command, number));
    }
    if !command.accepts(args.len()) {
        refuse(ctx, &wrong_arity(command.name));
        return Ran::Refused((command, number));
    }
    // A container named alone (COMMAND) runs its own handler; with a word after it, a subcommand.
    let run = if command.subcommands.is_empty() || args.len() == 1 {
        (command, number)
    } else {
        let Some((position, sub)) = find_subcommand(command, args[1]) else {
            refuse(ctx, &format!(
                "ERR unknown subcommand '{}'. Try {} HELP.",
                truncated(args[1]),
                command.name.to_ascii_uppercase()
            ));
            return Ran::Refused((command, number));
        };
        let sub = (sub, subcommand_number(number, position));
        if !sub.0.accepts(args.len()) {
            refuse(ctx, &wrong_arity(sub.0.name));
            return Ran::Refused(sub);
        }
        sub
    };
    // One flag for a user allowed everything (the default user as it starts): nothing to check.
    if ctx.session.acl_limited.get() && acl::refuses(ctx, run.0, args) {
        return Ran::Refused(run);
    }
    // Over maxmemory, MULTI queues nothing (queuing takes memory too): every command but EXEC,
    // DISCARD, QUIT and RESET is refused then, as Redis refuses it.
    let queues = ctx.session.transaction.is_some() && !matches!(command.name, "exec" | "discard" | "quit" | "reset");
    if !make_room(ctx) && (command.has_flag(Flag::DenyOom) || queues) && !ctx.session.script_allows_oom {
        refuse(ctx, OOM);
        return Ran::Refused(run);
    }
    if ctx.session.subscriptions.any() && !ctx.session.resp3() && !pubsub::allowed_when_subscribed(command) {
        let refusal = pubsub::not_allowed_when_subscribed(run.0.name);
        if run.0.name == "exec" {
            ctx.session.transaction = None;
            ctx.reply.error(&format!("EXECABORT Transaction discarded because of: {refusal}"));
        } else {
            refuse(ctx, &format!("ERR {refusal}"));
        }
        return Ran::Refused(run);
    }
    if let Some(transaction) = &mut ctx.session.transaction
        && !transactions::runs_inside_multi(command)
    {
        transaction.queued.push(args.iter().map(|a| a.to_vec()).collect());
        ctx.reply.simple("QUEUED");
        return Ran::Queued(run);
    }
    (run.0.run)(ctx, args);
    Ran::Ran(run)
}

/// Redis's refusal of a command that would use memory over `maxmemory`.
pub(crate) const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// Answers a command that cannot run; inside MULTI, EXEC will then refuse the whole transaction.
pub(crate) fn refuse(ctx: &mut Ctx, error: &str) {
    refuse_bytes(ctx, error.as_bytes());
}

fn refuse_bytes(ctx: &mut Ctx, error: &[u8]) {
    if let Some(transaction) = &mut ctx.session.transaction {
        transaction.failed = true;
    }
    ctx.reply.error_bytes(error);
}

/// Evicts keys, as `maxmemory-policy` allows, until the engine's memory is within `maxmemory`.
/// Returns false when it could not get there: commands that would use more memory are refused.
///
/// Memory of values waiting to be freed lazily still counts as used: it is freed first, a slice at
/// a time, so that no key is evicted while freeing what is already removed would make room.
pub(crate) fn make_room(ctx: &mut Ctx) -> bool {
    let limit = ctx.config.maxmemory;
    // Nothing is evicted during CLIENT PAUSE: the keyspace stays as it was.
    if limit == 0 || ctx.pause.is_active() {
        return true;
    }
    let (policy, samples, now) = (ctx.config.maxmemory_policy, ctx.config.maxmemory_samples as usize, ctx.now_ms());
    while crate::memory::used() as u64 > limit {
        if ctx.keyspace.has_lazy_free() {
            ctx.keyspace.free_lazily(LAZY_FREE_SLICE);
        } else if !ctx.keyspace.evict_one(policy, samples, ctx.rng, now) {
            return false;
        }
    }
    true
}

/// Pieces of lazily freed values (members, fields, keys of a flushed database) freed at a time:
/// a slice takes well under a millisecond, so nobody waits long for it.
pub(crate) const LAZY_FREE_SLICE: usize = 8_192;

fn find_subcommand(command: &'static Command, name: &[u8]) -> Option<(usize, &'static Command)> {
    command.subcommands.iter().enumerate().find(|(_, sub)| {
        sub.name.split_once('|').is_some_and(|(_, s)| s.as_bytes().eq_ignore_ascii_case(name))
    })
}

fn wrong_arity(name: &str) -> String {
    format!("ERR wrong number of arguments for '{name}' command")
}

/// Redis's text for an unknown command, quoting its name and the start of its arguments.
fn unknown_command(args: &[&[u8]]) -> Vec<u8> {
    let mut text = b"ERR unknown command '".to_vec();
    text.extend_from_slice(c_string(args[0], 128));
    text.extend_from_slice(b"', with args beginning with: ");
    let mut quoted = 0;
    for arg in &args[1..] {
        if quoted >= 128 {
            break;
        }
        let shown = c_string(arg, 128 - quoted);
        quoted += shown.len() + 3;
        text.push(b'\'');
        text.extend_from_slice(shown);
        text.extend_from_slice(b"' ");
    }
    text
}

/// An argument as Redis's C formatting quotes it: its bytes up to the first NUL, at most `max`.
fn c_string(arg: &[u8], max: usize) -> &[u8] {
    let end = arg.iter().position(|b| *b == 0).unwrap_or(arg.len());
    &arg[..end.min(max)]
}

/// An argument as error messages quote it: lossy UTF-8, at most 128 characters.
pub(crate) fn truncated(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).chars().take(128).collect()
}

// Error texts clients and their test suites match on.
pub(crate) const SYNTAX_ERROR: &str = "ERR syntax error";
pub(crate) const WRONG_TYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub(crate) const NOT_AN_INTEGER: &str = "ERR value is not an integer or out of range";
pub(crate) const NOT_A_FLOAT: &str = "ERR value is not a valid float";
pub(crate) const OVERFLOW: &str = "ERR increment or decrement would overflow";
pub(crate) const DB_OUT_OF_RANGE: &str = "ERR DB index is out of range";
pub(crate) const NO_SUCH_KEY: &str = "ERR no such key";

/// `ERR invalid expire time in 'set' command`
pub(crate) fn invalid_expire(command: &str) -> String {
    format!("ERR invalid expire time in '{command}' command")
}

/// `seconds` in milliseconds, `None` when that overflows. A range check rather than
/// `checked_mul`: on wasm32 a checked 64-bit multiplication is a call to a 128-bit multiply.
pub(crate) fn seconds_as_ms(seconds: i64) -> Option<i64> {
    (i64::MIN / 1000..=i64::MAX / 1000).contains(&seconds).then(|| seconds * 1000)
}

/// An integer as Redis reads one: optional minus, no plus sign, no spaces, no leading zeros.
pub fn parse_i64(arg: &[u8]) -> Option<i64> {
    let (negative, digits) = match arg.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, arg),
    };
    match digits {
        [b'0'] if !negative => return Some(0),
        [b'1'..=b'9', ..] => {}
        _ => return None,
    }
    signed(negative, digits_value(digits)?)
}

/// The value of 1 to 19 decimal digits, which always fits a `u64`: the digits are summed without
/// overflow checks, which in the component would each be a call to a 128-bit multiplication.
pub(crate) fn digits_value(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut value: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u64::from(d - b'0');
    }
    Some(value)
}

/// `magnitude`, negated when `negative`, if the result fits an `i64`.
pub(crate) fn signed(negative: bool, magnitude: u64) -> Option<i64> {
    if negative { 0i64.checked_sub_unsigned(magnitude) } else { i64::try_from(magnitude).ok() }
}

/// An integer argument, or the reply Redis gives for a bad one.
pub(crate) fn int_arg(ctx: &mut Ctx, arg: &[u8]) -> Option<i64> {
    let value = parse_i64(arg);
    if value.is_none() {
        ctx.reply.error(NOT_AN_INTEGER);
    }
    value
}

/// The lines every HELP reply ends with, about HELP itself (Redis adds them the same way).
const HELP_ON_HELP: [&str; 2] = ["HELP", "    Print this help."];

/// The most picks a random command with repeats (SRANDMEMBER, HRANDFIELD with a negative count)
/// answers. Redis builds any reply it is asked for; inside the sandbox a reply of billions of picks
/// would run the engine out of memory or time, and a fault costs every client the keyspace.
const MAX_RANDOM_PICKS: u64 = 1 << 24;

/// Answers Redis's range error, and returns true, when `picks` random picks are more than the
/// engine answers (see [`MAX_RANDOM_PICKS`]) or would take more than `maxmemory`.
pub(crate) fn too_many_picks(ctx: &mut Ctx, picks: u64) -> bool {
    let over_memory = ctx.config.maxmemory > 0 && picks.saturating_mul(16) > ctx.config.maxmemory;
    if picks > MAX_RANDOM_PICKS || over_memory {
        ctx.reply.error("ERR value is out of range");
        return true;
    }
    false
}

/// A HELP subcommand's reply: one status line per line of a container's `lines`, then the lines
/// about HELP itself.
pub(crate) fn write_help(ctx: &mut Ctx, lines: &[&str]) {
    ctx.reply.array(lines.len() + HELP_ON_HELP.len());
    for line in lines.iter().chain(&HELP_ON_HELP) {
        ctx.reply.simple(line);
    }
}

/// The handler of a container whose arity already demands a subcommand (CLIENT, CONFIG): the
/// dispatcher always runs a subcommand instead, so this only answers if that ever changes.
pub(crate) fn subcommand_required(ctx: &mut Ctx, args: &[&[u8]]) {
    ctx.reply.error(&wrong_arity(&String::from_utf8_lossy(args[0]).to_ascii_lowercase()));
}

/// Whether `arg` is `word`, ignoring letter case (option names).
pub(crate) fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_like_redis() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [&b"9223372036854775808"[..], b"-9223372036854775809", b"18446744073709551616", b"99999999999999999999", b"", b"-", b"-0", b"01", b"+1", b" 1", b"1 ", b"1.0", b"0x10"] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn seconds_become_milliseconds_unless_that_overflows() {
        let edges = [0, 1, -1, 60, i64::MAX / 1000, i64::MAX / 1000 + 1, i64::MIN / 1000, i64::MIN / 1000 - 1, i64::MAX, i64::MIN];
        for seconds in edges {
            assert_eq!(seconds_as_ms(seconds), seconds.checked_mul(1000), "{seconds}");
        }
    }

    #[test]
    fn a_command_is_slow_from_its_threshold_on() {
        let mut config = Config { slowlog_log_slower_than: 10, ..Config::default() };
        assert!(!slow(&config, 9_999));
        assert!(slow(&config, 10_000));
        config.slowlog_log_slower_than = -1;
        assert!(!slow(&config, u64::MAX - 1));
        config.latency_monitor_threshold = 2;
        assert!(!slow(&config, 1_999_999));
        assert!(slow(&config, 2_000_000));
        config.slowlog_log_slower_than = 0;
        assert!(slow(&config, 0));
        config.slowlog_log_slower_than = i64::MAX;
        config.latency_monitor_threshold = u64::MAX;
        assert!(!slow(&config, u64::MAX - 1));
    }

    #[test]
    fn unknown_command_text() {
        assert_eq!(unknown_command(&[b"foo", b"a", b"b"]), b"ERR unknown command 'foo', with args beginning with: 'a' 'b' ");
        assert_eq!(unknown_command(&[b"foo"]), b"ERR unknown command 'foo', with args beginning with: ");
        assert_eq!(unknown_command(&[b"fo\0ox", b"\xfe"]), b"ERR unknown command 'fo', with args beginning with: '\xfe' ");
    }
}
