//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT: Lua scripts run atomically inside one command,
//! their `redis.call` going through the same [`dispatch`](super::dispatch) as a client's commands, so every rule
//! (maxmemory, WATCH, keyspace notifications, tracking) holds for them too. The interpreter and
//! its script cache are in [`crate::scripting`].

use super::{Command, Ctx, Flag, Numbered, dispatch_known, int_arg, is, numbered};
use crate::resp::Reply;
use crate::scripting::{
    CommandRunner, Interpreter, Mode, Resumed, Running, Script, arm, disarm, outcome, resume as resume_thread, script_resp3, set_script_resp3,
    take_suspended, with_runner, write_reply,
};
use crate::session::PeerKind;
use mlua::{Thread, Value};

const EVAL: &[Flag] = &[Flag::NoScript, Flag::Stale, Flag::MovableKeys];
const EVAL_RO: &[Flag] = &[Flag::ReadOnly, Flag::NoScript, Flag::Stale, Flag::MovableKeys];

pub const COMMANDS: &[Command] = &[
    Command::new("eval", -3, eval).flags(EVAL).counted_keys(2).group("scripting")
        .doc("Executes a server-side Lua script.", "2.6.0", "Depends on the script that is executed.", "script numkeys [key [key ...]] [arg [arg ...]]"),
    Command::new("evalsha", -3, evalsha).flags(EVAL).counted_keys(2).group("scripting")
        .doc("Executes a server-side Lua script by SHA1 digest.", "2.6.0", "Depends on the script that is executed.", "sha1 numkeys [key [key ...]] [arg [arg ...]]"),
    Command::new("eval_ro", -3, eval_ro).flags(EVAL_RO).counted_keys(2).group("scripting")
        .doc("Executes a read-only server-side Lua script.", "7.0.0", "Depends on the script that is executed.", "script numkeys [key [key ...]] [arg [arg ...]]"),
    Command::new("evalsha_ro", -3, evalsha_ro).flags(EVAL_RO).counted_keys(2).group("scripting")
        .doc("Executes a read-only server-side Lua script by SHA1 digest.", "7.0.0", "Depends on the script that is executed.", "sha1 numkeys [key [key ...]] [arg [arg ...]]"),
    Command::new("shutdown", -1, shutdown).flags(&[Flag::Admin, Flag::NoScript, Flag::Loading, Flag::Stale, Flag::Sentinel, Flag::AllowBusy]).group("server")
        .doc("Synchronously saves the database(s) to disk and shuts down the Redis server.", "1.0.0", "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)", "[NOSAVE|SAVE] [NOW] [FORCE] [ABORT]"),
    Command::new("script", -2, super::subcommand_required).group("scripting")
        .doc("A container for Lua scripts management commands.", "2.6.0", "Depends on subcommand.", "")
        .subcommands(&[
            Command::new("script|exists", -3, script_exists).flags(&[Flag::NoScript]).group("scripting")
                .doc("Determines whether server-side Lua scripts exist in the script cache.", "2.6.0", "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).", "sha1 [sha1 ...]"),
            Command::new("script|flush", -2, script_flush).flags(&[Flag::NoScript]).group("scripting")
                .doc("Removes all server-side Lua scripts from the script cache.", "2.6.0", "O(N) with N being the number of scripts in cache", "[ASYNC|SYNC]"),
            Command::new("script|help", 2, script_help).flags(&[Flag::Loading, Flag::Stale]).group("scripting")
                .doc("Returns helpful text about the different subcommands.", "5.0.0", "O(1)", ""),
            Command::new("script|kill", 2, script_kill).flags(&[Flag::NoScript, Flag::AllowBusy]).group("scripting")
                .doc("Terminates a server-side Lua script during execution.", "2.6.0", "O(1)", ""),
            Command::new("script|load", 3, script_load).flags(&[Flag::NoScript, Flag::Stale]).group("scripting")
                .doc("Loads a server-side Lua script to the script cache.", "2.6.0", "O(N) with N being the length in bytes of the script body.", "script"),
        ]),
];

const NO_SCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";

/// Where a script comes from: its body (EVAL) or its SHA-1 (EVALSHA).
#[derive(Clone, Copy)]
enum Source {
    Body,
    Sha,
}

fn eval(ctx: &mut Ctx, args: &[&[u8]]) {
    run(ctx, args, Source::Body, false);
}

fn evalsha(ctx: &mut Ctx, args: &[&[u8]]) {
    run(ctx, args, Source::Sha, false);
}

fn eval_ro(ctx: &mut Ctx, args: &[&[u8]]) {
    run(ctx, args, Source::Body, true);
}

fn evalsha_ro(ctx: &mut Ctx, args: &[&[u8]]) {
    run(ctx, args, Source::Sha, true);
}

/// The EVAL family: checks the key count, finds or compiles the script, and runs it with its
/// keys and arguments.
fn run(ctx: &mut Ctx, args: &[&[u8]], source: Source, read_only: bool) {
    let Some(numkeys) = int_arg(ctx, args[2]) else { return };
    if numkeys > (args.len() - 3) as i64 {
        ctx.reply.error("ERR Number of keys can't be greater than number of args");
        return;
    }
    if numkeys < 0 {
        ctx.reply.error("ERR Number of keys can't be negative");
        return;
    }
    let found = match source {
        Source::Body => ctx.scripts.load(args[1]),
        Source::Sha => ctx.scripts.find(args[1]).ok_or_else(|| NO_SCRIPT.to_string()),
    };
    let script = match found {
        Ok(script) => script,
        Err(error) => return ctx.reply.error(&error),
    };
    let (keys, argv) = args[3..].split_at(numkeys as usize);
    if let Err(error) = start(ctx, &script, keys, argv, read_only) {
        ctx.reply.error(&format!("ERR Error running script {}: {error}", script.sha));
    }
}

/// Starts a script with its keys and arguments (see [`run_thread`]).
fn start(ctx: &mut Ctx, script: &Script, keys: &[&[u8]], argv: &[&[u8]], read_only: bool) -> mlua::Result<()> {
    let thread = ctx.scripts.thread_for(script, keys, argv)?;
    run_thread(ctx, thread, script.sha.as_str(), &[], Mode { interpreter: Interpreter::Eval, read_only, allow_oom: false })
}

/// How a step of a script ended, when it did not just use up its slice.
enum Ended {
    Returned(Value),
    /// An error table (see environment.lua's `describe_error`).
    Failed(Value),
}

/// Runs the first slice of a script's or a function's coroutine; `name` is what its errors name
/// and `command` what FUNCTION STATS shows. One that needs more is left in `ctx.scripts.running`,
/// its client waiting, and the engine resumes it ([`resume`]).
pub(super) fn run_thread(ctx: &mut Ctx, thread: Thread, name: &str, command: &[&[u8]], mode: Mode) -> mlua::Result<()> {
    set_script_resp3(false);
    // Inside EXEC nothing may come between the transaction's commands; a UDP sender's session
    // ends with its reply; the key-value interfaces wait for theirs: these run to the end.
    if ctx.session.in_exec || ctx.session.peer.kind == PeerKind::Udp || ctx.session.client_id == 0 {
        disarm(&thread);
    } else {
        arm(&thread);
    }
    let (saved_db, saved_in_exec) = (ctx.session.db, ctx.session.in_exec);
    // Blocking commands do not wait inside a script, as inside EXEC.
    ctx.session.in_exec = true;
    ctx.scripts.wrote = false;
    let stepped = step(ctx, &thread, mode);
    if let Ok(None) = stepped {
        let owner = ctx.session.connection;
        ctx.scripts.running = Some(Running {
            thread,
            sha: name.to_string(),
            command: command.iter().map(|arg| arg.to_vec()).collect(),
            owner,
            started: ctx.now,
            saved_db,
            saved_in_exec,
            mode,
            killed: false,
            held: Vec::new(),
            orphan: None,
        });
        ctx.session.waits_for_script = true;
        ctx.session.changed = true;
        return Ok(());
    }
    ctx.session.db = saved_db;
    ctx.session.in_exec = saved_in_exec;
    if let Some(ended) = stepped? {
        answer(ctx, ended, name);
    }
    Ok(())
}

/// Runs the suspended script's next slice on its owner's session, `ctx` (whose time is the
/// script's start). Returns the script once it has ended — its reply written to `ctx` — for the
/// engine to let the clients it held go on; `None` while it needs more slices.
pub fn resume(ctx: &mut Ctx) -> Option<Running> {
    let running = ctx.scripts.running.take()?;
    let stepped = if running.killed {
        killed_error(ctx, &running).map(Some)
    } else {
        step(ctx, &running.thread, running.mode)
    };
    if let Ok(None) = stepped {
        ctx.scripts.running = Some(running);
        return None;
    }
    ctx.session.db = running.saved_db;
    ctx.session.in_exec = running.saved_in_exec;
    ctx.session.waits_for_script = false;
    ctx.session.changed = true;
    match stepped {
        Ok(ended) => answer(ctx, ended.unwrap_or(Ended::Returned(Value::Nil)), &running.sha),
        Err(error) => ctx.reply.error(&format!("ERR Error running script {}: {error}", running.sha)),
    }
    Some(running)
}

/// Runs a script's coroutine until it ends, or until its slice is used up (`None`).
fn step(ctx: &mut Ctx, thread: &Thread, mode: Mode) -> mlua::Result<Option<Ended>> {
    let commands = &mut ScriptCommands { ctx: &mut *ctx, read_only: mode.read_only, allow_oom: mode.allow_oom };
    let status = with_runner(commands, || resume_thread(thread));
    let suspended = take_suspended();
    let hot = &ctx.scripts.environment_of(mode.interpreter).map_err(mlua::Error::runtime)?.hot;
    match outcome(hot, thread, status)? {
        Resumed::Returned(value) => Ok(Some(Ended::Returned(value))),
        Resumed::Failed(error) => describe(ctx, thread, mode.interpreter, error).map(|e| Some(Ended::Failed(e))),
        Resumed::Yielded if suspended => Ok(None),
        // The script called coroutine.yield itself, which Redis's scripts cannot do.
        Resumed::Yielded => describe(ctx, thread, mode.interpreter, "attempt to yield across metamethod/C-call boundary").map(|e| Some(Ended::Failed(e))),
    }
}

/// The error a suspended script ends with when SCRIPT KILL stops it.
fn killed_error(ctx: &mut Ctx, running: &Running) -> mlua::Result<Ended> {
    describe(ctx, &running.thread, running.mode.interpreter, "Script killed by user with SCRIPT KILL...").map(Ended::Failed)
}

/// An error table for `error` (a message, or what the script raised), placed where the stopped
/// script `thread` stands.
fn describe(ctx: &mut Ctx, thread: &Thread, interpreter: Interpreter, error: impl mlua::IntoLua) -> mlua::Result<Value> {
    let describe = ctx.scripts.environment_of(interpreter).map_err(mlua::Error::runtime)?.describe.clone();
    describe.call((thread.clone(), error))
}

/// Writes a script's reply, or its error with where it was raised.
fn answer(ctx: &mut Ctx, ended: Ended, sha: &str) {
    match ended {
        Ended::Returned(value) => {
            let client_resp3 = ctx.session.resp3();
            write_reply(&mut ctx.reply, &value, client_resp3, script_resp3());
        }
        Ended::Failed(error) => write_error(&mut ctx.reply, &error, sha),
    }
}

/// A script's uncaught error: its `err` text, and where in the script it was raised.
fn write_error(reply: &mut Reply, error: &Value, sha: &str) {
    let Value::Table(error) = error else {
        reply.error(&format!("ERR Error running script {sha}, execution failure"));
        return;
    };
    let mut text = match error.raw_get::<Value>("err") {
        Ok(Value::String(s)) => s.as_bytes().to_vec(),
        _ => b"ERR unknown error".to_vec(),
    };
    let source = error.raw_get::<Option<mlua::LuaString>>("source").ok().flatten();
    let line = error.raw_get::<Option<i64>>("line").ok().flatten();
    if let (Some(source), Some(line)) = (source, line) {
        text.extend_from_slice(format!(" script: {sha}, on ").as_bytes());
        text.extend_from_slice(&source.as_bytes());
        text.extend_from_slice(format!(":{line}.").as_bytes());
    }
    reply.error_bytes(&text);
}

/// `redis.call` and `redis.pcall` of a running script: its commands run through the engine's
/// dispatch in the script's context, as a client's would.
struct ScriptCommands<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    read_only: bool,
    allow_oom: bool,
}

impl CommandRunner for ScriptCommands<'_, '_> {
    fn run(&mut self, words: &[&[u8]], resp3: bool, buf: &mut Vec<u8>) -> Result<(), &'static str> {
        let (found, writes) = check_callable(words, self.read_only)?;
        if self.ctx.session.acl_limited.get() {
            check_acl(self.ctx, found.0, words)?;
        }
        let ctx = &mut *self.ctx;
        let protocol = ctx.session.protocol;
        ctx.session.protocol = if resp3 { 3 } else { 2 };
        let mut inner = Ctx {
            keyspace: &mut *ctx.keyspace,
            config: &mut *ctx.config,
            stats: &mut *ctx.stats,
            rng: &mut *ctx.rng,
            session: &mut *ctx.session,
            others: ctx.others,
            facts: ctx.facts,
            reply: Reply::new(buf, resp3),
            outbox: &mut *ctx.outbox,
            watches: &mut *ctx.watches,
            pubsub: &mut *ctx.pubsub,
            monitors: &mut *ctx.monitors,
            tracking: &mut *ctx.tracking,
            pause: &mut *ctx.pause,
            blocking: &mut *ctx.blocking,
            peer_limits: &mut *ctx.peer_limits,
            host_settings: &mut *ctx.host_settings,
            scripts: &mut *ctx.scripts,
            acl: &mut *ctx.acl,
            now: ctx.now,
        };
        let allowed_oom = std::mem::replace(&mut inner.session.script_allows_oom, self.allow_oom);
        dispatch_known(&mut inner, words, Some(found));
        inner.session.script_allows_oom = allowed_oom;
        ctx.session.protocol = protocol;
        ctx.scripts.wrote |= writes && buf.first() != Some(&b'-');
        Ok(())
    }
}

/// The ACL check of a script's command, logged with the script's context.
#[cold]
fn check_acl(ctx: &mut Ctx, command: &'static Command, words: &[&[u8]]) -> Result<(), &'static str> {
    let command = match (command.subcommands.is_empty(), words.get(1)) {
        (false, Some(sub)) => command.subcommands.iter().find(|s| s.name.split_once('|').is_some_and(|(_, name)| is(sub, name))).unwrap_or(command),
        _ => command,
    };
    super::acl::check(ctx, command, words, crate::acl::Context::Lua).map_err(super::acl::refusal_in_script)
}

/// Redis's checks before a script's command runs: it exists, has the right number of arguments,
/// may run from a script, and does not write from a read-only script. Gives its table entry and
/// whether it writes.
fn check_callable(words: &[&[u8]], read_only: bool) -> Result<(Numbered, bool), &'static str> {
    let found = numbered(words[0]).ok_or("ERR Unknown Redis command called from script")?;
    let command = found.0;
    let command = match (command.subcommands.is_empty(), words.get(1)) {
        (false, Some(sub)) => command
            .subcommands
            .iter()
            .find(|s| s.name.split_once('|').is_some_and(|(_, name)| is(sub, name)))
            .ok_or("ERR Unknown Redis command called from script")?,
        _ => command,
    };
    if !command.accepts(words.len()) {
        return Err("ERR Wrong number of args calling Redis command from script");
    }
    if command.has_flag(Flag::NoScript) {
        return Err("ERR This Redis command is not allowed from script");
    }
    let writes = command.has_flag(Flag::Write);
    if read_only && writes {
        return Err("ERR Write commands are not allowed from read-only scripts.");
    }
    Ok((found, writes))
}

fn script_load(ctx: &mut Ctx, args: &[&[u8]]) {
    match ctx.scripts.load(args[2]) {
        Ok(script) => ctx.reply.bulk(script.sha.as_str().as_bytes()),
        Err(error) => ctx.reply.error(&error),
    }
}

fn script_exists(ctx: &mut Ctx, args: &[&[u8]]) {
    ctx.reply.array(args.len() - 2);
    for sha in &args[2..] {
        let exists = ctx.scripts.exists(sha);
        ctx.reply.integer(i64::from(exists));
    }
}

fn script_flush(ctx: &mut Ctx, args: &[&[u8]]) {
    let mode_ok = match args {
        [_, _] => true,
        [_, _, mode] => is(mode, "sync") || is(mode, "async"),
        _ => false,
    };
    if !mode_ok {
        ctx.reply.error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
        return;
    }
    ctx.scripts.flush();
    ctx.reply.ok();
}

fn script_kill(ctx: &mut Ctx, _args: &[&[u8]]) {
    kill(ctx, Interpreter::Eval);
}

/// SCRIPT KILL (`by` EVAL's interpreter) and FUNCTION KILL: stops the suspended script unless it
/// has written, or was started by the other family; the engine then answers its client.
pub(super) fn kill(ctx: &mut Ctx, by: Interpreter) {
    match &mut ctx.scripts.running {
        None => ctx.reply.error("NOTBUSY No scripts in execution right now."),
        Some(_) if ctx.scripts.wrote => ctx.reply.error(UNKILLABLE),
        Some(running) if running.mode.interpreter != by => ctx.reply.error(busy_reply(running.mode.interpreter)),
        Some(running) => {
            running.killed = true;
            ctx.reply.ok();
        }
    }
}

/// SHUTDOWN: the host, not the engine, runs and stops cachet's server (SIGTERM). The one use left
/// is Redis's answer to a script that has written and will not end: SHUTDOWN NOSAVE, which here
/// ends the engine — the host replaces it with a fresh one, as after any fault, so the keyspace
/// is lost as a restarted redis-server's would be, and the connections stay open.
fn shutdown(ctx: &mut Ctx, args: &[&[u8]]) {
    if ends_busy_script(args) && ctx.scripts.running.is_some() {
        crate::log::warn("SHUTDOWN NOSAVE while a script runs: the engine stops and its host starts a fresh one");
        std::process::abort();
    }
    ctx.reply.error("ERR cachet is stopped by its host (SIGTERM or SIGINT to the cachet process), not by SHUTDOWN; SHUTDOWN NOSAVE only ends a busy script by resetting the engine");
}

/// Whether a command is SHUTDOWN NOSAVE, which Redis takes while a script is busy.
pub fn ends_busy_script(args: &[&[u8]]) -> bool {
    args.len() == 2 && is(args[0], "shutdown") && args[1].first().is_some_and(|c| c.eq_ignore_ascii_case(&b'n'))
}

const UNKILLABLE: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. \
    You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";

/// The reply to another client's command while a script has run past `busy-reply-threshold`.
pub const BUSY: &str = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";

/// The same for a function, which FUNCTION KILL stops.
const BUSY_FUNCTION: &str = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

/// The `-BUSY` reply while a script of `interpreter` runs.
pub fn busy_reply(interpreter: Interpreter) -> &'static str {
    match interpreter {
        Interpreter::Eval => BUSY,
        Interpreter::Functions => BUSY_FUNCTION,
    }
}

const SCRIPT_HELP: &[&str] = &[
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
];

fn script_help(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.reply.array(SCRIPT_HELP.len());
    for line in SCRIPT_HELP {
        ctx.reply.simple(line);
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::test_harness::Harness;

    fn eval(c: &mut Harness, script: &str) -> String {
        c.run(&["EVAL", script, "0"])
    }

    #[test]
    fn lua_values_become_replies_as_redis_converts_them() {
        let mut c = Harness::new();
        assert_eq!(eval(&mut c, "return 3.99"), ":3\r\n", "numbers are truncated to integers");
        assert_eq!(eval(&mut c, "return -3.99"), ":-3\r\n");
        assert_eq!(eval(&mut c, "return 'x'"), "$1\r\nx\r\n");
        assert_eq!(eval(&mut c, "return true"), ":1\r\n");
        assert_eq!(eval(&mut c, "return false"), "$-1\r\n");
        assert_eq!(eval(&mut c, "return nil"), "$-1\r\n");
        assert_eq!(eval(&mut c, "return {1, 'a', {2}, nil, 3}"), "*3\r\n:1\r\n$1\r\na\r\n*1\r\n:2\r\n", "arrays stop at the first nil");
        assert_eq!(eval(&mut c, "return {ok = 'FINE'}"), "+FINE\r\n");
        assert_eq!(eval(&mut c, "return {err = 'MY error'}"), "-MY error\r\n");
        assert_eq!(eval(&mut c, "return {double = 1.5}"), "$3\r\n1.5\r\n");
        assert_eq!(eval(&mut c, "return redis.error_reply('boom')"), "-ERR boom\r\n");
        assert_eq!(eval(&mut c, "return redis.error_reply('CODE text')"), "-CODE text\r\n");
        assert_eq!(eval(&mut c, "return redis.status_reply('PONG')"), "+PONG\r\n");
        c.run(&["HELLO", "3"]);
        assert_eq!(eval(&mut c, "return true"), ":1\r\n", "booleans follow the script's protocol");
        assert_eq!(eval(&mut c, "return false"), "_\r\n");
        assert_eq!(eval(&mut c, "redis.setresp(3) return true"), "#t\r\n");
        assert_eq!(eval(&mut c, "redis.setresp(3) return false"), "#f\r\n");
        assert_eq!(eval(&mut c, "return {double = 1.5}"), ",1.5\r\n");
        assert_eq!(eval(&mut c, "return {map = {a = 1}}"), "%1\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(eval(&mut c, "return {set = {a = true}}"), "~1\r\n$1\r\na\r\n");
        assert_eq!(eval(&mut c, "return {big_number = '123'}"), "(123\r\n");
        assert_eq!(eval(&mut c, "local t = {} t[1] = t return t").matches("-ERR reached lua stack limit").count(), 1);
    }

    #[test]
    fn replies_become_lua_values_as_redis_converts_them() {
        let mut c = Harness::new();
        c.run(&["RPUSH", "list", "a", "b"]);
        c.run(&["HSET", "hash", "f", "v"]);
        assert_eq!(eval(&mut c, "return type(redis.call('get', 'missing'))"), "$7\r\nboolean\r\n", "RESP2 null is false");
        assert_eq!(eval(&mut c, "return redis.call('ping')['ok']"), "$4\r\nPONG\r\n", "a status is an ok table");
        assert_eq!(eval(&mut c, "return redis.call('lrange', 'list', 0, -1)"), "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
        assert_eq!(eval(&mut c, "return redis.call('hgetall', 'hash')"), "*2\r\n$1\r\nf\r\n$1\r\nv\r\n", "RESP2: a flat array");
        assert_eq!(eval(&mut c, "redis.setresp(3) return redis.call('hgetall', 'hash').map.f"), "$1\r\nv\r\n", "RESP3: a map table");
        assert_eq!(eval(&mut c, "redis.setresp(3) return type(redis.call('get', 'missing'))"), "$3\r\nnil\r\n", "RESP3 null is nil");
        assert_eq!(eval(&mut c, "return redis.call('incrbyfloat', 'n', 0.5)"), "$3\r\n0.5\r\n", "numbers are passed as %.17g");
        assert_eq!(eval(&mut c, "return redis.pcall('incr', 'list')['err']"), "$65\r\nWRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    }

    #[test]
    fn errors_name_the_script_and_the_line() {
        let mut c = Harness::new();
        let sha = crate::scripting::sha1_hex(b"return x");
        assert_eq!(eval(&mut c, "return x"), format!("-ERR user_script:1: Script attempted to access nonexistent global variable 'x' script: {sha}, on @user_script:1.\r\n"));
        let body = "\nx = 1";
        let sha = crate::scripting::sha1_hex(body.as_bytes());
        assert_eq!(eval(&mut c, body), format!("-ERR user_script:2: Attempt to modify a readonly table script: {sha}, on @user_script:2.\r\n"));
        let body = "return redis.call('nosuch')";
        let sha = crate::scripting::sha1_hex(body.as_bytes());
        assert_eq!(eval(&mut c, body), format!("-ERR Unknown Redis command called from script script: {sha}, on @user_script:1.\r\n"));
        let body = "return redis.call('multi')";
        let sha = crate::scripting::sha1_hex(body.as_bytes());
        assert_eq!(eval(&mut c, body), format!("-ERR This Redis command is not allowed from script script: {sha}, on @user_script:1.\r\n"));
        assert_eq!(eval(&mut c, "return redis.pcall('multi')['err']"), "$49\r\nERR This Redis command is not allowed from script\r\n");
        assert_eq!(eval(&mut c, "return 1 +"), "-ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'\r\n");
        for hidden in ["os", "io", "loadfile", "dofile", "require", "debug", "print"] {
            assert!(eval(&mut c, &format!("return {hidden}")).contains("nonexistent global variable"), "{hidden}");
        }
    }

    #[test]
    fn key_counts_and_the_script_cache() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["EVAL", "return 1", "2", "a"]), "-ERR Number of keys can't be greater than number of args\r\n");
        assert_eq!(c.run(&["EVAL", "return 1", "-1"]), "-ERR Number of keys can't be negative\r\n");
        assert_eq!(c.run(&["EVAL", "return 1", "x"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(c.run(&["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"]), "-NOSCRIPT No matching script. Please use EVAL.\r\n");
        assert_eq!(c.run(&["SCRIPT", "LOAD", "return 1"]), "$40\r\ne0e1f9fabfc9d4800c877a703b823ac0578ff8db\r\n");
        assert_eq!(c.run(&["EVALSHA", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "0"]), ":1\r\n");
        assert_eq!(c.run(&["SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "ab"]), "*2\r\n:1\r\n:0\r\n");
        assert_eq!(c.run(&["SCRIPT", "FLUSH", "LATER"]), "-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n");
        assert_eq!(c.run(&["SCRIPT", "FLUSH", "ASYNC"]), "+OK\r\n");
        assert_eq!(c.run(&["SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"]), "*1\r\n:0\r\n");
        assert_eq!(c.run(&["SCRIPT", "KILL"]), "-NOTBUSY No scripts in execution right now.\r\n");
        assert_eq!(c.run(&["EVAL", "return {KEYS[1], ARGV[1], #KEYS, #ARGV}", "1", "k", "v"]), "*4\r\n$1\r\nk\r\n$1\r\nv\r\n:1\r\n:1\r\n");
    }

    #[test]
    fn read_only_scripts_refuse_writes_and_errors_keep_earlier_writes() {
        let mut c = Harness::new();
        let body = "return redis.call('set', 'a', '1')";
        let sha = crate::scripting::sha1_hex(body.as_bytes());
        assert_eq!(c.run(&["EVAL_RO", body, "0"]), format!("-ERR Write commands are not allowed from read-only scripts. script: {sha}, on @user_script:1.\r\n"));
        assert_eq!(c.run(&["EVAL_RO", "return redis.call('get', 'a')", "0"]), "$-1\r\n");
        assert!(c.run(&["EVAL", "redis.call('set', 'a', '1') redis.call('incr', 'a') redis.call('lpush', 'a', 'x')", "0"]).starts_with("-WRONGTYPE"));
        assert_eq!(c.run(&["GET", "a"]), "$1\r\n2\r\n", "no rollback: the writes before the error stay");
    }

    #[test]
    fn select_inside_a_script_stays_inside_it() {
        let mut c = Harness::new();
        assert_eq!(eval(&mut c, "redis.call('select', 1) redis.call('set', 'k', 'one') return redis.call('dbsize')"), ":1\r\n");
        assert_eq!(c.run(&["DBSIZE"]), ":0\r\n");
    }

    #[test]
    fn tostring_prints_a_null_pointer_as_redis_does() {
        let mut c = Harness::new();
        assert_eq!(eval(&mut c, "return tostring(cjson.null)"), "$15\r\nuserdata: (nil)\r\n");
        assert_eq!(eval(&mut c, "return tostring(cjson.decode('[null]')[1], 1)"), "$15\r\nuserdata: (nil)\r\n");
        assert_eq!(eval(&mut c, "return {tostring(12), tostring(1.5), tostring('s'), tostring(true), tostring(nil)}"), "*5\r\n$2\r\n12\r\n$3\r\n1.5\r\n$1\r\ns\r\n$4\r\ntrue\r\n$3\r\nnil\r\n");
        assert!(eval(&mut c, "return tostring({})").contains("table: 0x"), "other values print their address");
        assert_eq!(eval(&mut c, "return tostring(setmetatable({}, {__tostring = function() return 'mine' end}))"), "$4\r\nmine\r\n");
        let body = "return tostring()";
        let sha = crate::scripting::sha1_hex(body.as_bytes());
        assert_eq!(eval(&mut c, body), format!("-ERR user_script:1: bad argument #1 to 'tostring' (value expected) script: {sha}, on @user_script:1.\r\n"));
    }

    #[test]
    fn math_random_draws_redis_numbers() {
        let mut c = Harness::new();
        assert_eq!(eval(&mut c, "return tostring(math.random())"), "$16\r\n0.39646477363839\r\n");
        assert_eq!(eval(&mut c, "return math.random(100)"), ":85\r\n");
    }

    /// Sends `args` on `connection` without requiring a reply in the same call.
    fn send(c: &mut Harness, connection: u64, args: &[&str]) -> crate::outbox::Output {
        let mut input = Vec::new();
        crate::resp::encode_command(&mut input, args);
        c.engine.feed_one(c.now, connection, &input)
    }

    /// Ticks until `connection` gets output, as the host's timer does while a script is suspended.
    fn tick_until_answered(c: &mut Harness, connection: u64) -> (String, usize) {
        for ticks in 1..1000 {
            c.advance_ms(1);
            if let Some(out) = c.engine.tick(c.now).into_iter().find(|o| o.id == connection && !o.data.is_empty()) {
                return (String::from_utf8_lossy(&out.data).into_owned(), ticks);
            }
        }
        panic!("no answer after 1000 ticks");
    }

    const LONG_LOOP: &str = "local n = 0 for i = 1, 5000000 do n = n + 1 end return n";

    #[test]
    fn a_long_script_runs_in_slices_while_other_clients_wait() {
        let mut c = Harness::new();
        let other = c.another(2);
        let out = send(&mut c, 1, &["EVAL", LONG_LOOP, "0"]);
        assert!(out.data.is_empty(), "suspended after its first slice");
        assert_eq!(c.engine.next_deadline(), Some(0), "the host resumes it at once");
        let held = send(&mut c, other, &["SET", "k", "v"]);
        assert_eq!(held.progress.map(|p| p.consumed), Some(0), "held, not refused, before busy-reply-threshold");
        assert!(held.data.is_empty());
        let (reply, ticks) = tick_until_answered(&mut c, 1);
        assert_eq!(reply, ":5000000\r\n");
        assert!(ticks >= 2, "{ticks} slices");
        assert_eq!(c.run_on(other, &[b"SET", b"k", b"v"]), "+OK\r\n", "fed again, it runs");
        assert_eq!(c.run(&["EVAL", "local n = 0 for i = 1, 5000000 do n = n + 1 end return n", "0"]).len(), 0, "the next script is sliced too");
        tick_until_answered(&mut c, 1);
    }

    #[test]
    fn past_the_threshold_others_get_busy_and_script_kill_stops_the_script() {
        let mut c = Harness::new();
        let other = c.another(2);
        c.run(&["CONFIG", "SET", "busy-reply-threshold", "100"]);
        assert_eq!(c.run(&["CONFIG", "GET", "lua-time-limit"]), "*2\r\n$14\r\nlua-time-limit\r\n$3\r\n100\r\n");
        let body = "local i = 0 while true do i = i + 1 end";
        assert!(send(&mut c, 1, &["EVAL", body, "0"]).data.is_empty());
        c.advance_ms(50);
        assert_eq!(send(&mut c, other, &["PING"]).progress.map(|p| p.consumed), Some(0));
        c.advance_ms(50);
        let outputs = c.engine.tick(c.now);
        assert!(outputs.iter().any(|o| o.id == other && o.resume), "the held command is fed again, to be answered BUSY");
        const BUSY: &str = "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n";
        assert_eq!(c.run_on(other, &[b"PING"]), BUSY);
        assert_eq!(c.run_on(other, &[b"CLIENT", b"LIST"]), BUSY);
        assert_eq!(c.run_on(other, &[b"SHUTDOWN"]), BUSY, "only SHUTDOWN NOSAVE passes");
        assert!(c.run_on(other, &[b"FUNCTION", b"KILL"]).starts_with("-"));
        let seen = c.run_seen_by_all(other, &["SCRIPT", "KILL"]);
        let sha = crate::scripting::sha1_hex(body.as_bytes());
        assert!(seen.contains(&(other, "+OK\r\n".into())), "{seen:?}");
        let killed = format!("-ERR Script killed by user with SCRIPT KILL... script: {sha}, on @user_script:1.\r\n");
        assert!(seen.contains(&(1, killed)), "{seen:?}");
        assert_eq!(c.engine.next_deadline(), None);
        assert_eq!(c.run_on(other, &[b"SCRIPT", b"KILL"]), "-NOTBUSY No scripts in execution right now.\r\n");
        assert_eq!(c.run(&["PING"]), "+PONG\r\n");
        assert!(c.run(&["SHUTDOWN", "NOSAVE"]).starts_with("-ERR cachet is stopped by its host"), "no script: nothing to end");
    }

    #[test]
    fn a_script_that_wrote_cannot_be_killed_and_its_client_leaving_does_not_stop_it() {
        let mut c = Harness::new();
        let other = c.another(2);
        c.run(&["CONFIG", "SET", "busy-reply-threshold", "0"]);
        let body = "redis.call('set', 'started', '1') local n = 0 for i = 1, 5000000 do n = n + 1 end redis.call('set', 'done', n)";
        assert!(send(&mut c, 1, &["EVAL", body, "0"]).data.is_empty());
        assert!(c.run_on(other, &[b"SCRIPT", b"KILL"]).starts_with("-UNKILLABLE Sorry the script already executed write commands"));
        c.engine.close(c.now, 1);
        for _ in 0..1000 {
            c.engine.tick(c.now);
            if c.engine.next_deadline().is_none() {
                break;
            }
        }
        assert_eq!(c.run_on(other, &[b"GET", b"done"]), "$7\r\n5000000\r\n", "it ran to its end");
    }

    #[test]
    fn inside_exec_a_script_runs_to_its_end() {
        let mut c = Harness::new();
        c.run(&["MULTI"]);
        c.run(&["EVAL", LONG_LOOP, "0"]);
        assert_eq!(c.run(&["EXEC"]), "*1\r\n:5000000\r\n");
    }

    #[test]
    fn a_script_cannot_yield_by_itself() {
        let mut c = Harness::new();
        let body = "coroutine.yield() return 1";
        let sha = crate::scripting::sha1_hex(body.as_bytes());
        assert_eq!(eval(&mut c, body), format!("-ERR attempt to yield across metamethod/C-call boundary script: {sha}, on @user_script:1.\r\n"));
        assert_eq!(eval(&mut c, "return 2"), ":2\r\n");
    }

    #[test]
    fn the_interpreter_memory_is_capped() {
        let mut c = Harness::new();
        let body = "local s = string.rep('x', 300 * 1024 * 1024) return #s";
        let sha = crate::scripting::sha1_hex(body.as_bytes());
        assert_eq!(eval(&mut c, body), format!("-ERR not enough memory script: {sha}, on @user_script:1.\r\n"));
        assert_eq!(eval(&mut c, "return #string.rep('x', 1024)"), ":1024\r\n", "the interpreter goes on");
    }

    #[test]
    fn info_counts_the_script_cache_as_redis_7_names_it() {
        let mut c = Harness::new();
        let field = |c: &mut Harness, name: &str| -> u64 {
            let info = c.run(&["INFO", "memory"]);
            let line = info.lines().find(|l| l.starts_with(&format!("{name}:"))).unwrap_or_else(|| panic!("{name} in {info}"));
            line[name.len() + 1..].parse().unwrap()
        };
        assert_eq!(field(&mut c, "used_memory_scripts_eval"), 0);
        c.run(&["SCRIPT", "LOAD", "return 1"]);
        assert_eq!(field(&mut c, "used_memory_scripts_eval"), 8 + 40, "the body and its SHA-1");
        assert_eq!(field(&mut c, "used_memory_vm_eval"), field(&mut c, "used_memory_lua"));
        assert!(field(&mut c, "used_memory_scripts") >= 48);
        c.run(&["SCRIPT", "FLUSH"]);
        assert_eq!(field(&mut c, "used_memory_scripts_eval"), 0);
    }
}
